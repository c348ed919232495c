"""Paper 001's claims (Metzen et al. 2017, Sec. 4.1) on this experiment's paper-001 tables.

Every measured rate is printed with its 95 % interval; comparisons of two rates use
:func:`advtrace.stats.compare` and thresholds :func:`advtrace.stats.against`, so a claim whose
intervals overlap is *inconclusive* rather than decided by noise."""

from __future__ import annotations

import pandas as pd

from ...claims import NOT_MEASURED, Claim
from ...stats import Estimate, against, combine, compare


def _est(row) -> Estimate:
    return Estimate(float(row["detectability"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]))


def _attacks(adv: pd.DataFrame) -> pd.DataFrame:
    return adv[adv["family"] != "No"]


def _below(adv: pd.DataFrame, acc: float, bar: float):
    d = _attacks(adv)
    d = d[d["accuracy"] < acc]
    if d.empty:
        return f"no adversary setting reduces accuracy below {100 * acc:.0f} %", "inconclusive"
    verdicts = [against(_est(r), bar, ">") for _, r in d.iterrows()]
    worst = d.loc[d["detectability"].idxmin()]
    return (f"{len(d)} settings (family, ε) below {100 * acc:.0f} % accuracy; lowest detectability "
            f"{_est(worst).pct()} ({worst['family']} ε={worst['eps']:g}, accuracy {100 * worst['accuracy']:.1f} %)",
            combine(verdicts), float(worst["detectability"]))


def _below30(adv):
    return _below(adv, 0.30, 0.80)


def _below10(adv):
    return _below(adv, 0.10, 0.90)


def _at_star(adv: pd.DataFrame) -> pd.DataFrame:
    return _attacks(adv)[_attacks(adv)["eps_star"]].set_index("family")


def _fmt(d: pd.DataFrame) -> str:
    return "; ".join(f"{f} ε*={r['eps']:g}: {_est(r).pct()}" for f, r in d.iterrows())


def _deepfool_hardest(adv):
    d = _at_star(adv)
    df = d[d["attack"].str.startswith("deepfool")]
    other = d[~d["attack"].str.startswith("deepfool")]
    if df.empty or other.empty:
        raise ValueError("needs DeepFool and other families")
    return _fmt(d), combine(compare(_est(a), _est(b), "<") for _, a in df.iterrows() for _, b in other.iterrows())


def _fast_easiest(adv):
    d = _at_star(adv)
    fast = d[d["attack"] == "fgsm"]
    other = d[d["attack"] != "fgsm"]
    if fast.empty or other.empty:
        raise ValueError("needs a Fast (fgsm) family and others")
    return _fmt(d), combine(compare(_est(a), _est(b), ">") for _, a in fast.iterrows() for _, b in other.iterrows())


def _small_to_large(eps):
    parts, verdicts = [], []
    for fam, d in eps.groupby("family", sort=False):
        lo, hi = d["eps_fit"].min(), d["eps_fit"].max()
        if lo == hi:
            continue
        up = d[(d["eps_fit"] == lo) & (d["eps_test"] == hi)].iloc[0]
        down = d[(d["eps_fit"] == hi) & (d["eps_test"] == lo)].iloc[0]
        verdicts.append(compare(_est(up), _est(down), ">"))
        parts.append(f"{fam}: fit {lo:g}→test {hi:g} {_est(up).pct()} vs fit {hi:g}→test {lo:g} {_est(down).pct()}")
    if not parts:
        raise ValueError("no family has two ε")
    return "; ".join(parts), combine(verdicts)


def _iterative_to_fast(att, adv):
    names = _attacks(adv).drop_duplicates("family").set_index("family")["attack"]
    it = [f for f, a in names.items() if a == "bi"]
    fast = [f for f, a in names.items() if a == "fgsm"]
    if not it or not fast:
        raise ValueError("needs an Iterative (bi) and a Fast (fgsm) family")
    m = att.set_index(["fit_family", "test_family"])
    fwd, back = m.loc[(it[0], fast[0])], m.loc[(fast[0], it[0])]
    return (f"{it[0]}→{fast[0]} {_est(fwd).pct()} vs {fast[0]}→{it[0]} {_est(back).pct()}",
            compare(_est(fwd), _est(back), ">"))


def _static_fooled(dyn):
    d = dyn[(dyn["detector"] == "static") & (dyn["n"] > 0) & (dyn["accuracy"] < 0.30)]
    if d.empty:
        return "no σ reduces accuracy below 30 % with successful examples", "inconclusive"
    worst = d.loc[d["detectability"].idxmin()]
    return (f"min over σ with accuracy < 30 %: {_est(worst).pct()} at σ={worst['sigma']:.1f} "
            f"(accuracy {100 * worst['accuracy']:.1f} %)", against(_est(worst), 0.60, "<="),
            float(worst["detectability"]))


