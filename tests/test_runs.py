"""Several training runs per experiment: expansion, overrides, validation, paths, DAG."""

import copy

import pytest
import torch

from advtrace import runs, stages
from advtrace.config import ConfigError, validate_experiment
from conftest import copy_workflow, dry_run_jobs, snakemake, write_exp


@pytest.fixture
def exp(digits_cfg):
    e = copy.deepcopy(digits_cfg)
    for stage in stages.all_stages():  # the study sections' runs are tested with their studies
        if stage.module is not None:
            e.pop(stage.name, None)
    e["runs"] = {
        "fgsm_true": {"adv_train.attack": {"name": "fgsm", "eps": 32}, "adv_train.attack_label": "ground_truth"},
        "cap": {"grid": {"model.width": [8, 16], "adv_train.sigma": [0.0, 0.5]}, "adv_train.epochs": 2},
    }
    return e


def test_grids_expand_into_readable_names_main_first(exp):
    names = list(runs.expand(exp))
    assert names == ["main", "fgsm_true", "cap_width8_sigma0p0", "cap_width8_sigma0p5",
                     "cap_width16_sigma0p0", "cap_width16_sigma0p5"]
    assert runs.expand(exp)["cap_width8_sigma0p5"] == {"adv_train.epochs": 2, "model.width": 8,
                                                       "adv_train.sigma": 0.5}


def test_run_config_applies_overrides_to_a_copy(exp):
    cfg = runs.run_config(exp, "cap_width8_sigma0p5")
    assert cfg["model"]["width"] == 8 and cfg["adv_train"]["sigma"] == 0.5 and cfg["adv_train"]["epochs"] == 2
    assert cfg["adv_train"]["attack"] == exp["adv_train"]["attack"]  # untouched keys kept
    assert exp["model"]["width"] == 16 and exp["adv_train"]["sigma"] == 0.0  # the experiment is unchanged
    assert runs.run_config(exp, "main") == exp
    with pytest.raises(KeyError, match="no run 'nope'"):
        runs.run_config(exp, "nope")


def test_epoch_zero_is_shared_only_when_seed_model_and_pretraining_match(exp):
    assert runs.shares_pretraining(exp, "fgsm_true") and runs.shares_pretraining(exp, "cap_width16_sigma0p0")
    assert not runs.shares_pretraining(exp, "cap_width8_sigma0p0")
    assert runs.checkpoint_path(exp, "fgsm_true", 0) == "results/digits/runs/main/checkpoints/epoch_000.pt"
    assert runs.checkpoint_path(exp, "fgsm_true", 3) == "results/digits/runs/fgsm_true/checkpoints/epoch_003.pt"
    assert runs.checkpoint_path(exp, "cap_width8_sigma0p0", 0) == "results/digits/runs/cap_width8_sigma0p0/checkpoints/epoch_000.pt"
    assert runs.checkpoint_path(exp, "main", 2) == "results/digits/runs/main/checkpoints/epoch_002.pt"
    assert runs.epoch_owner(exp, "fgsm_true", 0) == "main" and runs.epoch_owner(exp, "fgsm_true", 1) == "fgsm_true"
    assert runs.epoch_owner(exp, "cap_width8_sigma0p0", 0) == "cap_width8_sigma0p0"


def test_valid_runs_validate(schema, exp):
    validate_experiment(exp, schema, expected_name="digits")


