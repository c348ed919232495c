"""Detectors (paper 001 detector; paper 000 Sec. 3.4, Figs. 6, 7, 16): architecture, detectability,
training with validation selection, split hygiene, the detector-maximising perturbation, config checks,
tables and figures."""

import copy

import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import detectors
from advtrace.config import ConfigError, validate_experiment
from advtrace.stats import with_wilson
from advtrace.data import draw_samples, split_indices
from advtrace.models import PreActResNet18
from advtrace.tables import read_table, write_table

CPU = torch.device("cpu")
SMALL = {"position": "input", "channels": [16, 32, 32], "pools": 2}
FAST = {"epochs": 4, "batch_size": 64, "lr": 1e-3, "beta1": 0.99, "beta2": 0.999}


def _data(n_train=400, n_val=100, n_test=200, seed=0, channels=1, side=8, block=2):
    g = torch.Generator().manual_seed(seed)

    def imgs(n):  # random block×block patches (block 2: like a coarse natural image; 1: white noise)
        low = torch.randint(0, 256, (n, channels, side // block, side // block), generator=g, dtype=torch.int64)
        return low.repeat_interleave(block, 2).repeat_interleave(block, 3).to(torch.uint8)

    data = {"in_channels": channels, "image_size": side, "num_classes": 10,
            "mean": [0.5] * channels, "std": [0.3] * channels}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        data[f"{split}_x"] = imgs(n)
        data[f"{split}_y"] = torch.randint(0, 10, (n,), generator=g)
    return data


def _pattern(channels=1, side=8, eps=32):
    """A fixed checkerboard of ±eps ([0,1] units): an obviously detectable 'perturbation'."""
    r = torch.arange(side)
    board = ((r[:, None] + r[None, :]) % 2).float() * 2 - 1
    return (eps / 255.0) * board.expand(channels, side, side)


def _pert(data, split, pattern, name=None, epoch=0):
    n = len(data[f"{split}_y"])
    return {"split": split, "set": name or f"detector_{split}", "index": torch.arange(n),
            "delta": pattern.expand(n, *pattern.shape).clone(), "labels": data[f"{split}_y"],
            "pred_clean": data[f"{split}_y"], "pred_adv": data[f"{split}_y"], "epoch": epoch}


# --- architecture -------------------------------------------------------------------------------

def test_detector_topology_matches_paper001_fig1():
    det = detectors.Detector(3, mean=[0.5] * 3, std=[0.25] * 3)
    convs = [m for m in det.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 96, (3, 3)), (96, 192, (3, 3)), (192, 192, (3, 3)), (192, 2, (1, 1))]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in det.modules()) == 3
    assert sum(isinstance(m, nn.MaxPool2d) for m in det.modules()) == 2
    out = det(torch.rand(5, 3, 32, 32))
    assert out.shape == (5, 2)
    p = detectors.p_adv(det.eval(), torch.rand(5, 3, 32, 32))
    assert ((p >= 0) & (p <= 1)).all()
    assert sum(isinstance(m, nn.MaxPool2d) for m in detectors.Detector(1, pools=1).modules()) == 1


def test_attached_detector_reads_frozen_feature_map():
    clf = PreActResNet18(10, 1, width=4)
    data = _data()
    arch = detectors.architecture({"position": 2, "channels": [8, 8, 8], "pools": 1}, data, clf)
    assert arch["feature_channels"] == 8  # stage 2 of width 4: 8 channels at 4x4
    det = detectors.build_detector(arch, clf)
    det.train()
    assert not det.classifier.training  # BatchNorm of the classifier stays frozen
    assert all(not p.requires_grad for p in det.classifier.parameters())
    assert det(torch.rand(3, 1, 8, 8)).shape == (3, 2)
    opt = detectors.make_optimizer(det, FAST)
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == sum(p.numel() for p in det.detector.parameters())


