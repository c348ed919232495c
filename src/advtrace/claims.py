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

import html
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .stability_plan import SHARED_PCT
from .stats import (FAILS, HOLDS, INCONCLUSIVE, VERDICTS, Z95, Estimate, against, combine, compare,
                    proportion)
from .tables import coerce


@dataclass
class Claim:
    id: str
    section: str
    statement: str
    paper_value: str
    criterion: str
    tables: tuple[str, ...]
    # returns (measured, verdict) or (measured, verdict, value): verdict True/False (holds / does
    # not hold), None (measured only), or one of advtrace.stats.VERDICTS ("inconclusive" when two
    # intervals overlap); value (optional): the claim's headline number, averaged over seeds by
    # :func:`across_seeds`
    measure: Callable[..., tuple[float | str, bool | str | None]]
    paper: str = "000"  # the paper the statement is from (claims `paper` column)


def _rate(value: float, n: int) -> Estimate:
    """A proportion given as a rate and its n, with its Wilson interval (k = rate·n)."""
    n = int(n)
    return proportion(min(max(float(value) * n, 0.0), n), n) if n else Estimate(np.nan, np.nan, np.nan, 0)


def _lc(df: pd.DataFrame, split: str, attack: str) -> pd.Series:
    """Per-epoch :class:`Estimate` of one learning-curve line of the adversarial phase (t = 0 the
    pretrained model; rows of the vanilla epochs, phase pretrain, are the figure's only)."""
    d = df[(df["phase"] == "adversarial") & (df["split"] == split) & (df["attack"] == attack)].sort_values("epoch")
    return pd.Series([_rate(a, n) for a, n in zip(d["accuracy"], d["n"])], index=d["epoch"].to_numpy())


def _scaled(e: Estimate, factor: float, shift: float = 0.0) -> Estimate:
    return Estimate(e.value * factor + shift, e.low * factor + shift, e.high * factor + shift, e.n)


def _bi_before(lc):
    v = _lc(lc, "test", "BI").iloc[0]
    return f"{v.pct()}", against(v, 0.20, "<="), v.value


def _bi_raised(lc):
    bi = _lc(lc, "test", "BI")
    first, last = bi.iloc[0], bi.iloc[-1]
    ratio = last.value / max(first.value, 1e-9)
    return (f"{first.pct()} -> {last.pct()} ({ratio:.1f}x)", compare(last, _scaled(first, 3.0), ">"), ratio)


def _clean_kept(lc):
    c = _lc(lc, "test", "clean")
    first, last = c.iloc[0], c.iloc[-1]
    # last >= first - 10 points: compare last with the interval of (first - 10 points)
    verdict = compare(last, _scaled(first, 1.0, -0.10), ">")
    return f"{first.pct()} -> {last.pct()}", verdict, last.value - first.value


def _train_overfit(lc):
    tr, te = _lc(lc, "train", "BI").iloc[-1], _lc(lc, "test", "BI").iloc[-1]
    return f"train {tr.pct()} vs test {te.pct()}", compare(tr, te, ">"), tr.value - te.value


def _fgsm_vs_bi(lc):
    f, b = _lc(lc, "test", "FGSM").iloc[-1], _lc(lc, "test", "BI").iloc[-1]
    return f"FGSM {f.pct()} vs BI {b.pct()}", compare(f, b, ">"), f.value - b.value


CLAIMS: list[Claim] = [
    Claim("pretrained_bi_accuracy", "Sec. 3", "Before adversarial training, accuracy on BI adversarial test examples is tiny",
          "0.5 %", "BI test accuracy at epoch 0 <= 20 % (whole 95 % interval)", ("learning_curve",), _bi_before),
    Claim("adv_training_raises_bi_accuracy", "Sec. 3, App. A", "Adversarial training raises BI test accuracy",
          "0.5 % -> 62 %", "last-epoch BI test accuracy >= 3x epoch 0 (intervals disjoint)", ("learning_curve",), _bi_raised),
    Claim("clean_accuracy_kept", "Sec. 3, App. A", "Clean test accuracy stays high under adversarial training",
          "94.1 % -> ~90 %", "last-epoch clean test accuracy > epoch-0 value - 10 points (intervals disjoint)",
          ("learning_curve",), _clean_kept),
    Claim("train_bi_exceeds_test", "Sec. 3, App. A", "Adversarial accuracy on training data exceeds test (overfitting to training perturbations)",
          "97.7 % train vs 62 % test", "last-epoch BI accuracy train > test (intervals disjoint)", ("learning_curve",), _train_overfit),
    Claim("fgsm_weaker_than_bi", "App. A", "After adversarial training FGSM is a weaker attack than BI",
          "68 % (FGSM) vs 62 % (BI)", "last-epoch FGSM test accuracy > BI test accuracy (intervals disjoint)",
          ("learning_curve",), _fgsm_vs_bi),
]


