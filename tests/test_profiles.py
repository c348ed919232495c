"""The Snakemake profiles build the DAG they are meant to, and the SLURM plugin makes the GPU
requests the profile relies on (dry runs and plugin functions: no SLURM needed)."""

import re

import pytest
import yaml

from conftest import ROOT, analysis_jobs, copy_workflow, dry_run_jobs, snakemake, write_exp


def _long_chain(wd, epochs: int) -> None:
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg["adv_train"]["epochs"] = epochs
    cfg.pop("runs", None)  # the main chain only (a further run forms groups of its own)
    write_exp(wd, "chain", cfg)


def _groups(proc) -> list[str]:
    return sorted(set(re.findall(r"Group job (\S+)", proc.stdout + proc.stderr)))


@pytest.mark.e2e
def test_slurm_profile_groups_epoch_chain_in_chunks(tmp_path):
    """25 epochs in groups of epochs_per_cluster_job (default 10): 3 submissions for the chain, each a
    consecutive run of epochs; pretrain and the per-epoch evaluations stay separate jobs."""
    wd = copy_workflow(tmp_path)
    _long_chain(wd, 25)
    args = ["-n", "--profile", str(ROOT / "profiles" / "slurm"), "--config", "experiments=[chain]"]
    proc = snakemake(wd, *args, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _groups(proc) == ["adv_train_chain_000", "adv_train_chain_001", "adv_train_chain_002"]
    counts = dry_run_jobs(proc)
    assert counts["adv_train_epoch"] == 25 and counts["evaluate_epochs"] == analysis_jobs(26)
    # each group trains a consecutive run of epochs: 1-10, 11-20, 21-25
    text = proc.stdout + proc.stderr
    for chunk, epochs in enumerate([range(1, 11), range(11, 21), range(21, 26)]):
        block = text.split(f"Group job adv_train_chain_{chunk:03d}")[1].split("\n[")[0]
        outputs = re.findall(r"output: results/chain/runs/main/checkpoints/epoch_(\d{3})\.pt", block)
        assert sorted(int(e) for e in outputs) == list(epochs), block[:2000]

    proc = snakemake(wd, *args, "epochs_per_cluster_job=1", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(_groups(proc)) == 25


@pytest.mark.e2e
def test_local_profile_dry_run(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--profile", str(ROOT / "profiles" / "local"), "--config", "experiments=[smoke]")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert dry_run_jobs(proc)["adv_train_epoch"] == 3 + 1  # main's 3 epochs and smoke's second run's 1


class _Resources(dict):
    __getattr__ = dict.__getitem__


class _Job:
    def __init__(self, **resources):
        self.resources = _Resources(resources)


def test_plugin_turns_gpu_resource_into_gpu_request():
    """What README/profiles/slurm promise about the plugin's GPU flags (no SLURM needed)."""
    utils = pytest.importorskip("snakemake_executor_plugin_slurm.utils")
    assert utils.set_gres_string(_Job(gpu=1)).split() == ["--gpus=1"]
    assert utils.set_gres_string(_Job(gpu=1, gpu_model="a100")).split() == ["--gpus=a100:1"]
    assert utils.set_gres_string(_Job(gpu=0, gres="gpu:a100:1")).split() == ["--gres=gpu:a100:1"]
    assert utils.set_gres_string(_Job()).split() == []
    validation = pytest.importorskip("snakemake_executor_plugin_slurm.validation")
    with pytest.raises(Exception, match="not allowed in the 'slurm_extra'"):
        validation.validate_slurm_extra(_Job(slurm_extra="--gres=gpu:1"))


@pytest.mark.parametrize("profile", ["local", "slurm"])
def test_profiles_do_not_print_shell_commands(profile):
    """Every rule runs a `script:`, so printshellcmds only printed "Shell command: None" per job."""
    cfg = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
    assert "printshellcmds" not in cfg
