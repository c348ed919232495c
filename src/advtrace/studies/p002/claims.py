"""Paper 002's claims, measured on the study's tables (advtrace.claims contract).

**Where a claim is decided (the ε rule).** Every claim is decided at one ε of the test grid, chosen
by a rule that reads only models *without* adversarial training, never the outcome the claim
compares, and that is the same for every seed and dataset: ε* is the largest grid ε at which the
clean-trained model(s) the claim names keep a top-1 accuracy of at least 2 × chance (20 % for ten
classes) under the *weakest* of the attacks the claim compares (the one that leaves them the most
accuracy). Where no grid ε qualifies, every attack already drives the clean-trained model to near
chance and the claim is ``not measured``: a verdict there would say nothing about the paper's
contrast. The measured text starts with ε* (paper units, this experiment's value in parentheses)
and the accuracy that qualified it.

On the paper's own ImageNet numbers the rule picks ε = 16 for every claim (e.g. the baseline keeps
29.5 % under step l.l. and 25.9 % under basic iter. at ε 16, Tables 1 and 2), the ε its headline
numbers are quoted at.
"""

from __future__ import annotations

import pandas as pd

from ...claims import Claim
from ...stats import NOT_MEASURED, Estimate, against, combine, compare, proportion
from .report import ATTACK_NAMES, has_role

RULE_FACTOR = 2.0  # ε* keeps the clean-trained model at >= RULE_FACTOR x chance top-1 accuracy
RULE = ("ε* = the largest grid ε at which {who} keeps top-1 accuracy >= 2 x chance under the weakest of {what}; "
        "not measured where no grid ε qualifies")
NAN = float("nan")


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


def _grid(df: pd.DataFrame) -> list[float]:
    d = df[df["attack"] != "clean"] if "attack" in df else df
    return sorted(float(e) for e in d["eps"].unique())


def _fmt_eps(df: pd.DataFrame, eps: float) -> str:
    """``8 (32)``: ε in paper units, this experiment's value in parentheses."""
    return f"{df.loc[df['eps'] == eps, 'eps_paper'].iloc[0]:g} ({eps:g})"


def _names(attacks) -> str:
    return " / ".join(ATTACK_NAMES.get(a, a) for a in attacks)


def pick_eps(table: pd.DataFrame, eps_grid: list[float], chance: float) -> tuple[float | None, str]:
    """The ε rule on a table of top-1 accuracies with columns ``model``, ``attack``, ``eps``,
    ``accuracy`` (the clean-trained model(s) under the compared attacks): the largest ε of `eps_grid`
    at which every model's accuracy under its weakest attack (its highest accuracy over the attacks)
    is >= RULE_FACTOR x `chance`; ``None`` when no ε qualifies. Also returns the qualifying accuracy
    (or, for None, the smallest ε's), as text."""
    floor = RULE_FACTOR * chance
    worst: dict[float, tuple[float, str, str]] = {}
    for e in eps_grid:
        d = table[table["eps"] == e]
        if d.empty:
            raise KeyError(f"no accuracy of the rule's model(s) at ε {e:g}")
        weakest = d.loc[d.groupby("model")["accuracy"].idxmax()]  # per model: its weakest attack
        row = weakest.loc[weakest["accuracy"].idxmin()]            # the model nearest chance
        worst[e] = (float(row["accuracy"]), str(row["attack"]), str(row["model"]))
    ok = [e for e in eps_grid if worst[e][0] >= floor]
    e = max(ok) if ok else min(eps_grid)
    a, attack, model = worst[e]
    sign = ">=" if ok else "<"
    how = f"{model} keeps {100 * a:.1f} % under {ATTACK_NAMES.get(attack, attack)} ({sign} {100 * floor:.0f} %)"
    return (max(ok) if ok else None), how


def _chance(df: pd.DataFrame) -> float:
    return 1.0 / float(df["classes"].iloc[0])