def _dynamic_robust(dyn, training):
    d = dyn[(dyn["detector"] == "dynamic") & (dyn["n"] > 0)]
    sel = training[training["selected"]]
    if (dyn[dyn["detector"] == "dynamic"]["detector_epoch"] == 0).any() or (len(sel) and sel["detector_epoch"].iloc[0] == 0):
        init = training["init"].iloc[0] if len(training) else "static"
        start = "the static detector" if init == "static" else "its random initialisation"
        curve = ", ".join(f"{v:.3f}" for v in training.sort_values("detector_epoch")[_criterion_column(training)])
        return (f"not measured: dynamic adversary training never beat its initial weights on validation "
                f"(selected epoch 0; validation {_criterion_column(training)} per epoch 0..: {curve}), so the "
                f"'dynamic' detector is {start}, not a dynamically trained one", NOT_MEASURED)
    if d.empty:
        raise ValueError("no σ with successful adversarial examples")
    worst = d.loc[d["detectability"].idxmin()]
    return (f"min over {len(d)} σ: {_est(worst).pct()} at σ={worst['sigma']:.1f} (selected dynamic-training epoch "
            f"{int(sel['detector_epoch'].iloc[0]) if len(sel) else '?'})",
            combine(against(_est(r), 0.70, ">") for _, r in d.iterrows()), float(worst["detectability"]))


def _criterion_column(training) -> str:
    return "val_successful" if len(training) and training["criterion"].iloc[0] == "successful" else "val_all"


def _depth(depth):
    sel = depth[depth["selected"]]
    return "; ".join(f"{r['family']}: {r['position']} ({r['feature']}, {100 * r['detectability']:.1f} %)"
                     for _, r in sel.iterrows()), None


_S = "001"
CLAIMS = [
    Claim("p001_detectable_below_30", "Sec. 4.1.1, Fig. 2", "Adversaries that reduce accuracy below 30 % are detected above 80 %",
          "> 80 % for every such adversary (CIFAR-10)", "every (family, ε) with test accuracy < 30 %: detectability interval above 80 %",
          ("p001_adversaries",), _below30, paper=_S),
    Claim("p001_detectable_below_10", "Sec. 4.1.1, Fig. 2", "Adversaries that reduce accuracy below 10 % are detected above 90 %",
          "> 90 % for every such adversary", "every (family, ε) with test accuracy < 10 %: detectability interval above 90 %",
          ("p001_adversaries",), _below10, paper=_S),
    Claim("p001_deepfool_hardest", "Sec. 4.1.1, Fig. 2", "DeepFool adversaries are the hardest to detect",
          "DeepFool lowest, Fast highest detectability", "at each family's ε*: every DeepFool detectability below every other family's",
          ("p001_adversaries",), _deepfool_hardest, paper=_S),
    Claim("p001_fast_easiest", "Sec. 4.1.1, Fig. 2", "The Fast adversary is the easiest to detect",
          "Fast weakest adversary (highest detectability)", "at each family's ε*: Fast detectability above every other family's",
          ("p001_adversaries",), _fast_easiest, paper=_S),
    Claim("p001_depth_best", "Sec. 4.1.1, Fig. 2 right", "Best attachment position per family",
          "AD(2) for Fast/Iterative, AD(4) for DeepFool", "measured only (positions differ between the models)",
          ("p001_depth",), _depth, paper=_S),
    Claim("p001_small_to_large", "Sec. 4.1.1, Fig. 3", "Detectors generalise from small to large ε better than the reverse",
          "fit small → test large works, large → small does not", "per family: detectability (fit min ε, test max ε) > (fit max ε, test min ε)",
          ("p001_eps_transfer",), _small_to_large, paper=_S),
    Claim("p001_iterative_to_fast", "Sec. 4.1.1, Fig. 4", "Detectors of the Iterative adversary transfer to Fast, not vice versa",
          "Iterative → Fast high, Fast → Iterative low", "detectability (fit Iterative ℓ∞, test Fast) > (fit Fast, test Iterative ℓ∞)",
          ("p001_attack_transfer", "p001_adversaries"), _iterative_to_fast, paper=_S),
    Claim("p001_static_fooled", "Sec. 4.1.2, Fig. 5", "The static detector is fooled by the dynamic adversary at intermediate σ",
          "near chance (≈ 50 %) at σ = 0.3-0.4 with accuracy < 30 %", "some σ with accuracy < 30 %: static detectability interval at or below 60 %",
          ("p001_dynamic",), _static_fooled, paper=_S),
    Claim("p001_dynamic_robust", "Sec. 4.1.2, Fig. 5", "The dynamically trained detector stays above 70 % for every σ",
          "> 70 % for every σ", "every σ with successful examples: dynamic detectability interval above 70 %",
          ("p001_dynamic", "p001_dynamic_training"), _dynamic_robust, paper=_S),
]
