"""Paper 002's tables in the paper's layout (Markdown; their HTML pages: advtrace.mdhtml) and its
figures, from the study's Parquet tables only (no torch, no checkpoints).

Cells are top-1 (and top-5) accuracies in percent with their 95 % Wilson interval in brackets;
each table names its n and gives the paper's top-1 values underneath for comparison (quoted, not
measured). ε is written in paper units with this experiment's value in brackets (ε = 16 (128)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...stats import wilson

# The paper's top-1 numbers (quoted for comparison; ImageNet, Inception v3).
PAPER = {
    1: {"Baseline (standard training)": [78.4, 30.8, 27.2, 27.2, 29.5],
        "Adv. training": [77.6, 73.5, 74.0, 74.5, 73.9],
        "Deeper model (standard training)": [78.7, 33.5, 30.0, 30.0, 31.6],
        "Deeper model (Adv. training)": [78.1, 75.4, 75.7, 75.6, 74.4]},
    2: {"Iter. l.l., adv. training": [77.4, 29.1, 7.5, 3.0, 1.5], "Iter. l.l., baseline": [78.3, 23.3, 5.5, 1.8, 0.7],
        "Iter. basic, adv. training": [77.4, 30.0, 25.2, 23.5, 23.2],
        "Iter. basic, baseline": [78.3, 31.4, 28.1, 26.4, 25.9]},
    3: {'No label leaking, training and eval using "step l.l."': [77.3, 72.8, 73.1, 73.4, 72.0],
        "With label leaking, training and eval using FGSM": [76.6, 86.2, 87.6, 88.7, 87.0]},
    5: {"No adversarial training": [76.8, 40.7, 39.0, 37.9, 36.7], "FGSM": [74.9, 79.3, 82.8, 85.3, 83.2],
        "Fast with predicted class": [76.4, 43.2, 42.0, 40.9, 40.0],
        "Fast entropy": [76.4, 62.8, 61.7, 59.5, 54.8],
        "Step rnd.": [76.4, 73.0, 75.4, 76.5, 72.5], "Step l.l.": [76.3, 72.9, 75.1, 76.2, 72.2],
        "Fast grad. L2 (eval: step l.l.)": [76.8, 44.0, 33.2, 26.4, 22.5],
        "Fast grad. L∞ (eval: step l.l.)": [75.6, 52.2, 39.7, 30.9, 25.0],
        "Sign of random perturbation": [76.5, 38.8, 36.6, 35.0, 32.7],
        "Random normal perturbation": [76.6, 38.3, 36.0, 34.4, 31.8]},
    7: {"Step l.l., relu": [77.5, 74.6, 75.1, 75.5, 74.5], "Step l.l., relu6": [77.7, 71.8, 73.5, 74.5, 74.0],
        "Step l.l., ReluDecay 0.001": [78.0, 74.0, 74.9, 75.2, 73.9],
        "Step l.l., ReluDecay 0.01": [77.4, 73.6, 74.6, 75.0, 73.6],
        "Step l.l., ReluDecay 0.1": [75.3, 67.5, 67.5, 67.0, 64.8], "Step l.l., tanh": [74.5, 63.7, 65.1, 65.8, 61.9],
        "Iter. l.l., relu": [77.5, 30.2, 8.0, 3.1, 1.6], "Iter. l.l., relu6": [77.7, 39.8, 13.7, 4.1, 1.9],
        "Iter. l.l., ReluDecay 0.001": [78.0, 39.9, 12.6, 3.8, 1.8],
        "Iter. l.l., ReluDecay 0.01": [77.4, 36.2, 11.2, 3.2, 1.6],
        "Iter. l.l., ReluDecay 0.1": [75.3, 47.0, 25.8, 6.5, 2.4], "Iter. l.l., tanh": [74.5, 35.8, 6.6, 2.7, 0.9],
        "Basic iter., relu": [77.5, 28.4, 23.2, 21.5, 21.0], "Basic iter., relu6": [77.7, 31.2, 26.1, 23.8, 23.2],
        "Basic iter., ReluDecay 0.001": [78.0, 32.9, 27.2, 24.7, 24.1],
        "Basic iter., ReluDecay 0.01": [77.4, 30.0, 24.2, 21.4, 20.5],
        "Basic iter., ReluDecay 0.1": [75.3, 26.7, 20.6, 16.5, 15.2], "Basic iter., tanh": [74.5, 24.5, 22.0, 20.9, 20.7]},
    8: {"No adv": [78.2, 31.5, 27.7, 27.8, 29.7], "Adv, k=4": [78.3, 71.7, 71.3, 69.4, 65.8],
        "Adv, k=8": [78.1, 73.2, 73.2, 72.6, 70.5], "Adv, k=16": [77.6, 73.8, 75.3, 76.1, 75.4],
        "Adv, k=24": [77.1, 73.0, 75.3, 76.2, 76.0], "Adv, k=32": [76.3, 73.4, 75.1, 75.9, 75.8]},
}
# mean of the 12 off-diagonal top-1 cells (models A-D) at ε = 16: transfer rate (Table 4), error rate (Table 6)
PAPER_TABLE4_TOP1 = {"FGSM": 54, "basic iter.": 39, "iter l.l.": 12}
PAPER_TABLE6_TOP1 = {"FGSM": 51, "basic iter.": 46, "iter l.l.": 31}
ATTACK_NAMES = {"clean": "Clean", "fgsm": "FGSM", "fgsm_pred": "Fast with predicted class", "step_ll": "Step l.l.",
                "step_rnd": "Step rnd.", "fast_entropy": "Fast entropy", "fast_grad_l2": "Fast grad. L2",
                "fast_grad_linf": "Fast grad. L∞", "rand_sign": "Sign of random perturbation",
                "rand_normal": "Random normal perturbation", "iter_ll": "Iter. l.l.", "bi": "Iter. basic"}
TRAINING_NAMES = {"fgsm (true labels)": "FGSM", "fgsm (predicted labels)": "Fast with predicted class",
                  "step_rnd": "Step rnd.", "step_ll": "Step l.l.", "iter_ll": "Iter. l.l.", "bi": "Iter. basic",
                  "fast_entropy": "Fast entropy", "fast_grad_l2": "Fast grad. L2", "fast_grad_linf": "Fast grad. L∞",
                  "rand_sign": "Sign of random perturbation", "rand_normal": "Random normal perturbation"}
# Table 5's evaluation attack per training method: FGSM, except step l.l. for the fast grad. rows
# (the paper's footnote: "For fast grad L2 and fast grad L∞ the evaluation was done using step l.l.")
TABLE5_EVAL = {"fast_grad_l2": "step_ll", "fast_grad_linf": "step_ll"}
# Table 5's row order (the paper's), by training adversary
TABLE5_ORDER = ("fgsm (true labels)", "fgsm (predicted labels)", "fast_entropy", "step_rnd", "step_ll",
                "fast_grad_l2", "fast_grad_linf", "rand_sign", "rand_normal", "iter_ll", "bi")


def _cell(row) -> str:
    return f"{100 * row.accuracy:.1f} [{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]"


def has_role(df: pd.DataFrame, role: str) -> pd.Series:
    return df["roles"].astype(str).str.split(",").apply(lambda r: role in r)


def _header(acc: pd.DataFrame) -> tuple[list[str], list[float]]:
    pts = acc[acc["attack"] != "clean"][["eps", "eps_paper"]].drop_duplicates().sort_values("eps")
    return ["Clean"] + [f"ε = {p:g} ({e:g})" for e, p in zip(pts["eps"], pts["eps_paper"])], list(pts["eps"])


def accuracy_cells(acc: pd.DataFrame, mask: pd.Series, attack: str, top: int) -> list[str]:
    """Clean, then each ε of `attack`, for the one model `mask` selects."""
    d = acc[mask & (acc["top"] == top)]
    _, eps = _header(acc)
    clean = d[d["attack"] == "clean"]
    cells = [_cell(clean.iloc[0]) if len(clean) else "–"]
    for e in eps:
        r = d[(d["attack"] == attack) & (d["eps"] == e)]
        cells.append(_cell(r.iloc[0]) if len(r) else "–")
    return cells


def _markdown(title: str, head: list[str], rows: list[list[str]], notes: list[str]) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines + [""] + notes + [""])


def _paper_rows(table: int, head_len: int) -> list[str]:
    out = ["", "Paper 002's top-1 values (ImageNet, Inception v3; ε = 2, 4, 8, 16), for comparison:", "",
           "| | Clean | ε = 2 | ε = 4 | ε = 8 | ε = 16 |", "|---|---|---|---|---|---|"]
    out += [f"| {k} | " + " | ".join(f"{v:.1f}" for v in vals) + " |" for k, vals in PAPER[table].items()]
    return out


def _model(acc: pd.DataFrame, role: str) -> pd.Series:
    return has_role(acc, role)


def _key_mask(acc: pd.DataFrame, run: str, epoch: int) -> pd.Series:
    return (acc["run"] == run) & (acc["epoch"] == epoch)


def _n_note(acc: pd.DataFrame) -> str:
    return (f"Accuracy in % on n = {int(acc['n'].iloc[0])} test inputs, 95 % Wilson interval in brackets; ε in paper "
            "units (this experiment's [0,255] value in parentheses).")


def table1(acc: pd.DataFrame) -> str:
    head, _ = _header(acc)
    rows = []
    models = [("Baseline (standard training)", _model(acc, "baseline")),
              ("Adv. training (step l.l.)", _model(acc, "reference"))]
    if has_role(acc, "deeper").any():
        models += [("Deeper model (standard training)", _model(acc, "deeper_baseline")),
                   ("Deeper model (Adv. training)", _model(acc, "deeper"))]
    for label, mask in models:
        for top in (1, 5):
            rows.append([label if top == 1 else "", f"top {top}", *accuracy_cells(acc, mask, "step_ll", top)])
    notes = [_n_note(acc)]
    if has_role(acc, "deeper").any():
        deep = acc[has_role(acc, "deeper")]["model"].iloc[0]
        notes.append(f"Deeper model: {deep} (the reference's architecture with more residual blocks; the paper adds "
                     "two Inception blocks).")
    else:
        notes.append("The deeper model's rows are produced by experiments with a `paper002.deeper` section "
                     "(digits_full).")
    return _markdown("Paper 002, Table 1 — step l.l. adversarial training (training and evaluation with step l.l.)",
                     ["", "", *head], rows, [*notes, *_paper_rows(1, len(head))])


def table2(acc: pd.DataFrame) -> str:
    head, _ = _header(acc)
    rows = []
    for attack in ("iter_ll", "bi"):
        for label, role in (("Adv. training", "reference"), ("Baseline", "baseline")):
            for top in (1, 5):
                rows.append([ATTACK_NAMES[attack] if (label == "Adv. training" and top == 1) else "",
                             label if top == 1 else "", f"top {top}", *accuracy_cells(acc, _model(acc, role), attack, top)])
    return _markdown("Paper 002, Table 2 — the step l.l.-trained model under iterative attacks",
                     ["Adv. method", "Training", "", *head], rows, [_n_note(acc), *_paper_rows(2, len(head))])


def _training_mask(acc: pd.DataFrame, training_prefix: str) -> pd.Series:
    return has_role(acc, "methods") & acc["training"].astype(str).str.startswith(training_prefix)


def table3(acc: pd.DataFrame, leak: pd.DataFrame) -> str:
    head, eps = _header(acc)
    rows = []
    for label, mask, attack in (('No label leaking, training and eval using "step l.l."', _model(acc, "reference"), "step_ll"),
                                ("With label leaking, training and eval using FGSM",
                                 _training_mask(acc, "fgsm (true labels)"), "fgsm")):
        for top in (1, 5):
            rows.append([label if top == 1 else "", f"top {top}", *accuracy_cells(acc, mask, attack, top)])
    for label, role_mask in (("Leaked labels, step l.l. model", has_role(leak, "reference")),
                             ("Leaked labels, FGSM model", has_role(leak, "methods")
                              & leak["training"].astype(str).str.startswith("fgsm (true labels)"))):
        d = leak[role_mask]
        rows.append([label, "count of n", "–"] + [f"{int(d[d['eps'] == e]['leaked'].iloc[0])} of {int(d['n'].iloc[0])}"
                                                  if len(d[d["eps"] == e]) else "–" for e in eps])
    notes = [_n_note(acc), "A label is leaked when the FGSM example made with the true label is classified correctly and "
             "the one made with the predicted label is not (Sec. 4.2). Paper: 79 leaked labels of 10,000 on MNIST.",
             *_paper_rows(3, len(head))]
    return _markdown("Paper 002, Table 3 — label leaking", ["", "", *head], rows, notes)


def _transfer_blocks(tr: pd.DataFrame, cell) -> tuple[list[str], list[list[str]]]:
    """Table 4 / 6 layout, one block of rows per ε of the grid (the paper's is ε = 16, the last):
    source rows × (attack, target) columns; `cell(row)` renders one source → target cell."""
    sources = list(dict.fromkeys(tr["source"]))
    targets = [s.split(" ")[0] for s in sources]
    attacks = [a for a in ("fgsm", "bi", "iter_ll") if a in set(tr["attack"])]
    head = ["ε", "", "source model"] + [f"{ATTACK_NAMES[a]} → {t}" for a in attacks for t in targets]
    rows = []
    for e in sorted(tr["eps"].unique()):
        d = tr[tr["eps"] == e]
        p = d["eps_paper"].iloc[0]
        for top in (1, 5):
            for i, src in enumerate(sources):
                cells = []
                for a in attacks:
                    for t in sources:
                        r = d[(d["source"] == src) & (d["target"] == t) & (d["attack"] == a) & (d["top"] == top)]
                        cells.append(cell(r.iloc[0]) if len(r) else "–")
                rows.append([f"{p:g} ({e:g})" if (top == 1 and i == 0) else "", f"top {top}" if i == 0 else "", src,
                             *cells])
    return head, rows


def table4(tr: pd.DataFrame) -> str:
    def cell(r):
        return f"{100 * r['rate']:.0f} (n = {int(r['n'])})" if r["n"] else "–"

    head, rows = _transfer_blocks(tr, cell)
    sources = list(dict.fromkeys(tr["source"]))
    notes = ["Transfer rate in % per ε (paper units, this experiment's value in parentheses): of the test inputs the "
             "source classifies correctly clean and wrongly adversarial (n, the prefiltered count), the share the "
             "target misclassifies (Sec. 4.4). Models: " + "; ".join(sources) + " (run@epoch; all clean-trained, "
             "as the paper's).", "", "Paper 002 (ImageNet, ε = 16), mean of the 12 off-diagonal top-1 transfer "
             "rates: " + ", ".join(f"{k} {v} %" for k, v in PAPER_TABLE4_TOP1.items()) + "."]
    return _markdown("Paper 002, Table 4 — transfer rate between models", head, rows, notes)


def table6(tr: pd.DataFrame) -> str:
    """App. C Table 6: the error rate of all candidate adversarial examples (no prefilter)."""
    def cell(r):
        lo, hi = wilson(int(r["target_errors"]), int(r["candidates"]))
        return f"{100 * r['target_errors'] / r['candidates']:.0f} [{100 * lo:.0f}, {100 * hi:.0f}]"

    head, rows = _transfer_blocks(tr, cell)
    n = int(tr["candidates"].iloc[0])
    notes = [f"Error rate in % (95 % Wilson interval) of the target on all n = {n} candidate adversarial examples "
             "made on the source, without the prefilter of Table 4 (App. C); the diagonal is the source's white-box "
             "error rate.", "", "Paper 002 (ImageNet, ε = 16, 1000 images), mean of the 12 off-diagonal top-1 error "
             "rates: " + ", ".join(f"{k} {v} %" for k, v in PAPER_TABLE6_TOP1.items()) + "; diagonal iter l.l. 99-100 %."]
    return _markdown("Paper 002, Table 6 — error rate of transferred adversarial examples (no prefilter)",
                     head, rows, notes)


def _run_rows(acc: pd.DataFrame, runs_in_order: list[tuple[str, pd.Series]], attack: str) -> list[list[str]]:
    return [[label, *accuracy_cells(acc, mask, attack, 1)] for label, mask in runs_in_order]


def _training_key(training) -> str:
    return str(training).rsplit(" k=", 1)[0]


def table5(acc: pd.DataFrame) -> str:
    head, _ = _header(acc)
    d = acc[has_role(acc, "methods")]
    present = list(dict.fromkeys(d["training"]))
    order = sorted(present, key=lambda t: (TABLE5_ORDER.index(_training_key(t)) if _training_key(t) in TABLE5_ORDER
                                           else len(TABLE5_ORDER)))
    rows = [["No adversarial training", "FGSM", *accuracy_cells(acc, _model(acc, "baseline"), "fgsm", 1)]]
    for training in order:
        key = _training_key(training)
        attack = TABLE5_EVAL.get(key.split(" ")[0], "fgsm")
        mask = has_role(acc, "methods") & (acc["training"] == training)
        rows.append([TRAINING_NAMES.get(key, key), ATTACK_NAMES[attack], *accuracy_cells(acc, mask, attack, 1)])
        if attack != "fgsm":  # the FGSM row too, for comparison with the other rows
            rows.append(["", "FGSM", *accuracy_cells(acc, mask, "fgsm", 1)])
    notes = [_n_note(acc).replace("Accuracy", "Top-1 accuracy") + " Evaluation with FGSM (true labels), as the paper; "
             "for fast grad. L2 / L∞ also with step l.l. (the paper's footnote). The FGSM-trained model's FGSM "
             "accuracy is inflated by label leaking where it leaks.", *_paper_rows(5, len(head))]
    return _markdown("Paper 002, Table 5 — one-step adversarial methods for training",
                     ["Training", "Evaluation", *head], rows, notes)


def table7(acc: pd.DataFrame) -> str:
    """App. D Table 7: step l.l.-trained models with other activation functions (the reference = relu)."""
    head, _ = _header(acc)
    title = "Paper 002, Table 7 — activation functions (step l.l. adversarial training)"
    if not has_role(acc, "activations").any():
        return _markdown(title, ["", *head], [], [
            "Not produced by this experiment: it has no `paper002.activations` runs (the opt-in digits_full "
            "experiment has them).", *_paper_rows(7, len(head))])
    models = [("relu (reference)", has_role(acc, "reference"))]
    d = acc[has_role(acc, "activations")]
    for model in dict.fromkeys(d["model"]):
        models.append((str(model).split(" ", 1)[1] if " " in str(model) else str(model),
                       has_role(acc, "activations") & (acc["model"] == model)))
    rows = []
    for attack in ("step_ll", "iter_ll", "bi"):
        for i, (label, mask) in enumerate(models):
            rows.append([ATTACK_NAMES[attack] if i == 0 else "", label, *accuracy_cells(acc, mask, attack, 1)])
    notes = [_n_note(acc).replace("Accuracy", "Top-1 accuracy") + " Every model is trained as the reference "
             "(step l.l., k = m/2) with another non-linearity in place of every ReLU (App. D).",
             *_paper_rows(7, len(head))]
    return _markdown(title, ["Adv. method", "Activation", *head], rows, notes)


def table8(acc: pd.DataFrame) -> str:
    head, _ = _header(acc)
    d = acc[has_role(acc, "k") & (acc["epoch"] > 0)]
    order = [("No adv (k = 0)", _model(acc, "baseline"))]
    ks = sorted(dict.fromkeys(d["training"]), key=lambda t: int(str(t).rsplit("k=", 1)[1].split("/")[0]))
    order += [(f"Adv, k = {str(t).rsplit('k=', 1)[1]}", has_role(acc, "k") & (acc["training"] == t)) for t in ks]
    notes = [_n_note(acc).replace("Accuracy", "Top-1 accuracy") + " Training and evaluation with step l.l.",
             *_paper_rows(8, len(head))]
    return _markdown("Paper 002, Table 8 — number k of adversarial examples in a mini-batch of m",
                     ["", *head], _run_rows(acc, order, "step_ll"), notes)


# --------------------------------------------------------------------------- figures

def _yerr(value, low, high):
    """Error-bar lengths below and above (never negative: an interval end may round past the value)."""
    v, lo, hi = (np.asarray(a, dtype=float) for a in (value, low, high))
    return [np.nan_to_num(np.clip(v - lo, 0, None)), np.nan_to_num(np.clip(hi - v, 0, None))]


def fig_capacity(cap: pd.DataFrame, top: int, title: str):
    import matplotlib.pyplot as plt

    from ...plotting import style

    style()
    attacks = [a for a in ("step_ll", "iter_ll", "bi") if a in set(cap["attack"])]
    fig, axes = plt.subplots(len(attacks), 2, figsize=(9, 2.6 * len(attacks)), sharex=True, squeeze=False)
    d = cap[cap["top"] == top]
    for i, attack in enumerate(attacks):
        for j, trained in enumerate((False, True)):
            ax = axes[i, j]
            sub = d[(d["attack"] == attack) & (d["adv_trained"] == trained)]
            for eps_paper, g in sub.groupby("eps_paper"):
                g = g.sort_values("rho")
                ax.errorbar(g["rho"], g["ratio"], yerr=_yerr(g["ratio"], g["ci_low"], g["ci_high"]),
                            marker="o", capsize=3, label=f"{eps_paper:g} ({g['eps'].iloc[0]:g})")
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(d["rho"].unique()), [f"{r:g}" for r in sorted(d["rho"].unique())])
            ax.set_ylim(-0.02, 1.15)
            ax.axhline(1.0, color="grey", lw=0.8, ls=":")
            ax.set_title(f"{'with' if trained else 'no'} adv. training, {ATTACK_NAMES[attack]} examples", fontsize=10)
            if j == 0:
                ax.set_ylabel(f"top-{top} adv. / clean accuracy")
            if i == len(attacks) - 1:
                ax.set_xlabel("width scale ρ (model width / base width)")
    axes[0, 1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="ε paper (digits)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _eps_label(df: pd.DataFrame) -> str:
    d = df[df["eps_paper"] > 0]
    factor = float((d["eps"] / d["eps_paper"]).median())
    return f"ε (paper units; ×{factor:g} = this experiment's [0,255] units)"


def _fig_transfer(tr: pd.DataFrame, source: str, target: str, title: str, error_rate: bool):
    import matplotlib.pyplot as plt

    from ...plotting import style

    style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    d = tr[(tr["source"] == source) & (tr["target"] == target)]
    for ax, top in zip(axes, (1, 5)):
        for attack, g in d[d["top"] == top].groupby("attack", sort=False):
            g = g.sort_values("eps")
            if error_rate:
                k, n = g["target_errors"].to_numpy(), g["candidates"].to_numpy()
                v = 100 * k / n
                lo, hi = (100 * np.array(b) for b in zip(*(wilson(int(a), int(b)) for a, b in zip(k, n))))
            else:
                v, lo, hi = 100 * g["rate"], 100 * g["ci_low"], 100 * g["ci_high"]
            ax.errorbar(g["eps_paper"], v, yerr=_yerr(v, lo, hi), marker="o", capsize=3, label=ATTACK_NAMES[attack])
        ax.set_xscale("log", base=2)
        ticks = sorted(d["eps_paper"].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlabel(_eps_label(tr))
        ax.set_title(f"top {top}", fontsize=10)
        ax.set_ylim(0, 100)
    axes[0].set_ylabel("error rate on all candidates (%)" if error_rate else "transfer rate (%)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{title}\nsource {source} → target {target}", fontsize=11)
    fig.tight_layout()
    return fig


def fig_transfer_eps(tr: pd.DataFrame, source: str, target: str, title: str):
    """Fig. 2: transfer rate (prefiltered) from `source` to `target` vs ε, with Wilson intervals."""
    return _fig_transfer(tr, source, target, title, error_rate=False)


def fig_transfer_error_eps(tr: pd.DataFrame, source: str, target: str, title: str):
    """Fig. 5 (App. C): the target's error rate on every candidate made on `source` (no prefilter) vs ε."""
    return _fig_transfer(tr, source, target, title, error_rate=True)


def fig_one_step(acc: pd.DataFrame, title: str):
    """Fig. 3 (App. A): the step l.l.-trained model under every one-step method evaluated on it."""
    import matplotlib.pyplot as plt

    from ...plotting import style

    style()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    d = acc[has_role(acc, "reference") & (acc["top"] == 1)]
    clean = d[d["attack"] == "clean"]["accuracy"].iloc[0]
    one_step = [a for a in ("fgsm", "fgsm_pred", "fast_entropy", "step_ll", "step_rnd", "fast_grad_l2",
                            "fast_grad_linf", "rand_sign", "rand_normal") if a in set(d["attack"])]
    markers = "osD^v<>xP"
    for i, attack in enumerate(one_step):
        g = d[d["attack"] == attack].sort_values("eps")
        ax.errorbar(g["eps_paper"], 100 * g["accuracy"],
                    yerr=_yerr(100 * g["accuracy"], 100 * g["ci_low"], 100 * g["ci_high"]),
                    marker=markers[i % len(markers)], capsize=3, label=ATTACK_NAMES[attack],
                    ls="--" if attack.startswith("rand") else "-")
    ax.axhline(100 * clean, color="black", ls=":", lw=1, label="clean")
    ax.set_xscale("log", base=2)
    ticks = sorted(d[d["attack"] != "clean"]["eps_paper"].unique())
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlabel(_eps_label(acc) + "\n(fast grad. L2: ε is the ℓ2 length of the step)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def transfer_pair(tr: pd.DataFrame) -> tuple[str, str]:
    """Fig. 2's source and target: the first two models (A → B, same architecture, different seeds)."""
    models = list(dict.fromkeys(tr["source"]))
    return models[0], models[1]


def ratio_summary(cap: pd.DataFrame) -> pd.DataFrame:
    return cap.pivot_table(index=["adv_trained", "attack", "eps_paper", "top"], columns="rho", values="ratio",
                           aggfunc=np.mean)
