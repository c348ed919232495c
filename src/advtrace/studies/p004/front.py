"""Pareto fronts of clean accuracy vs ε_uni(δ) (paper 004 Fig. 3, Table A1) and their hypervolumes.

Both objectives are maximised. A model is on its family's front (the final models of the shared
runs with one sharedness s) when no other model of the family has at least its accuracy and its
ε_uni with one of them larger. An ε_uni the search did not find (NaN: above 255) counts as 255.
The hypervolume is the area the family's models dominate above the reference point
(``front.reference_accuracy``, ε = 0); its interval is the hypervolume of the points' interval
lows and highs (a conservative envelope, not a sampling interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...tables import coerce
from .plan import BASELINES, EPS_MAX


def on_front(acc: np.ndarray, eps: np.ndarray) -> np.ndarray:
    acc, eps = np.asarray(acc, float), np.nan_to_num(np.asarray(eps, float), nan=EPS_MAX)
    keep = np.ones(len(acc), bool)
    for i in range(len(acc)):
        dominated = (acc >= acc[i]) & (eps >= eps[i]) & ((acc > acc[i]) | (eps > eps[i]))
        keep[i] = not dominated.any()
    return keep


def hypervolume(acc, eps, reference: float) -> float:
    """Area of the union of the rectangles [reference, acc_i] × [0, ε_i]."""
    acc, eps = np.asarray(acc, float), np.nan_to_num(np.asarray(eps, float), nan=EPS_MAX)
    m = acc > reference
    acc, eps = acc[m], eps[m]
    if not len(acc):
        return 0.0
    levels = np.unique(np.concatenate([[0.0], eps]))
    area = 0.0
    for lo, hi in zip(levels[:-1], levels[1:]):
        area += (hi - lo) * (acc[eps >= hi].max() - reference)
    return float(area)


def final_models(rob: pd.DataFrame) -> pd.DataFrame:
    """Each shared run's last evaluated epoch."""
    d = rob[rob["family"] == "shared"]
    return d.loc[d.groupby("run")["epoch"].idxmax()].sort_values(["heap_size", "eps_train", "adv_weight"])


def baseline_models(rob: pd.DataFrame) -> pd.DataFrame:
    """Each baseline run's (DeepFool UAD, FictitiousPlay) last evaluated epoch."""
    d = rob[rob["family"].isin(BASELINES)]
    if d.empty:
        return d
    return d.loc[d.groupby("run")["epoch"].idxmax()].sort_values(["family", "eps_train"])


def front_table(rob: pd.DataFrame, reference: float) -> pd.DataFrame:
    rows = []
    for s, g in final_models(rob).groupby("heap_size", sort=True):
        hv = hypervolume(g["accuracy"], g["eps_uni"], reference)
        hv_lo = hypervolume(g["ci_low"], g["eps_uni_low"], reference)
        hv_hi = hypervolume(g["ci_high"], g["eps_uni_high"], reference)
        f = g[on_front(g["accuracy"].to_numpy(), g["eps_uni"].to_numpy())].sort_values("accuracy", ascending=False)
        for r in f.itertuples():
            rows.append({"run": r.run, "family": r.family, "heap_size": r.heap_size, "eps_train": r.eps_train,
                         "adv_weight": r.adv_weight, "epoch": r.epoch, "accuracy": r.accuracy, "n": r.n,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "eps_uni": r.eps_uni,
                         "eps_uni_low": r.eps_uni_low, "eps_uni_high": r.eps_uni_high, "eps_adv": r.eps_adv,
                         "hypervolume": hv, "hypervolume_low": hv_lo, "hypervolume_high": hv_hi})
    cols = ["run", "family", "heap_size", "eps_train", "adv_weight", "epoch", "accuracy", "n", "ci_low", "ci_high",
            "eps_uni", "eps_uni_low", "eps_uni_high", "eps_adv", "hypervolume", "hypervolume_low", "hypervolume_high"]
    return coerce(pd.DataFrame(rows, columns=cols), "p004_front")


def _fmt(v: float, lo: float, hi: float) -> str:
    v = "> 255" if np.isnan(v) else f"{v:.1f}"
    return f"{v} [{lo:.1f}, {hi:.1f}]"


def table_a1_markdown(front: pd.DataFrame, rob: pd.DataFrame, experiment: str, delta: float) -> str:
    """The paper's Table A1 layout: per sharedness, the front entries (ε, σ, accuracy, ε_uni)."""
    erm = rob[rob["family"] == "erm"]
    lines = [f"# Paper 004, Table A1 — Pareto-front entries ({experiment})", "",
             f"Clean accuracy and ε_uni(δ = {delta}) ([0,255] units) of the final models on each sharedness's front; "
             "95 % intervals (accuracy: Wilson; ε: bootstrap over evaluation inputs). Paper 004's σ is `adv_weight`.",
             ""]
    if len(erm):
        e = erm.iloc[0]
        lines += [f"ERM (pretrained): accuracy {100 * e.accuracy:.1f} % [{100 * e.ci_low:.1f}, {100 * e.ci_high:.1f}] "
                  f"(n = {e.n}), ε_uni {_fmt(e.eps_uni, e.eps_uni_low, e.eps_uni_high)}, ε_adv {e.eps_adv:.1f}", ""]
    base = baseline_models(rob)
    if len(base):
        lines += ["## Baselines (all final models; Moosavi-Dezfooli et al. 2017, Perolat et al. 2018)", "",
                  "| defence | ε (train) | p_adv | clean accuracy | ε_uni | ε_adv | run |", "|---|---|---|---|---|---|---|"]
        for r in base.itertuples():
            lines.append(f"| {r.family} | {r.eps_train:g} | {r.adv_weight:g} | {100 * r.accuracy:.1f} % "
                         f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}] | "
                         f"{_fmt(r.eps_uni, r.eps_uni_low, r.eps_uni_high)} | {r.eps_adv:.1f} | `{r.run}` |")
        lines.append("")
    for s, g in front.groupby("heap_size", sort=True):
        g0 = g.iloc[0]
        lines += [f"## s = {s} (hypervolume {g0.hypervolume:.1f} [{g0.hypervolume_low:.1f}, {g0.hypervolume_high:.1f}])", "",
                  "| ε (train) | σ (adv_weight) | clean accuracy | ε_uni | ε_adv | run |", "|---|---|---|---|---|---|"]
        for r in g.itertuples():
            lines.append(f"| {r.eps_train:g} | {r.adv_weight:g} | {100 * r.accuracy:.1f} % [{100 * r.ci_low:.1f}, "
                         f"{100 * r.ci_high:.1f}] | {_fmt(r.eps_uni, r.eps_uni_low, r.eps_uni_high)} | "
                         f"{r.eps_adv:.1f} | `{r.run}` |")
        lines.append("")
    return "\n".join(lines)
