"""Config validation: the shipped configs pass; bad values fail before any job with a message
naming the key and what is allowed."""

import copy

import pytest

from advtrace.config import ConfigError, attack_kwargs, load_experiments, load_yaml, validate_experiment


def test_shipped_experiments_are_valid(root, schema):
    for path in sorted((root / "config" / "experiments").glob("*.yaml")):
        validate_experiment(load_yaml(path), schema, expected_name=path.stem)


def test_top_level_config_loads(root, schema):
    exps = load_experiments(load_yaml(root / "config" / "config.yaml"), schema, root)
    assert "digits" in exps


def _set(cfg, dotted, value):
    keys = dotted.split(".")
    d = cfg
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()

BAD = [
    # (dotted key, value, text the message must contain)
    ("dataset.name", "mnist", "allowed values: 'digits', 'cifar10', 'gtsrb'"),
    ("model.name", "vgg16", "model.name"),
    ("adv_train.attack.name", "pgd", "adv_train.attack.name"),
    ("adv_train.attack.eps", 0, "adv_train.attack.eps"),
    ("adv_train.attack.eps", -4, "must be > 0"),
    ("adv_train.attack.alpha", 1000, "adv_train.attack.alpha"),
    ("analysis.epochs", [0, 1, 99], "analysis.epochs"),
    ("samples.eval_test.n", 100000, "samples.eval_test.n"),
    ("dataset.splits.train.n", 5000, "dataset.splits"),
    ("adv_train.epochs", "ten", "adv_train.epochs"),
    ("adv_train.sigma", 1.5, "adv_train.sigma"),
    ("pretrain.batch_size", 0, "pretrain.batch_size"),
    ("adv_train.attack_label", "true", "allowed values: 'predicted', 'ground_truth'"),
    ("adv_train.schedule.name", "cosine", "adv_train.schedule.name"),
    ("adv_train.attack.iterations", _DELETE, "adv_train.attack.iterations"),
    ("evaluation.train_set", "nope", "evaluation.train_set"),
    ("samples.sharedness_other_test.exclude", ["missing_set"], "samples.sharedness_other_test.exclude"),
    ("dataset.image_size", 16, "dataset.image_size"),
    ("model.widht", 16, "widht"),
    ("seed", 1.5, "seed"),
    # issue 18: accepted before, failing later or never
    ("adv_train.epochs", 3.0, "adv_train.epochs: 3.0 is not an integer; write 3"),
    ("pretrain.batch_size", 64.0, "pretrain.batch_size: 64.0 is not an integer; write 64"),
    ("analysis.epochs", [0, 1.0], "analysis.epochs"),
    ("seed", 2**70, "seed: 1180591620717411303424 is too large for a torch seed; allowed 0..2**63-1"),
    ("seed", 2**63, "too large for a torch seed"),
    ("destruction.noise_seed", 2**64, "destruction.noise_seed: 18446744073709551616 is too large"),
    ("samples.sharedness_test.exclude", ["sharedness_other_test"],
     "samples.sharedness_other_test.exclude: circular exclusion sharedness_other_test -> sharedness_test -> "
     "sharedness_other_test"),
    ("samples.eval_test.exclude", ["eval_test"], "samples.eval_test.exclude: circular exclusion eval_test -> eval_test"),
    ("adv_train.attack", {"name": "bi", "eps": 4 / 255, "alpha": 1 / 255, "iterations": 10},
     "adv_train.attack.eps: 0.0156863 is below 1 in [0, 255] pixel units, almost certainly a units mistake "
     "(ε given in [0, 1] units?); write ε and α in pixel units, e.g. eps: 4, alpha: 1"),
    ("universal.eps", 10 / 255, "universal.eps: 0.0392157 is below 1 in [0, 255] pixel units, almost certainly a units"),
    ("perturb.attacks.FGSM.eps", 1000, "perturb.attacks.FGSM.eps: 1000 exceeds 255, the whole pixel range"),
    ("perturb.attacks.FGSM.eps", float("inf"), "perturb.attacks.FGSM.eps: inf is not a finite number (ε and α are in "
                                                "[0, 255] pixel units: at most 255)"),
    ("perturb.attacks.BI.eps", float("nan"), "perturb.attacks.BI.eps: nan is not a finite number"),
    ("adv_train.optimizer.lr", float("inf"), "adv_train.optimizer.lr: inf is not a finite number"),
    ("detect.maximise.eps", 300, "detect.maximise.eps: 300 exceeds 255"),
    ("perturb.attacks.L2", {"name": "bi_l2", "eps": 5000, "alpha": 100, "iterations": 5},
     "perturb.attacks.L2.eps: 5000 exceeds 2040, the ℓ2 norm of the largest possible perturbation"),
    ("perturb.attacks.DeepFool", {"name": "deepfool_l2", "eps": 48, "alpha": 8, "iterations": 10},
     "perturb.attacks.DeepFool: 'deepfool_l2' does not use alpha/iterations (it would be silently ignored)"),
    ("samples.bad name", {"split": "test", "n": 10, "exclude": []},
     "samples.bad name: the set name 'bad name' may only contain letters, digits and _"),
    ("samples.test/set", {"split": "test", "n": 10, "exclude": []}, "the set name 'test/set' may only contain"),
]


@pytest.mark.parametrize("key,value,needle", BAD, ids=[f"{k}={v!r}" if v is not _DELETE else f"del {k}" for k, v, _ in BAD])
def test_bad_config_rejected_with_key(schema, digits_cfg, key, value, needle):
    cfg = copy.deepcopy(digits_cfg)
    _set(cfg, key, value)
    with pytest.raises(ConfigError) as exc:
        validate_experiment(cfg, schema, expected_name="digits")
    assert needle in str(exc.value), str(exc.value)


