"""Universal perturbations (paper 000 App. D): generator, baselines, evaluation, tables, config checks."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace.config import ConfigError, validate_experiment
from advtrace.tables import read_table, write_table
from advtrace.universal import (
    accuracy_rows,
    accuracy_under,
    generate,
    image_rows,
    images_from_table,
    random_sign,
    sample_batches,
    seed_for,
)


def _linear_model(c=1, h=4, w=4, classes=5, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, classes))
    with torch.no_grad():
        model[1].weight.mul_(5.0)
    return model


def _pool(n=40, c=1, h=4, w=4, lo=0.3, hi=0.7, classes=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = lo + (hi - lo) * torch.rand(n, c, h, w, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def _reference_linear(W, b, x, y, idx_per_iter, eps, alpha):
    """Independent numpy implementation of App. D for a linear softmax model f(x) = Wx + b:
    ∇_x CE = Wᵀ(softmax(Wx + b) − onehot(y)), averaged over each mini-batch."""
    xf = x.reshape(len(x), -1).astype(np.float64)
    xi = np.zeros(xf.shape[1])
    for idx in idx_per_iter:
        step = np.zeros_like(xi)
        for batch in idx:
            z = (xf[batch] + xi) @ W.T + b
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(batch)), y[batch]] -= 1.0
            grad = (p @ W).mean(0)
            step += np.sign(grad)
        xi = np.clip(xi + alpha / len(idx) * step, -eps, eps)
    return xi


def test_linf_bound_and_valid_range():
    model = _linear_model()
    x, y = _pool(lo=0.0, hi=1.0)
    x[:5] = 0.0
    x[5:10] = 1.0
    seen = []

    def objective(m, xp, yb):
        seen.append((float(xp.detach().min()), float(xp.detach().max())))
        return F.cross_entropy(m(xp), yb)

    eps = 0.1
    xi = generate(model, x, y, eps, 0.04, m=8, batches=3, iterations=10,
                  generator=torch.Generator().manual_seed(0), objective=objective)
    assert xi.shape == x.shape[1:] and xi.dtype == torch.float32
    assert xi.abs().max() <= eps + 1e-7
    assert xi.abs().max() >= eps - 1e-6  # it does reach the bound
    assert min(lo for lo, _ in seen) >= 0.0 and max(hi for _, hi in seen) <= 1.0


def test_linear_softmax_sign_matches_analytic_gradient():
    """One update with K identical full-pool batches is Clip_ε(α sgn ∇), ∇ the analytic gradient."""
    model = _linear_model()
    x, y = _pool(n=24)
    W = model[1].weight.detach().double().numpy()
    b = model[1].bias.detach().double().numpy()
    eps, alpha = 0.05, 0.02
    xi = generate(model, x, y, eps, alpha, m=len(x), batches=3, iterations=1,
                  generator=torch.Generator().manual_seed(0))
    z = x.reshape(len(x), -1).double().numpy() @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y.numpy()] -= 1.0
    analytic = (p @ W).mean(0)
    assert (np.abs(analytic) > 1e-6).all()
    np.testing.assert_array_equal(np.sign(xi.flatten().numpy()), np.sign(analytic))
    np.testing.assert_allclose(xi.flatten().numpy(), alpha * np.sign(analytic), atol=1e-7)


def test_linear_softmax_accumulated_direction_matches_reference():
    """Several iterations with K random mini-batches equal an independent numpy implementation."""
    model = _linear_model(seed=3)
    x, y = _pool(n=50, seed=4)
    eps, alpha, m, K, iters = 0.06, 0.025, 7, 4, 6
    gen = torch.Generator().manual_seed(123)
    xi = generate(model, x, y, eps, alpha, m, K, iters, generator=gen)
    replay = torch.Generator().manual_seed(123)
    idx = [sample_batches(len(x), m, K, replay).numpy() for _ in range(iters)]
    ref = _reference_linear(model[1].weight.detach().double().numpy(), model[1].bias.detach().double().numpy(),
                            x.numpy(), y.numpy(), idx, eps, alpha)
    np.testing.assert_allclose(xi.flatten().numpy(), ref, atol=1e-6)


def test_k_and_m_honoured():
    x, y = _pool(n=30)
    model = _linear_model()
    calls = []

    def objective(m, xp, yb):
        calls.append((len(xp), len(yb), len(torch.unique(xp.detach().flatten(1), dim=0))))
        return F.cross_entropy(m(xp), yb)

    m, K, iters = 6, 4, 5
    generate(model, x, y, 0.05, 0.01, m, K, iters, generator=torch.Generator().manual_seed(0), objective=objective)
    assert len(calls) == K * iters
    assert all(c == (m, m, m) for c in calls)  # m distinct inputs per mini-batch
    assert sum(c[0] for c in calls) == K * m * iters


def test_sample_batches_uniform_and_distinct():
    idx = sample_batches(20, 5, 2000, torch.Generator().manual_seed(0))
    assert idx.shape == (2000, 5)
    assert all(len(set(row.tolist())) == 5 for row in idx[:200])
    counts = torch.bincount(idx.flatten(), minlength=20).double()
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()
    with pytest.raises(ValueError, match="pool size"):
        sample_batches(4, 5, 1, torch.Generator())


def test_generate_reproducible_and_restores_model_state():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Linear(8, 5))
    model.train()
    before = copy.deepcopy(model.state_dict())
    x, y = _pool(n=32)
    a = generate(model, x, y, 0.05, 0.01, 8, 2, 4, generator=torch.Generator().manual_seed(7))
    b = generate(model, x, y, 0.05, 0.01, 8, 2, 4, generator=torch.Generator().manual_seed(7))
    c = generate(model, x, y, 0.05, 0.01, 8, 2, 4, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.training  # mode restored, BatchNorm statistics untouched (eval mode inside)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_custom_objective_without_labels_is_maximised():
    """The detector analysis passes its own objective (y = None): it must go up."""
    torch.manual_seed(0)
    detector = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    x, _ = _pool(n=40)

    def log_p_adv(m, xp, yb):
        assert yb is None
        return F.log_softmax(m(xp), dim=1)[:, 1].mean()

    history = []
    xi = generate(detector, x, None, 0.2, 0.05, 10, 2, 10, generator=torch.Generator().manual_seed(0),
                  objective=log_p_adv, history=history)
    with torch.no_grad():
        before = F.log_softmax(detector(x), 1)[:, 1].mean()
        after = F.log_softmax(detector((x + xi).clamp(0, 1)), 1)[:, 1].mean()
    assert after > before + 0.05
    assert history[-1] > history[0]


def test_uint8_pool_equals_float_pool():
    model = _linear_model()
    g = torch.Generator().manual_seed(0)
    x8 = torch.randint(0, 256, (30, 1, 4, 4), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 5, (30,), generator=g)
    a = generate(model, x8, y, 0.05, 0.01, 8, 2, 3, generator=torch.Generator().manual_seed(1))
    b = generate(model, x8.float() / 255, y, 0.05, 0.01, 8, 2, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_random_sign_baseline():
    eps = 32 / 255
    r = random_sign((3, 8, 8), eps, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(sorted(torch.unique(r).tolist()), [-eps, eps], rtol=1e-6)
    assert abs(float((r > 0).float().mean()) - 0.5) < 0.15
    assert torch.equal(r, random_sign((3, 8, 8), eps, torch.Generator().manual_seed(0)))
    assert seed_for(0, "train") != seed_for(0, "test") and seed_for(0, "train") == seed_for(0, "train")


def test_accuracy_under_matches_independent_computation():
    model = _linear_model()
    g = torch.Generator().manual_seed(2)
    x8 = torch.randint(0, 256, (37, 1, 4, 4), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 5, (37,), generator=g)
    xi = 0.2 * torch.randn(1, 4, 4, generator=g)
    res = accuracy_under(model, x8, y, {"clean": None, "u": xi}, chunk_size=10, device="cpu")
    with torch.no_grad():
        xf = x8.float() / 255
        clean = int((model(xf).argmax(1) == y).sum())
        pert = int((model((xf + xi).clamp(0, 1)).argmax(1) == y).sum())
    assert res == {"clean": (clean, 37), "u": (pert, 37)}


def test_random_sign_row_is_mean_over_seeded_draws():
    model = _linear_model()
    g = torch.Generator().manual_seed(5)
    x8 = torch.randint(0, 256, (50, 1, 4, 4), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 5, (50,), generator=g)
    eps = 0.3
    df = accuracy_rows(model, 7, x8, y, {}, eps, seed=3, chunk_size=16, device="cpu", random_draws=3)
    gen = torch.Generator().manual_seed(seed_for(3, "random_sign", 7))
    draws = [random_sign((1, 4, 4), eps, gen) for _ in range(3)]
    expected = np.mean([c / n for c, n in accuracy_under(model, x8, y, dict(enumerate(draws)), 50, "cpu").values()])
    row = df[df["perturbation"] == "random_sign"].iloc[0]
    assert row["accuracy"] == pytest.approx(expected) and row["n"] == 50 and row["source_epoch"] == -1
    assert list(df["perturbation"]) == ["random_sign", "clean"]


def _digits_model():
    """A small MLP trained (full batch, ~1 s) on scikit-learn's digits: a real classifier."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(np.round(d.images * 255 / 16), dtype=torch.uint8).unsqueeze(1)
    y = torch.tensor(d.target, dtype=torch.int64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xf = x.float() / 255
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(xf[:1400]), y[:1400]).backward()
        opt.step()
    return model, x, y