def decision_eps(acc: pd.DataFrame, mask: pd.Series, attacks: tuple[str, ...]) -> tuple[float | None, str]:
    """ε* of :func:`pick_eps` for the models `mask` selects in the p002_accuracy table, and its
    description (``ε* = 8 (32): baseline … keeps 33.6 % under Step l.l. (>= 20 %)``)."""
    d = acc[mask & (acc["top"] == 1) & acc["attack"].isin(attacks)].copy()
    d["model"] = d["run"].astype(str) + "@" + d["epoch"].astype(str)
    e, how = pick_eps(d[["model", "attack", "eps", "accuracy"]], _grid(acc), _chance(acc))
    if e is None:
        return None, f"no grid ε qualifies (at the smallest, {_fmt_eps(acc, _grid(acc)[0])}, {how})"
    return e, f"ε* = {_fmt_eps(acc, e)}: {how}"


def transfer_decision_eps(tr: pd.DataFrame, attacks: tuple[str, ...]) -> tuple[float | None, str]:
    """ε* for the transfer claims: the transfer models (all clean-trained) white-box, i.e. the source
    = target cells, accuracy = 1 - target_errors / candidates."""
    d = tr[(tr["source"] == tr["target"]) & (tr["top"] == 1) & tr["attack"].isin(attacks)].copy()
    d["model"] = d["source"].astype(str)
    d["accuracy"] = 1.0 - d["target_errors"] / d["candidates"]
    grid = sorted(float(e) for e in tr["eps"].unique())
    e, how = pick_eps(d[["model", "attack", "eps", "accuracy"]], grid, _chance(tr))
    if e is None:
        return None, f"no grid ε qualifies (at the smallest, {_fmt_eps(tr, grid[0])}, {how}, white-box)"
    return e, f"ε* = {_fmt_eps(tr, e)}: {how}, white-box"


def _not_measured(why: str):
    return f"not measured: {why}", NOT_MEASURED, NAN


def _baseline(acc: pd.DataFrame) -> pd.Series:
    return has_role(acc, "baseline")


# --------------------------------------------------------------------------- Tables 1, 2

def _one_step_close_to_clean(acc):
    e, why = decision_eps(acc, _baseline(acc), ("step_ll",))
    if e is None:
        return _not_measured(why)
    ref = has_role(acc, "reference")
    clean, a = _acc(acc, ref, "clean"), _acc(acc, ref, "step_ll", e)
    return (f"{why}; step l.l.-trained: clean {clean.pct()}, step l.l. {a.pct()}",
            against(a, 0.9 * clean.value, ">="), a.value / clean.value)


def _training_raises_one_step(acc):
    e, why = decision_eps(acc, _baseline(acc), ("step_ll",))
    if e is None:
        return _not_measured(why)
    a, b = _acc(acc, has_role(acc, "reference"), "step_ll", e), _acc(acc, _baseline(acc), "step_ll", e)
    return f"{why}; step l.l. accuracy, baseline {b.pct()} -> step l.l.-trained {a.pct()}", compare(a, b, ">"), \
        a.value - b.value


def _iterative_stay_effective(acc):
    e, why = decision_eps(acc, _baseline(acc), ("iter_ll", "bi"))
    if e is None:
        return _not_measured(why)
    ref = has_role(acc, "reference")
    clean = _acc(acc, ref, "clean")
    ll, bi, one = _acc(acc, ref, "iter_ll", e), _acc(acc, ref, "bi", e), _acc(acc, ref, "step_ll", e)
    v = combine([against(ll, 0.5 * clean.value, "<"), against(bi, 0.5 * clean.value, "<")])
    return (f"{why}; step l.l.-trained: clean {clean.pct()}, iter l.l. {ll.pct()}, basic iter. {bi.pct()} "
            f"(one-step step l.l. {one.pct()})", v, max(ll.value, bi.value) / clean.value)


# --------------------------------------------------------------------------- Table 3, Sec. 4.2

def _fgsm_model(acc):
    return has_role(acc, "methods") & acc["training"].astype(str).str.startswith("fgsm (true labels)")


def _leak_above_clean(acc):
    e, why = decision_eps(acc, _baseline(acc), ("fgsm",))
    if e is None:
        return _not_measured(why)
    m = _fgsm_model(acc)
    clean, a = _acc(acc, m, "clean"), _acc(acc, m, "fgsm", e)
    return f"{why}; FGSM-trained: clean {clean.pct()}, FGSM {a.pct()}", compare(a, clean, ">"), a.value - clean.value