# --- universal perturbations (Sec. 3.2, App. D/E; table universal_accuracy) ---------------------

def _universal(ua: pd.DataFrame, split: str = "train") -> pd.DataFrame:
    return ua[(ua["perturbation"] == "universal") & (ua["source_split"] == split)]


def _respective_universal(ua: pd.DataFrame, split: str = "train") -> pd.Series:
    u = _universal(ua, split)
    u = u[u["source_epoch"] == u["epoch"]].sort_values("epoch")
    return pd.Series([_rate(a, n) for a, n in zip(u["accuracy"], u["n"])], index=u["epoch"].to_numpy())


def _universal_epoch0(ua):
    acc = _respective_universal(ua).loc[0]
    r = ua[(ua["perturbation"] == "random_sign") & (ua["epoch"] == 0)].iloc[0]
    rnd = _rate(r["accuracy"], r["n"])
    verdict = combine([against(acc, 0.5, "<="), compare(acc, rnd, "<")])
    return f"{acc.pct()} (random ±ε sign: {rnd.pct()})", verdict, acc.value


def _universal_removed(ua):
    u = _universal(ua)
    late = u[u["epoch"] >= 3]
    if late.empty:
        raise ValueError("no analysed epoch >= 3")
    resp = _respective_universal(ua)
    worst = late.loc[late["accuracy"].idxmin()]
    w = _rate(worst["accuracy"], worst["n"])
    verdict = combine(against(_rate(a, n), 0.80, ">=") for a, n in zip(late["accuracy"], late["n"]))
    return (f"epoch 0: {resp.iloc[0].pct()}, last epoch {resp.index[-1]}: {resp.iloc[-1].pct()}; "
            f"min from epoch 3 on: {w.pct()} (epoch {worst['epoch']}, source {worst['source_epoch']})",
            verdict, w.value)


def _universal_test_generated(ua):
    tr, te = _respective_universal(ua, "train"), _respective_universal(ua, "test")
    common = [e for e in tr.index if e in te.index]
    k_tr = sum(tr[e].value * tr[e].n for e in common)
    k_te = sum(te[e].value * te[e].n for e in common)
    n = sum(tr[e].n for e in common)
    a, b = proportion(k_te, n), proportion(k_tr, n)
    diffs = [te[e].value - tr[e].value for e in common]
    # test-generated >= train-generated - 5 points
    verdict = compare(a, _scaled(b, 1.0, -0.05), ">")
    return (f"pooled over epochs: test-generated {a.pct()} vs train-generated {b.pct()}; "
            f"largest per-epoch gap {100 * max(map(abs, diffs)):.1f} points", verdict, a.value - b.value)


CLAIMS += [
    Claim("universal_fools_pretrained", "Sec. 3.2, Fig. 3",
          "Without adversarial training a universal perturbation fools the classifier on most inputs",
          "12 % accuracy at epoch 0", "epoch-0 accuracy under its universal perturbation <= 50 % and below random ±ε noise "
          "(95 % intervals)", ("universal_accuracy",), _universal_epoch0),
    Claim("universal_removed_by_adv_training", "Sec. 3.2, Fig. 3",
          "From epoch 3 of adversarial training on, >= 80 % of inputs are classified correctly under universal "
          "perturbations of the respective and of fixed source epochs",
          "12 % -> >= 80 % from epoch 3", "accuracy >= 80 % for every analysed epoch >= 3 and every train-generated source "
          "(an interval containing 80 % is inconclusive)", ("universal_accuracy",), _universal_removed),
    Claim("universal_test_generated_no_stronger", "App. E, Fig. 12",
          "Universal perturbations generated on test data are no more effective than those generated on training data",
          "both lines nearly identical", "pooled accuracy test-generated > train-generated − 5 points (intervals disjoint)",
          ("universal_accuracy",), _universal_test_generated),
]


# --- stability stage (paper 000 Sec. 3.1, App. A-C; tables of advtrace.stability) ---
def _sharedness_means(ss: pd.DataFrame) -> pd.Series:
    """Per-epoch mean sharedness (% of all the other inputs) with its bootstrap interval, as fractions."""
    d = ss.sort_values("epoch")
    return pd.Series([Estimate(m / 100, lo / 100, hi / 100, int(n)) for m, lo, hi, n in
                      zip(d["mean_pct"], d["mean_ci_low"], d["mean_ci_high"], d["n_perturbations"])],
                     index=d["epoch"].to_numpy())


