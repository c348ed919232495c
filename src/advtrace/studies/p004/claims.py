"""Paper 004's quantitative statements as claims (advtrace.claims; ``paper="004"``).

ε values carry bootstrap intervals over the evaluation inputs (the binary search re-run on each
resample, :mod:`.robustness`), accuracies and rates Wilson intervals; comparisons use :func:`advtrace.stats.compare` (overlapping intervals:
inconclusive). The paper's numbers are CIFAR-10 / Cityscapes ones; the verdicts check the relation
the paper draws, on digits.
"""

from __future__ import annotations

import math

import pandas as pd

from ...claims import Claim
from ...stats import FAILS, HOLDS, INCONCLUSIVE, Estimate, combine, compare, proportion
from .front import baseline_models, final_models, hypervolume
from .plan import EPS_MAX


def _eps(r, key: str = "eps_uni") -> Estimate:
    v = getattr(r, key) if not isinstance(r, pd.Series) else r[key]
    lo = r[f"{key}_low"] if isinstance(r, pd.Series) else getattr(r, f"{key}_low")
    hi = r[f"{key}_high"] if isinstance(r, pd.Series) else getattr(r, f"{key}_high")
    n = r["n"] if isinstance(r, pd.Series) else r.n
    return Estimate(EPS_MAX if math.isnan(v) else float(v), float(lo), float(hi), int(n))


def _acc(r) -> Estimate:
    return Estimate(float(r["accuracy"]), float(r["ci_low"]), float(r["ci_high"]), int(r["n"]))


def _fmt(e: Estimate) -> str:
    return f"{e.value:.1f} [{e.low:.1f}, {e.high:.1f}]"


def _erm(rob: pd.DataFrame) -> pd.Series:
    erm = rob[rob["family"] == "erm"]
    if erm.empty:
        raise ValueError("no ERM (epoch 0) row")
    return erm.iloc[0]


def _risk_ordering(risk):
    heap = risk[risk["kind"] == "heap"].sort_values("heap_size")
    uni = risk[risk["kind"] == "universal"]
    if heap.empty or uni.empty:
        raise ValueError("no heap or universal rows")
    est = [proportion(round(r.rate * r.n), r.n) for r in heap.itertuples()]
    u = proportion(round(uni["rate"].iloc[0] * uni["n"].iloc[0]), int(uni["n"].iloc[0]))
    rises = [f"s={a}→{b}" for (a, ea), (b, eb) in zip(zip(heap["heap_size"], est), list(zip(heap["heap_size"], est))[1:])
             if compare(eb, ea, ">") == HOLDS]
    if rises or compare(u, est[-1], ">") == HOLDS:
        verdict = FAILS
    else:
        verdict = HOLDS if compare(est[0], est[-1], ">") == HOLDS else INCONCLUSIVE
    text = "; ".join(f"s={s}: {e.pct()}" for s, e in zip(heap["heap_size"], est))
    text += f"; ρ_uni: {u.pct()}" + (f"; significant rises: {', '.join(rises)}" if rises else "")
    return f"misclassification {text}", verdict


def _at_raises(rob):
    erm = _erm(rob)
    fin = final_models(rob)
    at = fin[fin["heap_size"] == 1]
    if at.empty:
        raise ValueError("no s = 1 runs")
    e0 = _eps(erm)
    parts, verdicts = [], []
    for r in at.itertuples():
        e = _eps(r)
        verdicts.append(compare(e, e0, ">"))
        parts.append(f"ε={r.eps_train:g}: {_fmt(e)}")
    return f"ERM {_fmt(e0)}; s = 1 runs: " + ", ".join(parts), combine(verdicts)