def test_fit_attached_detector_leaves_classifier_untouched():
    data = _data(n_train=64, n_val=32, n_test=8)
    clf = PreActResNet18(10, 1, width=4, mean=data["mean"], std=data["std"])
    before = {k: v.clone() for k, v in clf.state_dict().items()}
    det, arch, result = detectors.fit(data, _pert(data, "train", _pattern()), _pert(data, "val", _pattern()),
                                      {"position": 1, "channels": [8, 8, 8], "pools": 2}, dict(FAST, epochs=2),
                                      seed=0, attack="BI", epoch=1, device=CPU, classifier=clf)
    assert isinstance(det, detectors.AttachedDetector) and arch["position"] == 1
    after = det.classifier.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics frozen


def test_save_load_roundtrip(tmp_path):
    data = _data(n_train=16, n_val=8, n_test=8)
    for position, factory in (("input", None), (1, lambda: PreActResNet18(10, 1, width=4))):
        clf = factory() if factory else None
        arch = detectors.architecture({"position": position, "channels": [8, 8, 8], "pools": 2}, data, clf)
        det = detectors.build_detector(arch, clf).eval()
        pert = _pert(data, "train", _pattern())
        res = {"best_epoch": 1, "val_accuracy": 0.5}
        detectors.save_detector(tmp_path / "d.pt", det, arch, "BI", 3, res, pert, _pert(data, "val", _pattern()))
        back, ckpt = detectors.load_detector(tmp_path / "d.pt", CPU, classifier_factory=factory)
        x = torch.rand(4, 1, 8, 8)
        with torch.inference_mode():
            assert torch.equal(back(x), det(x))
        assert ckpt["train_split"] == "train" and ckpt["epoch"] == 3


# --- detectability ------------------------------------------------------------------------------

def test_detectability_on_crafted_predictions():
    clean_flagged = torch.tensor([False, False, True, False])   # 3 of 4 clean called clean
    adv_flagged = torch.tensor([True, False, True, True])       # 3 of 4 adversarial caught
    res = detectors.detectability_from_predictions(clean_flagged, adv_flagged)
    assert res == {"accuracy": 0.75, "accuracy_clean": 0.75, "accuracy_adv": 0.75, "n": 8}
    res = detectors.detectability_from_predictions(torch.ones(3, dtype=torch.bool), torch.ones(5, dtype=torch.bool))
    assert res["accuracy"] == pytest.approx(5 / 8) and res["accuracy_clean"] == 0 and res["accuracy_adv"] == 1
    with pytest.raises(ValueError):
        detectors.detectability_from_predictions(torch.zeros(0, dtype=torch.bool), torch.ones(2, dtype=torch.bool))


def test_detectability_equals_shuffled_union_in_one_batch():
    """Footnote 3: accuracy on the shuffled union, each example classified independently."""
    torch.manual_seed(0)
    det = detectors.Detector(1, [8, 8, 8]).eval()
    with torch.no_grad():  # make the outputs non-trivial: shift BN statistics
        for m in det.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
    x_clean, x_adv = torch.rand(37, 1, 8, 8), torch.rand(37, 1, 8, 8) ** 2
    res = detectors.detectability(det, x_clean, x_adv, chunk_size=5, device=CPU)
    x, y = detectors.balanced(x_clean, x_adv)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        pred = det(x[perm]).argmax(1)
    assert res["accuracy"] == pytest.approx(float((pred == y[perm]).float().mean()))
    assert res["n"] == 74


def test_detectability_rows_matrix_from_stored_perturbations():
    data = _data(n_test=50)
    det = detectors.Detector(1, [8, 8, 8], mean=data["mean"], std=data["std"]).eval()
    perts = {t: _pert(data, "test", _pattern(eps=8 * (t + 1)), epoch=t) for t in (0, 1, 5)}
    df = detectors.detectability_rows(det, data, "BI", 1, perts, 16, CPU)
    assert list(df["test_epoch"]) == [0, 1, 5] and set(df["train_epoch"]) == {1}
    assert (df["n"] == 100).all() and df["accuracy"].between(0, 1).all()
    x_clean, x_adv = detectors.paired_images(data, perts[5])
    assert df["accuracy"].iloc[2] == pytest.approx(detectors.detectability(det, x_clean, x_adv, 7, CPU)["accuracy"])
    with pytest.raises(ValueError, match="test"):  # evaluation only on the test split
        detectors.detectability_rows(det, data, "BI", 1, {0: _pert(data, "train", _pattern())}, 16, CPU)


