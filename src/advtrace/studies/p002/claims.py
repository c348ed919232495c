"""Paper 002's claims, measured on the study's tables (advtrace.claims contract)."""

from __future__ import annotations

import pandas as pd

from ...claims import Claim
from ...stats import FAILS, HOLDS, INCONCLUSIVE, Estimate, against, combine, compare, proportion
from .report import has_role


def _est(row) -> Estimate:
    return Estimate(float(row["accuracy"] if "accuracy" in row else row["rate"]), float(row["ci_low"]),
                    float(row["ci_high"]), int(row["n"]))


def _acc(acc: pd.DataFrame, mask: pd.Series, attack: str, eps: float | None = None, top: int = 1) -> Estimate:
    d = acc[mask & (acc["attack"] == attack) & (acc["top"] == top)]
    if eps is not None:
        d = d[d["eps"] == eps]
    if len(d) != 1:
        raise KeyError(f"expected one row for {attack} at ε {eps}, found {len(d)}")
    return _est(d.iloc[0])


def _grid(acc: pd.DataFrame) -> list[float]:
    return sorted(acc.loc[acc["attack"] != "clean", "eps"].unique())


def _paper_eps(acc: pd.DataFrame, eps: float) -> str:
    return f"{acc.loc[acc['eps'] == eps, 'eps_paper'].iloc[0]:g}"


def _one_step_close_to_clean(acc):
    ref = has_role(acc, "reference")
    clean = _acc(acc, ref, "clean")
    verdicts, parts = [], []
    for e in _grid(acc):
        a = _acc(acc, ref, "step_ll", e)
        verdicts.append(against(a, 0.9 * clean.value, ">="))
        parts.append(f"ε {_paper_eps(acc, e)}: {a.pct()}")
    return f"clean {clean.pct()}; step l.l. " + "; ".join(parts), combine(verdicts)


def _training_raises_one_step(acc):
    ref, base = has_role(acc, "reference"), has_role(acc, "baseline")
    verdicts, parts = [], []
    for e in _grid(acc):
        a, b = _acc(acc, ref, "step_ll", e), _acc(acc, base, "step_ll", e)
        verdicts.append(compare(a, b, ">"))
        parts.append(f"ε {_paper_eps(acc, e)}: {100 * b.value:.1f} -> {100 * a.value:.1f} %")
    return "; ".join(parts), combine(verdicts)


def _iterative_stay_effective(acc):
    ref = has_role(acc, "reference")
    e = max(_grid(acc))
    clean = _acc(acc, ref, "clean")
    ll, bi = _acc(acc, ref, "iter_ll", e), _acc(acc, ref, "bi", e)
    v = combine([against(ll, 0.5 * clean.value, "<"), against(bi, 0.5 * clean.value, "<")])
    return f"ε {_paper_eps(acc, e)}: clean {clean.pct()}, iter l.l. {ll.pct()}, basic iter. {bi.pct()}", v


def _fgsm_model(acc):
    return has_role(acc, "methods") & acc["training"].astype(str).str.startswith("fgsm (true labels)")


def _leak_above_clean(acc):
    m = _fgsm_model(acc)
    clean = _acc(acc, m, "clean")
    verdicts, parts = [], []
    for e in _grid(acc):
        a = _acc(acc, m, "fgsm", e)
        verdicts.append(compare(a, clean, ">"))
        parts.append(f"ε {_paper_eps(acc, e)}: {a.pct()}")
    # the paper's statement is about the whole grid; it holds where any ε shows it and none contradicts
    holds = [v == HOLDS for v in verdicts]
    verdict = HOLDS if all(holds) else (FAILS if FAILS in verdicts and not any(holds) else INCONCLUSIVE)
    return f"clean {clean.pct()}; FGSM " + "; ".join(parts), verdict


def _leak_vs_step_ll(acc):
    m, ref = _fgsm_model(acc), has_role(acc, "reference")
    verdicts, parts = [], []
    for e in _grid(acc):
        a, b = _acc(acc, m, "fgsm", e), _acc(acc, ref, "fgsm", e)
        verdicts.append(compare(a, b, ">"))
        parts.append(f"ε {_paper_eps(acc, e)}: {100 * a.value:.1f} vs {100 * b.value:.1f} %")
    return "FGSM accuracy, FGSM- vs step l.l.-trained: " + "; ".join(parts), combine(verdicts)


