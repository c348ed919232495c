"""Paper 001 study (advtrace.studies.p001): the dynamic adversary's sign mix, the ε grids, the
attachment positions, dynamic detector training, config checks, claims and the ResNet-32."""

import copy

import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import attacks, detectors
from advtrace.config import ConfigError, validate_experiment
from advtrace.models import PreActResNet18, ResNet32
from advtrace.stats import FAILS, HOLDS, INCONCLUSIVE
from advtrace.studies.p001 import checks, core
from advtrace.studies.p001.claims import CLAIMS

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def _model(seed=0, width=4):
    torch.manual_seed(seed)
    return PreActResNet18(10, 1, width, [0.5], [0.3]).eval()


def _x(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


# --- SignMix / dynamic adversary ------------------------------------------------------------------

def test_signmix_with_one_term_is_bi_exactly():
    m, (x, y) = _model(), _x()
    plain = attacks.bi(m, x, y, 16 / 255, 4 / 255, 5)
    mixed = attacks.bi(m, x, y, 16 / 255, 4 / 255, 5, objective=attacks.SignMix((1.0, attacks.cross_entropy_sum)))
    assert torch.equal(plain, mixed)


def test_signmix_direction_is_the_weighted_sum_of_gradient_signs():
    """Hand computation on a linear model: logits = x·W, so ∇ₓ J is known in closed form."""
    torch.manual_seed(1)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 3, bias=False))
    x = torch.rand(4, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 0])
    w = lin[1].weight.detach()  # 3 × 64
    j1 = attacks.cross_entropy_sum

    def j2(logits, labels):  # logit of class 2: gradient W[2]
        return logits[:, 2].sum()

    sigma = torch.tensor([0.0, 0.25, 0.5, 1.0])
    d = attacks.SignMix((1 - sigma, j1), (sigma, j2)).direction(lin, x, y)
    p = F.softmax(x.flatten(1) @ w.T, dim=1)
    g1 = (p - F.one_hot(y, 3).float()) @ w  # ∇ₓ CE
    g2 = w[2].expand(4, 64)
    want = (1 - sigma)[:, None] * g1.sign() + sigma[:, None] * g2.sign()
    assert torch.allclose(d.flatten(1), want, atol=1e-6)


def test_opposite_terms_cancel_and_per_input_sigma_selects_each_term():
    m, (x, y) = _model(), _x(6)
    neg = lambda logits, labels: -attacks.cross_entropy_sum(logits, labels)  # noqa: E731
    still = attacks.bi(m, x, y, 16 / 255, 4 / 255, 3, objective=attacks.SignMix((0.5, attacks.cross_entropy_sum), (0.5, neg)))
    assert torch.equal(still, torch.zeros_like(x))
    sigma = torch.tensor([0.0, 1.0] * 3)
    mixed = attacks.bi(m, x, y, 16 / 255, 4 / 255, 1, objective=attacks.SignMix((1 - sigma, attacks.cross_entropy_sum),
                                                                                 (sigma, neg)))
    up = attacks.bi(m, x, y, 16 / 255, 4 / 255, 1)
    assert torch.equal(mixed[0::2], up[0::2])  # σ = 0: ascends J
    g = attacks.input_grad(m, x, y)  # σ = 1: descends J (one step, by hand)
    down = torch.minimum(torch.maximum(x - 4 / 255 * g.sign(), (x - 16 / 255).clamp(min=0)), (x + 16 / 255).clamp(max=1)) - x
    assert torch.allclose(mixed[1::2], down[1::2], atol=1e-7)


def test_dynamic_objective_terms_are_the_classifier_and_detector_losses():
    clf = _model()
    det = detectors.Detector(1, (4, 8, 8), 2, [0.5], [0.3]).eval()
    x, y = _x(5)
    joint = core.Joint(clf, det)
    logits = joint(x)
    assert logits.shape == (5, 12)
    mix = core.dynamic_objective(0.3)
    (w_cls, j_cls), (w_det, j_det) = mix.terms
    assert w_cls == pytest.approx(0.7) and w_det == pytest.approx(0.3)
    assert torch.allclose(j_cls(logits, y), F.cross_entropy(clf(x), y, reduction="sum"))
    assert torch.allclose(j_det(logits, y), F.cross_entropy(det(x), torch.ones(5, dtype=torch.long), reduction="sum"))