def _leak_vs_step_ll(acc):
    e, why = decision_eps(acc, _baseline(acc), ("fgsm",))
    if e is None:
        return _not_measured(why)
    a, b = _acc(acc, _fgsm_model(acc), "fgsm", e), _acc(acc, has_role(acc, "reference"), "fgsm", e)
    return f"{why}; FGSM accuracy, FGSM-trained {a.pct()} vs step l.l.-trained {b.pct()}", compare(a, b, ">"), \
        a.value - b.value


def _labels_leaked(leak, acc):
    e, why = decision_eps(acc, _baseline(acc), ("fgsm", "fgsm_pred"))
    if e is None:
        return _not_measured(why)
    m = has_role(leak, "methods") & leak["training"].astype(str).str.startswith("fgsm (true labels)")
    d = leak[m & (leak["eps"] == e)]
    r = leak[has_role(leak, "reference") & (leak["eps"] == e)]
    if len(d) != 1 or len(r) != 1:
        raise KeyError(f"expected one label-leaking row per model at ε {e}")
    k, n = int(d["leaked"].iloc[0]), int(d["n"].iloc[0])
    rate = proportion(k, n)
    return (f"{why}; leaked labels, FGSM-trained {k} of {n} ({rate.pct()}), step l.l.-trained "
            f"{int(r['leaked'].iloc[0])} of {int(r['n'].iloc[0])}", against(rate, 0.0, ">"), rate.value)


# --------------------------------------------------------------------------- Table 4, Fig. 2

def _pooled_transfer(tr: pd.DataFrame, attack: str, eps: float, top: int = 1) -> Estimate:
    d = tr[(tr["attack"] == attack) & (tr["eps"] == eps) & (tr["top"] == top) & (tr["source"] != tr["target"])]
    return proportion(int(d["transferred"].sum()), int(d["n"].sum()))


_TRANSFER = ("fgsm", "bi", "iter_ll")


def _transfer_order(tr):
    e, why = transfer_decision_eps(tr, _TRANSFER)
    if e is None:
        return _not_measured(why)
    f, b, i = (_pooled_transfer(tr, a, e) for a in _TRANSFER)
    return (f"{why}; pooled off-diagonal transfer rate: FGSM {f.pct()}, basic iter. {b.pct()}, iter l.l. {i.pct()}",
            combine([compare(f, b, ">"), compare(b, i, ">")]), f.value - i.value)


def _transfer_rises(tr):
    e, why = transfer_decision_eps(tr, _TRANSFER)
    lo = min(float(x) for x in tr["eps"].unique())
    if e is None:
        return _not_measured(why)
    if e == lo:
        return _not_measured(f"{why}, the smallest grid ε: no larger ε to compare with")
    verdicts, parts, rises = [], [], []
    for a in _TRANSFER:
        x, y = _pooled_transfer(tr, a, lo), _pooled_transfer(tr, a, e)
        verdicts.append(compare(y, x, ">"))
        rises.append(y.value - x.value)
        parts.append(f"{ATTACK_NAMES[a]} {100 * x.value:.1f} -> {100 * y.value:.1f} % (n {x.n} -> {y.n})")
    return (f"{why}; pooled off-diagonal transfer rate from ε {_fmt_eps(tr, lo)} to ε*: " + "; ".join(parts),
            combine(verdicts), min(rises))


# --------------------------------------------------------------------------- Sec. 4.3, Fig. 1

def _capacity_ratio(cap, acc):
    clean_models = has_role(acc, "capacity") & (acc["training"] == "none")
    e, why = decision_eps(acc, clean_models, ("step_ll",))
    if e is None:
        return _not_measured(why)
    g = cap[(cap["adv_trained"]) & (cap["attack"] == "step_ll") & (cap["top"] == 1) & (cap["eps"] == e)]
    g = g.sort_values("rho")
    small, large = g.iloc[0], g.iloc[-1]

    def est(r):
        return Estimate(float(r["ratio"]), float(r["ci_low"]), float(r["ci_high"]), int(r["n"]))

    return (f"{why} (every width's clean-trained model); step l.l.-trained adv./clean top-1 ratio: ρ {small['rho']:g} "
            f"{est(small).num()} -> ρ {large['rho']:g} {est(large).num()}", compare(est(large), est(small), ">"),
            float(large["ratio"] - small["ratio"]))