def _front_dominates(front):
    s = sorted(front["heap_size"].unique())
    if len(s) < 2 or s[0] != 1:
        raise ValueError("needs s = 1 and a larger s")
    hv = {k: front[front["heap_size"] == k].iloc[0] for k in (s[0], s[-1])}
    est = {k: Estimate(float(v.hypervolume), float(v.hypervolume_low), float(v.hypervolume_high), int(v.n))
           for k, v in hv.items()}
    return (f"hypervolume s = {s[-1]}: {_fmt(est[s[-1]])}; s = 1: {_fmt(est[1])}",
            compare(est[s[-1]], est[1], ">"), est[s[-1]].value - est[1].value)


def _matched(rob):
    fin = final_models(rob)
    s_max = fin["heap_size"].max()
    at, sh = fin[fin["heap_size"] == 1], fin[fin["heap_size"] == s_max]
    if at.empty or sh.empty or s_max == 1:
        raise ValueError("needs s = 1 and a larger s")
    pairs = [(abs(a.accuracy - b.accuracy), a, b) for a in at.itertuples() for b in sh.itertuples()
             if a.ci_low <= b.ci_high and b.ci_low <= a.ci_high]
    if not pairs:
        return "no pair of s = 1 and s = max models with overlapping accuracy intervals", INCONCLUSIVE
    _, a, b = min(pairs, key=lambda p: p[0])
    v = combine([compare(_eps(b), _eps(a), ">"), compare(_eps(b, "eps_adv"), _eps(a, "eps_adv"), "<")])
    return (f"s = {s_max} (ε {b.eps_train:g}, acc. {100 * b.accuracy:.1f} %): ε_uni {_fmt(_eps(b))}, ε_adv "
            f"{_fmt(_eps(b, 'eps_adv'))}; s = 1 (ε {a.eps_train:g}, acc. {100 * a.accuracy:.1f} %): ε_uni "
            f"{_fmt(_eps(a))}, ε_adv {_fmt(_eps(a, 'eps_adv'))}"), v


def _no_accuracy_loss(rob):
    erm = _erm(rob)
    fin = final_models(rob)
    sh = fin[(fin["heap_size"] == fin["heap_size"].max()) & (fin["ci_high"] >= erm["accuracy"])]
    if sh.empty:
        return (f"no s = {fin['heap_size'].max()} model keeps the ERM accuracy "
                f"({100 * erm['accuracy']:.1f} %) within its interval"), FAILS
    best = sh.loc[sh["eps_uni"].fillna(EPS_MAX).idxmax()]
    return (f"ERM: acc. {_acc(erm).pct()}, ε_uni {_fmt(_eps(erm))}; best s = {best['heap_size']} model without "
            f"accuracy loss (ε {best['eps_train']:g}): acc. {_acc(best).pct()}, ε_uni {_fmt(_eps(best))}",
            compare(_eps(best), _eps(erm), ">"), _eps(best).value - _eps(erm).value)


def _uni_above_adv(rob):
    erm = _erm(rob)
    return (f"ERM: ε_uni {_fmt(_eps(erm))}, ε_adv {_fmt(_eps(erm, 'eps_adv'))}, random noise "
            f"{_fmt(_eps(erm, 'eps_random'))}", compare(_eps(erm), _eps(erm, "eps_adv"), ">"),
            _eps(erm).value - _eps(erm, "eps_adv").value)


def _df_acc(r) -> Estimate:
    return Estimate(float(r["deepfool_accuracy"]), float(r["deepfool_ci_low"]), float(r["deepfool_ci_high"]),
                    int(r["n"]))