@pytest.mark.parametrize("spec,message", [
    ({"bad name": {}}, "letters, digits and _"),
    ({"main": {}}, "not 'main'"),
    ({"r": {"detect.epochs": [0]}}, "overrides only seed, model, pretrain, adv_train"),
    ({"r": {"adv_train.attack.eps": -1}}, "runs.r: adv_train.attack.eps"),
    ({"r": {"adv_train.optimizer.lrr": 0.1}}, "runs.r: adv_train.optimizer"),
    ({"r": {"model.width": 4, "adv_train.epochs": 0}}, "runs.r: adv_train.epochs"),
    ({"r": {"grid": {"model.width": []}}}, "non-empty lists"),
    ({"r": {"grid": {"seed": [1]}}, "r_seed1": {}}, "occur twice"),
    ({"r": {"adv_train.attack.alpha": 64, "adv_train.attack.name": "bi", "adv_train.attack.iterations": 2}},
     "alpha: 64 > eps"),
])
def test_bad_runs_are_rejected_naming_the_run_and_key(schema, digits_cfg, spec, message):
    e = copy.deepcopy(digits_cfg)
    e["runs"] = spec
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate_experiment(e, schema, expected_name="digits")


@pytest.mark.e2e
def test_runs_dry_run_trains_each_run_once_from_the_right_epoch_zero(tmp_path):
    import yaml

    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg["runs"] = {"fgsm": {"adv_train.attack": {"name": "fgsm", "eps": 32}},
                   "cap": {"grid": {"model.width": [8, 16]}, "adv_train.epochs": 2}}
    write_exp(wd, "smoke", cfg)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[smoke]")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    T = cfg["adv_train"]["epochs"]
    # smoke's model has width 8: cap_width8 starts from the shared epoch 0, cap_width16 pretrains its own
    assert counts["pretrain"] == 2  # main's and cap_width16's
    assert counts["adv_train_epoch"] == T + T + 2 + 2  # main, fgsm, cap_width8, cap_width16
    assert "results/smoke/runs/cap_width16/checkpoints/epoch_000.pt" in proc.stdout
    assert "results/smoke/runs/cap_width8/checkpoints/epoch_000.pt" not in proc.stdout


@pytest.mark.e2e
def test_smoke_run_trains_its_second_run(smoke_run):
    """smoke.yaml's run fgsm_ground_truth: one FGSM epoch against true labels from the shared epoch 0."""
    from advtrace.runtime import load_torch

    res = smoke_run / "results" / "smoke"
    run_ckpt = load_torch(res / "runs" / "fgsm_ground_truth" / "checkpoints" / "epoch_001.pt")
    main_ckpt = load_torch(res / "runs" / "main" / "checkpoints" / "epoch_001.pt")
    epoch0 = load_torch(res / "runs" / "main" / "checkpoints" / "epoch_000.pt")
    assert run_ckpt["epoch"] == 1 and run_ckpt["phase"] == "adv"
    differs = [k for k in run_ckpt["model"] if not torch.equal(run_ckpt["model"][k], main_ckpt["model"][k])]
    moved = [k for k in run_ckpt["model"] if not torch.equal(run_ckpt["model"][k], epoch0["model"][k])]
    assert differs and moved  # its own adversary, trained from the shared pretrained model
    assert not (res / "runs" / "fgsm_ground_truth" / "checkpoints" / "epoch_000.pt").exists()


def test_a_run_can_switch_training_method_removing_keys_with_null(schema, digits_cfg):
    e = copy.deepcopy(digits_cfg)
    for stage in stages.all_stages():  # the study sections' runs are tested with their studies
        if stage.module is not None:
            e.pop(stage.name, None)
    e["runs"] = {"kurakin": {"adv_train.method": "kofm", "adv_train.sigma": None,
                             "adv_train.kofm": {"k_fraction": 0.5, "lam": 0.3, "eps_sigma": 16},
                             "adv_train.attack": {"name": "step_ll", "eps": 32}}}
    validate_experiment(e, schema, expected_name="digits")
    cfg = runs.run_config(e, "kurakin")
    assert cfg["adv_train"]["method"] == "kofm" and "sigma" not in cfg["adv_train"]
    e["runs"]["kurakin"].pop("adv_train.sigma")
    with pytest.raises(ConfigError, match="runs.kurakin: adv_train"):
        validate_experiment(e, schema, expected_name="digits")