# --------------------------------------------------------------------------- App. E, App. A

def _k_of(training: str) -> int:
    return int(str(training).rsplit("k=", 1)[1].split("/")[0])


def _k_raises(acc):
    d = acc[has_role(acc, "k") & (acc["epoch"] > 0)]
    ks = sorted(dict.fromkeys(d["training"]), key=_k_of)
    ref = acc[has_role(acc, "reference")]["training"]
    if not ks or (len(ref) and _k_of(ks[0]) >= _k_of(ref.iloc[0])):
        return _not_measured("this experiment has no paper002.k run with k below the reference's m/2 "
                             "(digits and digits_full have k = m/8)")
    e, why = decision_eps(acc, _baseline(acc), ("step_ll",))
    if e is None:
        return _not_measured(why)
    lo = _acc(acc, has_role(acc, "k") & (acc["training"] == ks[0]), "step_ll", e)
    mid = _acc(acc, has_role(acc, "reference"), "step_ll", e)
    return (f"{why}; step l.l. accuracy, {ks[0].rsplit(' ', 1)[1]} {lo.pct()}, reference (k = m/2) {mid.pct()}",
            compare(mid, lo, ">"), mid.value - lo.value)


def _methods_model(acc, prefix: str) -> pd.Series:
    return has_role(acc, "methods") & acc["training"].astype(str).str.startswith(prefix)


def _step_ll_rnd_best(acc):
    """Table 5: step l.l. / step rnd. training beat fast-with-predicted-class training on FGSM examples."""
    missing = [label for prefix, label in (("fgsm (predicted labels)", "fast with predicted class"),
                                           ("step_rnd ", "step rnd.")) if not _methods_model(acc, prefix).any()]
    if missing:
        return _not_measured(f"this experiment has no {' or '.join(missing)}-trained model among paper002.methods "
                             "(digits_full has them)")
    e, why = decision_eps(acc, _baseline(acc), ("fgsm",))
    if e is None:
        return _not_measured(why)
    p = _acc(acc, _methods_model(acc, "fgsm (predicted labels)"), "fgsm", e)
    verdicts, parts, gaps = [], [], []
    for name in ("step_ll", "step_rnd"):
        a = _acc(acc, _methods_model(acc, name + " "), "fgsm", e)
        verdicts.append(compare(a, p, ">"))
        gaps.append(a.value - p.value)
        parts.append(f"{ATTACK_NAMES[name]}-trained {a.pct()}")
    return f"{why}; FGSM accuracy, " + ", ".join(parts) + f" vs fast-with-predicted-class-trained {p.pct()}", \
        combine(verdicts), min(gaps)


def _random_noise_no_help(acc):
    """App. A: random noise instead of adversarial examples does not give robustness: the random-noise-trained
    models stay below the step l.l.-trained one on FGSM examples (Table 5)."""
    missing = [name for name in ("rand_sign", "rand_normal") if not _methods_model(acc, name + " ").any()]
    if missing:
        return _not_measured(f"this experiment has no {' or '.join(missing)}-trained model among paper002.methods "
                             "(digits and digits_full have both)")
    e, why = decision_eps(acc, _baseline(acc), ("fgsm",))
    if e is None:
        return _not_measured(why)
    ref = _acc(acc, has_role(acc, "reference"), "fgsm", e)
    verdicts, parts, gaps = [], [], []
    for name in ("rand_sign", "rand_normal"):
        mask = _methods_model(acc, name + " ")
        a = _acc(acc, mask, "fgsm", e)
        verdicts.append(compare(a, ref, "<"))
        gaps.append(ref.value - a.value)
        parts.append(f"{ATTACK_NAMES[name]}-trained {a.pct()}")
    return f"{why}; FGSM accuracy, " + ", ".join(parts) + f" vs step l.l.-trained {ref.pct()}", combine(verdicts), \
        min(gaps)