def _deepfool_front(rob):
    """Fig. 3 right: hypervolume of (clean accuracy, accuracy under the DeepFool universal perturbation,
    in %) above (reference 0, 0) of the final models of s = 1 and of the largest s."""
    d = final_models(rob[rob["deepfool_accuracy"].notna()])
    s = sorted(d["heap_size"].unique())
    if len(s) < 2 or s[0] != 1:
        raise ValueError("needs DeepFool accuracies of s = 1 and a larger s")
    est = {}
    for k in (s[0], s[-1]):
        g = d[d["heap_size"] == k]
        est[k] = Estimate(hypervolume(g["accuracy"], 100 * g["deepfool_accuracy"], 0.0),
                          hypervolume(g["ci_low"], 100 * g["deepfool_ci_low"], 0.0),
                          hypervolume(g["ci_high"], 100 * g["deepfool_ci_high"], 0.0), int(g["n"].iloc[0]))
    erm = _erm(rob)
    text = (f"ε {rob['deepfool_eps'].dropna().iloc[0]:g}: ERM accuracy under it {_df_acc(erm).pct()}; hypervolume "
            f"(clean acc. × DeepFool acc. %) s = {s[-1]}: {_fmt(est[s[-1]])}, s = 1: {_fmt(est[1])}")
    return text, compare(est[s[-1]], est[1], ">"), est[s[-1]].value - est[1].value


def _dominated(b, fam: pd.DataFrame) -> str:
    """Whether the model `b` is dominated by a model of `fam`: holds if some model's accuracy interval
    reaches b's accuracy and its ε_uni is higher (intervals disjoint); does not hold if every model is
    significantly worse than b in accuracy or in ε_uni (intervals disjoint); otherwise inconclusive."""
    e_b = _eps(b)
    if any(m.ci_high >= b.accuracy and compare(_eps(m), e_b, ">") == HOLDS for m in fam.itertuples()):
        return HOLDS
    if all(m.ci_high < b.ci_low or compare(_eps(m), e_b, "<") == HOLDS for m in fam.itertuples()):
        return FAILS
    return INCONCLUSIVE


def _baselines_dominated(rob):
    base = baseline_models(rob)
    if base.empty:
        raise ValueError("no baseline runs (DeepFool UAD, FictitiousPlay: the digits_full experiment)")
    fin = final_models(rob)
    sizes = sorted(fin["heap_size"].unique())
    parts, verdicts = [], []
    for b in base.itertuples():
        v = [_dominated(b, fin[fin["heap_size"] == k]) for k in sizes]
        verdicts += v
        parts.append(f"{b.family} ε {b.eps_train:g}: acc. {100 * b.accuracy:.1f} %, ε_uni {_fmt(_eps(b))} "
                     f"({', '.join(f's={k}: {x}' for k, x in zip(sizes, v))})")
    return "; ".join(parts), combine(verdicts)


def _baseline_cost(cost):
    at = cost[(cost["family"] == "shared") & (cost["heap_size"] == 1)]
    base = cost[cost["family"].isin(["deepfool_uad", "fictitious_play"])]
    if base.empty or at.empty:
        raise ValueError("no baseline runs (DeepFool UAD, FictitiousPlay: the digits_full experiment)")
    ref = at["cpu_s_per_epoch"].mean()
    parts, verdicts = [], []
    for fam, g in base.groupby("family", sort=True):
        parts.append(f"{fam} {g['cpu_s_per_epoch'].mean():.2f} CPU s/epoch = {g['cpu_s_per_epoch'].mean() / ref:.1f}× "
                     "standard AT")
        # each baseline run's mean against the slowest single epoch of any standard-AT run (conservative)
        verdicts.append(HOLDS if g["cpu_s_per_epoch"].min() > at["cpu_s_max"].max() else
                        FAILS if g["cpu_s_per_epoch"].max() < at["cpu_s_min"].min() else INCONCLUSIVE)
    shared = cost[(cost["family"] == "shared") & (cost["heap_size"] > 1)]
    if len(shared):
        parts.append(f"shared (s > 1) {shared['cpu_s_per_epoch'].mean() / ref:.2f}× standard AT")
    parts.append(f"standard AT {ref:.2f} CPU s/epoch")
    return "; ".join(parts), combine(verdicts), base["cpu_s_per_epoch"].mean() / ref


