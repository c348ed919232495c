"""Running the real workflow in a temporary copy, and reading what `snakemake -n` prints.

Shared by the tests (tests/conftest.py) and the benchmarks (bench/). Plain Python (no torch), so
importing it costs nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the repository (src/advtrace/workdir.py)
WORKFLOW_ITEMS = ("Snakefile", "rules", "workflow", "config", "src")  # what a workflow copy needs
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(dst: Path) -> Path:
    """Copy the workflow (Snakefile, rules, scripts, configs, library) into `dst`; returns `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    for item in WORKFLOW_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dst / item)
    return dst


def write_exp(wd: Path, name: str, cfg: dict) -> None:
    """Write `cfg` as experiment `name` of the workflow copy `wd`."""
    cfg = dict(cfg, name=name)
    (wd / "config" / "experiments" / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def run_snakemake(wd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`snakemake *args` in `wd` (this interpreter's snakemake), output captured; does not raise."""
    return subprocess.run(SNAKEMAKE + list(args), cwd=wd, capture_output=True, text=True, timeout=timeout)


def job_counts(stdout: str) -> dict[str, int]:
    """{rule: jobs} from the job-count table `snakemake -n` prints (its 'total' row included)."""
    counts, in_table = {}, False
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
            elif parts and not set(parts[0]) <= {"-"}:
                in_table = False
    return counts


_RULE = re.compile(r"^\s*(?:local)?rule (\w+):\s*$")  # indented inside group jobs
_WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


def job_list(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job `snakemake -n` printed (job blocks start with 'rule NAME:')."""
    jobs: list[tuple[str, dict[str, str]]] = []
    for line in stdout.splitlines():
        m = _RULE.match(line)
        if m:
            jobs.append((m.group(1), {}))
            continue
        m = _WILDCARDS.match(line)
        if m and jobs:
            jobs[-1][1].update(kv.split("=", 1) for kv in m.group(1).split(", ") if "=" in kv)
    return jobs