@pytest.fixture
def one_thread():
    """Tiny models: one thread avoids thread spin-waiting on a shared, busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_trained_model_universal_beats_random_sign(one_thread):
    model, x, y = _digits_model()
    eps = 48 / 255
    xi = generate(model, x[:1400], y[:1400], eps, 8 / 255, 64, 4, 30, generator=torch.Generator().manual_seed(0))
    df = accuracy_rows(model, 0, x[1400:], y[1400:], {("train", 0): xi}, eps, seed=0, chunk_size=256, device="cpu")
    acc = {r.perturbation: r.accuracy for r in df.itertuples()}
    assert acc["clean"] > 0.85
    assert acc["universal"] < acc["random_sign"] - 0.1, acc
    assert set(df["source_split"]) == {"none", "train"}
    assert df.loc[df["perturbation"] == "random_sign", "eps"].iloc[0] == pytest.approx(48.0)


def test_tables_roundtrip(tmp_path):
    xi = (torch.rand(3, 5, 6) - 0.5) * 0.2
    df = image_rows(xi, 4, "test", 0.1)
    write_table(df, tmp_path / "img.parquet", "universal_images")
    back = read_table(tmp_path / "img.parquet", "universal_images")
    arr = images_from_table(back)[("test", 4)]
    np.testing.assert_allclose(arr, xi.double().numpy() * 255, atol=1e-9)
    assert len(df) == 3 * 5 * 6 and np.allclose(df["eps"], 25.5)


def _ua_table(resp_train, resp_test, fixed0, random_acc=0.9, n=100):
    """universal_accuracy rows for epochs 0, 1, 3 (respective + fixed source 0, both splits)."""
    rows = []
    for i, t in enumerate((0, 1, 3)):
        rows.append({"epoch": t, "perturbation": "random_sign", "source_split": "none", "source_epoch": -1,
                     "eps": 10.0, "accuracy": random_acc, "n": n})
        for split, resp in (("train", resp_train), ("test", resp_test)):
            rows.append({"epoch": t, "perturbation": "universal", "source_split": split, "source_epoch": t,
                         "eps": 10.0, "accuracy": resp[i], "n": n})
            if t != 0:
                rows.append({"epoch": t, "perturbation": "universal", "source_split": split, "source_epoch": 0,
                             "eps": 10.0, "accuracy": fixed0[i], "n": n})
    return pd.DataFrame(rows).astype({"perturbation": "string", "source_split": "string"})


def test_universal_claims_verdicts():
    from advtrace.claims import evaluate_claims

    good = evaluate_claims({"universal_accuracy": _ua_table([0.12, 0.7, 0.85], [0.12, 0.68, 0.86], [0.12, 0.8, 0.9],
                                                            n=2000)}, "x").set_index("claim")["status"]
    assert good["universal_fools_pretrained"] == "holds"
    assert good["universal_removed_by_adv_training"] == "holds"
    assert good["universal_test_generated_no_stronger"] == "holds"
    bad = evaluate_claims({"universal_accuracy": _ua_table([0.6, 0.6, 0.85], [0.4, 0.4, 0.5], [0.6, 0.6, 0.7])},
                          "x").set_index("claim")["status"]
    assert bad["universal_fools_pretrained"] == "does not hold"  # 60 % > 50 %
    assert bad["universal_removed_by_adv_training"] == "does not hold"  # fixed source 0 at epoch 3: 70 %
    assert bad["universal_test_generated_no_stronger"] == "does not hold"  # test-generated 12-35 points stronger
    # issue 17: 78 % of 100 at epoch 3 is within noise of 80 % (Wilson [69, 85] %): inconclusive, not a flip
    noisy = evaluate_claims({"universal_accuracy": _ua_table([0.12, 0.7, 0.9], [0.12, 0.7, 0.9], [0.12, 0.8, 0.78])},
                            "x").set_index("claim")["status"]
    assert noisy["universal_removed_by_adv_training"] == "inconclusive"
    # the same rates on 100 inputs: the 5-point margin of test- vs train-generated is within noise
    same = evaluate_claims({"universal_accuracy": _ua_table([0.12, 0.7, 0.9], [0.12, 0.7, 0.9], [0.12, 0.8, 0.9])},
                           "x").set_index("claim")["status"]
    assert same["universal_test_generated_no_stronger"] == "inconclusive"


# --- config cross-field checks ----------------------------------------------------------------

BAD = [
    ("alpha", 64, "universal.alpha"),
    ("train_set", "nope", "universal.train_set: unknown sample set 'nope'"),
    ("test_set", "universal_train", "universal.test_set: sample set 'universal_train' is drawn from the 'train'"),
    ("eval_set", "eval_train", "universal.eval_set"),
    ("m", 500, "universal.m: m = 500 is larger than universal.test_set"),
    ("source_epochs", [0, 99], "universal.source_epochs: [99] beyond the trained epochs; allowed 0..10"),
    ("image_epochs", [0, 11], "universal.image_epochs: [11] beyond the trained epochs; allowed 0..10"),
    ("amplify", 0, "universal.amplify"),
    ("iterations", 0, "universal.iterations"),
    ("random_draws", 0, "universal.random_draws"),
]


@pytest.mark.parametrize("key,value,needle", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_universal_config_rejected(schema, digits_cfg, key, value, needle):
    cfg = copy.deepcopy(digits_cfg)
    cfg["universal"][key] = value
    with pytest.raises(ConfigError) as err:
        validate_experiment(cfg, schema, expected_name="digits")
    assert needle in str(err.value)


def test_without_a_universal_section_the_stage_is_off(schema, digits_cfg):
    """Stages are opt-in (advtrace.stages): no section, no universal jobs, tables or figures."""
    from advtrace import stages

    cfg = copy.deepcopy(digits_cfg)
    del cfg["universal"], cfg["cross_method"]  # the cross-method study reads the universal section
    validate_experiment(cfg, schema, expected_name="digits")
    assert "universal" not in [s.name for s in stages.active(cfg)]
    assert not any(t.startswith("universal") for t in stages.tables(cfg))