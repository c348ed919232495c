#!/usr/bin/env bash
# Create ./.venv once and install advtrace into it (editable, with the test extra).
# pyproject.toml is the single source of dependencies; torch/torchvision are pinned exactly.
# Re-running is a no-op unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.advtrace-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing advtrace and its pinned dependencies into .venv (first time: a few minutes)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  # the benchmark peer (extra `bench`, see pyproject.toml) without its stale metadata pins
  bench=$(.venv/bin/python -c "import ast, re; print(' '.join(ast.literal_eval(re.search(r'^bench = (\[.*\])', open('pyproject.toml').read(), re.M).group(1))))")
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps $bench
  touch "$stamp"
fi
