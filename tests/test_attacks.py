"""Attacks: bounds, valid range, analytic checks on linear models, effect on a trained model,
model-state hygiene, determinism and dispatch."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import attacks
from advtrace.attacks import ATTACKS, attack_batched, bi, deepfool, eval_mode, fgsm, predict, run_attack

N_CLASSES = 4
EPS = 0.2       # ℓ∞ bound, [0,1] units (synthetic task: class templates differ by ±0.15 per pixel)
EPS_L2 = 1.6    # ℓ2 radius for 1×8×8 inputs (= EPS·√64)
LINF = ("fgsm", "bi", "step_ll", "step_rnd", "iter_ll", "deepfool_linf", "deepfool_l2")


def attack_kwargs(name: str) -> dict:
    """run_attack keywords for each attack on the synthetic task (DeepFool: eps = ℓ∞ bound)."""
    kw = {"eps": EPS_L2 if name in ("bi_l2", "fast_grad_l2") else EPS}
    if name in ("bi", "iter_ll"):
        kw.update(alpha=EPS / 4, iterations=10)
    if name == "bi_l2":
        kw.update(alpha=EPS_L2 / 4, iterations=10)
    if attacks.REGISTRY[name].random:
        kw["generator"] = torch.Generator().manual_seed(0)
    return kw


def synthetic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """4 classes of 1×8×8 images: 0.5 ± 0.15 along a class template (fixed), plus pixel noise."""
    templates = torch.randint(0, 2, (N_CLASSES, 1, 8, 8), generator=torch.Generator().manual_seed(123)) * 2.0 - 1
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, N_CLASSES, (n,), generator=g)
    x = 0.5 + 0.15 * templates[y] + 0.08 * torch.randn(n, 1, 8, 8, generator=g)
    return x.clamp(0, 1), y


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(8 * 64, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(F.relu(self.bn(self.conv(x))).flatten(1)))


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: one intra-op thread (conftest)


@pytest.fixture(scope="module")
def trained(one_thread):
    torch.manual_seed(0)
    model = SmallNet()
    x, y = synthetic(512, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    model.eval()
    xt, yt = synthetic(256, seed=2)
    return model, xt, yt


def linear_model(n_classes: int, dim: int = 48, seed: int = 0, scale: float = 1.0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(dim, n_classes))
    with torch.no_grad():
        model[1].weight.mul_(scale)
    return model


def mid_inputs(n: int, seed: int = 0) -> torch.Tensor:
    """Inputs in [0.4, 0.6], far from the range edges (3×4×4 = 48 features)."""
    return 0.4 + 0.2 * torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------- bounds and range

@pytest.mark.parametrize("name", ATTACKS)
def test_bounds_and_valid_range(trained, name):
    model, x, y = trained
    edge = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(5)).float()  # pixels at 0 and 1
    for inputs in (x, edge, torch.where(torch.rand_like(x) < 0.5, edge, x)):
        delta = run_attack(model, inputs, y, name, **attack_kwargs(name))
        assert delta.dtype == torch.float32 and delta.shape == inputs.shape
        adv = inputs + delta
        assert adv.min() >= 0.0 and adv.max() <= 1.0
        if attacks.REGISTRY[name].norm == "l2":
            assert delta.flatten(1).norm(dim=1).max() <= EPS_L2 + 1e-6
        else:
            assert delta.abs().max() <= EPS + 1e-6
    assert delta.abs().sum() > 0


def test_deepfool_unbounded_stays_in_range(trained):
    model, x, y = trained
    for norm in ("l2", "linf"):
        delta = deepfool(model, x, y, norm=norm)
        assert (x + delta).min() >= 0 and (x + delta).max() <= 1


# --------------------------------------------------------------------- exact relations

def test_bi_one_step_equals_fgsm(trained):
    model, x, y = trained
    assert torch.equal(bi(model, x, y, EPS, EPS, 1), fgsm(model, x, y, EPS))


def test_fgsm_linear_matches_analytic_gradient():
    model = linear_model(5)
    x = mid_inputs(32)
    y = torch.arange(32) % 5
    W, b = model[1].weight.detach(), model[1].bias.detach()
    p = torch.softmax(x.flatten(1) @ W.T + b, dim=1)
    grad = (p - F.one_hot(y, 5)) @ W  # ∇ₓ CE for a linear model
    eps = 0.05  # x ± eps stays inside [0, 1]: no clipping
    delta = fgsm(model, x, y, eps)
    assert torch.allclose(delta.flatten(1), eps * grad.sign(), atol=1e-6)


def test_deepfool_l2_binary_linear_is_minimal():
    model = linear_model(2, scale=0.3)
    x = mid_inputs(64, seed=1)
    W, b = model[1].weight.detach(), model[1].bias.detach()
    label = predict(model, x)
    other = 1 - label
    w = W[other] - W[label]                                  # N × D
    f = (x.flatten(1) * w).sum(1) + b[other] - b[label]      # < 0
    dist = f.abs() / w.norm(dim=1)
    delta = deepfool(model, x, overshoot=0.02)
    d = delta.flatten(1)
    assert torch.allclose(d.norm(dim=1) / dist, torch.full_like(dist, 1.02), rtol=1e-3)
    cos = F.cosine_similarity(d, w, dim=1)
    assert cos.min() > 1 - 1e-4                              # along w
    assert (predict(model, x + delta) != label).all()


def test_deepfool_linf_binary_linear_is_minimal():
    model = linear_model(2, scale=0.3, seed=3)
    x = mid_inputs(64, seed=2)
    W, b = model[1].weight.detach(), model[1].bias.detach()
    label = predict(model, x)
    other = 1 - label
    w = W[other] - W[label]
    f = (x.flatten(1) * w).sum(1) + b[other] - b[label]
    dist_inf = f.abs() / w.abs().sum(1)                       # minimal ℓ∞ distance: |f| / ‖w‖₁
    delta = deepfool(model, x, norm="linf", overshoot=0.02)
    assert torch.allclose(delta.flatten(1).abs().amax(1) / dist_inf, torch.full_like(dist_inf, 1.02), rtol=1e-3)
    assert (predict(model, x + delta) != label).all()


def test_deepfool_multiclass_linear_takes_closest_boundary():
    model = linear_model(6, scale=0.3, seed=4)
    x = mid_inputs(64, seed=3)
    W, b = model[1].weight.detach(), model[1].bias.detach()
    logits = x.flatten(1) @ W.T + b
    label = logits.argmax(1)
    wdiff = W[None] - W[label][:, None]                       # N × C × D
    fdiff = logits - logits.gather(1, label[:, None])
    dist = fdiff.abs() / wdiff.norm(dim=2)
    dist[torch.arange(64), label] = float("inf")
    minimal = dist.min(1).values
    delta = deepfool(model, x)
    assert (predict(model, x + delta) != label).all()
    # an affine classifier is solved in one step: (1+η) × distance to the closest boundary
    assert torch.allclose(delta.flatten(1).norm(dim=1), 1.02 * minimal, rtol=1e-3)


def deepfool_reference(model, x, label, norm, overshoot, max_iter):
    """One sample, written like the authors' reference loop (no batching, no masking), with the
    iterate kept in the valid range."""
    def in_range(d):
        return (x + d).clamp(0, 1) - x

    r, it = torch.zeros_like(x), 0
    while model((x + in_range((1 + overshoot) * r))[None]).argmax().item() == label and it < max_iter:
        xi = (x + r).requires_grad_(True)
        logits = model(xi[None])[0]
        best = None
        for k in range(len(logits)):
            if k == label:
                continue
            f = (logits[k] - logits[label]).item()
            (w,) = torch.autograd.grad(logits[k] - logits[label], xi, retain_graph=True)
            dist = abs(f) / w.norm(p=2 if norm == "l2" else 1).item()
            if best is None or dist < best[0]:
                best = (dist, w)
        dist, w = best
        r = in_range(r + (dist * w / w.norm() if norm == "l2" else dist * w.sign()))
        it += 1
    return in_range((1 + overshoot) * r)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_deepfool_batched_matches_reference_loop(trained, norm):
    model, x, _ = trained
    edge = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(1)).float()
    x = torch.cat([x[:16], torch.where(torch.rand_like(x) < 0.3, edge, x)[:8]])  # some saturated pixels
    label = predict(model, x)
    delta = deepfool(model, x, norm=norm, max_iter=20)
    ref = torch.stack([deepfool_reference(model, x[i], int(label[i]), norm, 0.02, 20) for i in range(len(x))])
    assert torch.allclose(delta, ref, atol=1e-5)


def test_deepfool_linf_bound_clips_the_result(trained):
    model, x, y = trained
    free = deepfool(model, x, y)
    bounded = run_attack(model, x, y, "deepfool_l2", eps=0.05)
    assert free.abs().max() > 0.05
    assert torch.equal(bounded, free.clamp(-0.05, 0.05))


def test_deepfool_skips_samples_not_classified_as_y(trained):
    model, x, _ = trained
    pred = predict(model, x)
    wrong = (pred + 1) % N_CLASSES
    assert torch.equal(deepfool(model, x, wrong), torch.zeros_like(x))


def test_deepfool_num_classes_limits_candidates():
    model = linear_model(6, scale=0.3, seed=4)
    x = mid_inputs(16, seed=3)
    logits = model(x).detach()
    second = logits.topk(2, dim=1).indices[:, 1]
    delta = deepfool(model, x, num_classes=2)  # only the runner-up class is a candidate
    assert torch.equal(predict(model, x + delta), second)


# --------------------------------------------------------------------- effect on a trained model

@pytest.mark.parametrize("name", [n for n, s in attacks.REGISTRY.items() if s.steps != 0])  # not random noise
def test_attack_lowers_accuracy(trained, name):
    model, x, y = trained
    clean = (predict(model, x) == y).float().mean().item()
    assert clean >= 0.9
    delta = run_attack(model, x, y, name, **attack_kwargs(name))
    attacked = (predict(model, x + delta) == y).float().mean().item()
    # fast grad. L∞ moves only the largest-gradient pixels by the full ε (paper 002 App. A: the
    # weakest one-step method): it lowers accuracy, by less than half
    assert attacked <= clean * (0.9 if name == "fast_grad_linf" else 0.5), (name, clean, attacked)


def test_deepfool_fools_almost_everything(trained):
    model, x, y = trained
    for norm in ("l2", "linf"):
        delta = deepfool(model, x, y, norm=norm)
        assert (predict(model, x + delta) == y).float().mean() <= 0.05


# --------------------------------------------------------------------- model state hygiene

def test_eval_mode_restores_modes():
    model = SmallNet()
    model.train()
    model.drop.eval()  # a mixed state must come back as it was
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and model.bn.training and not model.drop.training
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError
    assert model.training and model.bn.training


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_keeps_bn_stats_mode_and_param_grads(trained, name):
    model, x, y = trained
    model.train()
    stats = {k: v.clone() for k, v in model.bn.state_dict().items()}
    try:
        run_attack(model, x[:32], y[:32], name, **attack_kwargs(name))
        assert model.training and model.bn.training and model.drop.training
        for k, v in model.bn.state_dict().items():
            assert torch.equal(v, stats[k]), k
        assert all(p.grad is None for p in model.parameters())
    finally:
        model.eval()


def test_attack_works_inside_no_grad(trained):
    model, x, y = trained
    with torch.no_grad():
        delta = fgsm(model, x[:8], y[:8], EPS)
    assert torch.equal(delta, fgsm(model, x[:8], y[:8], EPS))


def test_predict_batches_and_restores_mode(trained):
    model, x, _ = trained
    model.train()
    try:
        pred = predict(model, x, chunk_size=10)
        assert model.training
    finally:
        model.eval()
    assert torch.equal(pred, model(x).argmax(1))


# --------------------------------------------------------------------- determinism and dispatch

def test_step_rnd_reproducible(trained):
    model, x, y = trained
    a = run_attack(model, x, y, "step_rnd", EPS, generator=torch.Generator().manual_seed(7))
    b = run_attack(model, x, y, "step_rnd", EPS, generator=torch.Generator().manual_seed(7))
    c = run_attack(model, x, y, "step_rnd", EPS, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    with pytest.raises(ValueError, match="Generator"):
        run_attack(model, x, y, "step_rnd", EPS)


def test_step_ll_targets_least_likely_class():
    model = linear_model(5, seed=2)
    x = mid_inputs(16)
    W = model[1].weight.detach()
    y_ll = model(x).argmin(1)
    p = torch.softmax(model(x), 1).detach()
    grad = (p - F.one_hot(y_ll, 5)) @ W
    assert torch.allclose(attacks.step_ll(model, x, 0.05).flatten(1), -0.05 * grad.sign(), atol=1e-6)


def test_run_attack_rejects_unknown_name(trained):
    model, x, y = trained
    with pytest.raises(ValueError) as err:
        run_attack(model, x, y, "pgd", EPS)
    msg = str(err.value)
    assert "'pgd'" in msg and all(name in msg for name in ATTACKS)


def test_run_attack_rejects_missing_or_unexpected_arguments(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="alpha and iterations"):
        run_attack(model, x, y, "bi", EPS)
    with pytest.raises(ValueError, match="overshoot"):
        run_attack(model, x, y, "fgsm", EPS, overshoot=0.02)
    with pytest.raises(ValueError, match="labels"):
        run_attack(model, x, None, "fgsm", EPS)


@pytest.mark.parametrize("name", ["bi", "deepfool_l2"])
def test_attack_batched_equals_whole(trained, name):
    model, x, y = trained
    kw = attack_kwargs(name)
    whole = run_attack(model, x, y, name, **kw)
    chunked = attack_batched(model, x, y, name, chunk_size=37, **kw)
    # exact: the chunking itself (the same calls on the same chunks take the same kernels)
    by_hand = torch.cat([run_attack(model, x[i:i + 37], y[i:i + 37], name, **kw) for i in range(0, len(x), 37)])
    assert torch.equal(chunked, by_hand)
    # per-sample independence of the batch: up to float rounding, which differs between the
    # kernels oneDNN picks for different batch sizes (and CPUs) and may flip the sign of a
    # near-zero gradient element of BI: then one element moves by 2α at most
    close = torch.isclose(chunked, whole, atol=1e-6)
    assert close.float().mean() > 0.999
    if name == "bi":
        assert ((chunked - whole).abs()[~close] <= 2 * kw["alpha"] + 1e-6).all()


# --------------------------------------------------------------------- registry

def test_registry_matches_schema_and_functions(schema):
    att = schema["$defs"]["attack"]["properties"]
    assert att["name"]["enum"] == list(attacks.REGISTRY)  # same names, same order
    assert attacks.ATTACKS == tuple(attacks.REGISTRY)
    keys = {k for spec in attacks.REGISTRY.values() for k in spec.keys}
    assert set(att) - {"name"} <= keys, "a schema attack key no registry entry takes"
    for name, spec in attacks.REGISTRY.items():
        assert spec.name == name and callable(spec.fn)
        assert spec.lattice <= (spec.norm == "linf"), name
        assert spec.per_sample_eps <= (spec.norm == "linf" or not spec.iterative), name  # not bi_l2


def test_registry_int8_rule():
    from advtrace.specs import int8_exact

    assert int8_exact({"name": "bi", "eps": 4, "alpha": 1, "iterations": 10})
    assert int8_exact({"name": "fgsm", "eps": 32})
    assert not int8_exact({"name": "bi", "eps": 4, "alpha": 1.5, "iterations": 10})
    assert not int8_exact({"name": "fgsm", "eps": 200})
    assert not int8_exact({"name": "bi_l2", "eps": 20, "alpha": 5, "iterations": 10})
    assert not int8_exact({"name": "deepfool_l2", "eps": 48})


# --------------------------------------------------------------------- objectives

@pytest.mark.parametrize("name", [n for n, s in attacks.REGISTRY.items() if s.objective])
def test_default_objective_is_summed_cross_entropy(trained, name):
    model, x, y = trained
    kw = attack_kwargs(name)
    default = run_attack(model, x, y, name, **kw)
    if "generator" in kw:
        kw["generator"] = torch.Generator().manual_seed(0)
    explicit = run_attack(model, x, y, name, objective=lambda z, t: F.cross_entropy(z, t, reduction="sum"), **kw)
    assert torch.equal(default, explicit)


def test_objective_is_ascended():
    """A negated objective makes FGSM step the other way (mid-range inputs: no clipping)."""
    model = linear_model(5)
    x = mid_inputs(32)
    y = torch.arange(32) % 5
    up = fgsm(model, x, y, 0.05)
    down = fgsm(model, x, y, 0.05, objective=lambda z, t: -attacks.cross_entropy_sum(z, t))
    assert torch.allclose(down, -up, atol=1e-6) and up.abs().min() > 0.04


def test_thresholded_ce_value_and_zero_gradient_above_kappa(trained):
    model, x, y = trained
    x = torch.where((torch.arange(len(y)) % 2 == 0)[:, None, None, None], x + fgsm(model, x, y, EPS), x)  # half fooled
    with torch.no_grad():
        ce = F.cross_entropy(model(x), y, reduction="none")
    kappa = 0.1
    assert not (ce == kappa).any()  # (min's gradient at a tie is 0)
    obj = attacks.thresholded_ce(kappa)
    assert torch.equal(obj(model(x).detach(), y), ce.clamp(max=kappa).sum())
    delta = fgsm(model, x, y, EPS, objective=obj)
    above = ce > kappa
    assert above.any() and (~above).any()
    assert torch.equal(delta[above], torch.zeros_like(delta[above]))  # min(J, κ) is flat there
    assert torch.equal(delta[~above], fgsm(model, x, y, EPS)[~above])  # min(J, κ) = J there
    assert delta[~above].abs().sum() > 0
    with pytest.raises(ValueError, match="kappa"):
        attacks.thresholded_ce(0.0)


def test_deepfool_takes_no_objective(trained):
    model, x, y = trained
    with pytest.raises(ValueError, match="no objective"):
        run_attack(model, x, y, "deepfool_l2", EPS, objective=attacks.cross_entropy_sum)


# --------------------------------------------------------------------- per-input ε

@pytest.mark.parametrize("name", [n for n, s in attacks.REGISTRY.items() if s.per_sample_eps])
def test_per_input_eps_equals_scalar_eps_per_row(trained, name):
    """ε as a tensor of shape N: each input gets the attack with its own ε (same batch, same kernels)."""
    model, x, y = trained
    small = torch.arange(len(y)) % 2 == 0
    eps_t = torch.where(small, torch.tensor(EPS / 2), torch.tensor(EPS))
    kw = attack_kwargs(name)
    kw.pop("eps")
    kw.pop("alpha", None)
    alpha = {"alpha": EPS / 8} if "alpha" in attacks.REGISTRY[name].params else {}

    def run(eps):
        gen = {"generator": torch.Generator().manual_seed(0)} if "generator" in kw else {}
        return run_attack(model, x, y, name, eps, **alpha, **{**kw, **gen})

    delta = run(eps_t)
    assert torch.equal(delta[small], run(EPS / 2)[small])
    assert torch.equal(delta[~small], run(EPS)[~small])
    assert (delta.flatten(1).abs().amax(1) <= eps_t + 1e-6).all()
    assert (x + delta).min() >= 0 and (x + delta).max() <= 1


def test_per_input_eps_rejected_where_not_supported(trained):
    model, x, y = trained
    eps_t = torch.full((len(y),), EPS)
    with pytest.raises(ValueError, match="one eps"):
        run_attack(model, x, y, "bi_l2", eps_t, alpha=EPS, iterations=2)
    with pytest.raises(ValueError, match="one eps"):
        run_attack(model, x, y, "deepfool_linf", eps_t)
    with pytest.raises(ValueError, match="shape"):
        fgsm(model, x, y, eps_t[:3])
    with pytest.raises(ValueError, match="≥ 0"):
        fgsm(model, x, y, -eps_t)


@pytest.mark.parametrize("eps,alpha,zero_grad", [(0.0, 0.1, False), (0.1, 0.0, False), (0.0, 0.0, False),
                                                 (0.1, 0.1, True)])
def test_bi_l2_degenerate_cases_return_zero_not_nan(eps, alpha, zero_grad):
    """ε = 0, α = 0 or an exactly zero input gradient: δ = 0 (the projection used to be 0/0 = NaN)."""
    model = linear_model(5, seed=3)
    if zero_grad:
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()  # constant logits: the cross-entropy gradient w.r.t. the input is exactly 0
    x = mid_inputs(8)
    y = torch.arange(8) % 5
    delta = attacks.bi_l2(model, x, y, eps, alpha, 3)
    assert torch.isfinite(delta).all()
    assert torch.equal(delta, torch.zeros_like(x))


def test_bi_l2_stays_in_the_ball_when_the_step_overshoots():
    model = linear_model(5, seed=3)
    x = mid_inputs(8)
    y = torch.arange(8) % 5
    delta = attacks.bi_l2(model, x, y, 0.05, 1.0, 3)  # one step of length 1 lands far outside ε = 0.05
    norms = delta.flatten(1).norm(dim=1)
    assert torch.isfinite(delta).all() and (norms <= 0.05 + 1e-6).all() and (norms > 0.04).all()
