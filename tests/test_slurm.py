"""The SLURM profile on a real SLURM: a single-node cluster started on localhost by the test.

Opt-in: runs only with ADVTRACE_SLURM_TEST=1 in the environment (.ci/run sets it), because it
installs packages and starts daemons as root.
Needs root (slurmd, munged, apt-get). Installs `munge slurmctld slurmd slurm-client slurmdbd
mariadb-server` with apt-get when missing (Debian/Ubuntu); skips, naming the reason, only when
that is impossible (not root, no apt-get, install failed). The cluster (tests/localslurm.py)
lives in a temp dir on free ports with slurmdbd accounting, so `sacct` can prove the jobs ran
under SLURM, and one fake GPU (gres/gpu backed by /dev/null), so the profile's real GPU request
(`--gpus=1` for rules with `resources: gpu=1`) is scheduled and accounted instead of rejected.
The daemons it started are killed by PID in the fixture teardown, also when the test fails.

Target: the learning-curve table of the smoke experiment (data -> pretrain -> every
adversarial-training epoch -> per-epoch evaluation -> table), not the whole smoke DAG: every
job is a SLURM submission plus status polling, and the analyses other stages add to smoke
would push this test past its time budget without testing anything more about SLURM. Every
job's --time and --mem are the ones the work model computes (advtrace.workmodel).

The second test cancels the adversarial-training group job while its second epoch runs (scancel,
as an administrator or a cancelling preemption would), then preempts the retried job with a job
of a higher-priority partition (SLURM requeues it): Snakemake must fail the cancelled job within
a status interval and retry it, wait for the requeued one, and the chain must end bit-identical
to the uninterrupted local run, no finished epoch trained twice (advtrace.slurm_status,
advtrace.training.adv_train_epochs).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from advtrace import plan as P, workmodel as W
from advtrace.runtime import load_torch
from advtrace.tables import read_table

from conftest import ROOT, copy_workflow, dry_run_jobs
from localslurm import LocalSlurm, SlurmUnavailable, ensure_installed, missing_packages

# Opt-in: as root this test installs Debian packages (SLURM, MariaDB) and starts daemons, which a
# plain `pytest` must never do unasked. .ci/run opts in; so does `ADVTRACE_SLURM_TEST=1 pytest`.
SLURM_TEST_ENV = "ADVTRACE_SLURM_TEST"
pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get(SLURM_TEST_ENV) != "1",
        reason=f"real-SLURM test is opt-in (it installs and starts SLURM as root): set {SLURM_TEST_ENV}=1 to run it",
    ),
]

TARGET = "results/smoke/tables/learning_curve.parquet"
GPU_RULES = {"pretrain", "adv_train_epoch", "evaluate_epochs"}  # rules declaring resources: gpu=1
RUN_TIMEOUT = 600  # s, hard limit (timeout -s KILL) on the SLURM snakemake run; ~7 min measured under load 10 on 2 cores
# the cost section the test runs with: GPU rules priced on the CPU (the node's GPU is fake, jobs run
# on its CPU), a large runtime margin so the computed --time differs from job to job
COST = "cost={gpu: cpu, min_runtime: 1, runtime_margin: 60}"


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The same target run locally (the reference: deterministic on CPU); only what the SLURM runs
    build, not the whole smoke DAG (the session's smoke_run), to keep this module in its budget."""
    wd = copy_workflow(tmp_path_factory.mktemp("local"))
    proc = subprocess.run([sys.executable, "-m", "snakemake", TARGET, "--cores", "2", "--config", "experiments=[smoke]"],
                          cwd=wd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return wd


@pytest.fixture(scope="module")
def slurm_cluster():
    if os.geteuid() != 0:
        pytest.skip("SLURM test needs root (slurmd, munged, apt-get); running as uid %d" % os.geteuid())
    if missing_packages() and shutil.which("apt-get") is None:
        pytest.skip(f"SLURM packages {missing_packages()} missing and no apt-get to install them")
    try:
        install_s = ensure_installed()
    except SlurmUnavailable as err:
        pytest.skip(f"cannot install SLURM: {err}")
    # 6000 MB: the jobs ask for what the work model computes (~1.1 GB each for digits)
    cluster = LocalSlurm(cpus=2, mem_mb=6000, gpus=1, accounting=True, preempt=True)
    t0 = time.monotonic()
    try:
        cluster.start(timeout=90)
        cluster.timings = {"install_s": install_s, "start_s": time.monotonic() - t0}
        yield cluster
    finally:
        # cancels the cluster's jobs, kills exactly the daemons it started (by PID), removes the
        # temp dir; if this process dies without getting here, the cluster's watchdog does it
        cluster.cleanup()


def overlay_profile(path: Path, retries: int = 0) -> Path:
    """Test-only overrides, applied as a second --profile (its top-level keys replace the real
    profile's): the localhost partition, fast status polling. Runtime and memory are NOT
    overridden (the work model's), nor is the GPU request: the node has one fake GPU."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "default-resources": {"slurm_partition": "debug"},
                "slurm-init-seconds-before-status-checks": 1,
                "slurm-keep-successful-logs": True,
                "latency-wait": 5,
                "retries": retries,
                "jobs": 4,
            }
        )
    )
    return path


def minutes(timelimit: str) -> int:
    """sacct's Timelimit ([D-]HH:MM:SS) in minutes."""
    days, _, hms = timelimit.rpartition("-")
    h, m, sec = (int(x) for x in hms.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (sec > 0)


def computed(wd: Path, rule: str, wildcards: dict, attempt: int = 1) -> tuple[int, int]:
    """(--time minutes, --mem MB) the work model computes for a job, with the test's config."""
    cfg = P.load_config(["experiments=[smoke]", COST], wd)
    est = W.job_estimate(rule, P.experiments(cfg, wd)["smoke"], wildcards, cfg, "cpu", gpu=True)
    cost = W.cost_settings(cfg)
    return W.runtime_minutes(est.seconds, attempt, cost), W.memory_mb(est.host_mb, cost)


def sacct_jobs(cluster: LocalSlurm, expected: int, timeout: float = 60, duplicates: bool = False) -> list[dict]:
    """Allocations (-X) this cluster accounted; waits until `expected` of them are final."""
    fields = ["JobID", "JobName", "Comment", "State", "ExitCode", "NodeList", "ReqTRES", "AllocTRES", "Timelimit",
              "ReqMem"]
    deadline = time.monotonic() + timeout
    while True:
        out = cluster.cmd("sacct", "-X", "-n", "-P", "--starttime=2000-01-01", f"--format={','.join(fields)}",
                          *(["--duplicates"] if duplicates else []))
        rows = [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line.strip()]
        final = [r for r in rows if r["State"] not in ("PENDING", "RUNNING", "COMPLETING")]
        if len(final) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def job_kind(comment: str) -> str:
    if re.fullmatch(r"rule_adv_train_\w+_\d{3}_adv_train_epoch", comment):
        return "group_adv_train"
    return comment.split("_wildcards_")[0]


@pytest.mark.e2e
def test_smoke_learning_curve_on_slurm_matches_local_run(slurm_cluster, local_run, tmp_path):
    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    overlay = overlay_profile(tmp_path / "overlay")
    k = yaml.safe_load((wd / "config" / "config.yaml").read_text())["epochs_per_cluster_job"]
    env = dict(slurm_cluster.env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    base = [sys.executable, "-m", "snakemake", TARGET, "--profile", str(ROOT / "profiles" / "slurm"),
            "--profile", str(overlay), "--config", "experiments=[smoke]", COST]

    # what Snakemake will run: one job per rule instance (dry run), adv_train_epoch in groups of k
    dry = subprocess.run(base + ["-n"], cwd=wd, env=env, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    counts = dry_run_jobs(dry)
    counts.pop("total", None)

    t0 = time.monotonic()
    proc = subprocess.run(["timeout", "-s", "KILL", str(RUN_TIMEOUT)] + base, cwd=wd, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT + 30)
    run_s = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"snakemake --profile profiles/slurm failed (rc {proc.returncode}, {run_s:.0f} s):\n{log[-6000:]}\n"
        f"--- slurmctld.log ---\n{slurm_cluster.log_tail('slurmctld')}"
    )
    print(f"\nSLURM smoke learning curve: install {slurm_cluster.timings['install_s']:.1f} s, "
          f"cluster start {slurm_cluster.timings['start_s']:.1f} s, snakemake run {run_s:.1f} s")

    # expected submissions: every job that is not a localrule (cheap jobs run where Snakemake
    # runs), adv_train_epoch as ceil(n/k) group jobs
    local = {}
    for name in re.findall(r"^localrule (\w+):", log, flags=re.M):
        local[name] = local.get(name, 0) + 1
    remote = {r: n - local.get(r, 0) for r, n in counts.items() if n - local.get(r, 0) > 0}
    assert "pretrain" in remote and "evaluate_epochs" in remote and "adv_train_epoch" in remote, (remote, local)
    expected = {f"rule_{r}": n for r, n in remote.items() if r != "adv_train_epoch"}
    expected["group_adv_train"] = math.ceil(remote["adv_train_epoch"] / k)

    # 1. every submitted job is a SLURM allocation that ran to completion on the node
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    rows = sacct_jobs(slurm_cluster, expected=len(submitted))
    assert sorted(r["JobID"] for r in rows) == sorted(submitted), rows
    for r in rows:
        assert r["JobName"] == run_id and r["State"] == "COMPLETED" and r["ExitCode"] == "0:0", r
        assert r["NodeList"] == "localhost", r
    # the plugin's --comment: rule_<rule>_wildcards_<wc> for a job, rule_<group id>_<rules> for a group
    kinds = [job_kind(r["Comment"]) for r in rows]
    assert {k_: kinds.count(k_) for k_ in set(kinds)} == expected, (kinds, expected)

    # 2. GPU rules asked SLURM for a GPU (sbatch --gpus=1 from `resources: gpu=1`), others did not
    for r, kind in zip(rows, kinds):
        gpu_job = kind == "group_adv_train" or kind.removeprefix("rule_") in GPU_RULES
        assert ("gres/gpu=1" in r["ReqTRES"]) == gpu_job, r
        assert ("gres/gpu=1" in r["AllocTRES"]) == gpu_job, r

    # 3. the longest single job asked SLURM for the runtime and memory the work model computes
    pre = next(r for r, kind in zip(rows, kinds) if kind == "rule_pretrain")
    want_min, want_mb = computed(wd, "pretrain", {"exp": "smoke"})
    assert (minutes(pre["Timelimit"]), pre["ReqMem"]) == (want_min, f"{want_mb}M"), (pre, want_min, want_mb)
    assert want_min > 1, "the test's runtime margin should lift pretrain above the 1-minute floor"

    # 4. same numbers as the local run (deterministic on CPU)
    lc_slurm = read_table(wd / TARGET, "learning_curve")
    lc_local = read_table(local_run / TARGET, "learning_curve")
    key = ["epoch", "split", "attack"]
    pd.testing.assert_frame_equal(lc_slurm.sort_values(key).reset_index(drop=True),
                                  lc_local.sort_values(key).reset_index(drop=True))


TRAIN_TARGET = "results/smoke/runs/main/checkpoints/epoch_003.pt"


def _squeue(cluster: LocalSlurm) -> list[dict]:
    out = cluster.cmd("squeue", "-h", "-o", "%i|%k|%T", check=False)
    return [dict(zip(("id", "comment", "state"), line.split("|"))) for line in out.splitlines() if line.strip()]


def _wait(cond, proc, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended (rc {proc.returncode}) while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _same_state(a: Path, b: Path) -> None:
    ca, cb = load_torch(a), load_torch(b)
    assert ca["epoch"] == cb["epoch"], (a, b)
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k]), (a, k)
    for k, v in ca["optimizer"]["state"].items():
        assert all(torch.equal(v[n], cb["optimizer"]["state"][k][n]) for n in v), (a, k)
    assert torch.equal(ca["rng"], cb["rng"]) and torch.equal(ca["torch_rng"], cb["torch_rng"]), a


@pytest.mark.e2e
def test_cancelled_then_preempted_training_job_resumes_bit_identical(slurm_cluster, local_run, tmp_path):
    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    overlay = overlay_profile(tmp_path / "overlay", retries=1)
    env = dict(slurm_cluster.env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = ["timeout", "-s", "KILL", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake", TRAIN_TARGET,
           "--profile", str(ROOT / "profiles" / "slurm"), "--profile", str(overlay),
           "--config", "experiments=[smoke]", COST]
    ck = {t: wd / f"results/smoke/runs/main/checkpoints/epoch_{t:03d}.pt" for t in (1, 2, 3)}
    log_path = tmp_path / "snakemake.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=wd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            def group_running():
                return next((j for j in _squeue(slurm_cluster) if "adv_train" in j["comment"]
                             and j["state"] == "RUNNING"), None)

            # 1. scancel the group job once epoch 1 is written, while its epoch-2 job runs
            first = _wait(lambda: ck[1].exists() and group_running(), proc, 420, "epoch 1 of the group job")
            slurm_cluster.cmd("scancel", first["id"])
            t_cancel = time.monotonic()
            # 2. Snakemake fails it and submits the retry (attempt 2), which restores epoch 1 and trains
            # epoch 2; preempt the retry once epoch 2 is written: SLURM requeues it (same id)
            second = _wait(lambda: (j := group_running()) and j["id"] != first["id"] and j, proc, 300,
                           "the retried group job")
            t_retry = time.monotonic()
            _wait(lambda: ck[2].exists() and ck[2].stat().st_mtime > ck[1].stat().st_mtime, proc, 300,
                  "epoch 2 of the retried job")
            slurm_cluster.cmd("sbatch", "-p", "urgent", "--gpus=1", "--mem=100", "-t", "1", "-J", "urgent",
                              "-o", str(tmp_path / "urgent.out"), "--wrap", "sleep 2")
            _wait(lambda: any(j["id"] == second["id"] and j["state"] == "PENDING" for j in _squeue(slurm_cluster)),
                  proc, 120, "the preempted job to be requeued")
            # SLURM holds a requeued job for 120 s; release it now (the delay is SLURM's, not under test)
            slurm_cluster.cmd("scontrol", "update", f"JobId={second['id']}", "StartTime=now")
            proc.wait(timeout=RUN_TIMEOUT + 30)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log_path.read_text()
    assert proc.returncode == 0, f"{text[-6000:]}\n--- slurmctld.log ---\n{slurm_cluster.log_tail('slurmctld')}"
    latency = t_retry - t_cancel
    print(f"\ncancelled group job {first['id']} retried as {second['id']} after {latency:.1f} s")

    # the cancelled job failed (not "running" for ever) and was retried once, with twice its runtime;
    # the preempted retry was requeued by SLURM, not resubmitted by Snakemake
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    rows = sacct_jobs(slurm_cluster, expected=1, duplicates=True)
    groups = [r for r in rows if r["JobName"] == run_id and "adv_train" in r["Comment"]]
    assert [r["JobID"] for r in groups if r["JobID"] == first["id"]] == [first["id"]]
    assert groups[0]["State"].startswith("CANCELLED"), groups
    states = [r["State"] for r in groups if r["JobID"] == second["id"]]
    assert "PREEMPTED" in states and states[-1] == "COMPLETED", groups
    assert {r["JobID"] for r in groups} == {first["id"], second["id"]}, groups
    limits = {r["JobID"]: minutes(r["Timelimit"]) for r in groups}
    assert limits[second["id"]] == 2 * limits[first["id"]], limits  # runtime x attempt
    assert latency < 200, "the plugin's status interval grows to at most 180 s"
    assert re.search(r"Error in group adv_train_smoke_000", text) and "CANCELLED" in text

    # every finished epoch survived: the last attempt trained only epoch 3 ...
    logs = {t: (wd / f"results/smoke/runs/main/logs/adv_train_epoch/{t:03d}.log").read_text() for t in (1, 2, 3)}
    assert "kept from an earlier attempt" in logs[1] and "kept from an earlier attempt" in logs[2], logs
    assert "kept from an earlier attempt" not in logs[3]
    # ... and the chain is bit-identical to the uninterrupted local run
    for t in (1, 2, 3):
        _same_state(ck[t], local_run / f"results/smoke/runs/main/checkpoints/epoch_{t:03d}.pt")