def _fmt_means(m: pd.Series) -> str:
    return ", ".join(f"e{e}: {v.pct(2)}" for e, v in m.items())


def _shared_at_0(ss):
    m = _sharedness_means(ss)
    if int(m.index[0]) != 0:
        raise ValueError("no sharedness at epoch 0")
    r = ss.sort_values("epoch").iloc[0]
    return f"mean {m.iloc[0].pct(2)}, min {r['min_pct']:.2f} %", against(m.iloc[0], SHARED_PCT / 100, ">="), m.iloc[0].value


def _sharedness_drops_first_epoch(ss):
    m = _sharedness_means(ss)
    return _fmt_means(m.iloc[:2]), compare(m.iloc[1], m.iloc[0], "<"), m.iloc[1].value - m.iloc[0].value


def _sharedness_reduced(ss):
    m = _sharedness_means(ss)
    return _fmt_means(m), compare(m.iloc[-1], m.iloc[0], "<"), m.iloc[-1].value - m.iloc[0].value


def _r_interval(r: float, n: int) -> tuple[float, float]:
    """95 % interval of a Pearson r (Fisher z)."""
    if n <= 3 or not np.isfinite(r):
        return float("nan"), float("nan")
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(n - 3)
    return float(np.tanh(z - Z95 * se)), float(np.tanh(z + Z95 * se))


def _anticorrelated(corr):
    c = corr.iloc[0]
    r, p, n = c["pearson_r_loglog"], c["pearson_p_loglog"], int(c["n_used"])
    lo, hi = _r_interval(r, n)
    verdict = INCONCLUSIVE if not p < 0.05 else (HOLDS if r < 0 else FAILS)
    return (f"r = {r:.3f} [{lo:.3f}, {hi:.3f}], p = {p:.1e} (n = {n} of {int(c['n_inputs'])})", verdict, float(r))


def _stable_dominates(summary):
    n = len(summary)
    stable = int((summary["maxmin"] < 0.5).sum())
    osc = int(((summary["maxmin"] >= 0.5) & (summary["minmax"] < 0.5)).sum())
    a, b = proportion(stable, n), proportion(osc, n)
    return (f"stable {a.pct()} vs oscillating {b.pct()} (shares of all {n} profile inputs)", compare(a, b, ">"),
            a.value - b.value)


def _no_black_box_advantage(te):
    d = te[(te["split"] == "test") & (te["target_epoch"] > 0)]
    white = d[d["source"] == "respective epoch"].set_index("target_epoch")
    black = d[(d["source"] != "respective epoch") & (d["source_epoch"] != d["target_epoch"])]
    black = black.loc[black.groupby("target_epoch")["error_rate"].idxmax()].set_index("target_epoch")
    verdicts, excess, worse = [], [], []
    for t in black.index.intersection(white.index):
        w, b = _rate(white.loc[t, "error_rate"], white.loc[t, "n"]), _rate(black.loc[t, "error_rate"], black.loc[t, "n"])
        verdicts.append(compare(w, b, ">"))   # white-box error above the strongest black-box source's
        excess.append(b.value - w.value)
        if compare(b, w, ">") == HOLDS:
            worse.append(int(t))
    if not verdicts:
        raise ValueError("no target epoch >= 1 with white- and black-box rows")
    v = FAILS if worse else (HOLDS if all(x == HOLDS for x in verdicts) else INCONCLUSIVE)
    return (f"max black-box − white-box error: {100 * max(excess):+.1f} points; black-box significantly higher at "
            f"{len(worse)} of {len(verdicts)} target epochs, white-box significantly higher at "
            f"{sum(x == HOLDS for x in verdicts)}", v, max(excess))