def test_evaluate_detectors_matrix_and_respective(tmp_path):
    data = _data(n_train=16, n_val=8, n_test=40)
    arch = detectors.architecture({"position": "input", "channels": [8, 8, 8], "pools": 2}, data)
    paths = []
    for t in (0, 2):
        torch.manual_seed(t)
        det = detectors.build_detector(arch).eval()
        paths.append(tmp_path / f"epoch_{t:03d}.pt")
        detectors.save_detector(paths[-1], det, arch, "FGSM", t, {"best_epoch": 1, "val_accuracy": 0.5},
                                _pert(data, "train", _pattern()), _pert(data, "val", _pattern()))
    perts = {t: _pert(data, "test", _pattern(eps=16 * (t + 1)), epoch=t) for t in (0, 2)}
    m = detectors.evaluate_detectors(paths, perts, data, "FGSM", "matrix", 16, CPU)
    assert list(zip(m["train_epoch"], m["test_epoch"])) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    r = detectors.evaluate_detectors(paths, perts, data, "FGSM", "respective", 16, CPU)
    assert list(zip(r["train_epoch"], r["test_epoch"])) == [(0, 0), (2, 2)]
    diag = m[m["train_epoch"] == m["test_epoch"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(diag, r)
    with pytest.raises(ValueError, match="expected 'BI'"):
        detectors.evaluate_detectors(paths, perts, data, "BI", "matrix", 16, CPU)


# --- training -----------------------------------------------------------------------------------

def test_detector_learns_fixed_pattern():
    data = _data()
    pattern = _pattern(eps=32)
    det, arch, result = detectors.fit(data, _pert(data, "train", pattern), _pert(data, "val", pattern), SMALL, FAST,
                                      seed=0, attack="pattern", epoch=0, device=CPU)
    test = detectors.paired_images(data, _pert(data, "test", pattern), expected_split="test")
    res = detectors.detectability(det, *test, chunk_size=128, device=CPU)
    assert res["accuracy"] >= 0.95, result["history"]
    assert res["accuracy_clean"] >= 0.9 and res["accuracy_adv"] >= 0.9


def test_best_validation_epoch_is_kept():
    """White-noise images make the validation accuracy jump around between epochs."""
    data = _data(n_train=200, n_val=100, n_test=8, block=1)
    pattern = _pattern(eps=32)
    cfg = dict(FAST, epochs=8, lr=3e-3)
    det, _, result = detectors.fit(data, _pert(data, "train", pattern), _pert(data, "val", pattern), SMALL, cfg,
                                   seed=0, attack="pattern", epoch=0, device=CPU)
    hist = pd.DataFrame(result["history"])
    assert len(hist) == 8 and hist["val_accuracy"].nunique() > 1
    assert result["best_epoch"] == int(hist.loc[hist["val_accuracy"].idxmax(), "detector_epoch"])
    assert result["val_accuracy"] == hist["val_accuracy"].max()
    val = detectors.paired_images(data, _pert(data, "val", pattern))
    assert detectors.detectability(det, *val, 64, CPU)["accuracy"] == pytest.approx(result["val_accuracy"])
    rows = detectors.training_rows(result, "pattern", 0)
    assert rows["selected"].sum() == 1 and int(rows.loc[rows["selected"], "detector_epoch"].iloc[0]) == result["best_epoch"]


def test_untrained_detector_is_not_good_on_pattern():
    """Sanity check of the test above: detection is learned, not a property of the set-up."""
    data = _data()
    torch.manual_seed(0)
    det = detectors.Detector(1, [16, 32, 32], mean=data["mean"], std=data["std"]).eval()
    test = detectors.paired_images(data, _pert(data, "test", _pattern(eps=32)))
    assert detectors.detectability(det, *test, 128, CPU)["accuracy"] < 0.8


def test_detector_never_trains_on_test_inputs():
    data = _data(n_train=20, n_val=20, n_test=20)
    pattern = _pattern()
    with pytest.raises(ValueError, match="'test' split"):
        detectors.fit(data, _pert(data, "test", pattern), _pert(data, "val", pattern), SMALL, FAST, 0, "BI", 0, CPU)
    with pytest.raises(ValueError, match="'test' split"):
        detectors.fit(data, _pert(data, "train", pattern), _pert(data, "test", pattern), SMALL, FAST, 0, "BI", 0, CPU)


def test_training_is_deterministic():
    data = _data(n_train=64, n_val=32, n_test=8)
    cfg = dict(FAST, epochs=2)
    outs = []
    for _ in range(2):
        det, _, _ = detectors.fit(data, _pert(data, "train", _pattern()), _pert(data, "val", _pattern()), SMALL, cfg,
                                  seed=3, attack="BI", epoch=1, device=CPU)
        outs.append(det(torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))))
    assert torch.equal(outs[0], outs[1])