def _labels_leaked(leak):
    m = has_role(leak, "methods") & leak["training"].astype(str).str.startswith("fgsm (true labels)")
    d = leak[m]
    total = proportion(int(d["leaked"].max()), int(d["n"].iloc[0]))
    e = d.loc[d["leaked"].idxmax()]
    ref = leak[has_role(leak, "reference")]
    return (f"FGSM-trained: up to {int(e['leaked'])} of {int(e['n'])} (ε {e['eps_paper']:g}); step l.l.-trained: up to "
            f"{int(ref['leaked'].max())}", against(total, 0.0, ">") if e["leaked"] > 0 else FAILS)


def _pooled_transfer(tr: pd.DataFrame, attack: str, eps: float, top: int = 1) -> Estimate:
    d = tr[(tr["attack"] == attack) & (tr["eps"] == eps) & (tr["top"] == top) & (tr["source"] != tr["target"])]
    return proportion(int(d["transferred"].sum()), int(d["n"].sum()))


def _transfer_order(tr):
    e = tr["eps"].max()
    f, b, i = (_pooled_transfer(tr, a, e) for a in ("fgsm", "bi", "iter_ll"))
    return (f"ε {tr.loc[tr['eps'] == e, 'eps_paper'].iloc[0]:g}, pooled off-diagonal: FGSM {f.pct()}, basic iter. "
            f"{b.pct()}, iter l.l. {i.pct()}", combine([compare(f, b, ">"), compare(b, i, ">")]))


def _transfer_rises(tr):
    lo, hi = tr["eps"].min(), tr["eps"].max()
    verdicts, parts = [], []
    for a in ("fgsm", "bi", "iter_ll"):
        x, y = _pooled_transfer(tr, a, lo), _pooled_transfer(tr, a, hi)
        verdicts.append(compare(y, x, ">"))
        parts.append(f"{a}: {100 * x.value:.1f} -> {100 * y.value:.1f} %")
    return "pooled off-diagonal, smallest -> largest ε: " + "; ".join(parts), combine(verdicts)


def _capacity_ratio(cap):
    d = cap[(cap["adv_trained"]) & (cap["attack"] == "step_ll") & (cap["top"] == 1)]
    verdicts, parts = [], []
    for e, g in d.groupby("eps"):
        g = g.sort_values("rho")
        small, large = g.iloc[0], g.iloc[-1]
        verdicts.append(compare(Estimate(large["ratio"], large["ci_low"], large["ci_high"], int(large["n"])),
                                Estimate(small["ratio"], small["ci_low"], small["ci_high"], int(small["n"])), ">"))
        parts.append(f"ε {small['eps_paper']:g}: ρ {small['rho']:g} {small['ratio']:.2f} -> ρ {large['rho']:g} "
                     f"{large['ratio']:.2f}")
    holds = sum(v == HOLDS for v in verdicts)
    verdict = FAILS if FAILS in verdicts else (HOLDS if holds >= len(verdicts) / 2 else INCONCLUSIVE)
    return "step l.l. adv./clean top-1 ratio: " + "; ".join(parts), verdict


def _k_raises(acc):
    d = acc[has_role(acc, "k") & (acc["epoch"] > 0)]
    ks = sorted(dict.fromkeys(d["training"]), key=lambda t: int(str(t).rsplit("k=", 1)[1].split("/")[0]))
    e = max(_grid(acc))
    lo = _acc(acc, has_role(acc, "k") & (acc["training"] == ks[0]), "step_ll", e)
    mid = _acc(acc, has_role(acc, "reference"), "step_ll", e)
    return (f"ε {_paper_eps(acc, e)} step l.l. accuracy: {ks[0].rsplit(' ', 1)[1]} {lo.pct()}, reference "
            f"{mid.pct()}", compare(mid, lo, ">"))


def _step_ll_rnd_best(acc):
    """Table 5: step l.l. / step rnd. training beat fast-with-predicted-class training on FGSM examples."""
    pred = has_role(acc, "methods") & acc["training"].astype(str).str.startswith("fgsm (predicted labels)")
    verdicts, parts = [], []
    e = max(_grid(acc))
    p = _acc(acc, pred, "fgsm", e)
    for name in ("step_ll", "step_rnd"):
        m = has_role(acc, "methods") & acc["training"].astype(str).str.startswith(name + " ")
        a = _acc(acc, m, "fgsm", e)
        verdicts.append(compare(a, p, ">"))
        parts.append(f"{name} {100 * a.value:.1f} %")
    return f"FGSM accuracy at ε {_paper_eps(acc, e)}: " + ", ".join(parts) + f" vs fgsm_pred {p.pct()}", combine(verdicts)


