"""Training methods (advtrace.methods): registry and schema agree, config checks, the formulas of
paper 002's k-of-m and paper 004's shared (heap) adversarial training, and whole epochs."""

import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import attacks, methods
from advtrace.config import ConfigError, validate_experiment
from advtrace.specs import METHOD_SPECS, kofm_k


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one intra-op thread (conftest)


def tiny_net(classes: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 36, classes))


def batch(n: int = 24, seed: int = 0, lo: float = 0.0, hi: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, 1, 6, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


class Recorder(nn.Module):
    """Wraps a model and keeps the input of its last train-mode forward."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.seen = model, None

    def forward(self, x):
        if self.training:
            self.seen = x.detach().clone()
        return self.model(x)


def with_method(digits_cfg, method: str, **block):
    from advtrace import stages

    # the main chain's method changed; the studies' runs (which inherit its keys) are left out
    cfg = {k: copy.deepcopy(v) for k, v in digits_cfg.items()
           if not any(s.module and s.name == k for s in stages.all_stages())}
    adv = cfg["adv_train"]
    adv["method"] = method
    for key in ("sigma", "attack_label", "attack"):
        if key not in METHOD_SPECS[method].keys:
            adv.pop(key)
    if block:
        adv[method] = block
    return cfg


KOFM = {"k_fraction": 0.5, "lam": 0.3, "eps_sigma": 8}
SHARED = {"heap_size": 8, "adv_weight": 0.5, "kappa": -math.log(0.2), "eps": 8, "alpha": 4, "iterations": 4}


# --------------------------------------------------------------------- registry and config

def test_registry_matches_schema(schema):
    enum = schema["$defs"]["experiment"]["properties"]["adv_train"]["properties"]["method"]["enum"]
    assert list(methods.METHODS) == list(METHOD_SPECS) == enum
    props = schema["$defs"]["experiment"]["properties"]["adv_train"]["properties"]
    assert all(k in props for s in METHOD_SPECS.values() for k in s.keys)


def test_every_experiment_names_its_method(root):
    from advtrace.config import load_yaml

    for path in sorted((root / "config" / "experiments").glob("*.yaml")):
        assert load_yaml(path)["adv_train"]["method"] == "sigma_mix", path.name


def test_method_configs_validate(schema, digits_cfg):
    validate_experiment(with_method(digits_cfg, "kofm", **KOFM), schema, "digits")
    validate_experiment(with_method(digits_cfg, "shared", **SHARED), schema, "digits")
    validate_experiment(with_method(digits_cfg, "clean"), schema, "digits")


def _problems(schema, cfg) -> str:
    with pytest.raises(ConfigError) as err:
        validate_experiment(cfg, schema, "digits")
    return str(err.value)


def test_method_config_errors(schema, digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["adv_train"]["method"] = "pgd_at"
    msg = _problems(schema, cfg)
    assert "adv_train.method" in msg and all(repr(m) in msg for m in METHOD_SPECS)

    cfg = with_method(digits_cfg, "kofm")  # no kofm block
    assert "adv_train.kofm: required by method 'kofm'" in _problems(schema, cfg)

    cfg = with_method(digits_cfg, "kofm", **KOFM)
    cfg["adv_train"]["sigma"] = 0.5  # paper 000's σ means nothing to k-of-m: rejected, not ignored
    assert "adv_train.sigma: not read by method 'kofm'" in _problems(schema, cfg)

    cfg = copy.deepcopy(digits_cfg)
    cfg["adv_train"]["shared"] = dict(SHARED)
    assert "adv_train.shared: not read by method 'sigma_mix'" in _problems(schema, cfg)

    cfg = with_method(digits_cfg, "kofm", **KOFM)
    cfg["adv_train"]["attack"] = {"name": "deepfool_l2", "eps": 16}
    msg = _problems(schema, cfg)
    assert "adv_train.attack.name: method 'kofm' draws one ε per example" in msg and "'deepfool_l2'" in msg

    cfg = with_method(digits_cfg, "kofm", **{**KOFM, "k_fraction": 0.001})
    assert "replaces no example" in _problems(schema, cfg)

    cfg = with_method(digits_cfg, "shared", **{**SHARED, "alpha": 16})
    assert "adv_train.shared.alpha: 16 > eps 8" in _problems(schema, cfg)

    cfg = with_method(digits_cfg, "shared", **{**SHARED, "heap_size": 1000})
    assert "adv_train.shared.heap_size: 1000 > adv_train.batch_size" in _problems(schema, cfg)

    cfg = with_method(digits_cfg, "shared", **{**SHARED, "kappa": 0})
    assert "adv_train.shared.kappa" in _problems(schema, cfg)


def test_attack_checks_come_from_the_registry(schema, digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["adv_train"]["attack"] = {"name": "fgsm", "eps": 32, "iterations": 3}
    assert "adv_train.attack.iterations: not a parameter of 'fgsm'" in _problems(schema, cfg)
    cfg = copy.deepcopy(digits_cfg)
    cfg["evaluation"]["attacks"]["RND"] = {"name": "step_rnd", "eps": 32}  # evaluation passes no generator
    assert "evaluation.attacks.RND.name: 'step_rnd' draws random numbers" in _problems(schema, cfg)


def test_context_converts_units_once(digits_cfg):
    ctx = methods.context_from_config(with_method(digits_cfg, "shared", **SHARED)["adv_train"])
    assert ctx.attack is None and ctx.attack_label == "predicted"
    assert ctx.params["eps"] == 8 / 255 and ctx.params["alpha"] == 4 / 255 and ctx.params["heap_size"] == 8
    ctx = methods.context_from_config(with_method(digits_cfg, "kofm", **KOFM)["adv_train"])
    assert ctx.attack["eps"] == 32 / 255 and ctx.params["eps_sigma"] == 8 / 255
    with pytest.raises(ValueError, match="allowed: sigma_mix, kofm, shared, clean"):
        methods.context_from_config({"method": "nope"})


# --------------------------------------------------------------------- kofm (paper 002)

def test_kofm_k_rounds_half_up():
    assert kofm_k(32, 0.5) == 16 and kofm_k(5, 0.5) == 3 and kofm_k(4, 1.0) == 4 and kofm_k(10, 0.01) == 0


def test_truncated_normal_eps():
    g = torch.Generator().manual_seed(0)
    e = methods.truncated_normal_eps(20000, 8.0, 16.0, g)
    assert e.dtype == torch.float32 and e.min() >= 0 and e.max() <= 16
    # CDF of N(0, 8) truncated to [0, 16] at 8: erf(1/√2) / erf(2/√2)
    expected = math.erf(1 / math.sqrt(2)) / math.erf(2 / math.sqrt(2))
    assert abs(float((e <= 8).float().mean()) - expected) < 0.015
    mean = 8 * math.sqrt(2 / math.pi) * (1 - math.exp(-2)) / math.erf(2 / math.sqrt(2))  # truncated half-normal
    assert abs(float(e.mean()) - mean) < 0.1
    assert torch.equal(e, methods.truncated_normal_eps(20000, 8.0, 16.0, torch.Generator().manual_seed(0)))


def test_kofm_loss_formula():
    per = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert torch.isclose(methods.kofm_loss(per, 2, 0.3), torch.tensor((3 + 4 + 5 + 0.3 * (1 + 2)) / (3 + 0.3 * 2)))
    assert torch.isclose(methods.kofm_loss(per, 0, 0.3), per.mean())
    assert torch.isclose(methods.kofm_loss(per, 5, 0.3), per.mean())


@pytest.mark.parametrize("attack", [{"name": "step_ll", "eps": 16}, {"name": "bi", "eps": 16, "alpha": 2, "iterations": 3}])
def test_kofm_replaces_k_examples_with_per_example_eps(attack):
    from advtrace.config import attack_kwargs

    model = Recorder(tiny_net())
    x, y = batch(10)
    ctx = methods.MethodContext("kofm", attack_kwargs(attack), "ground_truth",
                                {"k_fraction": 0.5, "lam": 0.3, "eps_sigma": 8 / 255}, torch.Generator().manual_seed(1))
    model.train()
    loss, logits, y_acc = methods.kofm(ctx, model, x, y)
    k = 5
    eps = methods.truncated_normal_eps(k, 8 / 255, 16 / 255, torch.Generator().manual_seed(1))
    fed = model.seen
    assert torch.equal(fed[k:], x[k:])                                  # the m − k clean examples
    d = (fed[:k] - x[:k]).flatten(1).abs().amax(1)
    assert (d <= eps + 1e-6).all() and (d > 0).all()                     # each with its own ε
    assert fed.min() >= 0 and fed.max() <= 1
    # the loss is (Σ_clean J + λ Σ_adv J)/((m−k)+λk) of that mixed batch
    per = F.cross_entropy(model(fed), y, reduction="none")
    direct = (per[k:].sum() + 0.3 * per[:k].sum()) / ((10 - k) + 0.3 * k)
    assert torch.allclose(loss, direct, rtol=1e-6, atol=0) and torch.equal(y_acc, y) and logits.shape == (10, 3)


# --------------------------------------------------------------------- shared / heap adversary (paper 004)

def test_heap_pgd_shares_one_perturbation_per_heap():
    model = tiny_net()
    x, y = batch(10, lo=0.3, hi=0.7)   # ε = 0.1 never reaches the range edges: no clipping
    delta = methods.heap_pgd(model, x, y, 0.1, 0.05, 3, 4, torch.Generator().manual_seed(0),
                             attacks.thresholded_ce(-math.log(0.2)))
    assert delta.abs().max() <= 0.1 + 1e-6
    for heap in (range(0, 4), range(4, 8), range(8, 10)):   # heaps of 4, 4 and the last one of 2
        for i in heap:
            assert torch.allclose(delta[i], delta[heap[0]], atol=1e-6)
    assert not torch.allclose(delta[0], delta[4], atol=1e-3)
    assert (x + delta).min() >= 0 and (x + delta).max() <= 1
    assert all(m.training for m in model.modules())  # attacked in eval mode, train mode restored


def test_heap_pgd_bounds_at_the_range_edges():
    model = tiny_net()
    x, y = batch(12)
    x = torch.where(x > 0.5, torch.ones_like(x), torch.zeros_like(x))
    delta = methods.heap_pgd(model, x, y, 0.2, 0.1, 3, 3, torch.Generator().manual_seed(0))
    assert delta.abs().max() <= 0.2 + 1e-6 and (x + delta).min() >= 0 and (x + delta).max() <= 1


def test_heap_size_one_is_per_input_pgd():
    """s = 1 equals PGD written per input: uniform start in [−ε, ε] from the same generator, then
    δ ← Clip_ε(δ + α sgn ∇J(clip(x + δ))), with the same objective (same batch, same kernels)."""
    model = tiny_net()
    x, y = batch(16)
    eps, alpha, its, kappa = 0.1, 0.03, 4, -math.log(0.2)
    obj = attacks.thresholded_ce(kappa)
    got = methods.heap_pgd(model, x, y, eps, alpha, its, 1, torch.Generator().manual_seed(5), obj)
    g = torch.Generator().manual_seed(5)
    d = torch.rand(x.shape, generator=g) * (2 * eps) - eps
    model.eval()
    for _ in range(its):
        z = (x + d).clamp(0, 1).requires_grad_(True)
        loss = F.cross_entropy(model(z), y, reduction="none").clamp(max=kappa).sum()
        (grad,) = torch.autograd.grad(loss, z)
        d = (d + alpha * grad.sign()).clamp(-eps, eps)
    assert torch.equal(got, (x + d).clamp(0, 1) - x)


def test_shared_loss_formula():
    model = Recorder(tiny_net())
    x, y = batch(12, lo=0.3, hi=0.7)
    params = {"heap_size": 4, "adv_weight": 0.3, "kappa": 1.6, "eps": 0.1, "alpha": 0.05, "iterations": 2}
    ctx = methods.MethodContext("shared", None, "ground_truth", params, torch.Generator().manual_seed(0))
    model.train()
    before = copy.deepcopy(model)                           # BatchNorm statistics before the update's forward
    loss, logits, y_acc = methods.shared(ctx, model, x, y)
    fed = model.seen                                        # clean and adversarial batch, forwarded together
    assert torch.equal(fed[:12], x)
    delta = methods.heap_pgd(before, x, y, 0.1, 0.05, 2, 4, torch.Generator().manual_seed(0),
                             attacks.thresholded_ce(1.6))
    assert torch.allclose(fed[12:], x + delta, atol=1e-6)
    model.train()
    out = model(fed)
    direct = 0.7 * F.cross_entropy(out[:12], y) + 0.3 * F.cross_entropy(out[12:], y)
    assert torch.allclose(loss, direct, rtol=1e-6, atol=0) and torch.equal(y_acc, y)
    assert torch.allclose(logits, out[12:], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------- whole epochs

def digits_like(n: int = 96) -> dict:
    """Two classes of 8×8 uint8 images (a bright left or right half plus noise)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 1, 8, 8, generator=g) * 60
    x[y == 0, :, :, :4] += 150
    x[y == 1, :, :, 4:] += 150
    x = x.clamp(0, 255).to(torch.uint8)
    return {"name": "synthetic", "num_classes": 2, "in_channels": 1, "image_size": 8, "train_x": x, "train_y": y,
            "mean": [0.4], "std": [0.3]}