CLAIMS += [
    Claim("sharedness_stability_anticorrelated", "Sec. 3.1, Fig. 2",
          "Sharedness (J_current,train) and stability (J_future,test) of epoch-0 perturbations are anti-correlated",
          "r = -0.293 (log-log), p < 1e-18", "Pearson r (log-log) < 0 with p < 0.05 (p >= 0.05: inconclusive)",
          ("stability_correlation",), _anticorrelated),
    Claim("stable_perturbations_dominate", "Sec. 3.1, App. B, Fig. 10",
          "Stable perturbations are more frequent than oscillation between perturbations",
          "most points near the diagonal, lower left dominant", "share(MaxMin < 0.5) > share(MaxMin >= 0.5 > MinMax) "
          "(Wilson intervals disjoint)", ("stability_summary",), _stable_dominates),
    Claim("no_black_box_advantage", "Sec. 3, App. A, Fig. 9",
          "Black-box attacks are not more successful than white-box attacks on adversarially trained models",
          "not observed on train or test data", "at every target epoch >= 1 (test) the white-box error rate lies above the "
          "strongest black-box source's (intervals disjoint); a black-box rate significantly above it does not hold",
          ("transfer_error",), _no_black_box_advantage),
    Claim("perturbations_shared_before_adv_training", "App. C, Fig. 11",
          "Perturbations of the pretrained model are shared (effective on other inputs)",
          "mean 6.3 %, min 3.3 %", "epoch-0 mean sharedness (% of all other inputs) >= 2 % (bootstrap interval)",
          ("sharedness_summary",), _shared_at_0),
    Claim("sharedness_drops_after_first_epoch", "App. C, Fig. 11",
          "Already after one epoch of adversarial training sharedness is drastically reduced",
          "6.3 % -> 1.1 %", "mean sharedness at the 2nd sharedness epoch < epoch 0 (bootstrap intervals disjoint)",
          ("sharedness_summary",), _sharedness_drops_first_epoch),
    Claim("sharedness_reduced_by_adv_training", "App. C, Fig. 11",
          "Adversarial training reduces sharedness considerably",
          "6.3 % -> 1.1 % -> 0.8 % -> 0.5 % (epochs 0, 1, 15, 251)",
          "mean sharedness at the last sharedness epoch < epoch 0 (bootstrap intervals disjoint)",
          ("sharedness_summary",), _sharedness_reduced),
]


# --- detectability (paper 000 Sec. 3.4, App. G; tables detectability, detector_max_summary) ---

def _det_line(d: pd.DataFrame) -> pd.Series:
    d = d.sort_values("test_epoch")
    return pd.Series([_rate(a, n) for a, n in zip(d["accuracy"], d["n"])], index=d["test_epoch"].to_numpy())


def _respective(det: pd.DataFrame, attack: str) -> pd.Series:
    d = det[(det["attack"] == attack) & (det["train_epoch"] == det["test_epoch"])]
    if d.empty:
        raise ValueError(f"no {attack} detectors")
    return _det_line(d)


def _fixed(det: pd.DataFrame, attack: str, train_epoch: int) -> pd.Series:
    return _det_line(det[(det["attack"] == attack) & (det["train_epoch"] == train_epoch)])


def _lowest(line: pd.Series) -> Estimate:
    return min(line, key=lambda e: e.value)


def _detect_every_epoch(det):
    r = _respective(det, "BI")
    lo = _lowest(r)
    return (f"min {lo.pct()}, max {100 * max(e.value for e in r):.1f} % (epochs {', '.join(map(str, r.index))})",
            combine(against(e, 0.90, ">") for e in r), lo.value)


def _detectors_transfer(det):
    last = int(det.loc[det["attack"] == "BI", "train_epoch"].max())
    parts, verdicts, lows = [], [], []
    for t in sorted({1, last}):
        line = _fixed(det, "BI", t)
        if len(line) <= 1:
            raise ValueError(f"BI detector of epoch {t} was not evaluated on other epochs")
        parts.append(f"epoch {t}: min {_lowest(line).pct()}")
        verdicts += [against(e, 0.90, ">") for e in line]
        lows.append(_lowest(line).value)
    return "; ".join(parts), combine(verdicts), min(lows)


def _epoch0_detector_fails_later(det):
    line = _fixed(det, "BI", 0)
    later = line[line.index >= 1]
    resp = _respective(det, "BI")
    resp = resp[resp.index >= 1]
    if later.empty or len(line) <= 1:
        raise ValueError("BI detector of epoch 0 was not evaluated on later epochs")
    a, b = _lowest(later), _lowest(resp)
    return (f"epoch-0 detector on epochs >= 1: min {a.pct()} (respective detectors: min {b.pct()})",
            combine([against(a, 0.90, "<"), compare(a, b, "<")]), a.value)


def _pooled_line(line: pd.Series) -> Estimate:
    return proportion(sum(e.value * e.n for e in line), sum(e.n for e in line))


