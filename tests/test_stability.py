"""Stability stage library units (paper 000 Sec. 3.1, App. A-C): MaxMin/MinMax, the effectiveness
rule, J^Δ against direct computations, the per-epoch plan, aggregation, config checks, and the
compact storage of the perturbations these analyses read."""

import copy

import numpy as np
import pandas as pd
import pytest

import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import stability
from advtrace.config import ConfigError, validate_experiment
from advtrace.stats import proportion
from advtrace.stability_plan import epoch_plan, perturbation_needs, plan_epochs, transfer_sources
from advtrace.tables import SCHEMAS, check_schema, empty_table

CPU = torch.device("cpu")


# ---------------------------------------------------------------- MaxMin / MinMax
def test_maxmin_minmax_robust_to_all():
    # the model of the last epoch (last column) classifies every perturbation correctly
    P = np.array([[0.05, 0.6, 0.97],
                  [0.10, 0.9, 0.99],
                  [0.02, 0.8, 0.95]])
    assert stability.maxmin(P) == pytest.approx(0.95)
    assert stability.minmax(P) == pytest.approx(0.95)


def test_maxmin_minmax_stable_perturbation():
    # the perturbation of t1 = 1 (second row) fools every model: small MaxMin
    P = np.array([[0.9, 0.95, 0.99],
                  [0.0, 0.05, 0.10],
                  [0.3, 0.97, 0.90]])
    assert stability.maxmin(P) == pytest.approx(0.10)
    assert stability.minmax(P) == pytest.approx(0.10)


def test_maxmin_minmax_oscillation():
    # each perturbation fails under some model, but no model resists all: large MaxMin, small MinMax
    P = np.array([[0.0, 1.0, 0.9],
                  [1.0, 0.0, 0.8],
                  [0.9, 1.0, 0.0]])
    assert stability.maxmin(P) == pytest.approx(1.0)
    assert stability.minmax(P) == pytest.approx(0.0)


def test_maxmin_rows_are_source_epochs():
    # a row of zeros (one perturbation fools all models) is a stable perturbation, a column of zeros is not
    P = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert stability.maxmin(P) == 0.0 and stability.minmax(P) == 0.0
    assert stability.maxmin(P.T) == 1.0 and stability.minmax(P.T) == 1.0


def test_maxmin_batched_matches_loops_and_minimax_inequality():
    rng = np.random.default_rng(0)
    P = rng.random((50, 4, 6))
    mm, nm = stability.maxmin(P), stability.minmax(P)
    for i in range(len(P)):
        assert mm[i] == min(max(P[i, a, b] for b in range(6)) for a in range(4))
        assert nm[i] == max(min(P[i, a, b] for a in range(4)) for b in range(6))
    assert (nm <= mm).all()


# ---------------------------------------------------------------- effectiveness and J^Δ
def test_effective_ignores_inputs_misclassified_clean():
    y = torch.tensor([0, 1, 2, 3])
    clean = torch.tensor([0, 5, 2, 7])   # inputs 1 and 3 are wrong already
    adv = torch.tensor([4, 6, 2, 3])     # 0: correct→wrong; 1: wrong→wrong; 2: stays correct; 3: wrong→correct
    assert stability.effective(y, clean, adv).tolist() == [True, False, False, False]


def _tiny_model(seed=0, classes=4, dim=2 * 3 * 3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(dim, 16), nn.ReLU(), nn.Linear(16, classes)).eval()


def _data(n, seed=1, classes=4):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 2, 3, 3), generator=g, dtype=torch.uint8)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def _deltas(n, seed=2, eps=40):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-eps, eps + 1, (n, 2, 3, 3), generator=g).float() / 255


def test_cost_change_equals_direct_computation():
    model = _tiny_model()
    x, y = _data(7)
    xf = x.float() / 255
    d = _deltas(7)
    direct = torch.stack([
        F.cross_entropy(model((xf[i] + d[i]).clamp(0, 1)[None]), y[i:i + 1]) - F.cross_entropy(model(xf[i:i + 1]), y[i:i + 1])
        for i in range(7)])
    assert torch.allclose(stability.cost_change(model, xf, d, y), direct, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 5, 11, 64, 10_000])
