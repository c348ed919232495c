import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def schema():
    from advtrace.config import load_schema

    return load_schema(ROOT / "config" / "schema.yaml")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread avoids oversubscription on a busy machine (restored after
    the module). Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def digits_cfg():
    from advtrace.config import load_yaml

    return load_yaml(ROOT / "config" / "experiments" / "digits.yaml")


# --- running the real Snakefile in a temp copy (rule-level and end-to-end tests) ---
from advtrace.workdir import copy_workflow, job_counts, write_exp  # noqa: E402,F401  (shared with bench/)
from advtrace.workdir import run_snakemake  # noqa: E402

# Test tiers (README "Tests"): a test that starts Snakemake is marked e2e, so `pytest -m "not e2e"`
# is the fast tier. tests/test_tiers.py checks it statically; the helper below refuses to start
# Snakemake inside a test that is not marked.
_E2E: dict[str, bool] = {}


def pytest_collection_modifyitems(items):
    for item in items:
        _E2E[item.nodeid] = item.get_closest_marker("e2e") is not None


def snakemake(wd, *args, timeout: int = 600):
    """`snakemake *args` in the workflow copy `wd` (advtrace.workdir.run_snakemake); only in an e2e test."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    if _E2E.get(current) is False:
        raise RuntimeError(f"{current} starts Snakemake but is not marked @pytest.mark.e2e (README \"Tests\": "
                           "the fast tier, -m 'not e2e', starts no Snakemake)")
    return run_snakemake(wd, *args, timeout=timeout)


def assert_figures(res: Path, slugs) -> None:
    """Each figure slug exists under res/figures as a non-trivial PDF and PNG."""
    for fig in slugs:
        for ext in ("pdf", "png"):
            assert (res / "figures" / f"{fig}.{ext}").stat().st_size > 1000, fig


def perturbation_path(res: Path, run: str, epoch: int, attack: str, set_name: str) -> Path:
    """The stored perturbation set of (run, epoch) under a results directory: inside the directory of the
    `perturb_epochs` job of its chunk (perturbations/epochs_FFF-LLL/epoch_NNN/...); exactly one must exist."""
    found = sorted((res / "runs" / run / "perturbations").glob(f"epochs_*/epoch_{int(epoch):03d}/{attack}/{set_name}.pt"))
    assert len(found) == 1, (run, epoch, attack, set_name, found)
    return found[0]


def epoch_perturbation_dir(res: Path, run: str, epoch: int) -> Path | None:
    """The directory of (run, epoch)'s perturbations inside its chunk's, or None."""
    found = sorted((res / "runs" / run / "perturbations").glob(f"epochs_*/epoch_{int(epoch):03d}"))
    assert len(found) <= 1, found
    return found[0] if found else None


def analysis_jobs(n_epochs: int) -> int:
    """Jobs of a per-checkpoint forward-only analysis (evaluate_epochs, stability_epochs) over
    n_epochs consecutive epochs: chunks of config/config.yaml's epochs_per_analysis_job."""
    import yaml

    k = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["epochs_per_analysis_job"]
    return -(-n_epochs // k)


def dry_run_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Parse the job-count table that `snakemake -n` prints."""
    return job_counts(proc.stdout)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    wd = copy_workflow(tmp_path_factory.mktemp("wf"))
    # Generous limit: ~2-3 min on an idle 2-core machine; shared machines are slower.
    proc = snakemake(wd, "--cores", "2", "--config", "experiments=[smoke]", timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return wd
