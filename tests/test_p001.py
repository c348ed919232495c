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
    cfg = {"epochs": 2, "batch_size": 16, "lr": 1e-3, "beta1": 0.99, "beta2": 0.999, "p_adv": 0.5}
    res = core.train_dynamic(clf, det, x, y, xv, yv, {"eps": 32, "alpha": 8, "iterations": 3}, cfg, CPU, 0, 16)
    assert [h["detector_epoch"] for h in res["history"]] == [1, 2]
    assert res["val_accuracy"] >= max(h["val_accuracy"] for h in res["history"])
    assert not det.training


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
    from conftest import copy_workflow, dry_run_jobs, snakemake

    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "paper001", "--config", "experiments=[cifar10_resnet32]", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["p001_family"] == 5 and counts["pretrain"] == 1 and counts["claims"] == 1, counts
    assert {"p001_attack_transfer", "p001_dynamic", "p001_tables", "p001_plots"} <= set(counts)
    assert "adv_train_epoch" not in counts and "train_detector" not in counts
    for fig in ("p001_fig02_detectability", "p001_fig03_eps_transfer", "p001_fig04_attack_transfer", "p001_fig05_dynamic"):
        assert f"results/cifar10_resnet32/figures/{fig}.png" in proc.stdout


def test_fig05_says_when_the_dynamic_detector_kept_the_static_weights():
    from advtrace.studies.p001 import plots

    base = pd.DataFrame({"sigma": [0.0, 0.5], "detectability": [0.9, 0.5], "n": [100, 20]})
    same = pd.concat([base.assign(detector="static"), base.assign(detector="dynamic")])
    assert plots.same_detectors(same)
    other = same.copy()
    other.loc[(other["detector"] == "dynamic") & (other["sigma"] == 0.5), "detectability"] = 0.7
    assert not plots.same_detectors(other)
    assert not plots.same_detectors(base.assign(detector="static"))
