"""The status command (advtrace.status) on a real run: while it runs, after it is killed with
SIGKILL mid-run (what is done, what was interrupted, what is left), and once it has finished."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from advtrace import status

from conftest import copy_workflow

pytestmark = pytest.mark.e2e

TARGET = "results/smoke/tables/learning_curve.parquet"


def _finished(log_text: str) -> int:
    return len(re.findall(r"^Finished jobid: \d+", log_text, flags=re.M))


def test_status_of_a_running_a_killed_and_a_finished_run(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    cmd = [sys.executable, "-m", "snakemake", TARGET, "--cores", "2", "--config", "experiments=[smoke]"]
    proc = subprocess.Popen(cmd, cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # 1. in progress: a running job with its progress line and an ETA
        deadline, text = time.monotonic() + 600, ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = status.summarise(wd)
            if text.startswith("Run: running") and "job ETA" in text:
                break
            time.sleep(0.3)
        assert text.startswith("Run: running") and "job ETA" in text, text
        assert re.search(r"^  (pretrain|adv_train_epoch|evaluate_epochs) .*\[local, started", text, flags=re.M), text
        # 2. SIGKILL to Snakemake and its jobs, mid-run (no log line says so)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    killed = status.summarise(wd)
    log = status.latest_log(wd).read_text()
    assert killed.startswith("Run: not running (interrupted"), killed
    done = int(re.search(r"^Done: (\d+) jobs of (\d+)", killed, flags=re.M).group(1))
    total = int(re.search(r"^Done: \d+ jobs of (\d+)", killed, flags=re.M).group(1))
    assert done == _finished(log) < total
    assert "[interrupted" in killed and "Left (" in killed and "--rerun-incomplete" in killed, killed
    assert "`--unlock`" in killed, killed  # SIGKILL leaves Snakemake's lock behind
    # 3. the same command finishes the run (after --unlock); the status says so
    unlock = subprocess.run(cmd + ["--unlock"], cwd=wd, capture_output=True, text=True, timeout=600)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    proc = subprocess.run(cmd + ["--rerun-incomplete"], cwd=wd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = status.summarise(wd)
    assert final.startswith("Run: finished") and "Left: nothing" in final and "failed: 0" in final, final
    n = _finished(status.latest_log(wd).read_text())
    assert re.search(rf"^Done: {n} jobs of {n};", final, flags=re.M), final  # this invocation's jobs
    # restricted to an experiment, and through the command line
    cli = subprocess.run([sys.executable, "-m", "advtrace.status", "results/smoke"], cwd=wd, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(wd / "src")))
    assert cli.returncode == 0 and cli.stdout.startswith("Run: finished"), cli.stdout + cli.stderr
