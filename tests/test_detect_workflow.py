"""Detectors through the real Snakefile: the smoke experiment's tables, checkpoints and Figs. 6, 7, 16.
These tests only read the shared smoke_run outputs."""

import pytest
import torch
import yaml

from advtrace.runtime import load_torch
from advtrace.tables import read_table

from conftest import assert_figures


@pytest.fixture(scope="module")
def smoke(smoke_run):
    cfg = yaml.safe_load((smoke_run / "config" / "experiments" / "smoke.yaml").read_text())
    return smoke_run / "results" / "smoke", cfg


@pytest.mark.e2e
def test_detect_figures_exist(smoke):
    res, _ = smoke
    assert_figures(res, ("fig06_detectability", "fig07_detector_max", "fig16_detectability_attacks"))


@pytest.mark.e2e
def test_detectability_matrix(smoke):
    res, cfg = smoke
    det = cfg["detect"]
    df = read_table(res / "tables" / "detectability.parquet", "detectability")
    epochs = sorted(det["epochs"])
    for attack, mode in det["attacks"].items():
        d = df[df["attack"] == attack]
        pairs = set(zip(d["train_epoch"], d["test_epoch"]))
        expected = {(t, u) for t in epochs for u in epochs} if mode == "matrix" else {(t, t) for t in epochs}
        assert pairs == expected, (attack, pairs)
        assert len(d) == len(expected)
    assert df["accuracy"].between(0, 1).all()
    assert (df["n"] == 2 * cfg["samples"][det["test_set"]]["n"]).all()
    # accuracy is the mean of the clean and adversarial halves (balanced union)
    assert ((df["accuracy_clean"] + df["accuracy_adv"]) / 2 - df["accuracy"]).abs().max() < 1e-9


@pytest.mark.e2e
def test_detector_training_selects_one_epoch_each(smoke):
    res, cfg = smoke
    det = cfg["detect"]
    df = read_table(res / "tables" / "detector_training.parquet", "detector_training")
    per = df.groupby(["attack", "epoch"])
    assert len(per) == len(det["attacks"]) * len(det["epochs"])
    assert (per["selected"].sum() == 1).all()
    assert (per["detector_epoch"].max() == det["training"]["epochs"]).all()
    best = df[df["selected"]].set_index(["attack", "epoch"])["val_accuracy"]
    assert (best == per["val_accuracy"].max()).all()


@pytest.mark.e2e
def test_detectors_trained_on_train_split_only(smoke):
    """Checkpoints record the inputs they were trained and selected on: train and val split
    images, disjoint (in the original dataset) from the test inputs the detectability uses."""
    res, cfg = smoke
    det = cfg["detect"]
    data = load_torch(res / "data" / "dataset.pt")
    samples = read_table(res / "data" / "samples.parquet", "samples")
    test_rows = samples[samples["set"] == det["test_set"]]
    test_source = set(data["test_source_index"][torch.tensor(test_rows["index"].to_numpy())].tolist())
    for attack in det["attacks"]:
        for t in det["epochs"]:
            ckpt = load_torch(res / "runs" / "main" / "detectors" / f"epoch_{t:03d}" / f"{attack}.pt")
            assert (ckpt["train_split"], ckpt["val_split"]) == ("train", "val")
            assert (ckpt["train_set"], ckpt["val_set"]) == (det["train_set"], det["val_set"])
            train_source = set(data["train_source_index"][ckpt["train_index"]].tolist())
            val_source = set(data["val_source_index"][ckpt["val_index"]].tolist())
            assert len(train_source) == cfg["samples"][det["train_set"]]["n"]
            assert not train_source & test_source and not val_source & test_source and not train_source & val_source
            assert 1 <= ckpt["best_epoch"] <= det["training"]["epochs"]


@pytest.mark.e2e
def test_detector_max_tables(smoke):
    res, cfg = smoke
    det = cfg["detect"]
    img = read_table(res / "tables" / "detector_max.parquet", "detector_max")
    summ = read_table(res / "tables" / "detector_max_summary.parquet", "detector_max_summary")
    assert sorted(summ["epoch"]) == sorted(det["epochs"])
    assert set(summ["attack"]) == {det["maximise"]["attack"]}
    assert summ["mean_p_adv"].between(0, 1).all() and summ["mean_p_adv_clean"].between(0, 1).all()
    assert (summ["n"] == cfg["samples"][det["test_set"]]["n"]).all()
    assert (summ["eps"] == det["maximise"]["eps"]).all()
    assert img["value"].abs().max() <= det["maximise"]["eps"] + 1e-3
    side = cfg["dataset"]["image_size"]
    assert (img.groupby("epoch").size() == side * side).all()  # one grey channel