def _fgsm_bi_deepfool_order(det):
    m = {a: _pooled_line(_respective(det, a)) for a in ("FGSM", "BI", "DeepFool")}
    return (f"respective detectability pooled over epochs: FGSM {m['FGSM'].pct()}, BI {m['BI'].pct()}, "
            f"DeepFool {m['DeepFool'].pct()}", combine([compare(m["FGSM"], m["BI"], ">"), compare(m["BI"], m["DeepFool"], ">")]),
            m["BI"].value - m["DeepFool"].value)


def _detector_max_low(summary):
    s = summary.sort_values("epoch").set_index("epoch")
    later = s[s.index >= 1]
    if later.empty:
        raise ValueError("no detector-maximising perturbation from epoch 1 on")
    # a mean of probabilities in [0, 1] over n inputs has variance <= p(1-p)/n: the Wilson
    # interval of (mean·n of n) is a conservative interval for it
    ests = {e: _rate(r["mean_p_adv"], r["n"]) for e, r in later.iterrows()}
    worst = max(ests.values(), key=lambda e: e.value)
    text = (f"max {worst.pct()} from epoch 1 on (epoch 0: "
            f"{'%.1f %%' % (100 * s.loc[0, 'mean_p_adv']) if 0 in s.index else 'n/a'})")
    if "mean_p_adv_random" in summary:
        text += f"; random ±ε sign perturbation: max {100 * later['mean_p_adv_random'].max():.1f} % from epoch 1 on"
    return text, combine(against(e, 0.12, "<=") for e in ests.values()), worst.value


CLAIMS += [
    Claim("bi_detectable_every_epoch", "Sec. 3.4, Fig. 6", "BI perturbations stay detectable throughout adversarial training (detector of the respective epoch)",
          "> 90 % at every epoch", "respective-epoch BI detectability > 90 % at every epoch (95 % intervals)",
          ("detectability",), _detect_every_epoch),
    Claim("bi_detectors_transfer_over_time", "Sec. 3.4, Fig. 6", "Detectors trained at epoch 1 and at the last epoch detect BI examples of every other epoch",
          "> 90 %", "detectability of the epoch-1 and last-epoch detectors > 90 % on every test epoch (95 % intervals)",
          ("detectability",), _detectors_transfer),
    Claim("epoch0_detector_fails_later", "Sec. 3.4, Fig. 6", "A detector trained on the pretrained model (epoch 0) does not reliably detect later epochs' BI examples",
          "not reliable", "epoch-0 detector's min over epochs >= 1 below 90 % and below the respective detectors' min "
          "(95 % intervals)", ("detectability",), _epoch0_detector_fails_later),
    Claim("fgsm_easier_deepfool_harder", "App. G, Fig. 16", "FGSM is easier and DeepFool harder to detect than BI",
          "FGSM > BI > DeepFool", "respective-epoch detectability pooled over epochs FGSM > BI > DeepFool (intervals disjoint)",
          ("detectability",), _fgsm_bi_deepfool_order),
    Claim("detector_max_perturbation_weak", "Sec. 3.4, Fig. 7", "A single perturbation maximising the detector is flagged on few test inputs from epoch 1 on",
          "<= 12 %", "mean p_adv <= 12 % for every epoch >= 1 (conservative Wilson interval of a mean of probabilities)",
          ("detector_max_summary",), _detector_max_low),
]


# --- Sec. 3.3, App. F: destruction rates (destruction table, Figs. 5, 14, 15) ---------------------
_IDENTITY = {"brightness": 0.0, "contrast": 1.0, "blur": 0.0, "noise": 0.0}


def _pooled(d: pd.DataFrame, attack: str, transform: str, epoch: int, lo: float = -np.inf, hi: float = np.inf) -> Estimate:
    """Destruction rate pooled over the non-identity strengths in (lo, hi): Σ destroyed / Σ effective.

    Every strength transforms the same effective inputs, so the strengths are not independent
    samples: the interval is the Wilson interval of that rate over the n effective inputs (not
    over Σ effective, which would count each input once per strength)."""
    m = ((d["attack"] == attack) & (d["transform"] == transform) & (d["epoch"] == epoch)
         & (d["strength"] != _IDENTITY[transform]) & (d["strength"] > lo) & (d["strength"] < hi))
    total = d.loc[m, "n_effective"].sum()
    if not total:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rate = float(d.loc[m, "n_destroyed"].sum() / total)
    return _rate(rate, int(d.loc[m, "n_effective"].max()))


def _first_last(d: pd.DataFrame) -> tuple[int, int]:
    epochs = sorted(d["epoch"].unique())
    if len(epochs) < 2 or epochs[0] != 0:
        raise ValueError(f"needs epoch 0 and a later epoch in destruction.epochs; have {[int(e) for e in epochs]}")
    return int(epochs[0]), int(epochs[-1])