CLAIMS = [
    Claim("p004_heap_risk_ordering", "Sec. 4.2",
          "The heap risk does not increase with the sharedness: ρ_adv = ρ_heap(1) ≥ ρ_heap(2) ≥ … ≥ ρ_heap(d) ≥ ρ_uni",
          "inequality (no number)",
          "0-1 risk on one model: no significant rise between consecutive s, ρ_uni not above ρ_heap(d), and "
          "ρ_heap(1) > ρ_heap(d) (Wilson intervals disjoint)", ("p004_risk",), _risk_ordering, paper="004"),
    Claim("p004_uni_above_adv", "Sec. 3.1, 5.1",
          "ρ_uni ≤ ρ_adv, so a universal perturbation needs a larger ε than per-input ones: ε_uni(δ) > ε_adv(δ)",
          "ERM ε_uni(0.75) = 14.9 (CIFAR-10)", "ERM model: ε_uni > ε_adv (bootstrap intervals disjoint)",
          ("p004_robustness",), _uni_above_adv, paper="004"),
    Claim("p004_at_raises_eps_uni", "Sec. 6.1",
          "Adversarial training (s = 1) raises ε_uni above the pretrained (ERM) model's",
          "\"surprisingly effective\"; ERM 14.9", "every s = 1 run's final model: ε_uni > ERM's",
          ("p004_robustness",), _at_raises, paper="004"),
    Claim("p004_front_dominates", "Sec. 6.1, Fig. 3",
          "The largest sharedness's Pareto front dominates s = 1 (standard adversarial training)",
          "s = 64 \"strictly dominates\" s = 1 and s = 8", "hypervolume of the largest s > s = 1 (interval envelopes disjoint)",
          ("p004_front",), _front_dominates, paper="004"),
    Claim("p004_matched_accuracy", "Sec. 6.1, 6.3, Fig. 5",
          "At matched clean accuracy shared training gives a higher ε_uni and a lower ε_adv than standard adversarial training",
          "Cityscapes: ε_uni 111.7 vs 62.5, ε_adv 5.9 vs 11; CIFAR-10: ~5 higher ε_uni at equal accuracy",
          "the final s = max and s = 1 models with the closest clean accuracies (intervals overlapping): "
          "ε_uni larger and ε_adv smaller", ("p004_robustness",), _matched, paper="004"),
    Claim("p004_no_accuracy_loss", "Sec. 6.1",
          "Shared training raises ε_uni without loss of clean accuracy",
          "CIFAR-10: 22.7 vs ERM 14.9 at no accuracy loss", "best ε_uni of the s = max models whose accuracy interval "
          "reaches the ERM accuracy > ERM's ε_uni", ("p004_robustness",), _no_accuracy_loss, paper="004"),
    Claim("p004_deepfool_front", "Sec. 6.1, Fig. 3 right",
          "Against DeepFool universal perturbations of a fixed ε the largest sharedness's front dominates s = 1",
          "CIFAR-10, ε 20: s = 64 dominates standard adversarial training",
          "hypervolume of (clean accuracy, accuracy under the DeepFool universal perturbation) of the largest s "
          "> s = 1 (interval envelopes disjoint)", ("p004_robustness",), _deepfool_front, paper="004"),
    Claim("p004_baselines_dominated", "Sec. 6.1, Fig. 3 left",
          "The baseline defences (DeepFool UAD, FictitiousPlay) are dominated by every variant of (shared) "
          "adversarial training", "\"strictly dominated by all variants\"",
          "each baseline's final model: some model of every s has an accuracy interval reaching its accuracy and a "
          "higher ε_uni (intervals disjoint); does not hold where every model of an s is significantly worse in "
          "accuracy or ε_uni", ("p004_robustness",), _baselines_dominated, paper="004"),
    Claim("p004_baseline_cost", "Sec. 6.1",
          "The baseline defences cost far more per epoch than (shared) adversarial training",
          "189 s vs 3118 s (DeepFool UAD) and 3840 s (FictitiousPlay) per epoch: 16.5× and 20.3×",
          "each baseline run's mean CPU s per epoch > the slowest epoch of any standard adversarial-training run",
          ("p004_cost",), _baseline_cost, paper="004"),
]
