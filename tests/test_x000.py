"""The cross-method study (beyond the papers): Holm, the measures from paper 000's tables, the
comparisons' tests, matching, not-measured reasons and verdicts, its claims and config checks."""

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advtrace.claims import evaluate_claims
from advtrace.config import ConfigError, validate_experiment
from advtrace.stats import holm
from advtrace.studies.x000.analysis import COMPARISONS, comparisons_table, metrics_table
from advtrace.tables import coerce

ROLES = {"standard": "main", "one_step": "kofm", "shared": "heap"}
CFG = {"methods": ROLES, "attack": "BI", "min_epochs": 2, "accuracy_tolerance": 0.03, "equivalence_margin": 0.02,
       "alpha": 0.05}


def test_holm_matches_its_definition():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 9))
        m = len(p)
        order = np.argsort(p)
        # definition: adjusted p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)), ranks from 1
        expected = np.empty(m)
        for i, idx in enumerate(order):
            expected[idx] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
        np.testing.assert_allclose(holm(p), expected)
        assert (holm(p) >= p - 1e-15).all() and (holm(p) <= 1).all()
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    out = holm([0.01, np.nan, 0.02])  # a comparison not made is not part of the family
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)


def _tables(T, clean, universal, detect, sharedness, stable):
    """Paper-000 tables of the three runs: per run its last epoch T[run] (and epoch 0), clean and universal
    accuracy (n 400), BI respective detectability (n 1000), per-perturbation sharedness of the same 200
    inputs (values in %), and a profile summary of 100 inputs with `stable` (stable, oscillating) counts."""
    ua, det, sh, ss, summ = [], [], [], [], []
    rng = np.random.default_rng(1)
    for role, run in ROLES.items():
        for epoch in (0, T[run]):
            for pert, split, src, acc in (("clean", "none", -1, clean[run]), ("universal", "train", epoch, universal[run])):
                ua.append({"run": run, "epoch": epoch, "perturbation": pert, "source_split": split, "source_epoch": src,
                           "eps": 0.0, "accuracy": acc, "ci_low": acc - 0.02, "ci_high": acc + 0.02, "n": 400})
            det.append({"run": run, "attack": "BI", "train_epoch": epoch, "test_epoch": epoch, "accuracy": detect[run],
                        "ci_low": detect[run] - 0.01, "ci_high": detect[run] + 0.01, "accuracy_clean": 0.5,
                        "accuracy_adv": 0.5, "n": 1000})
            pct = np.clip(sharedness[run] + rng.normal(0, 1.0, 200), 0, 100)
            for i, v in enumerate(pct):
                sh.append({"run": run, "epoch": epoch, "input_id": i, "label": i % 10, "own_clean_correct": True,
                           "own_fooled": True, "n_other": 400, "n_other_correct": 380, "n_effective": int(4 * v),
                           "n_changed": int(4 * v), "pct_effective": float(v), "pct_ci_low": 0.0, "pct_ci_high": 0.0,
                           "pct_effective_of_correct": float(v), "mean_cost_change": 0.0})
            ss.append({"run": run, "epoch": epoch, "n_perturbations": 200, "n_other": 400, "n_other_correct": 380,
                       "mean_pct": float(pct.mean()), "mean_ci_low": float(pct.mean()) - 0.2,
                       "mean_ci_high": float(pct.mean()) + 0.2, "median_pct": 0.0, "min_pct": 0.0, "max_pct": 0.0,
                       "mean_pct_of_correct": 0.0, "min_pct_of_correct": 0.0, "max_pct_of_correct": 0.0,
                       "frac_shared": 0.0})
        n_stable, n_osc = stable[run]
        for i in range(100):
            maxmin, minmax = (0.1, 0.1) if i < n_stable else ((0.7, 0.2) if i < n_stable + n_osc else (0.9, 0.9))
            summ.append({"run": run, "set": "s", "input_id": i, "label": i % 10, "n_epochs": T[run] + 1,
                         "maxmin": maxmin, "minmax": minmax, "maxmin_source_epoch": 0, "minmax_target_epoch": 0,
                         "mean_p": 0.5, "first_whitebox_p": 0.5, "example": "", "clean_correct_all": True})
    return {"universal_accuracy": coerce(pd.DataFrame(ua), "universal_accuracy"),
            "detectability": coerce(pd.DataFrame(det), "detectability"),
            "sharedness": coerce(pd.DataFrame(sh), "sharedness"),
            "sharedness_summary": coerce(pd.DataFrame(ss), "sharedness_summary"),
            "stability_summary": coerce(pd.DataFrame(summ), "stability_summary")}