def _destruction_raised(d):
    e0, e1 = _first_last(d)
    parts, verdicts, diffs = [], [], []
    for attack in ("BI", "FGSM", "DeepFool"):
        vals = []
        for t in ("brightness", "contrast", "blur"):
            a, b = _pooled(d, attack, t, e0), _pooled(d, attack, t, e1)
            verdicts.append(compare(b, a, ">"))
            diffs.append(b.value - a.value)
            vals.append(f"{t} {100 * a.value:.0f} [{100 * a.low:.0f}, {100 * a.high:.0f}] (n = {a.n}) -> "
                        f"{100 * b.value:.0f} [{100 * b.low:.0f}, {100 * b.high:.0f}] (n = {b.n})")
        parts.append(f"{attack}: " + ", ".join(vals))
    counts = ", ".join(f"{sum(v == k for v in verdicts)} {k}" for k in VERDICTS)
    return f"% at epoch {e0} -> {e1}; " + "; ".join(parts) + f" ({counts} of {len(verdicts)})", combine(verdicts), \
        float(np.nanmean(diffs))


def _noise_weak(d):
    e0, e1 = _first_last(d)
    a, b = _pooled(d, "BI", "noise", e0, hi=5), _pooled(d, "BI", "noise", e1, hi=5)
    return f"BI, 0 < σ < 5: epoch {e0} {a.pct()} vs epoch {e1} {b.pct()}", compare(a, b, "<"), b.value - a.value


def _noise_strong(d):
    e0, e1 = _first_last(d)
    a, b = _pooled(d, "BI", "noise", e0, lo=7), _pooled(d, "BI", "noise", e1, lo=7)
    return f"BI, σ > 7: epoch {e0} {a.pct()} vs epoch {e1} {b.pct()}", compare(a, b, ">"), a.value - b.value


def _noise_other_attacks(d):
    e0, e1 = _first_last(d)
    vals = {att: (_pooled(d, att, "noise", e0), _pooled(d, att, "noise", e1)) for att in ("FGSM", "DeepFool")}
    text = "; ".join(f"{att}: epoch {e0} {a.pct(0)} vs epoch {e1} {b.pct(0)}" for att, (a, b) in vals.items())
    return text, combine(compare(b, a, "<") for a, b in vals.values()), \
        float(np.nanmean([a.value - b.value for a, b in vals.values()]))


CLAIMS += [
    Claim("destruction_raised_brightness_contrast_blur", "Sec. 3.3, App. F",
          "Adversarial training increases the destruction rate under brightness, contrast and blur (BI, FGSM, DeepFool)",
          "Figs. 5, 14, 15 (curves of later epochs lie higher)",
          "rate pooled over the non-identity strengths, last analysed epoch > epoch 0 (Wilson intervals over the "
          "effective inputs disjoint), for all 9 (attack, transform)",
          ("destruction",), _destruction_raised),
    Claim("destruction_weak_noise_lower_at_epoch0", "Sec. 3.3",
          "Without adversarial training the destruction rate under weak Gaussian noise is smaller",
          "Fig. 5, σ < 5", "BI, pooled over 0 < σ < 5 ([0,255] units): epoch 0 < last analysed epoch (intervals disjoint)",
          ("destruction",), _noise_weak),
    Claim("destruction_strong_noise_higher_at_epoch0", "Sec. 3.3",
          "Without adversarial training the destruction rate under strong Gaussian noise is considerably higher",
          "Fig. 5, σ > 7", "BI, pooled over σ > 7 ([0,255] units): epoch 0 > last analysed epoch (intervals disjoint)",
          ("destruction",), _noise_strong),
    Claim("destruction_noise_lower_after_training_other_attacks", "App. F",
          "For FGSM and DeepFool, adversarial training lowers the destruction rate under Gaussian noise",
          "Figs. 14, 15", "pooled over all σ > 0: last analysed epoch < epoch 0 for FGSM and DeepFool (intervals disjoint)",
          ("destruction",), _noise_other_attacks),
]


def all_claims() -> list[Claim]:
    """Paper 000's claims, then each companion study's (advtrace.stages: ``<module>.claims``)."""
    from . import stages

    out = list(CLAIMS)
    for stage in stages.all_stages():
        part = stages.study_part(stage, "claims")
        if part is not None:
            out += part.CLAIMS
    return out


NOT_MEASURED = "not measured"  # a claim's measure may return it as its verdict (e.g. a model that did not train)


