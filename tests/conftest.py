import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def schema():
    from advtrace.config import load_schema

    return load_schema(ROOT / "config" / "schema.yaml")


@pytest.fixture
def digits_cfg():
    from advtrace.config import load_yaml

    return load_yaml(ROOT / "config" / "experiments" / "digits.yaml")


# --- running the real Snakefile in a temp copy (rule-level and end-to-end tests) ---
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(dst: Path) -> Path:
    for item in ("Snakefile", "rules", "workflow", "config", "src"):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dst / item)
    return dst


def snakemake(wd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(SNAKEMAKE + list(args), cwd=wd, capture_output=True, text=True, timeout=timeout)


def write_exp(wd: Path, name: str, cfg: dict) -> None:
    cfg = dict(cfg, name=name)
    (wd / "config" / "experiments" / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def dry_run_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Parse the job-count table that `snakemake -n` prints."""
    counts, in_table = {}, False
    for line in proc.stdout.splitlines():
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


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    wd = copy_workflow(tmp_path_factory.mktemp("wf"))
    # Generous limit: ~2-3 min on an idle 2-core machine; shared machines are slower.
    proc = snakemake(wd, "--cores", "2", "--config", "experiments=[smoke]", timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return wd