def test_dynamic_adversary_with_sigma_one_lowers_p_adv_and_respects_eps():
    clf = _model()
    torch.manual_seed(3)
    det = detectors.Detector(1, (4, 8, 8), 2, [0.5], [0.3]).eval()
    x, y = _x(32)
    dyn = {"eps": 16, "alpha": 4, "iterations": 8}
    d = core.dynamic_attack(clf, det, x, y, dyn, 1.0, chunk_size=10)
    assert d.abs().max() <= 16 / 255 + 1e-6 and ((x + d) >= 0).all() and ((x + d) <= 1).all()
    p0 = detectors.p_adv(det, x).mean()
    p1 = detectors.p_adv(det, (x + d).clamp(0, 1)).mean()
    assert p1 < p0
    # σ = 0 is the plain BI adversary of the classifier
    d0 = core.dynamic_attack(clf, det, x, y, dyn, 0.0, chunk_size=10)
    assert torch.equal(d0, attacks.bi(clf, x, y, 16 / 255, 4 / 255, 8))


# --- grids, positions -----------------------------------------------------------------------------

def test_deepfool_grid_equals_one_bounded_run_per_eps():
    m, (x, y) = _model(), _x(10)
    fam = {"name": "deepfool_l2", "eps": [8, 32, 255], "overshoot": 0.02, "max_iter": 20}
    grid = core.perturb(m, x, y, fam, chunk_size=4)
    for e in fam["eps"]:
        want = attacks.run_attack(m, x, None, "deepfool_l2", e / 255, overshoot=0.02, max_iter=20)
        assert torch.allclose(grid[float(e)], want, atol=1e-6)
        assert grid[float(e)].abs().max() <= e / 255 + 1e-7


def test_eps_star_is_the_smallest_eps_below_target_else_the_largest():
    assert core.eps_star({8: 0.9, 16: 0.4, 24: 0.2, 32: 0.05}, 0.3) == (24, True)
    assert core.eps_star({8: 0.9, 16: 0.5}, 0.3) == (16, False)


def test_pools_follow_paper_001_fig1_on_cifar_and_keep_maps_on_digits():
    assert [core.pools_for(s, 8) for s in (32, 32, 32, 16, 8)] == [2, 2, 2, 1, 0]  # AD(0)..AD(4) of the paper
    assert [core.pools_for(s, 2) for s in (8, 4, 2, 1)] == [2, 1, 0, 0]


def test_attachment_positions_on_resnet32_and_preact18():
    torch.manual_seed(0)
    net = ResNet32(10, 3, 16).eval()
    data = {"in_channels": 3, "image_size": 32}
    pos = core.attachment_positions(net, data, ["input", 0, 1, 2, 3], 8)
    assert [(p["label"], p["channels"], p["side"], p["pools"]) for p in pos] == [
        ("AD(0)", 3, 32, 2), ("AD(1)", 16, 32, 2), ("AD(2)", 16, 32, 2), ("AD(3)", 32, 16, 1), ("AD(4)", 64, 8, 0)]
    convs = [mod for mod in net.modules() if isinstance(mod, nn.Conv2d) and mod.kernel_size == (3, 3)]
    assert len(convs) + 1 == 32  # 31 3x3 convolutions + the dense layer
    pos = core.attachment_positions(_model(), {"in_channels": 1, "image_size": 8}, ["input", 0, 1, 2, 3, 4], 2)
    assert [p["side"] for p in pos] == [8, 8, 8, 4, 2, 1] and [p["pools"] for p in pos] == [2, 2, 2, 1, 0, 0]


def test_training_on_cached_features_equals_training_through_the_frozen_classifier():
    clf = _model()
    x, _ = _x(64)
    adv = (x + 0.1 * torch.sign(torch.randn_like(x))).clamp(0, 1)
    pos = core.attachment_positions(clf, {"in_channels": 1, "image_size": 8}, [1], 2)[0]
    cfg = {"epochs": 2, "batch_size": 16, "lr": 1e-3, "beta1": 0.99, "beta2": 0.999}
    data = {"in_channels": 1, "image_size": 8, "mean": [0.5], "std": [0.3]}
    f = lambda t: core.features(clf, "1", t, 32, CPU)  # noqa: E731
    det, arch, _ = core.fit(clf, data, pos, (4, 8, 8), cfg, (f(x), f(adv)), (f(x[:16]), f(adv[:16])), 0, "t", CPU, 32)
    torch.manual_seed(core.seed_for(0, "p001-detector-init", "t"))
    ref = detectors.build_detector(arch, clf)
    gen = torch.Generator().manual_seed(core.seed_for(0, "p001-detector-batches", "t"))
    detectors.train_detector(ref, (x, adv), (x[:16], adv[:16]), cfg, CPU, gen, 32)
    assert torch.allclose(detectors.p_adv(det, adv), detectors.p_adv(ref, adv), atol=1e-4)