_T = ("p002_accuracy",)
CLAIMS = [
    Claim("p002_one_step_training_close_to_clean", "Sec. 4.1, Table 1",
          "One-step (step l.l.) adversarial training brings step l.l. accuracy close to clean accuracy",
          "73.5-74.5 % vs 77.6 % clean (ratio ≥ 0.95)",
          "step l.l. accuracy ≥ 0.9 × clean accuracy at every ε of the grid (Wilson interval)", _T,
          _one_step_close_to_clean, paper="002"),
    Claim("p002_training_raises_one_step_accuracy", "Sec. 4.1, Table 1",
          "Adversarial training raises step l.l. accuracy far above the baseline's",
          "27-31 % -> 73.5-74.5 %", "trained > baseline at every ε (disjoint intervals)", _T,
          _training_raises_one_step, paper="002"),
    Claim("p002_iterative_attacks_stay_effective", "Sec. 4.1, Table 2",
          "Training on one-step adversarial examples does not confer robustness to iterative ones",
          "ε 16: iter l.l. 1.5 %, basic iter. 23.2 % vs 77.4 % clean",
          "at the largest ε, iter l.l. and basic iter. accuracy < 0.5 × clean accuracy", _T,
          _iterative_stay_effective, paper="002"),
    Claim("p002_label_leaking_above_clean", "Sec. 4.2, Table 3",
          "Label leaking: the FGSM-trained model is more accurate on FGSM examples than on clean ones",
          "86.2-88.7 % vs 76.6 % clean", "FGSM accuracy > clean accuracy at every ε (disjoint intervals)", _T,
          _leak_above_clean, paper="002"),
    Claim("p002_label_leaking_vs_step_ll", "Sec. 4.2, Tables 3, 5",
          "On FGSM examples the FGSM-trained model beats the step l.l.-trained one",
          "FGSM-trained 79-85 % vs step l.l.-trained 72-76 % (Table 5)", "higher at every ε (disjoint intervals)", _T,
          _leak_vs_step_ll, paper="002"),
    Claim("p002_labels_leaked", "Sec. 4.2", "The FGSM-trained model leaks labels",
          "79 of 10,000 (MNIST, ε 0.3)", "leaked-label rate at the most-leaking ε > 0 (Wilson interval)",
          ("p002_label_leaking",), _labels_leaked, paper="002"),
    Claim("p002_transfer_order", "Sec. 4.4, Table 4",
          "Transfer rate: FGSM > basic iterative > iter l.l. (inverse to the attacks' strength)",
          "top-1, ε 16: ~56 % > ~44 % > ~12 %", "pooled off-diagonal rates at the largest ε, disjoint intervals",
          ("p002_transfer",), _transfer_order, paper="002"),
    Claim("p002_transfer_rises_with_eps", "Sec. 4.4, Fig. 2", "Transfer rate rises with ε",
          "Fig. 2: increasing for every method", "pooled off-diagonal rate at the largest > smallest ε, every attack",
          ("p002_transfer",), _transfer_rises, paper="002"),
    Claim("p002_capacity_ratio_rises", "Sec. 4.3, Fig. 1",
          "With adversarial training the adversarial/clean accuracy ratio rises with capacity",
          "step l.l. ratio approaches 1 at ρ = 2", "ratio at the largest ρ > smallest ρ (bootstrap intervals) at half "
          "the ε or more, and lower at none", ("p002_capacity",), _capacity_ratio, paper="002"),
    Claim("p002_more_adversarial_examples_more_robust", "App. E, Table 8",
          "More adversarial examples per mini-batch (k) give higher adversarial accuracy",
          "ε 16: k=4 65.8 % < k=16 75.4 %", "step l.l. accuracy at the largest ε, k = m/2 > k = m/8 (disjoint intervals)",
          _T, _k_raises, paper="002"),
    Claim("p002_step_methods_best_for_training", "App. A, Table 5",
          "Step l.l. and step rnd. are better training adversaries than FGSM with the predicted class",
          "FGSM accuracy at ε 16: 72.2 / 72.5 % vs 40.0 %", "FGSM accuracy at the largest ε, each > fgsm_pred-trained",
          _T, _step_ll_rnd_best, paper="002"),
]