def test_pairwise_equals_direct_computation(batch_size):
    model = _tiny_model()
    x, y = _data(11)
    d = _deltas(6)
    r = stability.evaluate_pairwise(model, x, y, d, batch_size, CPU)
    xf = x.float() / 255
    with torch.no_grad():
        clean_logits = model(xf)
        c_pred = clean_logits.argmax(1)
        c_cost = F.cross_entropy(clean_logits, y, reduction="none")
        for p in range(6):
            logits = model((xf + d[p]).clamp(0, 1))
            pred = logits.argmax(1)
            jd = F.cross_entropy(logits, y, reduction="none") - c_cost
            assert r["mean_cost_change"][p] == pytest.approx(float(jd.mean()), abs=1e-5)
            n_eff = sum(int(c_pred[j] == y[j] and pred[j] != y[j]) for j in range(11))
            assert r["n_effective"][p] == n_eff
            assert r["n_changed"][p] == int((pred != c_pred).sum())
    assert r["clean_correct"].tolist() == (c_pred == y).tolist()


@pytest.mark.parametrize("batch_size", [1, 4, 9, 23, 4096])
def test_transfer_equals_direct_computation(batch_size):
    model = _tiny_model()
    x, y = _data(9)
    sources = {0: _deltas(9, 3), 2: _deltas(9, 4), 5: _deltas(9, 5)}
    r = stability.evaluate_transfer(model, x, y, iter(sources.items()), batch_size, CPU)
    xf = x.float() / 255
    assert r["source"].tolist() == [0] * 9 + [2] * 9 + [5] * 9
    assert r["row"].tolist() == list(range(9)) * 3
    with torch.no_grad():
        c_cost = F.cross_entropy(model(xf), y, reduction="none")
        assert np.allclose(r["clean_cost"], c_cost.numpy(), atol=1e-5)
        for k, (s, d) in enumerate(sources.items()):
            logits = model((xf + d).clamp(0, 1))
            sl = slice(9 * k, 9 * (k + 1))
            assert np.allclose(r["p_true"][sl], logits.softmax(1)[torch.arange(9), y].numpy(), atol=1e-6)
            assert np.allclose(r["cost_adv"][sl], F.cross_entropy(logits, y, reduction="none").numpy(), atol=1e-5)
            assert r["pred"][sl].tolist() == logits.argmax(1).tolist()


# ---------------------------------------------------------------- plan
def _stab(**kw):
    st = {
        "attack": "BI", "chunk_size": 64,
        "profiles": {"set": "prof", "epochs": "all"},
        "transfer": {"train_set": "tr", "test_set": "prof", "sources": [0, 5]},
        "cost_change": {"test_set": "cc", "train_set": "cctr", "future_epochs": "all"},
        "sharedness": {"set": "sh", "other_set": "sho", "epochs": [0, 3]},
    }
    for k, v in kw.items():
        st[k] = {**st[k], **v}
    return st


def test_sources_clipped_to_trained_range():
    assert transfer_sources(_stab(), 3) == [0, 3]
    assert transfer_sources(_stab(transfer={"sources": [0, 5, 15, 51, 251]}), 250) == [0, 5, 15, 51, 250]


def test_epoch_plan():
    st = _stab()
    p0 = epoch_plan(st, 3, 0)
    assert p0["transfer"] == {"prof": [0, 1, 2, 3], "tr": [0, 3]}  # white-box source 0 is a black-box source too
    assert p0["pairwise"] == [{"task": "current_train", "perturbations": "cc", "inputs": "cctr"},
                              {"task": "sharedness", "perturbations": "sh", "inputs": "sho"}]
    p2 = epoch_plan(st, 3, 2)
    assert p2["transfer"] == {"cc": [0], "prof": [0, 1, 2, 3], "tr": [0, 2, 3]} and p2["pairwise"] == []
    assert perturbation_needs(p0, 0) == [("prof", 0), ("prof", 1), ("prof", 2), ("prof", 3), ("tr", 0), ("tr", 3),
                                         ("cc", 0), ("sh", 0)]
    # sparse profile epochs: epoch 1 only serves the future-cost set, no epoch is left without work
    st = _stab(profiles={"epochs": [0, 3]}, cost_change={"future_epochs": [1]}, sharedness={"epochs": [0]})
    assert epoch_plan(st, 3, 1) == {"transfer": {"cc": [0]}, "pairwise": []}
    assert epoch_plan(st, 3, 2) == {"transfer": {}, "pairwise": []}
    assert plan_epochs(st, 3) == [0, 1, 3]


