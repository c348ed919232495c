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
would push this test past its time budget without testing anything more about SLURM.
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
import yaml

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
    cluster = LocalSlurm(cpus=2, mem_mb=2000, gpus=1, accounting=True)
    t0 = time.monotonic()
    try:
        cluster.start(timeout=90)
        cluster.timings = {"install_s": install_s, "start_s": time.monotonic() - t0}
        yield cluster
    finally:
        # cancels the cluster's jobs, kills exactly the daemons it started (by PID), removes the
        # temp dir; if this process dies without getting here, the cluster's watchdog does it
        cluster.cleanup()


def overlay_profile(path: Path) -> Path:
    """Test-only overrides, applied as a second --profile (its top-level keys replace the real
    profile's): the localhost partition, small runtime/memory that fit the 2-CPU/2000 MB node,
    fast status polling. The GPU request is NOT overridden: the node has one fake GPU."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "default-resources": {"slurm_partition": "debug", "runtime": 10, "mem_mb": 400},
                "slurm-init-seconds-before-status-checks": 1,
                "slurm-keep-successful-logs": True,
                "latency-wait": 5,
                "retries": 0,
                "jobs": 4,
            }
        )
    )
    return path


def sacct_jobs(cluster: LocalSlurm, expected: int, timeout: float = 60) -> list[dict]:
    """Allocations (-X) this cluster accounted; waits until `expected` of them are final."""
    fields = ["JobID", "JobName", "Comment", "State", "ExitCode", "NodeList", "ReqTRES", "AllocTRES"]
    deadline = time.monotonic() + timeout
    while True:
        out = cluster.cmd("sacct", "-X", "-n", "-P", "--starttime=2000-01-01", f"--format={','.join(fields)}")
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
def test_smoke_learning_curve_on_slurm_matches_local_run(slurm_cluster, smoke_run, tmp_path):
    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    overlay = overlay_profile(tmp_path / "overlay")
    k = yaml.safe_load((wd / "config" / "config.yaml").read_text())["epochs_per_cluster_job"]
    env = dict(slurm_cluster.env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    base = [sys.executable, "-m", "snakemake", TARGET, "--profile", str(ROOT / "profiles" / "slurm"),
            "--profile", str(overlay), "--config", "experiments=[smoke]"]

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

    # 3. same numbers as the local run (deterministic on CPU)
    lc_slurm = read_table(wd / TARGET, "learning_curve")
    lc_local = read_table(smoke_run / TARGET, "learning_curve")
    key = ["epoch", "split", "attack"]
    pd.testing.assert_frame_equal(lc_slurm.sort_values(key).reset_index(drop=True),
                                  lc_local.sort_values(key).reset_index(drop=True))
