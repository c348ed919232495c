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
from .stats import FAILS, HOLDS, INCONCLUSIVE, VERDICTS
from .tables import coerce


@dataclass
class Claim:
    id: str
    section: str
    statement: str
    paper_value: str
    criterion: str
    tables: tuple[str, ...]
    # returns (measured, verdict): verdict True/False (holds / does not hold), None (measured
    # only), or one of advtrace.stats.VERDICTS ("inconclusive" when two intervals overlap)
    measure: Callable[..., tuple[float | str, bool | str | None]]
    paper: str = "000"  # the paper the statement is from (claims `paper` column)


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


# --- universal perturbations (Sec. 3.2, App. D/E; table universal_accuracy) ---------------------

def _universal(ua: pd.DataFrame, split: str = "train") -> pd.DataFrame:
    return ua[(ua["perturbation"] == "universal") & (ua["source_split"] == split)]


def _respective_universal(ua: pd.DataFrame, split: str = "train") -> pd.Series:
    u = _universal(ua, split)
    return u[u["source_epoch"] == u["epoch"]].set_index("epoch")["accuracy"].sort_index()


def _universal_epoch0(ua):
    acc = _respective_universal(ua)
    rnd = ua[ua["perturbation"] == "random_sign"].set_index("epoch")["accuracy"]
    return (f"{100 * acc.loc[0]:.1f} % (random ±ε sign: {100 * rnd.loc[0]:.1f} %)",
            bool(acc.loc[0] <= 0.5 and acc.loc[0] < rnd.loc[0]))


def _universal_removed(ua):
    u = _universal(ua)
    late = u[u["epoch"] >= 3]
    if late.empty:
        raise ValueError("no analysed epoch >= 3")
    resp = _respective_universal(ua)
    worst = late.loc[late["accuracy"].idxmin()]
    return (f"epoch 0: {100 * resp.iloc[0]:.1f} %, last epoch {resp.index[-1]}: {100 * resp.iloc[-1]:.1f} %; "
            f"min from epoch 3 on: {100 * worst['accuracy']:.1f} % (epoch {worst['epoch']}, source {worst['source_epoch']})",
            bool(late["accuracy"].min() >= 0.80))


def _universal_test_generated(ua):
    tr, te = _respective_universal(ua, "train"), _respective_universal(ua, "test")
    diff = (te - tr).dropna()
    return (f"mean accuracy test-generated − train-generated: {100 * diff.mean():+.1f} points "
            f"(largest gap {100 * diff.abs().max():.1f} points)", bool(diff.mean() >= -0.05))


CLAIMS += [
    Claim("universal_fools_pretrained", "Sec. 3.2, Fig. 3",
          "Without adversarial training a universal perturbation fools the classifier on most inputs",
          "12 % accuracy at epoch 0", "epoch-0 accuracy under its universal perturbation <= 50 % and below random ±ε noise",
          ("universal_accuracy",), _universal_epoch0),
    Claim("universal_removed_by_adv_training", "Sec. 3.2, Fig. 3",
          "From epoch 3 of adversarial training on, >= 80 % of inputs are classified correctly under universal "
          "perturbations of the respective and of fixed source epochs",
          "12 % -> >= 80 % from epoch 3", "accuracy >= 80 % for every analysed epoch >= 3 and every train-generated source",
          ("universal_accuracy",), _universal_removed),
    Claim("universal_test_generated_no_stronger", "App. E, Fig. 12",
          "Universal perturbations generated on test data are no more effective than those generated on training data",
          "both lines nearly identical", "mean accuracy (test-generated − train-generated) >= −5 points",
          ("universal_accuracy",), _universal_test_generated),
]


# --- stability stage (paper 000 Sec. 3.1, App. A-C; tables of advtrace.stability) ---
def _sharedness_means(ss: pd.DataFrame) -> pd.Series:
    return ss.sort_values("epoch").set_index("epoch")["mean_pct"]


def _fmt_means(m: pd.Series) -> str:
    return ", ".join(f"e{e}: {v:.1f} %" for e, v in m.items())


def _shared_at_0(ss):
    r = ss.sort_values("epoch").iloc[0]
    if int(r["epoch"]) != 0:
        raise ValueError("no sharedness at epoch 0")
    return f"mean {r['mean_pct']:.1f} %, min {r['min_pct']:.1f} %", bool(r["mean_pct"] >= SHARED_PCT)


def _sharedness_drops_first_epoch(ss):
    m = _sharedness_means(ss)
    return _fmt_means(m.iloc[:2]), bool(m.iloc[1] < m.iloc[0])


def _sharedness_reduced(ss):
    m = _sharedness_means(ss)
    return _fmt_means(m), bool(m.iloc[-1] < m.iloc[0])