# --- split hygiene ------------------------------------------------------------------------------

@pytest.mark.parametrize("exp_name", ["digits", "smoke"])
def test_detector_sample_sets_are_disjoint_in_source_indices(root, exp_name):
    from advtrace.config import SOURCE_SIZES, load_yaml

    exp = load_yaml(root / "config" / "experiments" / f"{exp_name}.yaml")
    idx = split_indices(SOURCE_SIZES[exp["dataset"]["name"]], exp["dataset"]["splits"], exp["seed"])
    samples = draw_samples(exp["samples"], {k: len(v) for k, v in idx.items()}, exp["seed"])
    det = exp["detect"]
    source = {}
    for key, split in (("train_set", "train"), ("val_set", "val"), ("test_set", "test")):
        rows = samples[samples["set"] == det[key]]
        assert set(rows["split"]) == {split}
        source[key] = set(idx[split][torch.tensor(rows["index"].to_numpy())].tolist())
        assert len(source[key]) == exp["samples"][det[key]]["n"]
    assert not source["train_set"] & source["val_set"]
    assert not source["train_set"] & source["test_set"]
    assert not source["val_set"] & source["test_set"]


def test_cifar_shaped_train_and_val_are_disjoint():
    """45000/5000 from CIFAR-10's train source (paper 001), test from its own source."""
    splits = {"train": {"source": "train", "n": 45000}, "val": {"source": "train", "n": 5000},
              "test": {"source": "test", "n": 10000}}
    idx = split_indices({"train": 50000, "test": 10000}, splits, seed=0)
    assert len(set(idx["train"].tolist()) | set(idx["val"].tolist())) == 50000


# --- Fig. 7 maximisation ------------------------------------------------------------------------

def test_maximise_detector_respects_eps_and_matches_first_step():
    torch.manual_seed(0)
    det = detectors.Detector(1, [8, 8, 8], mean=[0.5], std=[0.3]).eval()
    pool = torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.int64).to(torch.uint8)
    eps, alpha = 20 / 255, 5 / 255
    xi = detectors._maximise_detector(det, pool, eps, alpha, m=16, K=1, iterations=1,
                                      generator=torch.Generator().manual_seed(0), device=CPU)
    # independent: one step of alpha * sign of the mean-batch gradient of log p_adv w.r.t. the inputs
    x = (pool.float() / 255).requires_grad_(True)
    F.log_softmax(det(x), 1)[:, 1].sum().backward()
    expected = alpha * x.grad.sum(0).sign()
    assert xi.shape == (1, 8, 8) and xi.dtype == torch.float32
    assert torch.allclose(xi, expected)
    xi = detectors._maximise_detector(det, pool, eps, alpha, m=8, K=3, iterations=12,
                                      generator=torch.Generator().manual_seed(0), device=CPU)
    assert xi.abs().max() <= eps + 1e-7
    assert xi.abs().max() > eps / 2