@pytest.mark.parametrize("method,block", [("kofm", KOFM), ("shared", SHARED), ("clean", None)])
def test_method_epochs_are_reproducible_and_train(tmp_path, digits_cfg, method, block):
    from advtrace.runtime import load_torch
    from advtrace.training import adv_train_epoch, pretrain

    exp = with_method(digits_cfg, method, **(block or {}))
    exp["model"]["width"] = 8
    exp["pretrain"].update(epochs=1, batch_size=32)
    exp["adv_train"]["batch_size"] = 32
    if "attack" in exp["adv_train"]:
        exp["adv_train"]["attack"] = {"name": "step_ll", "eps": 16}
    data, dev = digits_like(), torch.device("cpu")
    pretrain(data, exp, dev, tmp_path / "epoch_000.pt")
    for run in ("a", "b"):
        adv_train_epoch(tmp_path / "epoch_000.pt", data, exp, 1, dev, tmp_path / f"{run}.pt")
    a, b, c0 = (load_torch(tmp_path / f) for f in ("a.pt", "b.pt", "epoch_000.pt"))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert torch.equal(a["rng"], b["rng"])
    assert any(not torch.equal(a["model"][k], c0["model"][k]) for k in a["model"])
    assert all(torch.isfinite(v).all() for v in a["model"].values() if v.is_floating_point())