# ---------------------------------------------------------------- aggregation
def _synthetic_parts(T=3, n=6, seed=0, st=None):
    """Per-epoch parts as the epoch jobs would write them, with random values."""
    rng = np.random.default_rng(seed)
    st = st or _stab()
    transfer, pairwise = [], []
    for t in plan_epochs(st, T):
        plan = epoch_plan(st, T, t)
        rows = []
        for name, sources in plan["transfer"].items():
            for s in sources:
                p = rng.random(n).astype("float32")
                ca = rng.random(n).astype("float32") * 3
                cc = rng.random(n).astype("float32")
                rows.append(pd.DataFrame({
                    "set": name, "split": "train" if name.endswith("tr") else "test", "input_id": np.arange(n) * 10,
                    "label": np.arange(n) % 3, "source_epoch": s, "target_epoch": t, "p_true": p, "pred": 0,
                    "correct": p > 0.5, "cost_adv": ca, "cost_clean": cc, "cost_change": ca - cc, "clean_correct": True}))
        transfer.append(stability.coerce(pd.concat(rows), "transfer") if rows else empty_table("transfer"))
        prow = []
        for task in plan["pairwise"]:
            prow.append(pd.DataFrame({
                "task": task["task"], "epoch": t, "perturbation_set": task["perturbations"], "input_set": task["inputs"],
                "input_id": np.arange(n) * 10, "label": np.arange(n) % 3, "own_clean_correct": True, "own_fooled": True,
                "n_inputs": 40, "n_inputs_correct": 30, "n_effective": rng.integers(0, 30, n), "n_changed": 35,
                "mean_cost_change": rng.normal(0.5, 0.5, n)}))
        pairwise.append(stability.coerce(pd.concat(prow), "pairwise_transfer") if prow
                        else empty_table("pairwise_transfer"))
    return st, transfer, pairwise


def test_a_run_without_figs_2_and_9_plans_and_aggregates_the_rest_unchanged():
    """A run outside stability.transfer.runs / cost_change.runs (their ``skip`` in its view): its epochs
    plan only the profile and sharedness work, and aggregating them gives the same profile, summary and
    sharedness tables as the full run's on the same values, with empty Fig. 2 / Fig. 9 tables."""
    full_st = _stab()
    st = _stab()
    st["transfer"]["skip"] = st["cost_change"]["skip"] = True
    p0 = epoch_plan(st, 3, 0)
    assert p0 == {"transfer": {"prof": [0, 1, 2, 3]}, "pairwise": [{"task": "sharedness", "perturbations": "sh",
                                                                     "inputs": "sho"}]}
    assert all(set(epoch_plan(st, 3, t)["transfer"]) <= {"prof"} for t in range(4))
    _, transfer, pairwise = _synthetic_parts(st=st)
    _, full_transfer, full_pairwise = _synthetic_parts(st=full_st)
    cut, full = stability.aggregate(transfer, pairwise, st, 3), stability.aggregate(full_transfer, full_pairwise,
                                                                                   full_st, 3)
    for name in ("transfer_error", "sharedness_vs_stability", "stability_correlation"):
        check_schema(cut[name], name)
        assert cut[name].empty and not full[name].empty
    for name in ("stability_profile", "stability_summary", "sharedness", "sharedness_summary"):
        check_schema(cut[name], name)
        assert len(cut[name]) == len(full[name]) > 0, name