def _anticorrelated(corr):
    c = corr.iloc[0]
    r, p = c["pearson_r_loglog"], c["pearson_p_loglog"]
    return f"r = {r:.3f}, p = {p:.1e} (n = {int(c['n_used'])} of {int(c['n_inputs'])})", bool(r < 0 and p < 0.05)


def _stable_dominates(summary):
    stable = int((summary["maxmin"] < 0.5).sum())
    osc = int(((summary["maxmin"] >= 0.5) & (summary["minmax"] < 0.5)).sum())
    return f"{stable} stable vs {osc} oscillating of {len(summary)}", bool(stable > osc)


def _no_black_box_advantage(te):
    d = te[(te["split"] == "test") & (te["target_epoch"] > 0)]
    white = d[d["source"] == "respective epoch"].set_index("target_epoch")["error_rate"]
    black = d[(d["source"] != "respective epoch") & (d["source_epoch"] != d["target_epoch"])]
    black = black.groupby("target_epoch")["error_rate"].max()  # true black-box: source model != target
    excess = (black - white).dropna()
    worse = int((excess > 0.02).sum())
    return (f"max black-box - white-box error: {100 * excess.max():+.1f} points; "
            f"{worse} of {len(excess)} target epochs > +2 points"), bool(worse == 0)


CLAIMS += [
    Claim("sharedness_stability_anticorrelated", "Sec. 3.1, Fig. 2",
          "Sharedness (J_current,train) and stability (J_future,test) of epoch-0 perturbations are anti-correlated",
          "r = -0.293 (log-log), p < 1e-18", "Pearson r (log-log) < 0 with p < 0.05", ("stability_correlation",),
          _anticorrelated),
    Claim("stable_perturbations_dominate", "Sec. 3.1, App. B, Fig. 10",
          "Stable perturbations are more frequent than oscillation between perturbations",
          "most points near the diagonal, lower left dominant", "#(MaxMin < 0.5) > #(MaxMin >= 0.5 > MinMax)",
          ("stability_summary",), _stable_dominates),
    Claim("no_black_box_advantage", "Sec. 3, App. A, Fig. 9",
          "Black-box attacks are not more successful than white-box attacks on adversarially trained models",
          "not observed on train or test data", "no target epoch >= 1 where a black-box source beats white-box by > 2 points (test)",
          ("transfer_error",), _no_black_box_advantage),
    Claim("perturbations_shared_before_adv_training", "App. C, Fig. 11",
          "Perturbations of the pretrained model are shared (effective on other inputs)",
          "mean 6.3 %, min 3.3 %", "epoch-0 mean sharedness >= 2 %", ("sharedness_summary",), _shared_at_0),
    Claim("sharedness_drops_after_first_epoch", "App. C, Fig. 11",
          "Already after one epoch of adversarial training sharedness is drastically reduced",
          "6.3 % -> 1.1 %", "mean sharedness at the 2nd sharedness epoch < epoch 0", ("sharedness_summary",),
          _sharedness_drops_first_epoch),
    Claim("sharedness_reduced_by_adv_training", "App. C, Fig. 11",
          "Adversarial training reduces sharedness considerably",
          "6.3 % -> 1.1 % -> 0.8 % -> 0.5 % (epochs 0, 1, 15, 251)", "mean sharedness at the last sharedness epoch < epoch 0",
          ("sharedness_summary",), _sharedness_reduced),
]


# --- detectability (paper 000 Sec. 3.4, App. G; tables detectability, detector_max_summary) ---

def _respective(det: pd.DataFrame, attack: str) -> pd.Series:
    d = det[(det["attack"] == attack) & (det["train_epoch"] == det["test_epoch"])].sort_values("test_epoch")
    if d.empty:
        raise ValueError(f"no {attack} detectors")
    return d.set_index("test_epoch")["accuracy"]


def _fixed(det: pd.DataFrame, attack: str, train_epoch: int) -> pd.Series:
    d = det[(det["attack"] == attack) & (det["train_epoch"] == train_epoch)].sort_values("test_epoch")
    return d.set_index("test_epoch")["accuracy"]


def _detect_every_epoch(det):
    r = _respective(det, "BI")
    return f"{100 * r.min():.1f} % .. {100 * r.max():.1f} % (epochs {', '.join(map(str, r.index))})", bool(r.min() > 0.90)


def _detectors_transfer(det):
    last = int(det.loc[det["attack"] == "BI", "train_epoch"].max())
    parts, ok = [], True
    for t in sorted({1, last}):
        line = _fixed(det, "BI", t)
        if len(line) <= 1:
            raise ValueError(f"BI detector of epoch {t} was not evaluated on other epochs")
        parts.append(f"epoch {t}: min {100 * line.min():.1f} %")
        ok &= bool(line.min() > 0.90)
    return "; ".join(parts), ok