def test_train_dynamic_runs_and_keeps_the_best_validation_epoch():
    clf = _model()
    torch.manual_seed(0)
    det = detectors.build_detector({"position": "input", "channels": [4, 8, 8], "pools": 2, "in_channels": 1,
                                    "mean": [0.5], "std": [0.3]}, clf)
    x, y = _x(48)
    xv, yv = _x(16, seed=1)
    cfg = {"epochs": 2, "batch_size": 16, "lr": 1e-3, "beta1": 0.99, "beta2": 0.999, "p_adv": 0.5, "select": "all"}
    res = core.train_dynamic(clf, det, x, y, xv, yv, {"eps": 32, "alpha": 8, "iterations": 3}, cfg, CPU, 0, 16)
    assert [h["detector_epoch"] for h in res["history"]] == [1, 2]
    assert res["val_accuracy"] >= max(h["val_accuracy"] for h in res["history"] + [{"val_accuracy": res["val0"]["all"]}])
    assert not det.training
    tr = core.dynamic_training_rows(res, len(yv), "static", "all")
    assert tr["detector_epoch"].tolist() == [0, 1, 2] and tr["selected"].sum() == 1
    assert tr.loc[0, "val_all"] == res["val0"]["all"] and tr["val_n"].eq(32).all()
    assert (tr["val_all_ci_low"] <= tr["val_all"]).all() and (tr["val_all"] <= tr["val_all_ci_high"]).all()
    assert tr["train_loss"].isna().tolist() == [True, False, False]


def _flat_digits(n, seed=0):
    """Flat grey images (each one grey level in [0.3, 0.7]): any ±ε sign pattern is visible."""
    g = torch.Generator().manual_seed(seed)
    grey = 0.3 + 0.4 * torch.rand(n, 1, 1, 1, generator=g)
    return grey.expand(n, 1, 8, 8).contiguous(), torch.randint(0, 10, (n,), generator=g)


def test_dynamic_training_that_improves_validation_changes_the_detector_and_keeps_the_best_epoch():
    """Defect 1: the saved dynamic detector is the trained one when training beats its start. A
    detector that flags nothing (val 50 %) learns on the fly to flag the dynamic adversary's ±ε
    perturbations of flat images; the selected epoch beats epoch 0 and the weights moved."""
    clf = _model()
    torch.manual_seed(1)
    det = detectors.build_detector({"position": "input", "channels": [4, 8, 8], "pools": 2, "in_channels": 1,
                                    "mean": [0.5], "std": [0.3]}, clf)
    start = copy.deepcopy(core.inner(det).state_dict())
    x, y = _flat_digits(256)
    xv, yv = _flat_digits(32, seed=1)
    dyn = {"eps": 32, "alpha": 8, "iterations": 4}
    cfg = {"epochs": 4, "batch_size": 32, "lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "p_adv": 0.5, "select": "all",
           "batchnorm": "running"}
    res = core.train_dynamic(clf, det, x, y, xv, yv, dyn, cfg, CPU, 0, 64)
    assert res["val0"]["all"] == 0.5 and res["best_epoch"] > 0
    best = res["history"][res["best_epoch"] - 1]
    assert best["val_all"] == res["val_accuracy"] > 0.75
    now = core.inner(det).state_dict()
    assert any(not torch.equal(now[k], start[k]) for k in start)
    # the held detector is the selected epoch's: its validation score is reproduced
    sigma_val = torch.rand(len(xv), generator=torch.Generator().manual_seed(core.seed_for(0, "p001-dynamic-val")))
    pred = core._predict(clf, xv, 64)
    assert core._dynamic_val(clf, det, xv, yv, dyn, sigma_val, 64, CPU, pred)["all"] == pytest.approx(res["val_accuracy"])
    tr = core.dynamic_training_rows(res, len(yv), "scratch", "all")
    assert tr.loc[tr["selected"], "detector_epoch"].item() == res["best_epoch"]


def test_dynamic_training_that_never_beats_its_start_keeps_the_start():
    """No epoch beats epoch 0 (here: a training that cannot move the detector, lr 0): the result
    says selected epoch 0 and the detector holds its initial weights exactly."""
    clf = _model()
    torch.manual_seed(1)
    det = detectors.build_detector({"position": "input", "channels": [4, 8, 8], "pools": 2, "in_channels": 1,
                                    "mean": [0.5], "std": [0.3]}, clf)
    start = copy.deepcopy(core.inner(det).state_dict())
    x, y = _flat_digits(64)
    xv, yv = _flat_digits(16, seed=1)
    cfg = {"epochs": 2, "batch_size": 32, "lr": 0.0, "beta1": 0.9, "beta2": 0.999, "p_adv": 0.5, "select": "all",
           "batchnorm": "running"}
    res = core.train_dynamic(clf, det, x, y, xv, yv, {"eps": 32, "alpha": 8, "iterations": 2}, cfg, CPU, 0, 64)
    assert res["best_epoch"] == 0 and [h["val_all"] for h in res["history"]] == [res["val0"]["all"]] * 2
    now = core.inner(det).state_dict()
    assert all(torch.equal(now[k], start[k]) for k in start)


