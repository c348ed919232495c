"""Fault injection (issue 18): every fault is injected by the test itself — runtime-switch and code
changes against a cached run, corrupted / truncated checkpoints, a save killed mid-write, a full
disk, a diverging loss, broken figures' reproducibility, bad configuration files."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import copy_workflow, dry_run_jobs, snakemake


def _smoke(*args: str) -> tuple[str, ...]:
    return ("--config", "experiments=[smoke]", *args)


@pytest.fixture(scope="module")
def cached_smoke(tmp_path_factory):
    """A workflow copy whose smoke DAG is complete and recorded in Snakemake's metadata, without
    running a job: every output is created empty, then `--touch --forceall` records each job's
    params and code as if it had run. Dry runs against it show what a change would re-run."""
    wd = copy_workflow(tmp_path_factory.mktemp("cached"))
    proc = snakemake(wd, *_smoke("--summary"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if line.strip()]
    assert len(outputs) > 50
    for out in outputs:
        path = wd / out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    proc = snakemake(wd, *_smoke("--touch", "--forceall", "--cores", "1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snakemake(wd, *_smoke("-n"))
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    return wd


def _dry(wd, *config: str) -> dict[str, int]:
    """{rule: jobs} a dry run of smoke would run (`config`: extra --config KEY=VALUE items)."""
    proc = snakemake(wd, "--config", "experiments=[smoke]", *config, "-n")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    counts.pop("total", None)
    return counts


# --- 1. the device is a runtime switch, not a param ---------------------------------------------------

def test_changing_device_reruns_nothing(cached_smoke):
    assert _dry(cached_smoke, "device=cpu") == {}
    assert _dry(cached_smoke, "device=cuda:1", "amp=True", "channels_last=False") == {}


def test_setup_job_takes_device_from_environment(monkeypatch):
    import logging

    from advtrace import runtime

    root = logging.getLogger()
    handlers, level, before = root.handlers[:], root.level, runtime.runtime_options()
    try:
        monkeypatch.setenv(runtime.RUNTIME_ENV, json.dumps({"device": "cpu", "amp": False, "channels_last": False,
                                                             "compile": False}))
        assert runtime.setup_job(torch.get_num_threads()) == torch.device("cpu")
        assert runtime.runtime_options().channels_last is False
        monkeypatch.setenv(runtime.RUNTIME_ENV, json.dumps({"device": "cuda:7"}))
        if not torch.cuda.is_available():
            with pytest.raises(RuntimeError, match="CUDA is not available"):
                runtime.setup_job(torch.get_num_threads())
    finally:
        runtime.configure_runtime(before)
        root.handlers[:] = handlers
        root.setLevel(level)


# --- 3. figures are reproducible byte for byte --------------------------------------------------------

_FIG11 = """
import sys, numpy as np, pandas as pd
sys.path.insert(0, {src!r})
np.random.seed(int(sys.argv[2]))  # a different global NumPy state in each process
from advtrace.plotting import save_figure
from advtrace.plotting.stability import sharedness
rng = np.random.default_rng(0)
sh = pd.DataFrame({{"epoch": np.repeat([0, 3], 40), "pct_effective": rng.uniform(0, 9, 80)}})
summary = pd.DataFrame({{"epoch": [0, 3], "mean_pct": [4.0, 3.0], "min_pct": [0.0, 0.1], "max_pct": [9.0, 8.0],
                        "n_other_correct": [90, 95], "n_other": [100, 100], "n_perturbations": [40, 40]}})
save_figure(sharedness(sh, summary, "t"), sys.argv[1] + ".pdf", sys.argv[1] + ".png")
"""


def test_figures_are_byte_identical_across_runs(tmp_path, root):
    import os
    import subprocess
    import sys

    script = tmp_path / "fig11.py"
    script.write_text(_FIG11.format(src=str(root / "src")))
    for run, (hashseed, npseed) in enumerate([("1", "1"), ("2", "12345")]):
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}  # no help from outside
        env["PYTHONHASHSEED"] = hashseed
        proc = subprocess.run([sys.executable, str(script), str(tmp_path / f"run{run}"), npseed], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    for ext in ("pdf", "png"):
        a, b = (tmp_path / f"run0.{ext}").read_bytes(), (tmp_path / f"run1.{ext}").read_bytes()
        assert a == b, f"fig11 .{ext} differs between two identical runs"
    assert b"CreationDate" not in (tmp_path / "run0.pdf").read_bytes()
