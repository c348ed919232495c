"""The cross-method measures and comparisons, from paper 000's tables of the compared runs.

Every measure is read from paper 000's aggregated tables (one block of rows per run, the ``run``
column; advtrace.studies.p000), so the study computes nothing on a model. The comparisons:

=====================================  ==============================  ==========================================
claim                                  measure (each run's last epoch)  test
=====================================  ==============================  ==========================================
shared < standard, one-step > standard  mean sharedness                 paired t over the perturbations of the same
                                                                        inputs (the sharedness set)
shared > standard, one-step < standard  accuracy under the run's own    two-proportion z (the same evaluation
                                        universal perturbation          inputs; unpaired, so conservative)
one-step ≈ standard, shared ≈ standard  respective detectability        TOST: |difference| < equivalence_margin
stable > oscillating (within a run)     shares of the profile inputs    exact binomial test among the stable and
                                                                        oscillating inputs (sign test)
=====================================  ==============================  ==========================================

**Matching.** Between runs, the compared models are each run's last analysed epoch, and the runs
must be matched by *equal clean accuracy*: their clean accuracies on the universal evaluation set
differ by at most ``accuracy_tolerance``; otherwise the comparison is *not measured* (a difference
in robustness between models of different accuracy says little about the method). Equal training
budget is not used: one BI epoch costs 11 gradient passes per input, one shared epoch 5, one
k-of-m epoch 1 to 2, so no epoch count matches budgets. Within one run (stability) nothing is
matched: the run's whole profile (its profile epochs, ``stability.profiles.epochs`` mapped onto
the run, 0 to T), as paper 000's claim.

**Not measured.** A run with fewer than ``min_epochs`` adversarial-training epochs (too short to
say what its method does; paper 002's digits runs fine-tuned for one epoch before issue 25), a run whose clean
accuracy is at chance (it did not train), a run the needed section does not analyse, and runs not
matched in accuracy give no verdict, with the reason.

**Family.** Every measured comparison's p-value enters one Holm correction (:func:`advtrace.stats.holm`);
a directional claim holds when its adjusted p is below ``alpha`` in the claimed direction and does
not hold when it is below ``alpha`` the other way; an equivalence holds when its adjusted TOST p is
below ``alpha`` and does not hold when the 95 % interval of the difference lies outside the margin;
anything else is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...stats import FAILS, HOLDS, INCONCLUSIVE, Z95, holm, wilson
from ...tables import coerce

ROLES = ("standard", "one_step", "shared")
ROLE_TEXT = {"standard": "BI adversarial training (paper 000)", "one_step": "one-step k-of-m training (paper 002)",
             "shared": "shared adversarial training (paper 004)"}
NOT_MEASURED = "not measured"
SECTION_OF = {"clean_accuracy": "universal", "universal_accuracy": "universal", "sharedness": "stability",
              "detectability": "detect", "stable_share": "stability", "oscillating_share": "stability"}


@dataclass(frozen=True)
class Comparison:
    claim: str
    metric: str  # x000_metrics.metric (stability: "stable_share", compared with oscillating_share in the run)
    role_a: str
    role_b: str  # = role_a: within one run
    kind: str  # "greater", "less" (value_a than value_b) or "equivalent"


COMPARISONS = (
    Comparison("x000_shared_lowers_sharedness", "sharedness", "shared", "standard", "less"),
    Comparison("x000_one_step_keeps_sharedness", "sharedness", "one_step", "standard", "greater"),
    Comparison("x000_shared_raises_universal_accuracy", "universal_accuracy", "shared", "standard", "greater"),
    Comparison("x000_one_step_lowers_universal_accuracy", "universal_accuracy", "one_step", "standard", "less"),
    Comparison("x000_one_step_as_detectable", "detectability", "one_step", "standard", "equivalent"),
    Comparison("x000_shared_as_detectable", "detectability", "shared", "standard", "equivalent"),
    Comparison("x000_shared_stable_dominates", "stable_share", "shared", "shared", "greater"),
    Comparison("x000_one_step_stable_dominates", "stable_share", "one_step", "one_step", "greater"),
)


def _rows(df: pd.DataFrame, run: str) -> pd.DataFrame:
    return df[df["run"] == run]


def metrics_table(tables: dict[str, pd.DataFrame], roles: dict[str, str], T: dict[str, int], attack: str) -> pd.DataFrame:
    """``x000_metrics``: each role's run, per analysed epoch, from paper 000's tables."""
    out = []

    def add(role, run, epoch, metric, value, lo, hi, n):
        out.append({"role": role, "run": run, "T": int(T[run]), "epoch": int(epoch),
                    "fraction": int(epoch) / max(int(T[run]), 1), "metric": metric, "value": float(value),
                    "ci_low": float(lo), "ci_high": float(hi), "n": int(n)})

    ua, det = tables["universal_accuracy"], tables["detectability"]
    ss, summary = tables["sharedness_summary"], tables["stability_summary"]
    for role in ROLES:
        run = roles[role]
        u = _rows(ua, run)
        for r in u[u["perturbation"] == "clean"].itertuples():
            add(role, run, r.epoch, "clean_accuracy", r.accuracy, r.ci_low, r.ci_high, r.n)
        own = u[(u["perturbation"] == "universal") & (u["source_split"] == "train") & (u["source_epoch"] == u["epoch"])]
        for r in own.itertuples():
            add(role, run, r.epoch, "universal_accuracy", r.accuracy, r.ci_low, r.ci_high, r.n)
        for r in _rows(ss, run).itertuples():
            add(role, run, r.epoch, "sharedness", r.mean_pct / 100, r.mean_ci_low / 100, r.mean_ci_high / 100,
                r.n_perturbations)
        d = _rows(det, run)
        for r in d[(d["attack"] == attack) & (d["train_epoch"] == d["test_epoch"])].itertuples():
            add(role, run, r.test_epoch, "detectability", r.accuracy, r.ci_low, r.ci_high, r.n)
        s = _rows(summary, run)
        if len(s):
            n = len(s)
            stable = int((s["maxmin"] < 0.5).sum())
            osc = int(((s["maxmin"] >= 0.5) & (s["minmax"] < 0.5)).sum())
            for metric, k in (("stable_share", stable), ("oscillating_share", osc)):
                lo, hi = wilson(k, n)
                add(role, run, T[run], metric, k / n, lo, hi, n)
    cols = ["role", "run", "T", "epoch", "fraction", "metric", "value", "ci_low", "ci_high", "n"]
    return coerce(pd.DataFrame(out, columns=cols), "x000_metrics")


def _final(metrics: pd.DataFrame, role: str, metric: str) -> pd.Series | None:
    d = metrics[(metrics["role"] == role) & (metrics["metric"] == metric)]
    return None if d.empty else d.loc[d["epoch"].idxmax()]


def _normal_p(z: float) -> float:
    """Two-sided p of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