def _deeper_more_robust(acc):
    """Table 1: the deeper model benefits more from adversarial training (step l.l. accuracy)."""
    if not has_role(acc, "deeper").any():
        return _not_measured("this experiment has no paper002.deeper runs (digits_full has them)")
    e, why = decision_eps(acc, _baseline(acc) | has_role(acc, "deeper_baseline"), ("step_ll",))
    if e is None:
        return _not_measured(why)
    d, r = _acc(acc, has_role(acc, "deeper"), "step_ll", e), _acc(acc, has_role(acc, "reference"), "step_ll", e)
    return f"{why}; step l.l. accuracy, deeper step l.l.-trained {d.pct()} vs reference {r.pct()}", \
        compare(d, r, ">"), d.value - r.value


def _activations_lose(acc):
    """Table 7: tanh and ReluDecay β = 0.1 lose step l.l. accuracy against relu (10-20 points in the paper)."""
    act = has_role(acc, "activations")
    if not act.any():
        return _not_measured("this experiment has no paper002.activations runs (digits_full has them)")
    e, why = decision_eps(acc, _baseline(acc), ("step_ll",))
    if e is None:
        return _not_measured(why)
    ref = _acc(acc, has_role(acc, "reference"), "step_ll", e)
    verdicts, parts, gaps = [], [], []
    for label in ("tanh", "relu_decay(0.1)"):
        mask = act & acc["model"].astype(str).str.endswith(" " + label)
        if not mask.any():
            raise KeyError(f"no {label} model among paper002.activations")
        a = _acc(acc, mask, "step_ll", e)
        verdicts.append(compare(a, ref, "<"))
        gaps.append(ref.value - a.value)
        parts.append(f"{label} {a.pct()}")
    return f"{why}; step l.l. accuracy, " + ", ".join(parts) + f" vs relu {ref.pct()}", combine(verdicts), min(gaps)