# --- dynamic adversary: successes (defect 2), iterations (defect 3) ----------------------------------

def test_dynamic_rows_count_only_inputs_correct_clean_and_wrong_adversarial():
    """Paper 001 Sec. 4.1.2 ignores adversarial examples that cause no misclassification: an input
    the classifier already gets wrong clean is not a success, however the adversary moves it."""
    clf = _model()
    torch.manual_seed(3)
    det = detectors.Detector(1, (4, 8, 8), 2, [0.5], [0.3]).eval()
    x, _ = _x(60)
    pred = attacks.predict(clf, x)
    y = pred.clone()
    y[:20] = (pred[:20] + 1) % 10  # 20 inputs misclassified before any attack
    dyn = {"eps": 32, "alpha": 8, "iterations": 4, "sigmas": [0.0, 1.0]}
    df = core.dynamic_rows(clf, {"static": det}, x, y, dyn, 32, CPU, epochs={"static": 3})
    assert df["n_clean_correct"].eq(40).all() and df["detector_epoch"].eq(3).all()
    for sigma in dyn["sigmas"]:
        d = core.dynamic_attack(clf, det, x, y, dyn, sigma, 32)
        adv_pred = attacks.predict(clf, (x + d).clamp(0, 1))
        want = int(((pred == y) & (adv_pred != y)).sum())
        old = int((adv_pred != y).sum())  # what counting every misclassified adversarial example gives
        row = df[df["sigma"] == sigma].iloc[0]
        assert row["n_successful"] == want and old >= want + 20
        assert row["n"] == 2 * want
        assert row["accuracy"] == pytest.approx(float((adv_pred == y).float().mean()))


def test_dynamic_rows_of_a_detector_equal_to_an_earlier_one_are_its_rows_without_a_second_attack(monkeypatch):
    """The dynamic detector that kept its initial (static) weights computes the static detector's function:
    its rows equal those of evaluating it alone, and the adversary runs once per σ, not twice. A detector
    whose weights differ in one value is attacked again."""
    clf = _model()
    torch.manual_seed(3)
    det = detectors.Detector(1, (4, 8, 8), 2, [0.5], [0.3]).eval()
    twin = copy.deepcopy(det)
    other = copy.deepcopy(det)
    with torch.no_grad():
        next(other.parameters()).view(-1)[0] += 0.5
    x, y = _x(40)
    dyn = {"eps": 32, "alpha": 8, "iterations": 3, "sigmas": [0.0, 0.5]}
    alone = core.dynamic_rows(clf, {"dynamic": twin}, x, y, dyn, 16, CPU, epochs={"dynamic": 0})
    calls = []
    real = core.dynamic_attack
    monkeypatch.setattr(core, "dynamic_attack", lambda *a, **k: calls.append(1) or real(*a, **k))
    both = core.dynamic_rows(clf, {"static": det, "dynamic": twin}, x, y, dyn, 16, CPU,
                             epochs={"static": 7, "dynamic": 0})
    assert len(calls) == len(dyn["sigmas"])
    got = both[both["detector"] == "dynamic"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alone.reset_index(drop=True))
    assert both[both["detector"] == "static"]["detector_epoch"].eq(7).all()
    calls.clear()
    core.dynamic_rows(clf, {"static": det, "dynamic": other}, x, y, dyn, 16, CPU)
    assert len(calls) == 2 * len(dyn["sigmas"])
    assert not core.same_function(det, other) and not core.same_function(det, copy.deepcopy(det).train())
    assert core.same_function(det, twin)


def _sign_model(signs: torch.Tensor) -> nn.Module:
    """2-class linear model on 8x8 images whose logit difference (class 1 - class 0) has the given
    per-pixel signs: ∇ₓ CE(·, y=0) and ∇ₓ CE(·, y=1 of the detector) keep fixed signs."""
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 2, bias=False))
    with torch.no_grad():
        lin[1].weight.zero_()
        lin[1].weight[1] = signs.flatten() * 0.01
    return lin.eval()


