"""Self-describing checkpoints: advtrace.load_checkpoint rebuilds a ready model from the file alone."""

import copy
import re

import pytest
import torch

import advtrace
from advtrace.checkpoints import CIFAR10_CLASSES, GTSRB_CLASSES, CheckpointError, class_names
from advtrace.data import prepare_dataset
from advtrace.runtime import load_torch, save_torch
from advtrace.models import build_model
from advtrace.training import adv_train_epoch, pretrain

from conftest import ROOT


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A two-checkpoint digits run in the workflow layout results/digits/runs/main/ (width 4, 1 epoch each)."""
    from advtrace.config import load_yaml

    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("ck")
    exp = load_yaml(ROOT / "config" / "experiments" / "digits.yaml")
    exp = copy.deepcopy(exp)
    exp["model"]["width"] = 4
    exp["pretrain"].update(epochs=1)
    exp["adv_train"]["attack"].update(iterations=2)
    run = base / "results" / "digits" / "runs" / "main"
    data = prepare_dataset(exp["dataset"], exp["seed"], base / "results" / "digits" / "data" / "dataset.pt")
    dev = torch.device("cpu")
    pretrain(data, {k: exp[k] for k in ("seed", "model", "pretrain")}, dev, run / "checkpoints" / "epoch_000.pt")
    # as rules/train.smk passes it: no seed, no name in the adversarial-training params
    adv_cfg = {"model": exp["model"], "adv_train": exp["adv_train"]}
    adv_train_epoch(run / "checkpoints" / "epoch_000.pt", data, adv_cfg, 1, dev, run / "checkpoints" / "epoch_001.pt")
    return base, exp, data


def test_checkpoint_round_trip(digits_run):
    base, exp, data = digits_run
    path = base / "results" / "digits" / "runs" / "main" / "checkpoints" / "epoch_001.pt"
    model = advtrace.load_checkpoint(path)
    meta = model.meta
    assert meta["run"] == "digits/main" and meta["seed"] == exp["seed"]
    assert meta["epoch"] == 1 and meta["phase"] == "adv"
    assert meta["advtrace_version"] == advtrace.__version__
    assert meta["model"] == exp["model"]
    assert meta["dataset"] == "digits" and meta["num_classes"] == 10
    assert meta["class_names"] == [str(i) for i in range(10)]
    assert (meta["in_channels"], meta["image_size"]) == (1, 8)
    assert meta["mean"] == pytest.approx(data["mean"]) and meta["std"] == pytest.approx(data["std"])
    assert meta["input_range"] == [0.0, 1.0]
    assert not model.training
    assert load_torch(path.with_name("epoch_000.pt"))["meta"]["phase"] == "pretrain"
    # the same logits as the model built from the experiment config + dataset.pt, from [0, 1] inputs
    reference = build_model(exp["model"], data["num_classes"], data["in_channels"], data["image_size"],
                            data["mean"], data["std"])
    reference.load_state_dict(load_torch(path)["model"])
    reference.eval()
    x = data["test_x"][:64].float() / 255
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)


def test_old_checkpoint_without_description_gets_the_call_that_loads_it(digits_run, tmp_path):
    base, exp, data = digits_run
    ckpt = load_torch(base / "results" / "digits" / "runs" / "main" / "checkpoints" / "epoch_001.pt")
    del ckpt["meta"]
    old = tmp_path / "results" / "digits" / "runs" / "main" / "checkpoints" / "epoch_001.pt"
    save_torch(ckpt, old)
    with pytest.raises(CheckpointError, match="no model description") as err:
        advtrace.load_checkpoint(old)
    msg = str(err.value)
    assert "load_checkpoint(" in msg and "meta=" in msg
    assert str(tmp_path / "results" / "digits" / "data" / "dataset.pt") in msg
    assert "config/experiments/digits.yaml" in msg
    # the call the message names loads it
    from advtrace.checkpoints import checkpoint_meta

    model = advtrace.load_checkpoint(old, "cpu", meta=checkpoint_meta(exp["model"], data, epoch=1, phase="adv"))
    new = advtrace.load_checkpoint(base / "results" / "digits" / "runs" / "main" / "checkpoints" / "epoch_001.pt")
    x = data["test_x"][:16].float() / 255
    with torch.no_grad():
        assert torch.equal(model(x), new(x))
    with pytest.raises(CheckpointError, match="not an advtrace classifier checkpoint"):
        save_torch({"weights": torch.zeros(1)}, tmp_path / "other.pt")
        advtrace.load_checkpoint(tmp_path / "other.pt")


def test_class_names():
    assert len(GTSRB_CLASSES) == 43 and len(set(GTSRB_CLASSES)) == 43
    assert class_names("cifar10", 10) == CIFAR10_CLASSES
    assert class_names("synthetic", 3) == ["0", "1", "2"]


def test_readme_example_runs(digits_run, monkeypatch, capsys):
    """README "Using a trained model from Python", run as written against a tiny digits run."""
    pytest.importorskip("torchattacks")
    base, _, _ = digits_run
    text = (ROOT / "README.md").read_text()
    code = re.search(r"<!-- tests/test_checkpoints.py runs this example -->\n```python\n(.*?)```", text, re.S).group(1)
    ckpt = base / "results" / "digits" / "runs" / "main" / "checkpoints"
    if not (ckpt / "epoch_010.pt").exists():
        (ckpt / "epoch_010.pt").write_bytes((ckpt / "epoch_001.pt").read_bytes())
    monkeypatch.chdir(base)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    acc = eval(out.strip().splitlines()[-1])
    assert set(acc) == {"clean", "advtrace BI", "torchattacks BIM"}
    assert acc["advtrace BI"] == pytest.approx(acc["torchattacks BIM"], abs=1 / 256)


def test_run_name_follows_the_runs_layout():
    from advtrace.checkpoints import run_name

    assert run_name("results/digits/runs/main/checkpoints/epoch_003.pt") == "digits/main"
    assert run_name("results/digits/checkpoints/epoch_003.pt") == "digits"  # the layout before runs/
    assert run_name("results/digits/runs/cap_width8/checkpoints/epoch_001.pt") == "digits/cap_width8"
    assert run_name("/tmp/model.pt") is None