def _run(T=None, clean=None, universal=None, detect=None, sharedness=None, stable=None, cfg=CFG):
    T = T or {"main": 10, "kofm": 4, "heap": 4}
    tables = _tables(T, clean or {"main": 0.95, "kofm": 0.96, "heap": 0.96},
                     universal or {"main": 0.80, "kofm": 0.60, "heap": 0.92},
                     detect or {"main": 0.990, "kofm": 0.989, "heap": 0.991},
                     sharedness or {"main": 3.0, "kofm": 5.0, "heap": 1.0},
                     stable or {"main": (60, 10), "kofm": (55, 20), "heap": (30, 30)})
    metrics = metrics_table(tables, ROLES, T, "BI")
    return tables, metrics, comparisons_table(tables, metrics, ROLES, T, cfg, n_classes=10).set_index("claim")


def test_measures_come_from_the_runs_rows():
    _, m, _ = _run()
    last = m[m["epoch"] == m["T"]].set_index(["run", "metric"])["value"]
    assert last[("heap", "universal_accuracy")] == pytest.approx(0.92) and last[("main", "clean_accuracy")] == 0.95
    assert last[("kofm", "detectability")] == pytest.approx(0.989)
    assert last[("heap", "stable_share")] == 0.3 and last[("heap", "oscillating_share")] == 0.3
    assert set(m["fraction"]) == {0.0, 1.0}