def test_aggregate_tables_match_schemas_and_definitions():
    st, transfer, pairwise = _synthetic_parts()
    tables = stability.aggregate(transfer, pairwise, st, 3)
    for name, df in tables.items():
        assert name in SCHEMAS
        check_schema(df, name)
    tr = tables["transfer"]
    # Fig. 1/10: MaxMin/MinMax of one input equal a direct computation on its matrix
    summ = tables["stability_summary"].set_index("input_id")
    prof = tables["stability_profile"]
    for i in (0, 30):
        P = prof[prof["input_id"] == i].pivot(index="source_epoch", columns="target_epoch", values="p_true").to_numpy()
        assert P.shape == (4, 4)
        assert summ.loc[i, "maxmin"] == pytest.approx(P.max(1).min())
        assert summ.loc[i, "minmax"] == pytest.approx(P.min(0).max())
    assert sorted(summ["example"]) == ["", "", "", "oscillation", "robust", "stable"]
    # Fig. 9: white-box and black-box (clipped sources 0 and 3) error rates
    te = tables["transfer_error"]
    assert set(te["source"]) == {"respective epoch", "epoch 0", "epoch 3"}
    w = te[(te["split"] == "train") & (te["source"] == "respective epoch") & (te["target_epoch"] == 2)]
    g = tr[(tr["set"] == "tr") & (tr["source_epoch"] == 2) & (tr["target_epoch"] == 2)]
    assert w["error_rate"].item() == pytest.approx(1 - g["correct"].mean())
    # Fig. 2: J_future,test is the mean over 𝒯 = 1..3 of the cost change of source 0 on the same input
    svs = tables["sharedness_vs_stability"].set_index("input_id")
    f = tr[(tr["set"] == "cc") & (tr["source_epoch"] == 0) & tr["target_epoch"].isin([1, 2, 3])]
    assert sorted(f["target_epoch"].unique()) == [1, 2, 3]
    expect = f.groupby("input_id")["cost_change"].apply(lambda v: v.astype("float64").mean())
    assert np.allclose(svs.loc[expect.index, "j_future_test"], expect)
    assert (svs["n_future"] == 3).all()
    # Fig. 11: % of all the other inputs (the paper's definition), with a Wilson interval; the % of
    # the correctly classified others is context
    sh = tables["sharedness"]
    assert np.allclose(sh["pct_effective"], 100 * sh["n_effective"] / 40)
    assert np.allclose(sh["pct_effective_of_correct"], 100 * sh["n_effective"] / 30)
    for r in sh.itertuples():
        est = proportion(r.n_effective, 40)
        assert r.pct_ci_low == pytest.approx(100 * est.low) and r.pct_ci_high == pytest.approx(100 * est.high)
        assert r.pct_ci_low <= r.pct_effective <= r.pct_ci_high
    ss = tables["sharedness_summary"].set_index("epoch")
    assert list(ss.index) == [0, 3]
    assert ss.loc[3, "mean_pct"] == pytest.approx(sh[sh["epoch"] == 3]["pct_effective"].mean())
    assert ss.loc[3, "mean_ci_low"] <= ss.loc[3, "mean_pct"] <= ss.loc[3, "mean_ci_high"]
    assert ss.loc[3, "mean_pct_of_correct"] == pytest.approx(sh[sh["epoch"] == 3]["pct_effective_of_correct"].mean())


def test_correlation_excludes_nonpositive_values():
    rng = np.random.default_rng(1)
    a = 10 ** rng.normal(0, 1, 40)
    b = 10 ** (-0.5 * np.log10(a) + rng.normal(0, 0.3, 40))
    a[:3] = [-0.1, 0.0, 1.0]
    b[2] = -2.0
    svs = pd.DataFrame({"input_id": range(40), "label": 0, "own_clean_correct": True, "own_fooled": True,
                        "j_current_train": a, "j_future_test": b, "n_train": 100, "n_future": 3})
    svs["used"] = (svs["j_current_train"] > 0) & (svs["j_future_test"] > 0)
    c = stability.correlation(stability.coerce(svs, "sharedness_vs_stability"), [1, 2, 3]).iloc[0]
    from scipy.stats import pearsonr

    r, p = pearsonr(np.log10(a[3:]), np.log10(b[3:]))
    assert c["n_used"] == 37 and c["n_inputs"] == 40
    assert c["n_nonpositive_current"] == 2 and c["n_nonpositive_future"] == 1
    assert c["pearson_r_loglog"] == pytest.approx(r) and c["pearson_p_loglog"] == pytest.approx(p)
    assert c["pearson_r_loglog"] < 0