def test_dynamic_iterations_let_every_sigma_but_one_half_reach_the_bound():
    """Defect 3: per step the σ-mixed sign moves a pixel by α where the classifier's and detector's
    gradient signs agree and by |1 - 2σ|·α where they disagree. With min_iterations(ε, α, σ grid) =
    20 iterations (α = ε/4) every pixel reaches ‖δ‖∞ = ε at every σ of the grid but 0.5, where the
    disagreeing ones do not move at all; the former 10 iterations leave them at ε/2 at σ = 0.4."""
    from advtrace.studies.p001.checks import min_iterations

    s_cls = torch.ones(64)
    s_det = torch.cat([torch.ones(32), -torch.ones(32)])  # first half agrees, second half disagrees
    clf = _sign_model(s_cls)  # y = 0: sgn ∇J_cls = sign(w1 - w0) = +1
    det = _sign_model(-s_det)  # J_det(·, 1): sgn ∇ = sign(v0 - v1) = s_det
    x = torch.full((2, 1, 8, 8), 0.5)
    y = torch.zeros(2, dtype=torch.long)
    sigmas = [i / 10 for i in range(11)]
    eps, alpha = 32, 8
    its = min_iterations(eps, alpha, sigmas)
    assert its == 20
    for sigma in sigmas:
        d = core.dynamic_attack(clf, det, x, y, {"eps": eps, "alpha": alpha, "iterations": its}, sigma, 8).flatten(1)
        agree, disagree = d[:, :32], d[:, 32:]
        assert torch.allclose(agree, torch.full_like(agree, eps / 255), atol=1e-6), sigma
        if sigma == 0.5:
            assert torch.equal(disagree, torch.zeros_like(disagree))
            assert core.at_bound(x, d.view_as(x), eps / 255) == 1.0  # the moved pixels are all at the bound
        else:
            want = eps / 255 * (1 if sigma < 0.5 else -1)  # towards the larger weight's sign
            assert torch.allclose(disagree, torch.full_like(disagree, want), atol=1e-6), sigma
            assert core.at_bound(x, d.view_as(x), eps / 255) == 1.0
    short = core.dynamic_attack(clf, det, x, y, {"eps": eps, "alpha": alpha, "iterations": 10}, 0.4, 8).flatten(1)
    assert torch.allclose(short[:, 32:], torch.full((2, 32), eps / 255 / 2), atol=1e-6)  # half the bound
    assert core.at_bound(x, short.view_as(x), eps / 255) == pytest.approx(0.5)


def test_min_iterations_and_the_config_check(digits_cfg):
    from advtrace.studies.p001.checks import min_iterations

    grid = [i / 10 for i in range(11)]
    assert min_iterations(32, 8, grid) == 20 and min_iterations(1, 0.25, grid) == 20  # digits, CIFAR-10
    assert min_iterations(32, 8, [0.0, 1.0]) == 4 and min_iterations(32, 8, [0.5]) == 4  # only agreeing pixels
    assert min_iterations(2, 0.5, grid) == 20 and min_iterations(32, 8, [0.0, 0.3]) == 10
    assert digits_cfg["paper001"]["dynamic"]["iterations"] >= min_iterations(
        digits_cfg["paper001"]["dynamic"]["eps"], digits_cfg["paper001"]["dynamic"]["alpha"],
        digits_cfg["paper001"]["dynamic"]["sigmas"])
    exp = copy.deepcopy(digits_cfg)
    exp["paper001"]["dynamic"]["iterations"] = 10
    assert any(p.startswith("paper001.dynamic.iterations") and ">= 20" in p and "σ = 0.4" in p
               for p in checks.problems(exp))


def test_joint_sign_mix_takes_each_gradient_through_its_own_network():
    """The fast direction (each term back-propagated through its own network) equals the generic
    SignMix direction on the concatenated logits, per-input σ included."""
    clf = _model()
    torch.manual_seed(3)
    det = detectors.Detector(1, (4, 8, 8), 2, [0.5], [0.3]).eval()
    x, y = _x(16)
    joint = core.Joint(clf, det).eval()
    for sigma in (torch.rand(16, generator=torch.Generator().manual_seed(0)), 0.0, 0.3, 1.0):
        mix = core.dynamic_objective(sigma)
        assert torch.equal(mix.direction(joint, x, y), attacks.SignMix(*mix.terms).direction(joint, x, y))


# --- config checks, claims --------------------------------------------------------------------------