def test_maximise_finds_a_pattern_the_detector_flags():
    data = _data()
    pattern = _pattern(eps=32)
    det, _, _ = detectors.fit(data, _pert(data, "train", pattern), _pert(data, "val", pattern), SMALL, FAST,
                              seed=0, attack="pattern", epoch=0, device=CPU)
    cfg = {"eps": 32, "alpha": 8, "m": 64, "batches": 2, "iterations": 10}
    img, summary = detectors.maximise_rows(det, data["train_x"], data["test_x"], "pattern", 0, cfg, 0, CPU, 128)
    assert summary["mean_p_adv"].iloc[0] > 0.75 > 0.25 > summary["mean_p_adv_clean"].iloc[0]
    # the optimised perturbation beats random ±ε sign noise of the same size
    assert 0.0 <= summary["mean_p_adv_random"].iloc[0] < summary["mean_p_adv"].iloc[0]
    assert len(img) == 64 and img["value"].abs().max() <= 32 + 1e-4
    found = torch.tensor(img.sort_values(["channel", "row", "col"])["value"].to_numpy()).view(1, 8, 8)
    assert (found.sign() == pattern.sign()).float().mean() >= 0.75  # it rediscovers the checkerboard
    assert summary["n"].iloc[0] == 200


# --- config -------------------------------------------------------------------------------------

def _set(cfg, dotted, value):
    keys = dotted.split(".")
    d = cfg
    for k in keys[:-1]:
        d = d[k]
    d[keys[-1]] = value


BAD = [
    ("detect.epochs", [0, 1, 4], "detect.epochs: [4] not in analysis.epochs"),
    ("detect.epochs", [0, 0], "detect.epochs"),
    ("detect.fixed_epochs", [0, 1, 7], "detect.fixed_epochs: [7] not in detect.epochs"),
    ("detect.attacks", {"BI": "matrix", "PGD": "matrix"}, "detect.attacks.PGD: not an attack of perturb.attacks"),
    ("detect.attacks", {"BI": "full"}, "detect.attacks.BI"),
    ("detect.fig06_attacks", ["CW"], "detect.fig06_attacks: ['CW'] not in detect.attacks"),
    ("detect.fig16_attacks", ["CW"], "detect.fig16_attacks"),
    ("detect.train_set", "detector_test", "detect.train_set: sample set 'detector_test' is drawn from the 'test' split"),
    ("detect.val_set", "eval_train", "detect.val_set"),
    ("detect.test_set", "nope", "detect.test_set: unknown sample set 'nope'"),
    ("detect.maximise.attack", "CW", "detect.maximise.attack"),
    ("detect.maximise.alpha", 100, "detect.maximise.alpha: 100 > eps 80"),
    ("detect.maximise.m", 5000, "detect.maximise.m"),
    ("detect.detector.pools", 4, "detect.detector.pools"),
    ("detect.detector.position", "middle", "detect.detector.position"),
    ("detect.detector.channels", [96, 192], "detect.detector.channels"),
    ("detect.training.beta1", 1.0, "detect.training.beta1"),
    ("detect.trainig", {}, "trainig"),
]