def test_choose_examples_picks_the_three_cases():
    summary = pd.DataFrame({
        "input_id": [1, 2, 3, 4],
        "maxmin": [1.0, 0.02, 0.95, 0.99],
        "minmax": [1.0, 0.01, 0.05, 0.97],
        "mean_p": [1.0, 0.01, 0.5, 0.9],
        "first_whitebox_p": [0.9, 0.01, 0.2, 0.1],   # input 1 was never fooled; 4 was fooled at first
    })
    assert stability.choose_examples(summary) == {"robust": 4, "stable": 2, "oscillation": 3}


# ---------------------------------------------------------------- config checks
@pytest.mark.parametrize("key,value,needle", [
    ("attack", "PGD", "stability.attack: 'PGD' is not an attack of perturb.attacks"),
    ("profiles.epochs", [0, 11], "stability.profiles.epochs: [11] outside the trained epochs; allowed 0..10"),
    ("profiles.epochs", "some", "stability.profiles.epochs: 'some' is not allowed; expected 'all' or a non-empty list"),
    ("cost_change.future_epochs", [0, 1], "stability.cost_change.future_epochs: [0, 1] is not allowed; expected 'all' or a non-empty list of integers >= 1"),
    ("cost_change.future_epochs", [1, 11], "stability.cost_change.future_epochs: [11] outside the trained epochs; allowed 1..10"),
    ("sharedness.epochs", [0, 1, 15, 251], "stability.sharedness.epochs: [15, 251] outside the trained epochs; allowed 0..10"),
    ("transfer.train_set", "transfer_test", "stability.transfer.train_set: sample set 'transfer_test' is drawn from the test split"),
    ("profiles.set", "nope", "stability.profiles.set: unknown sample set 'nope'"),
    ("sharedness.other_set", "stability_test", "stability.sharedness.other_set: 'stability_test' must be drawn from the same split"),
    ("chunk_size", 0, "stability.chunk_size"),
    ("transfer.sources", [], "stability.transfer.sources"),
])
def test_bad_stability_config_rejected(schema, digits_cfg, key, value, needle):
    cfg = copy.deepcopy(digits_cfg)
    d = cfg["stability"]
    *path, last = key.split(".")
    for k in path:
        d = d[k]
    d[last] = value
    with pytest.raises(ConfigError) as exc:
        validate_experiment(cfg, schema, expected_name="digits")
    assert needle in str(exc.value), str(exc.value)


def test_sources_beyond_training_are_clipped_not_rejected(schema, digits_cfg):
    digits_cfg["stability"]["transfer"]["sources"] = [0, 5, 15, 51, 251]
    validate_experiment(digits_cfg, schema, expected_name="digits")
    assert transfer_sources(digits_cfg["stability"], digits_cfg["adv_train"]["epochs"]) == [0, 5, 10]


# ---------------------------------------------------------------- storage of the perturbations
def _bi_perturbations(alpha, eps=8, iterations=3):
    from advtrace import attacks

    model = _tiny_model(classes=4)
    x, y = _data(16, seed=3)
    return attacks.run_attack(model, x.float() / 255, y, name="bi", eps=eps / 255, alpha=alpha / 255,
                              iterations=iterations)


def test_int8_roundtrip_exact_for_bi_with_integer_alpha(tmp_path):
    from advtrace import perturbations
    from advtrace.data import SampleSet

    delta = _bi_perturbations(alpha=2)
    packed = perturbations.pack(delta)
    assert set(packed) == {"delta_q"} and packed["delta_q"].dtype == torch.int8
    assert packed["delta_q"].abs().max() <= 8 and packed["delta_q"].abs().max() > 0
    back = perturbations.unpack(packed)
    # exact in pixel units: every value is an integer number of grey levels, the same one as before
    assert torch.equal(back * 255, torch.round(back * 255))
    assert torch.equal(torch.round(back * 255), torch.round(delta * 255))
    assert (back - delta).abs().max() < 1e-6
    x, y = _data(16, seed=3)
    s = SampleSet("s", "test", torch.arange(16), x, y)
    res = {"delta": delta, "pred_clean": y, "pred_adv": y}
    perturbations.save(tmp_path / "p.pt", res, s, "BI", {"name": "bi", "eps": 8, "alpha": 2, "iterations": 3}, 4)
    loaded = perturbations.load(tmp_path / "p.pt")  # weights_only load
    assert torch.equal(loaded["delta"], back) and loaded["epoch"] == 4 and loaded["set"] == "s"
    # the stability jobs move the int8 form to the device and decode it there, bit-identically
    compact = perturbations.load_compact(tmp_path / "p.pt")
    assert compact["delta"].dtype == torch.int8
    assert torch.equal(perturbations.to_unit(compact["delta"], "cpu"), back)


