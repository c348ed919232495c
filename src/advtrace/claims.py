"""The claims scorecard: each quantitative statement of paper 000 next to what this run measured.

A claim is a small function of the experiment's aggregated tables. It returns the measured
value (a number, or a short text for compound values) and whether the paper's direction or
threshold holds on this run. Claims whose tables this experiment does not produce are listed
as ``not measured`` rather than silently dropped. The scorecard is written as the ``claims``
Parquet table and as ``results/{exp}/claims.md``.

Thresholds are the paper's where it states one (e.g. "≥ 80 % from epoch 3 on", "> 90 % at every
epoch"); for statements that only give a direction ("sharedness is drastically reduced") the
criterion is the direction. Absolute CIFAR-10 numbers (94.1 % clean accuracy, …) are quoted as
the paper's value; the verdict checks the relation the paper draws from them, since a small
digits model cannot match CIFAR-10 numbers and need not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .tables import coerce


@dataclass
class Claim:
    id: str
    section: str
    statement: str
    paper_value: str
    criterion: str
    tables: tuple[str, ...]
    measure: Callable[..., tuple[float | str, bool | None]]


def _lc(df: pd.DataFrame, split: str, attack: str) -> pd.Series:
    d = df[(df["split"] == split) & (df["attack"] == attack)].sort_values("epoch")
    return d.set_index("epoch")["accuracy"]


def _bi_before(lc):
    v = _lc(lc, "test", "BI").iloc[0]
    return f"{100 * v:.1f} %", bool(v <= 0.20)


def _bi_raised(lc):
    bi = _lc(lc, "test", "BI")
    ratio = bi.iloc[-1] / max(bi.iloc[0], 1e-9)
    return f"{100 * bi.iloc[0]:.1f} % -> {100 * bi.iloc[-1]:.1f} % ({ratio:.1f}x)", bool(bi.iloc[-1] >= 3 * bi.iloc[0])


def _clean_kept(lc):
    c = _lc(lc, "test", "clean")
    return f"{100 * c.iloc[0]:.1f} % -> {100 * c.iloc[-1]:.1f} %", bool(c.iloc[-1] >= c.iloc[0] - 0.10)


def _train_overfit(lc):
    tr, te = _lc(lc, "train", "BI").iloc[-1], _lc(lc, "test", "BI").iloc[-1]
    return f"train {100 * tr:.1f} % vs test {100 * te:.1f} %", bool(tr > te)


def _fgsm_vs_bi(lc):
    f, b = _lc(lc, "test", "FGSM").iloc[-1], _lc(lc, "test", "BI").iloc[-1]
    return f"FGSM {100 * f:.1f} % vs BI {100 * b:.1f} %", bool(f >= b)


CLAIMS: list[Claim] = [
    Claim("pretrained_bi_accuracy", "Sec. 3", "Before adversarial training, accuracy on BI adversarial test examples is tiny",
          "0.5 %", "BI test accuracy at epoch 0 <= 20 %", ("learning_curve",), _bi_before),
    Claim("adv_training_raises_bi_accuracy", "Sec. 3, App. A", "Adversarial training raises BI test accuracy",
          "0.5 % -> 62 %", "last-epoch BI test accuracy >= 3x epoch 0", ("learning_curve",), _bi_raised),
    Claim("clean_accuracy_kept", "Sec. 3, App. A", "Clean test accuracy stays high under adversarial training",
          "94.1 % -> ~90 %", "last-epoch clean test accuracy >= epoch-0 value - 10 points", ("learning_curve",), _clean_kept),
    Claim("train_bi_exceeds_test", "Sec. 3, App. A", "Adversarial accuracy on training data exceeds test (overfitting to training perturbations)",
          "97.7 % train vs 62 % test", "last-epoch BI accuracy train > test", ("learning_curve",), _train_overfit),
    Claim("fgsm_weaker_than_bi", "App. A", "After adversarial training FGSM is a weaker attack than BI",
          "68 % (FGSM) vs 62 % (BI)", "last-epoch FGSM test accuracy >= BI test accuracy", ("learning_curve",), _fgsm_vs_bi),
]


# --- Sec. 3.3, App. F: destruction rates (destruction table, Figs. 5, 14, 15) ---------------------
_IDENTITY = {"brightness": 0.0, "contrast": 1.0, "blur": 0.0, "noise": 0.0}


def _pooled(d: pd.DataFrame, attack: str, transform: str, epoch: int, lo: float = -np.inf, hi: float = np.inf) -> float:
    """Destruction rate pooled over the non-identity strengths in (lo, hi): Σ destroyed / Σ effective."""
    m = ((d["attack"] == attack) & (d["transform"] == transform) & (d["epoch"] == epoch)
         & (d["strength"] != _IDENTITY[transform]) & (d["strength"] > lo) & (d["strength"] < hi))
    n = d.loc[m, "n_effective"].sum()
    return float(d.loc[m, "n_destroyed"].sum() / n) if n else float("nan")


def _first_last(d: pd.DataFrame) -> tuple[int, int]:
    epochs = sorted(d["epoch"].unique())
    if len(epochs) < 2 or epochs[0] != 0:
        raise ValueError(f"needs epoch 0 and a later epoch in transforms.epochs; have {[int(e) for e in epochs]}")
    return int(epochs[0]), int(epochs[-1])


def _destruction_raised(d):
    e0, e1 = _first_last(d)
    parts, ok = [], []
    for attack in ("BI", "FGSM", "DeepFool"):
        vals = []
        for t in ("brightness", "contrast", "blur"):
            a, b = _pooled(d, attack, t, e0), _pooled(d, attack, t, e1)
            ok.append(b > a)
            vals.append(f"{t} {100 * a:.0f}->{100 * b:.0f}")
        parts.append(f"{attack}: " + ", ".join(vals))
    return f"% at epoch {e0} -> {e1}; " + "; ".join(parts) + f" ({sum(ok)} of {len(ok)} raised)", all(ok)


def _noise_weak(d):
    e0, e1 = _first_last(d)
    a, b = _pooled(d, "BI", "noise", e0, hi=5), _pooled(d, "BI", "noise", e1, hi=5)
    return f"BI, 0 < σ < 5: epoch {e0} {100 * a:.1f} % vs epoch {e1} {100 * b:.1f} %", bool(a < b)


def _noise_strong(d):
    e0, e1 = _first_last(d)
    a, b = _pooled(d, "BI", "noise", e0, lo=7), _pooled(d, "BI", "noise", e1, lo=7)
    return f"BI, σ > 7: epoch {e0} {100 * a:.1f} % vs epoch {e1} {100 * b:.1f} %", bool(a > b)


def _noise_other_attacks(d):
    e0, e1 = _first_last(d)
    vals = {att: (_pooled(d, att, "noise", e0), _pooled(d, att, "noise", e1)) for att in ("FGSM", "DeepFool")}
    text = "; ".join(f"{att}: epoch {e0} {100 * a:.0f} % vs epoch {e1} {100 * b:.0f} %" for att, (a, b) in vals.items())
    return text, all(b < a for a, b in vals.values())


CLAIMS += [
    Claim("destruction_raised_brightness_contrast_blur", "Sec. 3.3, App. F",
          "Adversarial training increases the destruction rate under brightness, contrast and blur (BI, FGSM, DeepFool)",
          "Figs. 5, 14, 15 (curves of later epochs lie higher)",
          "rate pooled over the non-identity strengths, last analysed epoch > epoch 0, for all 9 (attack, transform)",
          ("destruction",), _destruction_raised),
    Claim("destruction_weak_noise_lower_at_epoch0", "Sec. 3.3",
          "Without adversarial training the destruction rate under weak Gaussian noise is smaller",
          "Fig. 5, σ < 5", "BI, pooled over 0 < σ < 5 ([0,255] units): epoch 0 < last analysed epoch",
          ("destruction",), _noise_weak),
    Claim("destruction_strong_noise_higher_at_epoch0", "Sec. 3.3",
          "Without adversarial training the destruction rate under strong Gaussian noise is considerably higher",
          "Fig. 5, σ > 7", "BI, pooled over σ > 7 ([0,255] units): epoch 0 > last analysed epoch",
          ("destruction",), _noise_strong),
    Claim("destruction_noise_lower_after_training_other_attacks", "App. F",
          "For FGSM and DeepFool, adversarial training lowers the destruction rate under Gaussian noise",
          "Figs. 14, 15", "pooled over all σ > 0: last analysed epoch < epoch 0 for FGSM and DeepFool",
          ("destruction",), _noise_other_attacks),
]


def evaluate_claims(tables: dict[str, pd.DataFrame], experiment: str) -> pd.DataFrame:
    """Evaluate every claim whose tables are present; the others are marked not measured."""
    rows = []
    for c in CLAIMS:
        if all(t in tables for t in c.tables):
            try:
                measured, holds = c.measure(*(tables[t] for t in c.tables))
                status = "holds" if holds else ("does not hold" if holds is not None else "measured")
            except (IndexError, KeyError, ValueError, ZeroDivisionError) as err:
                measured, holds, status = f"error: {err}", None, "not measured"
        else:
            missing = [t for t in c.tables if t not in tables]
            measured, holds, status = f"tables not produced: {', '.join(missing)}", None, "not measured"
        if isinstance(measured, (float, np.floating)):
            measured = f"{measured:.3g}"
        rows.append({"experiment": experiment, "claim": c.id, "section": c.section, "statement": c.statement,
                     "paper_value": c.paper_value, "criterion": c.criterion, "measured": str(measured),
                     "status": status})
    return coerce(pd.DataFrame(rows), "claims")


def claims_markdown(df: pd.DataFrame) -> str:
    exp = df["experiment"].iloc[0] if len(df) else "?"
    n_hold = int((df["status"] == "holds").sum())
    n_eval = int(df["status"].isin(["holds", "does not hold"]).sum())
    lines = [f"# Claims scorecard: {exp}", "",
             f"{n_hold} of {n_eval} evaluated claims of paper 000 hold on this run "
             f"({len(df) - n_eval} not measured).", "",
             "| claim | paper | statement | paper value | criterion | measured | verdict |",
             "|---|---|---|---|---|---|---|"]
    mark = {"holds": "✅ holds", "does not hold": "❌ does not hold", "not measured": "– not measured", "measured": "measured"}
    for r in df.itertuples():
        lines.append(f"| `{r.claim}` | {r.section} | {r.statement} | {r.paper_value} | {r.criterion} | "
                     f"{r.measured} | {mark.get(r.status, r.status)} |")
    return "\n".join(lines) + "\n"