def test_unknown_experiment_lists_available(root, schema):
    cfg = load_yaml(root / "config" / "config.yaml")
    cfg["experiments"] = ["cifar100"]
    with pytest.raises(ConfigError, match="unknown experiment 'cifar100'.*allowed: .*digits"):
        load_experiments(cfg, schema, root)


# --- where experiments are found: the user's experiment_dir first, then the workflow's own -------------

def _user_dir(tmp_path, root, **files):
    """A user's experiment_dir holding `files` ({name: changes to smoke.yaml})."""
    import yaml

    d = tmp_path / "config" / "experiments"
    d.mkdir(parents=True)
    for name, changes in files.items():
        cfg = dict(load_yaml(root / "config" / "experiments" / "smoke.yaml"), name=name, **changes)
        (d / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return d


def test_user_experiments_first_then_the_workflows_own(tmp_path, root, schema):
    """A file in the user's experiment_dir (relative to the working directory) wins over the
    workflow's own of the same name; a name only the workflow has comes from the workflow; a user's
    new experiment and its seed variants need no change to the workflow."""
    from advtrace.config import experiments

    user = _user_dir(tmp_path, root, smoke={"seed": 5}, mine={"seed": 9})
    cfg = dict(load_yaml(root / "config" / "config.yaml"), experiments=["smoke", "mine", "digits"])
    exps = experiments(cfg, schema, tmp_path, root / "config" / "experiments")
    assert exps["smoke"]["seed"] == 5 and exps.file_of("smoke") == user / "smoke.yaml"
    assert exps["mine"]["seed"] == 9 and exps.file_of("mine") == user / "mine.yaml"
    assert exps.file_of("digits") == root / "config" / "experiments" / "digits.yaml"
    assert exps["mine_seed2"]["seed"] == 2 and exps.file_of("mine_seed2") == user / "mine.yaml"
    assert {"smoke", "mine", "digits", "cifar10_preact18"} <= set(exps.available())
    assert "mine_seed3" in exps and "nope" not in exps
    # the same directory twice (running inside the workflow's own clone) is one place
    same = experiments(cfg | {"experiments": ["digits"]}, schema, root, root / "config" / "experiments")
    assert len(same.places) == 1


def test_unknown_experiment_names_every_place_looked_in_order(tmp_path, root, schema):
    from advtrace.config import experiments

    user = _user_dir(tmp_path, root, mine={})
    cfg = dict(load_yaml(root / "config" / "config.yaml"), experiments=["cifar100"])
    with pytest.raises(ConfigError) as exc:
        experiments(cfg, schema, tmp_path, root / "config" / "experiments")
    msg = str(exc.value)
    assert "unknown experiment 'cifar100'" in msg and "allowed: " in msg and "mine" in msg and "digits" in msg
    first, second = msg.index(f"1. {user} (your experiment_dir)"), msg.index(f"2. {root / 'config' / 'experiments'}")
    assert first < second


def test_name_must_match_file(schema, digits_cfg):
    digits_cfg["name"] = "other"
    with pytest.raises(ConfigError, match="must equal the file name"):
        validate_experiment(digits_cfg, schema, expected_name="digits")


def test_attack_units_converted_once():
    kw = attack_kwargs({"name": "bi", "eps": 4, "alpha": 1, "iterations": 10})
    assert kw == {"name": "bi", "eps": 4 / 255, "alpha": 1 / 255, "iterations": 10}


def test_value_bounds_accept_the_edges(schema, digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["seed"] = 2**63 - 1
    cfg["perturb"]["attacks"]["FGSM"]["eps"] = 255
    cfg["perturb"]["attacks"]["BI"].update(eps=1, alpha=1)
    cfg["perturb"]["attacks"]["L2"] = {"name": "bi_l2", "eps": 0.5 * 255 * 8, "alpha": 100, "iterations": 5}
    validate_experiment(cfg, schema, expected_name="digits")


def _write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_duplicate_yaml_key_rejected_with_line(tmp_path):
    path = _write(tmp_path, "name: x\nadv_train:\n  epochs: 3\n  batch_size: 64\n  epochs: 5\n")
    with pytest.raises(ConfigError) as exc:
        load_yaml(path)
    assert str(exc.value).startswith(f"{path}, line 5, column 3: invalid YAML: duplicate key 'epochs' (first at line 3)")
    # a merge key may be overridden: that is not a duplicate
    assert load_yaml(_write(tmp_path, "b: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"))["d"] == {"x": 3, "y": 2}


def test_yaml_syntax_error_names_file_line_column_without_traceback(tmp_path):
    path = _write(tmp_path, "name: x\nseed: 1\n model: {name: convnet}\n")
    with pytest.raises(ConfigError) as exc:
        load_yaml(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}, line 3, column 7: invalid YAML: mapping values are not allowed here"), msg
    assert " model: {name: convnet}\n" in msg and "Traceback" not in msg and 'File "' not in msg
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_a_renamed_key_names_its_new_name(schema, digits_cfg):
    """Issue 26 renamed the epochs-per-job keys: an old config says what the key is called now."""
    import copy

    from advtrace.config import ConfigError, validate_experiment

    exp = copy.deepcopy(digits_cfg)
    exp["adv_train"]["job_epochs"] = 2
    with pytest.raises(ConfigError, match="'job_epochs' is now adv_train.epochs_per_training_job"):
        validate_experiment(exp, schema, expected_name="digits")

