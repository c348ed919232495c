"""Paper 001's figures and rendered tables: pure functions of the study's Parquet tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...plotting import plt, style

LABELS = {"fgsm": "Fast", "bi": "Iterative ℓ∞", "bi_l2": "Iterative ℓ2", "deepfool_l2": "DeepFool ℓ2",
          "deepfool_linf": "DeepFool ℓ∞", "none": "No"}
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def names_of(adv: pd.DataFrame) -> dict[str, str]:
    """family key -> display name (the attack's name in the paper when the family is unique)."""
    fams = adv.drop_duplicates("family")[["family", "attack"]]
    counts = fams["attack"].value_counts()
    return {r.family: LABELS.get(r.attack, r.family) if counts[r.attack] == 1 else r.family for r in fams.itertuples()}


def _eps(e: float) -> str:
    return "∞" if e >= 255 else f"{e:g}"


def fig02(adv: pd.DataFrame, depth: pd.DataFrame, exp: str) -> plt.Figure:
    """Left: accuracy on adversarial test examples vs detectability, one point per (family, ε),
    with the no-adversary point. Right: detectability per attachment position at each family's ε*."""
    style()
    names = names_of(adv)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    for i, (fam, d) in enumerate(adv.groupby("family", sort=False)):
        d = d.sort_values("eps")
        xerr = [100 * (d["accuracy"] - d["accuracy_ci_low"]), 100 * (d["accuracy_ci_high"] - d["accuracy"])]
        yerr = [100 * (d["detectability"] - d["ci_low"]), 100 * (d["ci_high"] - d["detectability"])]
        ax.errorbar(100 * d["accuracy"], 100 * d["detectability"], xerr=xerr, yerr=yerr, marker=MARKERS[i % 7],
                    ms=6, capsize=2, lw=1.2, label=names[fam], color="black" if fam == "No" else None)
        if fam != "No":
            for r in d.itertuples():
                ax.annotate(f"ε={_eps(r.eps)}{'*' if r.eps_star else ''}", (100 * r.accuracy, 100 * r.detectability),
                            textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.set_xlabel("classifier accuracy on adversarial test examples (%)")
    ax.set_ylabel("detectability (%)")
    ax.set_title("detectability vs accuracy (ε in [0,255] units; * = ε*)")
    ax.set_xlim(-2, 102)
    ax.set_ylim(45, 101)
    ax.legend(loc="lower left", fontsize=8)
    positions = list(dict.fromkeys(depth["position"]))
    width = 0.8 / max(1, depth["family"].nunique())
    for i, (fam, d) in enumerate(depth.groupby("family", sort=False)):
        d = d.set_index("position").loc[positions]
        xs = np.arange(len(positions)) + (i - (depth["family"].nunique() - 1) / 2) * width
        yerr = [100 * (d["detectability"] - d["ci_low"]), 100 * (d["ci_high"] - d["detectability"])]
        bars = ax2.bar(xs, 100 * d["detectability"], width, yerr=yerr, capsize=1.5,
                       label=f"{names.get(fam, fam)} (ε*={_eps(d['eps'].iloc[0])})")
        for x, sel in zip(xs, d["selected"]):
            if sel:
                ax2.annotate("▼", (x, 100.5), ha="center", fontsize=7, color=bars.patches[0].get_facecolor())
    feat = depth.drop_duplicates("position").set_index("position")
    ax2.set_xticks(range(len(positions)))
    ax2.set_xticklabels([f"{p}\n{feat.loc[p, 'feature']}\n{feat.loc[p, 'side']}²×{feat.loc[p, 'channels']}"
                         for p in positions], fontsize=7)
    ax2.set_ylim(45, 103)
    ax2.axhline(50, color="grey", ls=":", lw=1)
    ax2.set_ylabel("detectability (%)")
    ax2.set_title("attachment depth (▼ = selected on validation)")
    ax2.legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Paper 001, Fig. 2 — detectability of adversaries (left) and by attachment depth (right), {exp}")
    fig.tight_layout()
    return fig


def _heat(ax, mat: pd.DataFrame, title: str, xlabel: str, ylabel: str) -> None:
    vals = 100 * mat.to_numpy(dtype=float)
    ax.imshow(vals, vmin=50, vmax=100, cmap="viridis")
    for (i, j), v in np.ndenumerate(vals):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="white" if v < 80 else "black", fontsize=8)
    ax.set_xticks(range(mat.shape[1]))
    ax.set_xticklabels(mat.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(mat.shape[0]))
    ax.set_yticklabels(mat.index, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(False)


def eps_matrix(eps: pd.DataFrame, fam: str) -> pd.DataFrame:
    d = eps[eps["family"] == fam].pivot(index="eps_fit", columns="eps_test", values="detectability")
    d.index = [_eps(e) for e in d.index]
    d.columns = [_eps(e) for e in d.columns]
    return d


def fig03(eps: pd.DataFrame, names: dict[str, str], exp: str) -> plt.Figure:
    style()
    fams = list(dict.fromkeys(eps["family"]))
    fig, axes = plt.subplots(1, len(fams), figsize=(3.3 * len(fams), 3.6), squeeze=False)
    for ax, fam in zip(axes[0], fams):
        pos = eps[eps["family"] == fam]["position"].iloc[0]
        _heat(ax, eps_matrix(eps, fam), f"{names.get(fam, fam)} ({pos})", "ε_test", "ε_fit")
    fig.suptitle(f"Paper 001, Fig. 3 — detectability (%) of the detector fit at ε_fit on ε_test, {exp}")
    fig.tight_layout()
    return fig


def attack_matrix(att: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    order = list(dict.fromkeys(att["fit_family"]))
    m = att.pivot(index="fit_family", columns="test_family", values="detectability").loc[order, order]
    eps = att.drop_duplicates("fit_family").set_index("fit_family")["fit_eps"]
    m.index = [f"{names.get(f, f)} (ε={_eps(eps[f])})" for f in m.index]
    m.columns = [names.get(f, f) for f in m.columns]
    return m


def fig04(att: pd.DataFrame, names: dict[str, str], exp: str) -> plt.Figure:
    style()
    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    _heat(ax, attack_matrix(att, names), "each family at its ε* (or paper001.transfer_eps)",
          "adversary of the test examples", "adversary the detector was fit on")
    fig.suptitle(f"Paper 001, Fig. 4 — detectability (%) across adversaries, {exp}", fontsize=11)
    fig.tight_layout()
    return fig


def untrained_dynamic(dyn: pd.DataFrame) -> bool:
    """Whether the dynamic detector holds its initial weights (selected dynamic-training epoch 0:
    no epoch beat them on validation), so it is no dynamically trained detector."""
    d = dyn[dyn["detector"] == "dynamic"]
    return len(d) > 0 and bool((d["detector_epoch"] == 0).all())


def fig05(dyn: pd.DataFrame, exp: str) -> plt.Figure:
    style()
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    for i, (det, d) in enumerate(dyn.groupby("detector", sort=False)):
        d = d.sort_values("sigma")
        ok = d["n"] > 0
        xerr = [100 * (d["accuracy"] - d["accuracy_ci_low"])[ok], 100 * (d["accuracy_ci_high"] - d["accuracy"])[ok]]
        yerr = [100 * (d["detectability"] - d["ci_low"])[ok], 100 * (d["ci_high"] - d["detectability"])[ok]]
        ax.errorbar(100 * d["accuracy"][ok], 100 * d["detectability"][ok], xerr=xerr, yerr=yerr, marker=MARKERS[i],
                    capsize=2, lw=1.2, ls="-" if i == 0 else "--", mfc="none" if i else None,
                    label=f"{det} detector" + (f" (training epoch {int(d['detector_epoch'].iloc[0])})"
                                               if det == "dynamic" else ""))
        last = None
        for r in d[ok].itertuples():
            xy = (100 * r.accuracy, 100 * r.detectability)
            if last is not None and abs(xy[0] - last[0]) < 4 and abs(xy[1] - last[1]) < 3:
                continue  # crowded: the neighbouring label stands for it
            ax.annotate(f"{r.sigma:.1f}", xy, textcoords="offset points", xytext=(4, 4 if i == 0 else -11),
                        fontsize=7, color=f"C{i}")
            last = xy
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.axhline(70, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("classifier accuracy on the dynamic adversary's test examples (%)")
    ax.set_ylabel("detectability on successful adversarial examples (%)")
    ax.set_ylim(0, 102)
    ax.set_xlim(-2, 102)
    ax.legend(loc="lower right", fontsize=8)
    if untrained_dynamic(dyn):
        ax.text(0.02, 0.03, "Dynamic training never beat its initial weights on\nvalidation (selected epoch 0): the "
                "'dynamic' detector is\nuntrained, and its claim is not measured.", transform=ax.transAxes,
                fontsize=8, va="bottom", bbox={"boxstyle": "round", "fc": "white", "ec": "grey", "alpha": 0.9})
    sigmas = sorted(dyn["sigma"].unique())
    shown = ", ".join(f"{s:g}" for s in sigmas) if len(sigmas) <= 4 else f"{sigmas[0]:g}, {sigmas[1]:g}, …, {sigmas[-1]:g}"
    ax.set_title(f"Paper 001, Fig. 5 — dynamic adversary vs static and dynamic detector, {exp}\n"
                 f"(labels: σ = {shown}; successful = correct clean, wrong adversarial;\n"
                 "95 % Wilson intervals; few successful examples at large σ)", fontsize=9)
    fig.tight_layout()
    return fig


def dynamic_training_curve(tr: pd.DataFrame, exp: str) -> plt.Figure:
    """Dynamic adversary training (Sec. 3.3) per epoch: validation detectability against the
    detector's own dynamic adversary, on all its examples and on the successful ones (95 % Wilson
    bands), the training accuracy, and the selected epoch."""
    style()
    tr = tr.sort_values("detector_epoch")
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    e = tr["detector_epoch"]
    crit = tr["criterion"].iloc[0]
    for col, label, c in (("val_all", "validation: all adversarial examples", "C0"),
                          ("val_successful", "validation: successful ones only (as Fig. 5)", "C1")):
        ax.plot(e, 100 * tr[col], marker="o", ms=4, color=c,
                label=label + (" - selection criterion" if col == f"val_{crit}" else ""))
        ax.fill_between(e, 100 * tr[f"{col}_ci_low"], 100 * tr[f"{col}_ci_high"], color=c, alpha=0.15, lw=0)
    ax.plot(e, 100 * tr["train_accuracy"], marker="s", ms=3, color="C2", ls="--",
            label="training batches (adversary of the current detector)")
    sel = tr[tr["selected"]]
    if len(sel):
        r = sel.iloc[0]
        ax.axvline(r["detector_epoch"], color="grey", ls=":", lw=1)
        ax.annotate(f"selected: epoch {int(r['detector_epoch'])}", (r["detector_epoch"], 100 * r[f"val_{crit}"]),
                    textcoords="offset points", xytext=(5, -14), fontsize=8)
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.set_xlabel("dynamic-training epoch (0 = initial weights: " + str(tr["init"].iloc[0]) + ")")
    ax.set_ylabel("detector accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_xticks(list(e))
    n_val = int(tr["val_n"].iloc[0]) // 2
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Paper 001, Sec. 3.3 — dynamic adversary training, {exp}\n(validation: {n_val} inputs, σ ~ U[0, 1] "
                 "per input, against the detector of that epoch; 95 % Wilson bands)", fontsize=9)
    fig.tight_layout()
    return fig


def _md(df: pd.DataFrame, fmt=lambda v: f"{100 * v:.1f}") -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {i} | " + " | ".join(fmt(v) for v in row) + " |" for i, row in zip(df.index, df.to_numpy())]
    return "\n".join(lines)


def report(adv: pd.DataFrame, depth: pd.DataFrame, eps: pd.DataFrame, att: pd.DataFrame, dyn: pd.DataFrame,
           exp: str, tr: pd.DataFrame | None = None) -> str:
    """The paper's figures as Markdown tables (values in %, 95 % Wilson intervals in brackets)."""
    names = names_of(adv)
    ci = lambda r, p="": f"{100 * r[p + 'ci_low']:.1f}-{100 * r[p + 'ci_high']:.1f}"  # noqa: E731
    out = [f"# Paper 001 (Metzen et al. 2017) on `{exp}`", "",
           "Detectability = detector accuracy on the union of clean and adversarial test inputs (footnote 3); "
           "ε in [0,255] units (∞ = unbounded DeepFool); intervals are 95 % Wilson intervals.", "",
           "## Fig. 2 (left): accuracy and detectability per adversary", "",
           "| adversary | ε | ε* | position | accuracy % [CI] (n) | detectability % [CI] (n) |", "|---|---|---|---|---|---|"]
    for _, r in adv.iterrows():
        out.append(f"| {names[r['family']]} | {_eps(r['eps'])} | {'*' if r['eps_star'] else ''} | {r['position']} | "
                   f"{100 * r['accuracy']:.1f} [{ci(r, 'accuracy_')}] ({r['accuracy_n']}) | "
                   f"{100 * r['detectability']:.1f} [{ci(r)}] ({r['n']}) |")
    out += ["", "## Fig. 2 (right): detectability (%) per attachment position at ε*", ""]
    m = depth.pivot(index="family", columns="position", values="detectability")
    m = m.loc[list(dict.fromkeys(depth["family"]))]
    m.index = [f"{names.get(f, f)} (ε*={_eps(depth[depth['family'] == f]['eps'].iloc[0])})" for f in m.index]
    out += [_md(m), "", "Selected (best validation detectability): " + ", ".join(
        f"{names.get(r['family'], r['family'])} {r['position']}" for _, r in depth[depth["selected"]].iterrows()), ""]
    feat = depth.drop_duplicates("position")
    out += ["Positions: " + "; ".join(f"{r['position']} = {r['feature']} ({r['side']}×{r['side']}×{r['channels']}, "
                                      f"{r['pools']} poolings)" for _, r in feat.iterrows()), ""]
    out += ["## Fig. 3: ε_fit (rows) × ε_test (columns), detectability %", ""]
    for fam in dict.fromkeys(eps["family"]):
        out += [f"### {names.get(fam, fam)}", "", _md(eps_matrix(eps, fam)), ""]
    out += ["## Fig. 4: detector fit on (rows) × tested on (columns), each at its ε* (or transfer_eps), "
            "detectability %", "",
            _md(attack_matrix(att, names)), ""]
    out += ["## Fig. 5: dynamic adversary", "",
            "Successful = classified correctly clean and wrongly adversarial (Sec. 4.1.2). ‖δ‖∞: mean over the "
            "test inputs ([0,255] units); at ε: fraction of the moved pixels (with room to move ε) at the bound.", "",
            "| detector (epoch) | σ | accuracy % [CI] (n) | successful / correct clean | detectability % [CI] (n) "
            "| ‖δ‖∞ | at ε % |", "|---|---|---|---|---|---|---|"]
    for _, r in dyn.iterrows():
        det = f"{100 * r['detectability']:.1f} [{ci(r)}] ({r['n']})" if r["n"] > 0 else "n/a"
        out.append(f"| {r['detector']} ({r['detector_epoch']}) | {r['sigma']:.1f} | {100 * r['accuracy']:.1f} "
                   f"[{ci(r, 'accuracy_')}] ({r['accuracy_n']}) | {r['n_successful']} / {r['n_clean_correct']} | {det} "
                   f"| {r['delta_linf']:.1f} | {100 * r['at_bound']:.0f} |")
    if untrained_dynamic(dyn):
        out += ["", "The dynamic detector holds its initial weights (selected dynamic-training epoch 0): it is not a "
                "dynamically trained detector, and its claim is not measured."]
    if tr is not None:
        out += ["", "## Dynamic adversary training (Sec. 3.3): validation per epoch", "",
                f"Against the detector's own dynamic adversary, σ ~ U[0, 1] per validation input; epoch 0 = the "
                f"initial weights ({tr['init'].iloc[0]}); selection criterion: {tr['criterion'].iloc[0]}.", "",
                "| epoch | train loss | train acc. % | val. all % [CI] (n) | val. successful % [CI] (n) | selected |",
                "|---|---|---|---|---|---|"]
        for _, r in tr.sort_values("detector_epoch").iterrows():
            succ = (f"{100 * r['val_successful']:.1f} [{ci(r, 'val_successful_')}] ({2 * r['val_n_successful']})"
                    if r["val_n_successful"] > 0 else "n/a")
            loss = "-" if pd.isna(r["train_loss"]) else f"{r['train_loss']:.3f}"
            acc = "-" if pd.isna(r["train_accuracy"]) else f"{100 * r['train_accuracy']:.1f}"
            out.append(f"| {r['detector_epoch']} | {loss} | {acc} | {100 * r['val_all']:.1f} [{ci(r, 'val_all_')}] "
                       f"({r['val_n']}) | {succ} | {'✓' if r['selected'] else ''} |")
    return "\n".join(out) + "\n"