def _epoch0_detector_fails_later(det):
    line = _fixed(det, "BI", 0)
    later = line[line.index >= 1]
    resp = _respective(det, "BI")
    resp = resp[resp.index >= 1]
    if later.empty or len(line) <= 1:
        raise ValueError("BI detector of epoch 0 was not evaluated on later epochs")
    return (f"epoch-0 detector on epochs >= 1: min {100 * later.min():.1f} % (respective detectors: min "
            f"{100 * resp.min():.1f} %)", bool(later.min() < 0.90 and later.min() < resp.min()))


def _fgsm_bi_deepfool_order(det):
    m = {a: _respective(det, a).mean() for a in ("FGSM", "BI", "DeepFool")}
    return (f"mean respective detectability FGSM {100 * m['FGSM']:.1f} %, BI {100 * m['BI']:.1f} %, DeepFool "
            f"{100 * m['DeepFool']:.1f} %", bool(m["FGSM"] >= m["BI"] >= m["DeepFool"]))


def _detector_max_low(summary):
    s = summary.sort_values("epoch").set_index("epoch")["mean_p_adv"]
    later = s[s.index >= 1]
    if later.empty:
        raise ValueError("no detector-maximising perturbation from epoch 1 on")
    text = (f"max {100 * later.max():.1f} % from epoch 1 on (epoch 0: "
            f"{'%.1f %%' % (100 * s.loc[0]) if 0 in s.index else 'n/a'})")
    if "mean_p_adv_random" in summary:
        rnd = summary.sort_values("epoch").set_index("epoch")["mean_p_adv_random"]
        text += f"; random ±ε sign perturbation: max {100 * rnd[rnd.index >= 1].max():.1f} % from epoch 1 on"
    return text, bool(later.max() <= 0.12)


CLAIMS += [
    Claim("bi_detectable_every_epoch", "Sec. 3.4, Fig. 6", "BI perturbations stay detectable throughout adversarial training (detector of the respective epoch)",
          "> 90 % at every epoch", "min respective-epoch BI detectability > 90 %", ("detectability",), _detect_every_epoch),
    Claim("bi_detectors_transfer_over_time", "Sec. 3.4, Fig. 6", "Detectors trained at epoch 1 and at the last epoch detect BI examples of every other epoch",
          "> 90 %", "min over test epochs of the epoch-1 and last-epoch detectors > 90 %", ("detectability",), _detectors_transfer),
    Claim("epoch0_detector_fails_later", "Sec. 3.4, Fig. 6", "A detector trained on the pretrained model (epoch 0) does not reliably detect later epochs' BI examples",
          "not reliable", "epoch-0 detector's min over epochs >= 1 below 90 % and below the respective detectors'", ("detectability",),
          _epoch0_detector_fails_later),
    Claim("fgsm_easier_deepfool_harder", "App. G, Fig. 16", "FGSM is easier and DeepFool harder to detect than BI",
          "FGSM > BI > DeepFool", "mean respective-epoch detectability FGSM >= BI >= DeepFool", ("detectability",), _fgsm_bi_deepfool_order),
    Claim("detector_max_perturbation_weak", "Sec. 3.4, Fig. 7", "A single perturbation maximising the detector is flagged on few test inputs from epoch 1 on",
          "<= 12 %", "mean p_adv <= 12 % for every epoch >= 1", ("detector_max_summary",), _detector_max_low),
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
        raise ValueError(f"needs epoch 0 and a later epoch in destruction.epochs; have {[int(e) for e in epochs]}")
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


def all_claims() -> list[Claim]:
    """Paper 000's claims, then each companion study's (advtrace.stages: ``<module>.claims``)."""
    from . import stages

    out = list(CLAIMS)
    for stage in stages.all_stages():
        part = stages.study_part(stage, "claims")
        if part is not None:
            out += part.CLAIMS
    return out


def _status(holds) -> str:
    if isinstance(holds, str):
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
            try:
                measured, holds = c.measure(*(tables[t] for t in c.tables))
                status = _status(holds)
            except (IndexError, KeyError, ValueError, ZeroDivisionError) as err:
                measured, holds, status = f"error: {err}", None, "not measured"
        else:
            missing = [t for t in c.tables if t not in tables]
            measured, holds, status = f"tables not produced: {', '.join(missing)}", None, "not measured"
        if isinstance(measured, (float, np.floating)):
            measured = f"{measured:.3g}"
        rows.append({"experiment": experiment, "paper": c.paper, "claim": c.id, "section": c.section, "statement": c.statement,
                     "paper_value": c.paper_value, "criterion": c.criterion, "measured": str(measured),
                     "status": status})
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