def _upper_p(z: float) -> float:
    """P(Z > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _two_proportions(a: pd.Series, b: pd.Series, kind: str, margin: float) -> tuple[float, float, float, float, str]:
    """(diff, CI low, CI high, p, test) of two proportions: z test, or TOST for an equivalence."""
    pa, pb, na, nb = float(a["value"]), float(b["value"]), int(a["n"]), int(b["n"])
    diff = pa - pb
    se = math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    lo, hi = diff - Z95 * se, diff + Z95 * se
    if kind == "equivalent":
        if se == 0:
            p = 0.0 if abs(diff) < margin else 1.0
        else:  # two one-sided tests: diff > -margin and diff < margin
            p = max(_upper_p((diff + margin) / se), _upper_p((margin - diff) / se))
        return diff, lo, hi, p, "TOST"
    pool = (pa * na + pb * nb) / (na + nb)
    se0 = math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    p = 1.0 if se0 == 0 else _normal_p(diff / se0)
    return diff, lo, hi, p, "two-proportion z"


def _paired_sharedness(sh: pd.DataFrame, run_a: str, ea: int, run_b: str, eb: int):
    """(diff, CI low, CI high, p, n) of the mean sharedness (fraction) of two runs' perturbations of the
    same inputs: paired t over the inputs both have."""
    from scipy import stats

    a = _rows(sh, run_a)
    b = _rows(sh, run_b)
    a = a[a["epoch"] == ea].set_index("input_id")["pct_effective"] / 100
    b = b[b["epoch"] == eb].set_index("input_id")["pct_effective"] / 100
    common = a.index.intersection(b.index)
    d = (a.loc[common] - b.loc[common]).to_numpy(np.float64)
    n = len(d)
    if n < 2:
        return float("nan"), float("nan"), float("nan"), float("nan"), n
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        return mean, mean, mean, (1.0 if mean == 0 else 0.0), n
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, float(stats.ttest_rel(a.loc[common], b.loc[common]).pvalue), n


def _within_run(stable: pd.Series, osc: pd.Series):
    """(diff, CI low, CI high, p) of the stable vs oscillating shares of one run's profile inputs:
    exact binomial test of the stable fraction among the inputs that are either (sign test)."""
    from scipy import stats

    n = int(stable["n"])
    ks, ko = round(float(stable["value"]) * n), round(float(osc["value"]) * n)
    ps, po = ks / n, ko / n
    diff = ps - po
    se = math.sqrt(max(ps + po - diff * diff, 0.0) / n)  # difference of two multinomial cells
    p = 1.0 if ks + ko == 0 else float(stats.binomtest(ks, ks + ko, 0.5).pvalue)
    return diff, diff - Z95 * se, diff + Z95 * se, p


def comparisons_table(tables: dict[str, pd.DataFrame], metrics: pd.DataFrame, roles: dict[str, str],
                      T: dict[str, int], cfg: dict, n_classes: int) -> pd.DataFrame:
    """``x000_comparisons``: every comparison of :data:`COMPARISONS`, Holm-corrected as one family.
    `cfg`: the cross_method section (min_epochs, accuracy_tolerance, equivalence_margin, alpha)."""
    rows = []
    for c in COMPARISONS:
        run_a, run_b = roles[c.role_a], roles[c.role_b]
        within = c.role_a == c.role_b
        row = {"claim": c.claim, "metric": c.metric, "run_a": run_a, "run_b": run_b, "epoch_a": -1, "epoch_b": -1,
               "matching": "within one run (its profile over its profile epochs, 0 to T)" if within else "equal clean accuracy",
               "value_a": np.nan, "value_b": np.nan, "diff": np.nan, "diff_ci_low": np.nan, "diff_ci_high": np.nan,
               "n_a": 0, "n_b": 0, "test": "", "p_value": np.nan, "status": NOT_MEASURED, "reason": ""}
        reasons = []
        for role in dict.fromkeys((c.role_a, c.role_b)):
            run = roles[role]
            if T[run] < int(cfg["min_epochs"]):
                reasons.append(f"{run} trained {T[run]} adversarial epoch{'s' * (T[run] != 1)}, fewer than "
                               f"cross_method.min_epochs = {cfg['min_epochs']}: too short to say what its method does")
            clean = _final(metrics, role, "clean_accuracy")
            if clean is not None and clean["ci_high"] <= 1.5 / n_classes:
                reasons.append(f"{run}'s clean accuracy {100 * clean['value']:.1f} % is at chance: it did not train")
        a = _final(metrics, c.role_a, c.metric)
        b = _final(metrics, c.role_b, "oscillating_share" if within else c.metric)
        for role, m in ((c.role_a, a), (c.role_b, b)):
            if m is None:
                reasons.append(f"no {c.metric} rows of {roles[role]} (add it to {SECTION_OF[c.metric]}.runs)")
        if not within and a is not None and b is not None:
            ca, cb = _final(metrics, c.role_a, "clean_accuracy"), _final(metrics, c.role_b, "clean_accuracy")
            if ca is None or cb is None:
                reasons.append("no clean accuracy to match the runs on (universal.runs)")
            elif abs(ca["value"] - cb["value"]) > cfg["accuracy_tolerance"]:
                reasons.append(f"not matched: clean accuracy {100 * ca['value']:.1f} % ({run_a}) vs "
                               f"{100 * cb['value']:.1f} % ({run_b}) differ by more than "
                               f"cross_method.accuracy_tolerance = {100 * cfg['accuracy_tolerance']:g} points")
        if a is not None:
            row.update(epoch_a=int(a["epoch"]), value_a=float(a["value"]), n_a=int(a["n"]))
        if b is not None:
            row.update(epoch_b=int(b["epoch"]), value_b=float(b["value"]), n_b=int(b["n"]))
        if reasons:
            row["reason"] = "; ".join(dict.fromkeys(reasons))
            rows.append(row)
            continue
        if within:
            diff, lo, hi, p = _within_run(a, b)
            test = "binomial (stable vs oscillating inputs)"
        elif c.metric == "sharedness":
            diff, lo, hi, p, n = _paired_sharedness(tables["sharedness"], run_a, int(a["epoch"]), run_b, int(b["epoch"]))
            test = f"paired t over {n} perturbations of the same inputs"
        else:
            diff, lo, hi, p, test = _two_proportions(a, b, c.kind, float(cfg["equivalence_margin"]))
        row.update(diff=diff, diff_ci_low=lo, diff_ci_high=hi, p_value=p, test=test, status="")
        rows.append(row)
    df = pd.DataFrame(rows)
    df["p_holm"] = holm(df["p_value"].to_numpy(np.float64))
    alpha, margin = float(cfg["alpha"]), float(cfg["equivalence_margin"])
    kinds = {c.claim: c.kind for c in COMPARISONS}
    for i, r in df.iterrows():
        if r["status"] == NOT_MEASURED:
            continue
        kind, significant = kinds[r["claim"]], r["p_holm"] < alpha
        if kind == "equivalent":
            outside = r["diff_ci_low"] > margin or r["diff_ci_high"] < -margin
            status = HOLDS if significant else (FAILS if outside else INCONCLUSIVE)
        else:
            right = r["diff"] > 0 if kind == "greater" else r["diff"] < 0
            status = (HOLDS if right else FAILS) if significant else INCONCLUSIVE
        df.loc[i, "status"] = status
    return coerce(df, "x000_comparisons")
