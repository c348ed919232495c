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
  touch "$stamp"
fi