def test_checks_name_the_key_and_the_fix(digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    assert checks.problems(exp) == []
    exp["paper001"]["dynamic"]["eps"] = 20
    exp["paper001"]["dynamic"]["family"] = "Fast"
    probs = checks.problems(exp)
    assert any(p.startswith("paper001.dynamic.family") and "'bi'" in p for p in probs)
    assert any(p.startswith("paper001.dynamic.eps") for p in probs)
    exp = copy.deepcopy(digits_cfg)
    exp["paper001"]["test_set"] = "detector_train"
    assert any("paper001.test_set" in p and "'test'" in p for p in checks.problems(exp))


def test_schema_rejects_unknown_keys(digits_cfg, schema):
    exp = copy.deepcopy(digits_cfg)
    exp["paper001"]["families"]["Fast"]["alpah"] = 1
    with pytest.raises(ConfigError, match="alpah"):
        validate_experiment(exp, schema)


def _claim(cid):
    return next(c for c in CLAIMS if c.id == cid)


def _adv_rows():
    def row(fam, attack, eps, acc, det, star=False, n=1000):
        k = round(det * n)
        from advtrace.stats import proportion

        e = proportion(k, n)
        return {"family": fam, "attack": attack, "eps": eps, "position": "AD(0)", "eps_star": star, "accuracy": acc,
                "accuracy_n": 500, "accuracy_ci_low": acc, "accuracy_ci_high": acc, "detectability": det, "n": n,
                "ci_low": e.low, "ci_high": e.high, "accuracy_clean": det, "accuracy_adv": det}
    return pd.DataFrame([row("No", "none", 0, 0.98, 0.5), row("Fast", "fgsm", 4, 0.25, 0.99, True),
                         row("It", "bi", 4, 0.05, 0.95, True), row("DF", "deepfool_l2", 255, 0.02, 0.85, True)])


def test_claims_verdicts_follow_the_intervals():
    adv = _adv_rows()
    assert _claim("p001_detectable_below_30").measure(adv)[1] == HOLDS
    assert _claim("p001_detectable_below_10").measure(adv)[1] == FAILS  # DeepFool 85 % < 90 % at 2 % accuracy
    assert _claim("p001_deepfool_hardest").measure(adv)[1] == HOLDS
    assert _claim("p001_fast_easiest").measure(adv)[1] == HOLDS
    close = adv.copy()
    close.loc[close["family"] == "It", ["detectability", "ci_low", "ci_high"]] = [0.985, 0.977, 0.991]
    assert _claim("p001_fast_easiest").measure(close)[1] == INCONCLUSIVE


# --- workflow -------------------------------------------------------------------------------------

@pytest.mark.e2e
def test_paper_scale_dry_run_builds_the_study_dag(tmp_path):
    """cifar10_resnet32: the whole paper-001 DAG (no data needed); epoch 0 only, no adversarial training."""
    from conftest import ROOT, copy_workflow, dry_run_jobs, snakemake

    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "paper001", "--config", "experiments=[cifar10_resnet32]", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["p001_family"] == 5 and counts["pretrain"] == 1 and counts["claims"] == 1, counts
    assert {"p001_attack_transfer", "p001_dynamic", "p001_tables", "p001_plots"} <= set(counts)
    assert "adv_train_epoch" not in counts and "train_detector" not in counts
    for fig in ("p001_fig02_detectability", "p001_fig03_eps_transfer", "p001_fig04_attack_transfer", "p001_fig05_dynamic"):
        assert f"results/cifar10_resnet32/figures/{fig}.png" in proc.stdout


def _dyn_tables(dynamic_epoch: int, dyn_det=(0.95, 0.6)):
    """p001_dynamic and p001_dynamic_training rows of a run whose dynamic detector holds epoch `dynamic_epoch`."""
    from advtrace.stats import proportion
    from advtrace.tables import coerce

    rows = []
    for det, epoch, vals in (("static", 7, (0.95, 0.5)), ("dynamic", dynamic_epoch, dyn_det)):
        for sigma, v in zip((0.3, 0.6), vals):
            n = 200
            e = proportion(round(v * n), n)
            rows.append({"detector": det, "detector_epoch": epoch, "sigma": sigma, "accuracy": 0.2, "accuracy_n": 100,
                         "accuracy_ci_low": 0.13, "accuracy_ci_high": 0.29, "n_clean_correct": 98,
                         "n_successful": 100, "delta_linf": 32.0, "at_bound": 0.9, "detectability": v, "n": n,
                         "ci_low": e.low, "ci_high": e.high, "accuracy_clean": v, "accuracy_adv": v})
    dyn = coerce(pd.DataFrame(rows), "p001_dynamic")
    res = {"best_epoch": dynamic_epoch, "val0": {"all": 0.7, "successful": 0.9, "n_successful": 40},
           "history": [{"detector_epoch": e, "train_loss": 0.6, "train_accuracy": 0.6, "val_all": v,
                        "val_successful": 0.8, "val_n_successful": 40} for e, v in ((1, 0.6), (2, 0.8))]}
    return dyn, core.dynamic_training_rows(res, 150, "static", "all")


def test_dynamic_claim_is_not_measured_for_a_detector_that_kept_its_initial_weights():
    """Defect 1: selected dynamic-training epoch 0 = the static detector, not a dynamically trained
    one: no verdict, 'not measured' with the reason."""
    from advtrace.claims import NOT_MEASURED

    claim = _claim("p001_dynamic_robust")
    assert claim.tables == ("p001_dynamic", "p001_dynamic_training")
    dyn, tr = _dyn_tables(0)
    measured, verdict = claim.measure(dyn, tr)[:2]
    assert verdict == NOT_MEASURED and "selected epoch 0" in measured and "static detector" in measured
    dyn, tr = _dyn_tables(2)
    assert claim.measure(dyn, tr)[1] == FAILS  # 60 % at σ = 0.6: trained, and measured
    dyn, tr = _dyn_tables(2, dyn_det=(0.95, 0.9))
    assert claim.measure(dyn, tr)[1] == HOLDS


def test_claims_scorecard_reports_not_measured(digits_cfg):
    from advtrace.claims import evaluate_claims

    dyn, tr = _dyn_tables(0)
    out = evaluate_claims({"p001_dynamic": dyn, "p001_dynamic_training": tr}, "digits",
                          stage_tables=["p001_dynamic", "p001_dynamic_training"])
    row = out.set_index("claim").loc["p001_dynamic_robust"]
    assert row["status"] == "not measured" and row["measured"].startswith("not measured: dynamic adversary training")


def test_fig05_and_the_training_curve_say_when_the_dynamic_detector_is_untrained(tmp_path):
    from advtrace.plotting import save_figure
    from advtrace.studies.p001 import plots

    dyn, tr = _dyn_tables(0)
    assert plots.untrained_dynamic(dyn)
    assert not plots.untrained_dynamic(_dyn_tables(2)[0])
    assert not plots.untrained_dynamic(dyn[dyn["detector"] == "static"])
    fig = plots.fig05(dyn, "t")
    # the σ labels named in the title are the table's own σ grid (not the paper's 0, 0.1, ..., 1)
    sig = sorted(dyn["sigma"].unique())
    want = ", ".join(f"{x:g}" for x in sig) if len(sig) <= 4 else f"{sig[0]:g}, {sig[1]:g}, …, {sig[-1]:g}"
    assert f"σ = {want};" in fig.axes[0].get_title()
    save_figure(fig, tmp_path / "f5.pdf", tmp_path / "f5.png")
    save_figure(plots.dynamic_training_curve(tr, "t"), tmp_path / "c.pdf", tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0


# --- Sec. 4.2: 10-class ImageNet, pretrained VGG16 (imagenet10_vgg16) ---------------------------------

def test_imagenet_class_subset_and_pretrained_vgg16_on_fake_imagenet(tmp_path, monkeypatch):
    """Sec. 4.2's data and model path on the fake ImageNet in the real on-disk format
    (tests/test_imagenet.py): a class subset relabelled in the config's order; VGG16 built and
    loaded through the pretrained-weights path (model.weights, pretrain.epochs 0) with *random*
    weights - torchvision's ImageNet weights cannot be fetched here - and its logits equal the
    selected classes' logits of torchvision's own VGG16 with the same weights; the detector attaches
    after max-pool 4."""
    import torchvision
    from torchvision.datasets import imagenet as tv_imagenet

    from advtrace.checkpoints import load_checkpoint
    from advtrace.data import load_dataset, prepare_dataset
    from advtrace.models import VGG16, vgg16_normalisation
    from advtrace.training import pretrain
    from test_imagenet import COLOURS, NAMES, TRAIN_PER_CLASS, VAL_CLASSES, WNIDS, fake_imagenet

    for kind, entry in fake_imagenet(tmp_path).items():
        monkeypatch.setitem(tv_imagenet.ARCHIVE_META, kind, entry)
    keep = [2, 0]  # classes 2 and 0, in that order: labels 0 and 1
    n_train = sum(TRAIN_PER_CLASS[c] for c in keep)
    n_test = sum(c in keep for c in VAL_CLASSES)
    cfg = {"name": "imagenet", "root": str(tmp_path), "download": False, "image_size": 32,
           "classes": [WNIDS[c] for c in keep],
           "splits": {"train": {"source": "train", "n": n_train - 1}, "val": {"source": "train", "n": 1},
                      "test": {"source": "val", "n": n_test}}}
    out = tmp_path / "results" / "exp" / "data" / "dataset.pt"
    prepare_dataset(cfg, 0, out)
    data = load_dataset(out)
    assert data["num_classes"] == 2 and data["class_index"] == keep
    assert data["class_names"] == [NAMES[c].split(",")[0] for c in keep]
    for split in ("train", "val", "test"):
        for img, label in zip(data[f"{split}_x"], data[f"{split}_y"]):  # each image has its class's colour
            want = torch.tensor(COLOURS[keep[int(label)]], dtype=torch.float32).view(3, 1, 1)
            assert (img.float() - want).abs().max() < 40
    assert sorted(data["test_y"].tolist()) == sorted(keep.index(c) for c in VAL_CLASSES if c in keep)

    # random weights in torchvision's vgg16 format, through the same loading code as the real file
    torch.manual_seed(0)
    tv = torchvision.models.vgg16(weights=None).eval()
    weights = tmp_path / "vgg16-random.pth"
    torch.save(tv.state_dict(), weights)
    model_cfg = {"name": "vgg16", "width": 64, "weights": str(weights)}
    exp = {"seed": 0, "model": model_cfg,
           "pretrain": {"epochs": 0, "batch_size": 2, "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.9,
                                                                    "weight_decay": 0.0},
                        "schedule": {"name": "constant", "milestones": [], "gamma": 0.1},
                        "augment": {"crop_padding": 0, "flip": False}}}
    ckpt_path = tmp_path / "results" / "exp" / "runs" / "main" / "checkpoints" / "epoch_000.pt"
    pretrain(data, exp, CPU, ckpt_path, run="exp")
    model = load_checkpoint(ckpt_path, CPU)  # self-describing: the class selection travels in the checkpoint
    assert isinstance(model, VGG16)
    x = data["test_x"].float() / 255
    mean, std = vgg16_normalisation()
    with torch.no_grad():
        full = tv((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))
        got = model(x)
    assert got.shape == (n_test, 2) and torch.allclose(got, full[:, keep], atol=1e-4, rtol=1e-4)
    # the detector after the fourth max-pooling: 512 maps, 2x2 at 32 px (14x14 at 224 px: one pooling)
    pos = core.attachment_positions(model, data, [3], 7, max_pools=1)[0]
    assert (pos["channels"], pos["side"], pos["pools"], pos["feature"]) == (512, 2, 0, "max-pool 4")
    assert core.pools_for(14, 7, 1) == 1 and core.pools_for(14, 7, 2) == 1
    arch = detectors.architecture(core.det_cfg(pos, [8] * 5), data, model)
    det = detectors.build_detector(arch, model).eval()
    assert sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in det.detector.modules()) == 5
    assert detectors.p_adv(det, x).shape == (n_test,)