_T = ("p002_accuracy",)
_RULE_BASE = RULE.format(who="the baseline (no adversarial training)", what="{what}")
CLAIMS = [
    Claim("p002_one_step_training_close_to_clean", "Sec. 4.1, Table 1",
          "One-step (step l.l.) adversarial training brings step l.l. accuracy close to clean accuracy",
          "ε 16: 73.9 % vs 77.6 % clean (ratio 0.95)",
          "at ε*, step l.l.-trained model's step l.l. accuracy >= 0.9 x its clean accuracy (Wilson interval); "
          + _RULE_BASE.format(what="step l.l."), _T, _one_step_close_to_clean, paper="002"),
    Claim("p002_training_raises_one_step_accuracy", "Sec. 4.1, Table 1",
          "Adversarial training raises step l.l. accuracy far above the baseline's",
          "ε 16: 29.5 % -> 73.9 %", "at ε*, step l.l.-trained > baseline (disjoint intervals); "
          + _RULE_BASE.format(what="step l.l."), _T, _training_raises_one_step, paper="002"),
    Claim("p002_deeper_model_more_robust", "Sec. 4.1, Table 1",
          "The deeper model benefits more from adversarial training",
          "step l.l. accuracy at ε 16: deeper 74.4 % vs 73.9 %",
          "at ε*, the deeper step l.l.-trained model's step l.l. accuracy > the reference's (disjoint intervals); "
          + RULE.format(who="each clean-trained model (baseline, deeper baseline)", what="step l.l.")
          + "; not measured without paper002.deeper", _T, _deeper_more_robust, paper="002"),
    Claim("p002_iterative_attacks_stay_effective", "Sec. 4.1, Table 2",
          "Training on one-step adversarial examples does not confer robustness to iterative ones",
          "ε 16: iter l.l. 1.5 %, basic iter. 23.2 % vs 77.4 % clean",
          "at ε*, the step l.l.-trained model's iter l.l. and basic iter. accuracy < 0.5 x its clean accuracy; "
          + _RULE_BASE.format(what="iter l.l. / basic iter."), _T, _iterative_stay_effective, paper="002"),
    Claim("p002_label_leaking_above_clean", "Sec. 4.2, Table 3",
          "Label leaking: the FGSM-trained model is more accurate on FGSM examples than on clean ones",
          "ε 16: 87.0 % vs 76.6 % clean", "at ε*, FGSM accuracy > clean accuracy (disjoint intervals); "
          + _RULE_BASE.format(what="FGSM"), _T, _leak_above_clean, paper="002"),
    Claim("p002_label_leaking_vs_step_ll", "Sec. 4.2, Tables 3, 5",
          "On FGSM examples the FGSM-trained model beats the step l.l.-trained one",
          "ε 16: FGSM-trained 83.2 % vs step l.l.-trained 72.2 % (Table 5)",
          "at ε*, higher (disjoint intervals); " + _RULE_BASE.format(what="FGSM"), _T, _leak_vs_step_ll, paper="002"),
    Claim("p002_labels_leaked", "Sec. 4.2", "The FGSM-trained model leaks labels",
          "79 of 10,000 (MNIST, ε 0.3)",
          "at ε*, leaked-label rate of the FGSM-trained model > 0 (Wilson interval); "
          + _RULE_BASE.format(what="FGSM / fast with predicted class"),
          ("p002_label_leaking", "p002_accuracy"), _labels_leaked, paper="002"),
    Claim("p002_transfer_order", "Sec. 4.4, Table 4",
          "Transfer rate: FGSM > basic iterative > iter l.l. (inverse to the attacks' strength)",
          "ε 16, mean off-diagonal top-1: 54 % > 39 % > 12 %",
          "pooled off-diagonal rates at ε*, disjoint intervals; " + RULE.format(
              who="every transfer model (white-box)", what="FGSM / basic iter. / iter l.l."),
          ("p002_transfer",), _transfer_order, paper="002"),
    Claim("p002_transfer_rises_with_eps", "Sec. 4.4, Fig. 2", "Transfer rate rises with ε",
          "Fig. 2: increasing for every method",
          "pooled off-diagonal rate at ε* > at the smallest grid ε, every attack (disjoint intervals); "
          + RULE.format(who="every transfer model (white-box)", what="FGSM / basic iter. / iter l.l.")
          + " or ε* is the smallest ε", ("p002_transfer",), _transfer_rises, paper="002"),
    Claim("p002_capacity_ratio_rises", "Sec. 4.3, Fig. 1",
          "With adversarial training the adversarial/clean accuracy ratio rises with capacity",
          "step l.l. ratio approaches 1 at ρ = 2",
          "at ε*, step l.l. ratio at the largest ρ > smallest ρ (bootstrap intervals); "
          + RULE.format(who="the clean-trained model of every width", what="step l.l."),
          ("p002_capacity", "p002_accuracy"), _capacity_ratio, paper="002"),
    Claim("p002_more_adversarial_examples_more_robust", "App. E, Table 8",
          "More adversarial examples per mini-batch (k) give higher adversarial accuracy",
          "ε 16: k=4 65.8 % < k=16 75.4 %",
          "at ε*, step l.l. accuracy with k = m/2 > with the smallest k (disjoint intervals); "
          + _RULE_BASE.format(what="step l.l."), _T, _k_raises, paper="002"),
    Claim("p002_step_methods_best_for_training", "App. A, Table 5",
          "Step l.l. and step rnd. are better training adversaries than FGSM with the predicted class",
          "FGSM accuracy at ε 16: 72.2 / 72.5 % vs 40.0 %",
          "at ε*, FGSM accuracy of the step l.l.- and step rnd.-trained models each > fast-with-predicted-class-"
          "trained (disjoint intervals); " + _RULE_BASE.format(what="FGSM"), _T, _step_ll_rnd_best, paper="002"),
    Claim("p002_tanh_relu_decay_lose_robustness", "App. D, Table 7",
          "With step l.l. training, tanh and ReluDecay (β = 0.1) lose step l.l. accuracy against relu",
          "step l.l. accuracy at ε 16: tanh 61.9 %, ReluDecay 0.1 64.8 % vs relu 74.5 %",
          "at ε*, each < the relu reference (disjoint intervals); " + _RULE_BASE.format(what="step l.l.")
          + "; not measured without paper002.activations", _T, _activations_lose, paper="002"),
    Claim("p002_random_noise_no_robustness", "App. A, Table 5",
          "Training on random noise instead of adversarial examples does not give robustness",
          "FGSM accuracy at ε 16: sign of random 32.7 %, random normal 31.8 % vs step l.l. 72.2 %",
          "at ε*, FGSM accuracy of the random-sign- and random-normal-trained models each < step l.l.-trained "
          "(disjoint intervals); " + _RULE_BASE.format(what="FGSM"), _T, _random_noise_no_help, paper="002"),
]
