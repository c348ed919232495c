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

TARGET = "results/smoke/tables/learning_curve.parquet"


def _finished(log_text: str) -> int:
    return len(re.findall(r"^Finished jobid: \d+", log_text, flags=re.M))


@pytest.mark.e2e
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


SLURM_LOG = """\
Job stats:
job                count
---------------  -------
pretrain               1
adv_train_epoch        2
total                  3

Select jobs to execute...
[Mon Dec  7 08:56:51 2026]
rule pretrain:
    input: results/smoke/data/dataset.pt
    output: results/smoke/checkpoints/epoch_000.pt
    log: results/smoke/logs/pretrain.log
    jobid: 4
    wildcards: exp=smoke
    resources: tmpdir=<TBD>, gpu=1, runtime=10
Job 4 has been submitted with SLURM jobid 1 (log: /wf/.snakemake/slurm_logs/rule_pretrain/smoke/1.log).
[Mon Dec  7 08:57:24 2026]
Finished jobid: 4 (Rule: pretrain)
1 of 3 steps (33%) done
[Mon Dec  7 08:57:24 2026] Group job adv_train_smoke_000 (jobs in lexicogr. order):
    [Mon Dec  7 08:57:24 2026]
    rule adv_train_epoch:
        output: results/smoke/checkpoints/epoch_001.pt
        log: results/smoke/logs/adv_train_epoch/001.log
        jobid: 3
        wildcards: exp=smoke, epoch=001
    [Mon Dec  7 08:57:24 2026]
    rule adv_train_epoch:
        output: results/smoke/checkpoints/epoch_002.pt
        log: results/smoke/logs/adv_train_epoch/002.log
        jobid: 2
        wildcards: exp=smoke, epoch=002
Job d3e3 has been submitted with SLURM jobid 2 (log: /wf/.snakemake/slurm_logs/group_adv_train_smoke_000/2.log).
[Mon Dec  7 08:57:58 2026]
    message: Error in group adv_train_smoke_000
    jobs:
        rule adv_train_epoch:
            jobid: 3
Logfile /wf/.snakemake/slurm_logs/group_adv_train_smoke_000/2.log:
================================================================================
[Mon Dec  7 08:57:29 2026]
Finished jobid: 9 (Rule: other)
    Logfile results/smoke/logs/adv_train_epoch/001.log:
    ================================================================================
    08:57:42 INFO advtrace: adversarial epoch 1: 300/300 img (100%) 408.1 img/s, elapsed 0.7s, ETA 0.0s
    ================================================================================
================================================================================
Trying to restart job d3e3.
[Mon Dec  7 08:57:59 2026] Group job adv_train_smoke_000 (jobs in lexicogr. order):
    [Mon Dec  7 08:57:59 2026]
    rule adv_train_epoch:
        output: results/smoke/checkpoints/epoch_001.pt
        log: results/smoke/logs/adv_train_epoch/001.log
        jobid: 3
        wildcards: exp=smoke, epoch=001
    [Mon Dec  7 08:57:59 2026]
    rule adv_train_epoch:
        output: results/smoke/checkpoints/epoch_002.pt
        log: results/smoke/logs/adv_train_epoch/002.log
        jobid: 2
        wildcards: exp=smoke, epoch=002
Job d3e3 has been submitted with SLURM jobid 3 (log: /wf/.snakemake/slurm_logs/group_adv_train_smoke_000/3.log).
[Mon Dec  7 08:59:11 2026]
Finished jobid: 3 (Rule: adv_train_epoch)
2 of 3 steps (67%) done
"""


def test_slurm_log_of_a_cancelled_and_retried_group(tmp_path, monkeypatch):
    """The main log of a SLURM run whose group job failed (its SLURM log printed into the main log,
    nested) and was resubmitted: the retried attempt counts, the printed log is skipped, SLURM ids and
    squeue states are shown."""
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    log = tmp_path / ".snakemake" / "log" / "2026-12-07T085638.1.snakemake.log"
    log.write_text(SLURM_LOG)
    run = status.parse_log(log)
    assert {j: (run.jobs[j].rule, run.jobs[j].slurm_id, run.jobs[j].attempts) for j in run.jobs} == {
        "4": ("pretrain", "1", 1), "3": ("adv_train_epoch", "3", 2), "2": ("adv_train_epoch", "3", 2)}
    assert run.jobs["3"].finished and not run.jobs["3"].failed and run.jobs["2"].finished is None
    assert "9" not in run.jobs and run.planned == {"pretrain": 1, "adv_train_epoch": 2}
    monkeypatch.setattr(status, "squeue_states", lambda ids: {"3": "RUNNING"})
    monkeypatch.setattr(status, "snakemake_alive", lambda wd: True)
    text = status.summarise(tmp_path)
    assert text.startswith("Run: running") and "Done: 2 jobs of 3; running or started: 1; failed: 0" in text, text
    assert "adv_train_epoch epoch=002 [SLURM 3 RUNNING" in text and "attempt 2" in text, text
    assert "Retried and finished: adv_train_epoch × 1" in text and "Left: nothing" in text, text