def test_missing_or_damaged_vgg16_weights_say_what_to_do(tmp_path):
    from advtrace.models import PretrainedWeightsMissing, VGG16, load_pretrained

    model = VGG16(10, class_index=list(range(10)), image_size=32)
    where = tmp_path / "resources" / "models" / "vgg16-397923af.pth"
    with pytest.raises(PretrainedWeightsMissing) as e:
        load_pretrained(model, {"weights": str(where)})
    msg = str(e.value)
    assert str(where) in msg and "https://download.pytorch.org/models/vgg16-397923af.pth" in msg
    assert "IMAGENET1K_V1" in msg and "curl" in msg
    where.parent.mkdir(parents=True)
    torch.save({"x": torch.zeros(1)}, where)  # not the published file: its SHA-256 does not match its name
    with pytest.raises(ValueError, match="SHA-256"):
        load_pretrained(model, {"weights": str(where)})
    other = tmp_path / "vgg16-other.pth"
    torch.save({"x": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match="not a torchvision vgg16 state dict"):
        load_pretrained(model, {"weights": str(other)})


@pytest.mark.e2e
def test_imagenet10_vgg16_config_states_the_paper_and_dry_runs(tmp_path, schema):
    """config/experiments/imagenet10_vgg16.yaml: Sec. 4.2's grids and detector, a valid config,
    and the whole paper-001 DAG as a dry run (no data, no weights: both are warned about)."""
    from conftest import ROOT, copy_workflow, dry_run_jobs, snakemake

    from advtrace.config import check_experiment, load_yaml

    cfg = load_yaml(ROOT / "config" / "experiments" / "imagenet10_vgg16.yaml")
    validate_experiment(copy.deepcopy(cfg), schema, expected_name="imagenet10_vgg16")
    assert check_experiment(cfg) == []
    sec = cfg["paper001"]
    assert len(cfg["dataset"]["classes"]) == 10 and cfg["model"]["name"] == "vgg16" and cfg["pretrain"]["epochs"] == 0
    assert sec["families"]["Iterative_linf"]["eps"] == [2, 4, 6] and sec["families"]["Iterative_l2"]["eps"] == [400, 800, 1200]
    assert sec["families"]["DeepFool_l2"]["eps"] == [6] == sec["families"]["DeepFool_linf"]["eps"]
    assert sec["detector"]["channels"] == [196] * 5 and sec["positions"] == [3]
    assert sec["training"]["epochs"] == 500 and sec["training"]["lr"] == 1e-4
    assert [cfg["dataset"]["splits"][s]["n"] for s in ("train", "val", "test")] == [10000, 2848, 500]
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[imagenet10_vgg16]", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["p001_family"] == 5 and counts["pretrain"] == 1 and counts["prepare_data_cluster"] == 1, counts  # ImageNet: a cluster job
    assert {"p001_attack_transfer", "p001_dynamic", "p001_tables", "p001_plots", "claims"} <= set(counts)
    assert "adv_train_epoch" not in counts
    assert "vgg16-397923af.pth does not exist" in proc.stderr and "ImageNet has no download" in proc.stderr