def _status(holds) -> str:
    if isinstance(holds, str):
        if holds == NOT_MEASURED:
            return holds
        if holds not in VERDICTS:
            raise ValueError(f"a claim's verdict is one of {VERDICTS}, not {holds!r}")
        return holds
    if isinstance(holds, (bool, np.bool_)):
        return HOLDS if holds else FAILS
    return "measured"


def evaluate_claims(tables: dict[str, pd.DataFrame], experiment: str,
                    stage_tables: Iterable[str] | None = None) -> pd.DataFrame:
    """Evaluate every claim whose tables are present; the others are marked not measured.

    `stage_tables`: the tables the experiment's active stages produce (advtrace.stages); claims
    reading any other table belong to a stage the experiment does not run and are left out."""
    rows = []
    claims = all_claims()
    if stage_tables is not None:
        claims = [c for c in claims if set(c.tables) <= set(stage_tables)]
    for c in claims:
        if all(t in tables for t in c.tables):
            value = float("nan")
            try:
                out = c.measure(*(tables[t] for t in c.tables))
                measured, holds = out[0], out[1]
                if len(out) > 2 and out[2] is not None:
                    value = float(out[2])
                status = _status(holds)
            except (IndexError, KeyError, ValueError, ZeroDivisionError) as err:
                measured, holds, status = f"error: {err}", None, "not measured"
        else:
            missing = [t for t in c.tables if t not in tables]
            measured, holds, status = f"tables not produced: {', '.join(missing)}", None, "not measured"
            value = float("nan")
        if isinstance(measured, (float, np.floating)):
            measured = f"{measured:.3g}"
        rows.append({"experiment": experiment, "paper": c.paper, "claim": c.id, "section": c.section, "statement": c.statement,
                     "paper_value": c.paper_value, "criterion": c.criterion, "measured": str(measured),
                     "value": value, "status": status})
    return coerce(pd.DataFrame(rows), "claims")


_MARK = {HOLDS: "✅ holds", FAILS: "❌ does not hold", INCONCLUSIVE: "❔ inconclusive",
         "not measured": "– not measured", "measured": "measured"}


def _tally(d: pd.DataFrame) -> str:
    n_eval = int(d["status"].isin(VERDICTS).sum())
    counts = ", ".join(f"{int((d['status'] == v).sum())} {v}" for v in VERDICTS)
    return f"{n_eval} evaluated claims: {counts} ({len(d) - n_eval} not measured or measured only)."


def claims_markdown(df: pd.DataFrame) -> str:
    """The scorecard, one section per paper (000 first)."""
    from .stages import PAPERS

    exp = df["experiment"].iloc[0] if len(df) else "?"
    lines = [f"# Claims scorecard: {exp}", "", _tally(df), ""]
    for paper in sorted(df["paper"].unique()):
        d = df[df["paper"] == paper]
        lines += [f"## Paper {paper}: {PAPERS.get(paper, '')}", "", _tally(d), "",
                  "| claim | section | statement | paper value | criterion | measured | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in d.itertuples():
            lines.append(f"| `{r.claim}` | {r.section} | {r.statement} | {r.paper_value} | {r.criterion} | "
                         f"{r.measured} | {_MARK.get(r.status, r.status)} |")
        lines.append("")
    return "\n".join(lines)


def claims_html(df: pd.DataFrame) -> str:
    """The scorecard as a standalone HTML page (embedded in the Snakemake report)."""
    exp = df["experiment"].iloc[0] if len(df) else "?"
    colour = {HOLDS: "#d4edda", FAILS: "#f8d7da", INCONCLUSIVE: "#fff3cd"}
    rows = "".join(
        f'<tr style="background:{colour.get(r.status, "#eeeeee")}"><td>{html.escape(r.paper)}</td>'
        f"<td><code>{html.escape(r.claim)}</code></td><td>{html.escape(r.section)}</td><td>{html.escape(r.statement)}</td><td>{html.escape(r.paper_value)}</td>"
        f"<td>{html.escape(r.criterion)}</td><td>{html.escape(r.measured)}</td><td>{html.escape(r.status)}</td></tr>"
        for r in df.itertuples()
    )
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Claims: {html.escape(exp)}</title></head>"
            f"<body><h1>Claims scorecard: {html.escape(exp)}</h1><table border='1' cellpadding='4' "
            "style='border-collapse:collapse;font-family:sans-serif;font-size:13px'>"
            "<tr><th>paper</th><th>claim</th><th>section</th><th>statement</th><th>paper value</th><th>criterion</th>"
            f"<th>measured</th><th>verdict</th></tr>{rows}</table></body></html>\n")