def test_float32_fallback_for_non_integer_alpha(tmp_path):
    from advtrace import perturbations

    delta = _bi_perturbations(alpha=1.5)
    packed = perturbations.pack(delta)
    assert set(packed) == {"delta"} and packed["delta"].dtype == torch.float32
    assert torch.equal(perturbations.unpack(packed), delta)
    assert torch.equal(perturbations.to_unit(packed["delta"], "cpu"), delta)


def test_kernels_accept_int8_pixel_units():
    model = _tiny_model()
    x, y = _data(9)
    q = torch.randint(-8, 9, (9, 2, 3, 3), generator=torch.Generator().manual_seed(5)).to(torch.int8)
    a = stability.evaluate_transfer(model, x, y, [(0, q)], 64, CPU)
    b = stability.evaluate_transfer(model, x, y, [(0, q.float() / 255)], 64, CPU)
    assert np.array_equal(a["p_true"], b["p_true"]) and np.array_equal(a["cost_adv"], b["cost_adv"])
    a = stability.evaluate_pairwise(model, x, y, q, 20, CPU)
    b = stability.evaluate_pairwise(model, x, y, q.float() / 255, 20, CPU)
    assert np.array_equal(a["mean_cost_change"], b["mean_cost_change"])


# ---------------------------------------------------------------- claims
def test_stability_claims_verdicts():
    from advtrace.claims import evaluate_claims

    st, transfer, pairwise = _synthetic_parts()
    tables = stability.aggregate(transfer, pairwise, st, 3)
    ss = tables["sharedness_summary"].copy()
    ss["mean_pct"], ss["mean_ci_low"], ss["mean_ci_high"] = [6.3, 0.5], [5.5, 0.3], [7.1, 0.8]
    corr = tables["stability_correlation"].copy()
    corr["pearson_r_loglog"], corr["pearson_p_loglog"] = -0.293, 1e-19
    tables.update(sharedness_summary=ss, stability_correlation=corr)
    st_ = evaluate_claims(tables, "x").set_index("claim")["status"]
    for claim in ("sharedness_stability_anticorrelated", "perturbations_shared_before_adv_training",
                  "sharedness_drops_after_first_epoch", "sharedness_reduced_by_adv_training"):
        assert st_[claim] == "holds", claim
    assert st_["stable_perturbations_dominate"] in ("holds", "does not hold", "inconclusive")
    ss["mean_pct"], ss["mean_ci_low"], ss["mean_ci_high"] = [1.0, 1.5], [0.8, 1.3], [1.2, 1.7]
    corr["pearson_r_loglog"] = 0.2
    tables.update(sharedness_summary=ss, stability_correlation=corr)
    st_ = evaluate_claims(tables, "x").set_index("claim")["status"]
    for claim in ("sharedness_stability_anticorrelated", "perturbations_shared_before_adv_training",
                  "sharedness_drops_after_first_epoch", "sharedness_reduced_by_adv_training"):
        assert st_[claim] == "does not hold", claim
    # overlapping bootstrap intervals: the drop is inconclusive; p >= 0.05: so is the correlation
    ss["mean_pct"], ss["mean_ci_low"], ss["mean_ci_high"] = [3.0, 2.0], [1.5, 1.0], [4.5, 3.0]
    corr["pearson_r_loglog"], corr["pearson_p_loglog"] = -0.1, 0.3
    tables.update(sharedness_summary=ss, stability_correlation=corr)
    st_ = evaluate_claims(tables, "x").set_index("claim")["status"]
    for claim in ("sharedness_stability_anticorrelated", "perturbations_shared_before_adv_training",
                  "sharedness_drops_after_first_epoch", "sharedness_reduced_by_adv_training"):
        assert st_[claim] == "inconclusive", claim