@pytest.mark.parametrize("key,value,needle", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_detect_config_rejected_with_key(schema, digits_cfg, key, value, needle):
    cfg = copy.deepcopy(digits_cfg)
    _set(cfg, key, value)
    with pytest.raises(ConfigError) as exc:
        validate_experiment(cfg, schema, expected_name="digits")
    assert needle in str(exc.value), str(exc.value)


def test_feature_position_needs_resnet_and_fitting_pools(schema, digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["detect"]["detector"].update(position=2, pools=1)  # stage 2 of an 8x8 input: 4x4
    validate_experiment(cfg, schema, expected_name="digits")
    cfg["detect"]["detector"]["pools"] = 2  # 4 -> 2 -> 1: still fits
    validate_experiment(cfg, schema, expected_name="digits")
    cfg["detect"]["detector"]["position"] = 4  # 1x1: no pooling possible
    with pytest.raises(ConfigError, match="detect.detector.pools"):
        validate_experiment(cfg, schema, expected_name="digits")
    cfg["detect"]["detector"].update(position=1, pools=0)
    cfg["model"]["name"] = "convnet"
    with pytest.raises(ConfigError, match="detect.detector.position.*only preact_resnet18"):
        validate_experiment(cfg, schema, expected_name="digits")


# --- tables and figures -------------------------------------------------------------------------

def _tables():
    rows = []
    for attack, mode in (("BI", "matrix"), ("DeepFool", "respective")):
        for t in (0, 1, 3):
            for t2 in ((0, 1, 3) if mode == "matrix" else (t,)):
                acc = 0.9 - 0.1 * (t == 0 and t2 > 0)
                rows.append({"attack": attack, "train_epoch": t, "test_epoch": t2, "accuracy": acc,
                             "accuracy_clean": acc, "accuracy_adv": acc, "n": 200})
    from advtrace.tables import coerce

    det = coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "detectability")
    img = coerce(pd.DataFrame([{"attack": "BI", "epoch": t, "channel": 0, "row": r, "col": c,
                                "value": float((r + c) % 3 - 1) * 80} for t in (0, 1, 3) for r in range(8)
                               for c in range(8)]), "detector_max")
    summ = coerce(pd.DataFrame([{"attack": "BI", "epoch": t, "eps": 80.0, "mean_p_adv": 0.1 * (t + 1),
                                 "mean_p_adv_clean": 0.02, "mean_p_adv_random": 0.05, "n": 100} for t in (0, 1, 3)]),
                 "detector_max_summary")
    return det, img, summ


def test_tables_roundtrip(tmp_path):
    for df, name in zip(_tables(), ("detectability", "detector_max", "detector_max_summary")):
        write_table(df, tmp_path / f"{name}.parquet", name)
        pd.testing.assert_frame_equal(read_table(tmp_path / f"{name}.parquet", name), df)


def test_figures_render(tmp_path):
    from advtrace.plotting import save_figure
    from advtrace.plotting.detect import detectability_figure, detector_max_figure

    det, img, summ = _tables()
    fig = detectability_figure(det, ["BI", "DeepFool"], [0, 3])
    axes = fig.axes
    assert len(axes) == 2
    assert len(axes[0].get_lines()) == 1 + 2  # respective, two fixed detectors (chance level 50 % out of view)
    assert len(axes[1].get_lines()) == 1      # DeepFool: respective only
    assert axes[0].get_ylim()[0] == 70  # lowest value 80 %: zoomed in
    assert "respective epoch only" in axes[1].get_title()
    save_figure(fig, tmp_path / "f.pdf", tmp_path / "f.png")
    fig = detector_max_figure(img, summ)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[1].startswith("epoch 1") and "20.0 %" in titles[1]
    save_figure(fig, tmp_path / "g.pdf", tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000


# --- claims -------------------------------------------------------------------------------------

def _matrix(acc, attacks=("BI", "FGSM", "DeepFool"), n=2000):
    """Detectability table from acc(attack, t, t') over epochs 0, 1, 5 (n: size of each union)."""
    from advtrace.tables import coerce

    rows = [{"attack": a, "train_epoch": t, "test_epoch": u, "accuracy": acc(a, t, u), "accuracy_clean": 0.9,
             "accuracy_adv": 0.9, "n": n} for a in attacks for t in (0, 1, 5) for u in (0, 1, 5)]
    return coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "detectability")


def test_detect_claims_verdicts():
    from advtrace.claims import evaluate_claims
    from advtrace.tables import coerce

    level = {"FGSM": 0.99, "BI": 0.95, "DeepFool": 0.91}
    paper_like = _matrix(lambda a, t, u: level[a] - (0.2 if t == 0 and u > 0 else 0.0))
    summ = coerce(pd.DataFrame({"attack": "BI", "epoch": [0, 1, 5], "eps": 10.0, "mean_p_adv": [0.5, 0.1, 0.05],
                                "mean_p_adv_clean": 0.02, "mean_p_adv_random": 0.03, "n": 2000}), "detector_max_summary")
    st = evaluate_claims({"detectability": paper_like, "detector_max_summary": summ}, "x").set_index("claim")["status"]
    for claim in ("bi_detectable_every_epoch", "bi_detectors_transfer_over_time", "epoch0_detector_fails_later",
                  "fgsm_easier_deepfool_harder", "detector_max_perturbation_weak"):
        assert st[claim] == "holds", claim
    contrary = _matrix(lambda a, t, u: 0.6 if a == "FGSM" else (0.85 if t == 1 and u == 5 else 0.95))
    summ["mean_p_adv"] = [0.5, 0.3, 0.05]
    st = evaluate_claims({"detectability": contrary, "detector_max_summary": summ}, "x").set_index("claim")["status"]
    assert st["bi_detectable_every_epoch"] == "holds"
    for claim in ("bi_detectors_transfer_over_time", "epoch0_detector_fails_later", "fgsm_easier_deepfool_harder",
                  "detector_max_perturbation_weak"):
        assert st[claim] == "does not hold", claim
    only_bi = _matrix(lambda a, t, u: 0.95, attacks=("BI",))
    st = evaluate_claims({"detectability": only_bi}, "x").set_index("claim")["status"]
    assert st["fgsm_easier_deepfool_harder"] == "not measured"  # e.g. smoke: no FGSM detectors
    assert st["detector_max_perturbation_weak"] == "not measured"
    # issue 17: on 100 inputs, 95 % vs the 90 % threshold and 99 / 95 / 91 % orders are within noise
    small = _matrix(lambda a, t, u: level[a] - (0.2 if t == 0 and u > 0 else 0.0), n=100)
    st = evaluate_claims({"detectability": small}, "x").set_index("claim")["status"]
    assert st["bi_detectable_every_epoch"] == "inconclusive"
    assert st["fgsm_easier_deepfool_harder"] == "inconclusive"
    assert st["epoch0_detector_fails_later"] == "holds"  # 75 % [66, 83] vs 90 %: clear on 100 inputs too


def test_random_sign_baseline_matches_direct_computation():
    from advtrace.universal import random_sign

    torch.manual_seed(0)
    det = detectors.Detector(1, [4, 4, 4], mean=[0.5], std=[0.3]).eval()
    x = torch.rand(50, 1, 8, 8)
    got = detectors.random_sign_p_adv(det, x, 0.2, 16, CPU, torch.Generator().manual_seed(3), draws=3)
    g = torch.Generator().manual_seed(3)
    expected = []
    for _ in range(3):
        xi = random_sign((1, 8, 8), 0.2, g)
        with torch.no_grad():
            expected.append(F.softmax(det((x + xi).clamp(0, 1)), 1)[:, 1].mean().item())
    assert got == pytest.approx(sum(expected) / 3, abs=1e-6)

    class Constant(torch.nn.Module):  # p_adv = sigmoid(1) whatever the input
        def forward(self, z):
            return torch.tensor([0.0, 1.0]).expand(len(z), 2)

    assert detectors.random_sign_p_adv(Constant(), x, 0.2, 16, CPU, torch.Generator()) == pytest.approx(
        torch.sigmoid(torch.tensor(1.0)).item())


def test_maximise_moves_pixels_that_are_black_in_every_input():
    """Digits have an all-black border: the gradient is taken at the clipped input, not through
    the clip (whose gradient vanishes on the boundary), so those pixels can still be raised."""
    torch.manual_seed(0)
    det = detectors.Detector(1, [8, 8, 8], mean=[0.5], std=[0.3]).eval()
    pool = torch.randint(0, 256, (32, 1, 8, 8), dtype=torch.int64).to(torch.uint8)
    pool[:, :, :, 0] = 0
    xi = detectors._maximise_detector(det, pool, 20 / 255, 5 / 255, m=32, K=1, iterations=4,
                                      generator=torch.Generator().manual_seed(0), device=CPU)
    assert (xi[0, :, 0] != 0).all()