# --- several seeds (issue 17): each claim's value and verdict per seed, mean, spread, one verdict ---

def seed_experiment(exp: str, seed: int, base_seed: int) -> str:
    """The experiment name that runs `exp` under `seed` (itself for its own seed; else the seed
    variant ``<exp>_seed<k>`` of :func:`advtrace.config.seed_variant`)."""
    return exp if int(seed) == int(base_seed) else f"{exp}_seed{int(seed)}"


def seeds_verdict(statuses: Iterable[str]) -> str:
    """One verdict over seeds: holds (does not hold) when it holds (does not hold) under every seed
    that measured it, inconclusive otherwise (a verdict that differs between seeds, or is
    inconclusive under one, hinges on the seed or the host); not measured when no seed measured it."""
    st = [s for s in statuses if s in VERDICTS]
    if not st:
        return "not measured"
    if all(s == HOLDS for s in st):
        return HOLDS
    if all(s == FAILS for s in st):
        return FAILS
    return INCONCLUSIVE


def across_seeds(by_seed: dict[int, pd.DataFrame], experiment: str) -> pd.DataFrame:
    """The `claims_seeds` table from the claims tables of one experiment under several seeds."""
    seeds = sorted(by_seed)
    frames = {s: by_seed[s].set_index("claim") for s in seeds}
    order = list(dict.fromkeys(c for s in seeds for c in by_seed[s]["claim"]))
    rows = []
    for claim in order:
        have = [s for s in seeds if claim in frames[s].index]
        first = frames[have[0]].loc[claim]
        vals = np.array([frames[s].loc[claim, "value"] for s in have], dtype=np.float64)
        statuses = [str(frames[s].loc[claim, "status"]) for s in have]
        finite = vals[np.isfinite(vals)]
        rows.append({
            "experiment": experiment, "paper": first["paper"], "claim": claim, "statement": first["statement"],
            "paper_value": first["paper_value"], "criterion": first["criterion"],
            "seeds": ",".join(map(str, have)),
            "values": ", ".join("n/a" if not np.isfinite(v) else f"{v:.4g}" for v in vals),
            "verdicts": ", ".join(statuses),
            "n_holds": sum(s == HOLDS for s in statuses), "n_fails": sum(s == FAILS for s in statuses),
            "n_inconclusive": sum(s == INCONCLUSIVE for s in statuses),
            "value_mean": float(finite.mean()) if finite.size else float("nan"),
            "value_sd": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
            "value_min": float(finite.min()) if finite.size else float("nan"),
            "value_max": float(finite.max()) if finite.size else float("nan"),
            "status": seeds_verdict(statuses),
        })
    return coerce(pd.DataFrame(rows), "claims_seeds")


def seeds_markdown(df: pd.DataFrame, measured: dict[int, pd.DataFrame] | None = None) -> str:
    """The multi-seed scorecard: per claim the verdict under each seed, the value's mean and spread,
    and the verdict over seeds."""
    exp = df["experiment"].iloc[0] if len(df) else "?"
    seeds = sorted({s for v in df["seeds"] for s in v.split(",") if s})
    lines = [f"# Claims over seeds: {exp} (seeds {', '.join(seeds)})", "",
             "A claim holds (does not hold) over seeds when it holds (does not hold) under every seed; a verdict "
             "that differs between seeds, or is inconclusive under one, is inconclusive. Values: each claim's "
             "headline number (see `value` in TABLES.md), mean ± sample standard deviation over seeds.", "",
             _tally(df), "",
             "| paper | claim | criterion | verdict per seed | value per seed | mean ± sd [min, max] | verdict over seeds |",
             "|---|---|---|---|---|---|---|"]
    for r in df.itertuples():
        spread = ("n/a" if not np.isfinite(r.value_mean) else
                  f"{r.value_mean:.4g} ± {r.value_sd:.2g} [{r.value_min:.4g}, {r.value_max:.4g}]")
        lines.append(f"| {r.paper} | `{r.claim}` | {r.criterion} | {r.verdicts} | {r.values} | {spread} | "
                     f"{_MARK.get(r.status, r.status)} |")
    if measured:
        lines += ["", "## Measured text per seed", ""]
        for s in sorted(measured):
            lines += [f"### seed {s}", ""]
            for r in measured[s].itertuples():
                lines.append(f"- `{r.claim}`: {r.measured} — {r.status}")
            lines.append("")
    return "\n".join(lines) + "\n"
