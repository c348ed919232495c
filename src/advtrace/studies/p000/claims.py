"""Paper 000's claims (Metzen et al. 2018): each quantitative statement as a function of its tables.

Each claim reads the rows of the run the paper's figures draw (the first of its section's ``runs``,
main by default; :class:`advtrace.claims.Claim`). Thresholds are the paper's where it states one
(e.g. "≥ 80 % from epoch 3 on", "> 90 % at every epoch"); for statements that only give a
direction ("sharedness is drastically reduced") the criterion is the direction. Absolute CIFAR-10
numbers (94.1 % clean accuracy, …) are quoted as the paper's value; the verdict checks the relation
the paper draws from them, since a small digits model cannot match CIFAR-10 numbers and need not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...claims import Claim
from ...claims import rate as _rate
from ...stability_plan import SHARED_PCT
from ...stats import FAILS, HOLDS, INCONCLUSIVE, VERDICTS, Z95, Estimate, against, combine, compare, proportion


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
    # a ratio to 0 % (fashion's pretrained model: no BI test input correct) says nothing: left out
    factor = f" ({ratio:.1f}x)" if first.value > 0 else ""
    return (f"{first.pct()} -> {last.pct()}{factor}", compare(last, _scaled(first, 3.0), ">"), ratio)


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