def test_clear_differences_hold_or_fail_and_ties_are_inconclusive():
    tables, _, c = _run()
    assert c.loc["x000_shared_lowers_sharedness", "status"] == "holds"  # 1 % vs 3 %, 200 paired perturbations
    assert c.loc["x000_one_step_keeps_sharedness", "status"] == "holds"
    assert c.loc["x000_shared_raises_universal_accuracy", "status"] == "holds"  # 92 vs 80 %, n 400
    assert c.loc["x000_one_step_lowers_universal_accuracy", "status"] == "holds"
    assert c.loc["x000_one_step_as_detectable", "status"] == "holds"  # 98.9 vs 99.0 %, margin 2 points
    assert c.loc["x000_shared_stable_dominates", "status"] == "inconclusive"  # 30 vs 30
    assert c.loc["x000_one_step_stable_dominates", "status"] == "holds"  # 55 vs 20
    # the paired t of the sharedness comparison is scipy's on the same inputs
    a = tables["sharedness"].query("run == 'heap' and epoch == 4").set_index("input_id")["pct_effective"] / 100
    b = tables["sharedness"].query("run == 'main' and epoch == 10").set_index("input_id")["pct_effective"] / 100
    assert c.loc["x000_shared_lowers_sharedness", "p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert c.loc["x000_shared_lowers_sharedness", "diff"] == pytest.approx((a - b).mean())
    # the other way round does not hold
    _, _, c = _run(universal={"main": 0.92, "kofm": 0.95, "heap": 0.80})
    assert c.loc["x000_shared_raises_universal_accuracy", "status"] == "does not hold"
    _, _, c = _run(detect={"main": 0.99, "kofm": 0.80, "heap": 0.99})
    assert c.loc["x000_one_step_as_detectable", "status"] == "does not hold"  # 19 points apart, margin 2


def test_holm_makes_a_lone_lucky_comparison_inconclusive():
    # universal accuracy 0.86 vs 0.80 (n 400 each): two-proportion p ~ 0.02 alone, but not after Holm over the family
    _, _, c = _run(universal={"main": 0.80, "kofm": 0.80, "heap": 0.86}, sharedness={"main": 3.0, "kofm": 3.0, "heap": 3.0},
                   stable={"main": (40, 40), "kofm": (40, 40), "heap": (40, 40)})
    r = c.loc["x000_shared_raises_universal_accuracy"]
    assert r["p_value"] < 0.05 < r["p_holm"] and r["status"] == "inconclusive"
    measured = c[c["status"] != "not measured"]
    np.testing.assert_allclose(measured["p_holm"], holm(measured["p_value"]))


def test_short_unmatched_and_unanalysed_runs_are_not_measured():
    _, _, c = _run(T={"main": 10, "kofm": 1, "heap": 4})
    for claim in ("x000_one_step_keeps_sharedness", "x000_one_step_as_detectable", "x000_one_step_stable_dominates"):
        assert c.loc[claim, "status"] == "not measured" and "fewer than cross_method.min_epochs = 2" in c.loc[claim, "reason"]
    assert np.isnan(c.loc["x000_one_step_as_detectable", "p_holm"])  # out of the family
    assert c.loc["x000_shared_lowers_sharedness", "status"] == "holds"
    _, _, c = _run(clean={"main": 0.95, "kofm": 0.96, "heap": 0.90})
    assert c.loc["x000_shared_lowers_sharedness", "status"] == "not measured"
    assert "not matched: clean accuracy 90.0 % (heap) vs 95.0 % (main)" in c.loc["x000_shared_lowers_sharedness", "reason"]
    assert c.loc["x000_shared_stable_dominates", "status"] == "inconclusive"  # within one run: nothing to match
    _, _, c = _run(clean={"main": 0.95, "kofm": 0.10, "heap": 0.95}, stable={"main": (60, 10), "kofm": (90, 5), "heap": (30, 30)})
    assert "at chance" in c.loc["x000_one_step_stable_dominates", "reason"]
    tables = _tables({"main": 10, "kofm": 4, "heap": 4}, {r: 0.95 for r in ROLES.values()}, {r: 0.8 for r in ROLES.values()},
                     {r: 0.99 for r in ROLES.values()}, {r: 3.0 for r in ROLES.values()}, {r: (50, 10) for r in ROLES.values()})
    tables["detectability"] = tables["detectability"][tables["detectability"]["run"] != "heap"]
    m = metrics_table(tables, ROLES, {"main": 10, "kofm": 4, "heap": 4}, "BI")
    c = comparisons_table(tables, m, ROLES, {"main": 10, "kofm": 4, "heap": 4}, CFG, 10).set_index("claim")
    assert "no detectability rows of heap (add it to detect.runs)" in c.loc["x000_shared_as_detectable", "reason"]


def test_claims_carry_the_comparisons_verdicts():
    _, _, c = _run(T={"main": 10, "kofm": 1, "heap": 4})
    claims = evaluate_claims({"x000_comparisons": c.reset_index()}, "x", stage_tables=["x000_comparisons"])
    claims = claims.set_index("claim")
    assert set(claims.index) == {cmp.claim for cmp in COMPARISONS} and (claims["paper"] == "x000").all()
    for claim in claims.index:
        assert claims.loc[claim, "status"] == c.loc[claim, "status"], claim
    assert claims.loc["x000_one_step_as_detectable", "measured"].startswith("not measured: kofm trained 1")
    assert "Holm" in claims.loc["x000_shared_lowers_sharedness", "measured"]
    assert "equal clean accuracy" in claims.loc["x000_shared_lowers_sharedness", "criterion"]


def test_config_checks_name_the_method_and_the_section(schema, digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    validate_experiment(exp, schema, expected_name="digits")
    bad = copy.deepcopy(exp)
    bad["detect"]["runs"] = ["main", "p002_step_ll"]
    with pytest.raises(ConfigError, match=r"cross_method.methods.shared: 'p004_eps32_heap_size32' is not analysed by detect"):
        validate_experiment(bad, schema, expected_name="digits")
    bad = copy.deepcopy(exp)
    bad["cross_method"]["methods"]["shared"] = "p004_eps32_heap_size1"
    for section in ("stability", "universal", "detect"):
        bad[section]["runs"] = ["main", "p002_step_ll", "p004_eps32_heap_size1"]
    with pytest.raises(ConfigError, match="not shared adversarial training with heap_size > 1"):
        validate_experiment(bad, schema, expected_name="digits")


@pytest.mark.e2e
def test_tiny_cross_method_study_runs_end_to_end(tmp_path):
    """smoke's core with a one-step k-of-m run and a shared run next to main, each analysed by paper 000's
    stability, universal and detect stages: every comparison is made, the figures drawn."""
    import yaml

    from advtrace.tables import read_table
    from conftest import copy_workflow, epoch_perturbation_dir, snakemake, write_exp

    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    for section in ("evaluation", "destruction"):
        cfg.pop(section)
    cfg["adv_train"]["epochs"] = 2
    cfg["analysis"]["epochs"] = [0, 1, 2]
    cfg["universal"]["image_epochs"] = [0, 2]
    cfg["stability"]["transfer"]["sources"] = [0, 2]
    cfg["stability"]["sharedness"]["epochs"] = [0, 2]
    cfg["detect"].update(epochs=[0, 2], fixed_epochs=[0, 2], attacks={"BI": "matrix"}, fig16_attacks=["BI"])
    cfg["runs"] = {
        "kofm": {"adv_train.method": "kofm", "adv_train.sigma": None, "adv_train.attack": {"name": "step_ll", "eps": 32},
                 "adv_train.kofm": {"k_fraction": 0.5, "lam": 0.3, "eps_sigma": 16}},
        "heap": {"adv_train.method": "shared", "adv_train.sigma": None, "adv_train.attack": None,
                 "adv_train.attack_label": "ground_truth", "adv_train.epochs_per_training_job": 2,
                 "adv_train.shared": {"heap_size": 8, "adv_weight": 0.5, "kappa": 1.6094, "eps": 32, "alpha": 16,
                                      "iterations": 2}},
    }
    for section in ("universal", "stability", "detect"):
        cfg[section]["runs"] = ["main", "kofm", "heap"]
    cfg["cross_method"] = {"methods": {"standard": "main", "one_step": "kofm", "shared": "heap"}, "attack": "BI",
                           "min_epochs": 2, "accuracy_tolerance": 1.0, "equivalence_margin": 0.5, "alpha": 0.05}
    write_exp(wd, "tinyx", cfg)
    targets = ["x000_methods_final", "x000_methods_training", "results/tinyx/tables/x000_comparisons.parquet"]
    proc = snakemake(wd, *targets, "--cores", "2", "--config", "experiments=[tinyx]", timeout=2400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = wd / "results" / "tinyx"
    for slug in ("x000_methods_final", "x000_methods_training"):
        assert (res / "figures" / f"{slug}.png").stat().st_size > 1000
    m = read_table(res / "tables" / "x000_metrics.parquet", "x000_metrics")
    assert set(m["run"]) == {"main", "kofm", "heap"} and set(m.loc[m["run"] == "heap", "epoch"]) >= {0, 2}
    # epoch 0 of both other runs is main's pretrained model: the same clean accuracy
    clean0 = m[(m["metric"] == "clean_accuracy") & (m["epoch"] == 0)].set_index("run")["value"]
    assert clean0["kofm"] == clean0["main"] == clean0["heap"]
    c = read_table(res / "tables" / "x000_comparisons.parquet", "x000_comparisons").set_index("claim")
    assert (c["status"] != "not measured").all(), c["reason"].to_dict()  # both runs trained 2 epochs, tolerance 100 %
    measured = c["p_value"].to_numpy()
    np.testing.assert_allclose(c["p_holm"], holm(measured))
    # each run's files under its own directory; epoch 0's perturbations are main's
    assert epoch_perturbation_dir(res, "heap", 2).is_dir()
    assert epoch_perturbation_dir(res, "heap", 0) is None and epoch_perturbation_dir(res, "main", 0).is_dir()
    # the HTML report of these targets: the two figures in the category beyond the papers (tests/test_report.py)
    from advtrace import report_catalogue, stages
    from test_report import report_data

    proc = snakemake(wd, *targets, "--cores", "1", "--config", "experiments=[tinyx]", "--report", "report.zip",
                     timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    categories, results, _ = report_data(wd / "report.zip")
    figures = [f"results/tinyx/figures/{slug}.png" for slug in ("x000_methods_final", "x000_methods_training")]
    assert list(categories) == [stages.REPORT_CATEGORIES["x000"]]
    assert sorted(categories[stages.REPORT_CATEGORIES["x000"]]["tinyx"]) == figures
    assert [results[f]["labels"][report_catalogue.LABEL] for f in figures] == ["methods at the end of training",
                                                                                "methods over training"]
    assert all("No paper has this figure" in results[f]["caption"] for f in figures)
