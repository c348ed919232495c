"""Figs. 1, 2, 9, 10, 11 of paper 000: temporal stability profiles, sharedness vs. stability,
white-/black-box transfer error, MaxMin vs. MinMax, sharedness per epoch. Pure functions of the
tables written by :mod:`advtrace.stability`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..stability_plan import CASE_TEXT, SHARED_PCT
from ..stability_plan import EXAMPLE_CASES as CASES
from . import jitter, style

CASE_COLOR = {"robust": "tab:green", "stable": "tab:red", "oscillation": "tab:purple"}
P_LABEL = r"$P_{t_1,t_2} = p(y_\mathrm{true}\,|\,x+\xi_{t_1};\,\theta_{t_2})$"


def _epoch_ticks(ax: plt.Axes, epochs: list[int], axis: str) -> None:
    step = max(1, int(np.ceil(len(epochs) / 12)))
    pos = list(range(0, len(epochs), step))
    if pos[-1] != len(epochs) - 1:
        pos.append(len(epochs) - 1)
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter(pos, [str(epochs[p]) for p in pos])


def stability_profiles(profile: pd.DataFrame, summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 1: profiles (rows: source epoch t1, columns: target epoch t2) of the three example inputs."""
    style()
    ex = summary[summary["example"] != ""].copy()
    ex["order"] = ex["example"].map({c: i for i, c in enumerate(CASES)})
    ex = ex.sort_values("order")
    set_name = str(summary["set"].iloc[0])
    fig, axes = plt.subplots(1, max(1, len(ex)), figsize=(4.2 * max(1, len(ex)) + 1.2, 4.9), squeeze=False)
    im = None
    for ax, (_, row) in zip(axes[0], ex.iterrows()):
        d = profile[profile["input_id"] == row["input_id"]]
        P = d.pivot(index="source_epoch", columns="target_epoch", values="p_true").sort_index().sort_index(axis=1)
        epochs = [int(e) for e in P.index]
        P = P.to_numpy(dtype=float)
        im = ax.imshow(P, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="equal")
        _epoch_ticks(ax, epochs, "x")
        _epoch_ticks(ax, epochs, "y")
        ax.grid(False)
        ax.set_xlabel(r"target epoch $t_2$ (model $\theta_{t_2}$)")
        ax.set_ylabel(r"source epoch $t_1$ (perturbation $\xi_{t_1}$)")
        ax.set_title(f"{CASE_TEXT[row['example']]}\ntest input #{row['input_id']} (class {row['label']})\n"
                     f"MaxMin = {row['maxmin']:.2f}, MinMax = {row['minmax']:.2f}", fontsize=10)
    if im is not None:
        cb = fig.colorbar(im, ax=axes[0].tolist(), fraction=0.025, pad=0.02)
        cb.set_label(P_LABEL)
    fig.suptitle(title or "Temporal stability profiles", y=1.02)
    n_inputs = len(summary)
    fig.text(0.5, 0.0,
             "White: correct class with high confidence (P ≈ 1); black: wrong class with high confidence (P ≈ 0).\n"
             r"MaxMin = min$_{t_1}$ max$_{t_2}$ P (small: a stable perturbation fools every model); "
             r"MinMax = max$_{t_2}$ min$_{t_1}$ P (large: one model resists every perturbation)." "\n"
             f"Inputs chosen automatically among the {n_inputs} test inputs ('{set_name}') classified correctly clean at every epoch: largest MinMax (among inputs "
             "the first epoch's attack fooled), smallest MaxMin, largest MaxMin − MinMax.",
             ha="center", va="top", fontsize=8.5)
    return fig


def _log_ticks(axis, values: pd.Series) -> None:
    """Readable log-axis labels: decades only, or 1-2-5 steps where the data span < 2 decades."""
    axis.set_minor_formatter(NullFormatter())  # minor labels collide
    if len(values) and np.log10(values.max() / values.min()) < 2:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def sharedness_vs_stability(svs: pd.DataFrame, corr: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 2: log-log scatter of J^Δ_current,train vs J^Δ_future,test with the Pearson r (log-log)."""
    style()
    c = corr.iloc[0]
    used = svs[svs["used"]]
    fig, ax = plt.subplots(figsize=(10.4, 5.4))
    for fooled, color, lab in ((True, "tab:red", r"$\xi_{i,0}$ fools $\theta_0$ on $x_i$"),
                               (False, "tab:blue", r"$\xi_{i,0}$ does not fool $\theta_0$ on $x_i$")):
        g = used[used["own_fooled"] == fooled]
        if len(g):
            ax.scatter(g["j_current_train"], g["j_future_test"], s=14, alpha=0.6, color=color, lw=0,
                       label=f"{lab} (n={len(g)})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_ticks(ax.xaxis, used["j_current_train"])
    _log_ticks(ax.yaxis, used["j_future_test"])
    if len(used) >= 2:
        lx, ly = np.log10(used["j_current_train"]), np.log10(used["j_future_test"])
        slope, icpt = np.polyfit(lx, ly, 1)
        xs = np.linspace(lx.min(), lx.max(), 50)
        ax.plot(10 ** xs, 10 ** (icpt + slope * xs), color="k", lw=1.2, ls="--", label="least-squares fit (log-log)")
    n_train, n_future = int(svs["n_train"].iloc[0]), int(svs["n_future"].iloc[0])
    ax.set_xlabel(r"$J^\Delta_\mathrm{current,train}$: mean cost change on " f"N = {n_train} training inputs\n"
                  r"under $\theta_0$ (sharedness)")
    ax.set_ylabel(r"$J^\Delta_\mathrm{future,test}$: mean cost change on the same input" "\n"
                  r"under $\theta_t$, $t \in \mathcal{T}$, $|\mathcal{T}|$" f" = {n_future} (stability)")
    p = c["pearson_p_loglog"]
    p_txt = "n/a" if not np.isfinite(p) else (f"{p:.1e}" if p >= 1e-300 else "< 1e-300")
    excluded = int(c["n_inputs"] - c["n_used"])
    txt = (f"Pearson r (log-log) = {c['pearson_r_loglog']:.3f}, p = {p_txt}\n"
           f"n = {int(c['n_used'])} of {int(c['n_inputs'])} test inputs; {excluded} excluded\n"
           f"(non-positive: {int(c['n_nonpositive_current'])} current, {int(c['n_nonpositive_future'])} future;\n"
           f" log undefined)   Spearman (all inputs) = {c['spearman_r']:.3f}")
    # legend and statistics beside the axes, so neither covers points (issue 17)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8.5, frameon=False)
    ax.text(1.02, 0.0, txt, transform=ax.transAxes, fontsize=8.5, va="bottom", ha="left",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    ax.set_title(title or "Sharedness vs. stability", fontsize=11)
    fig.tight_layout()
    return fig


def transfer_error(df: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 9: error rate of white-box ('respective epoch') and black-box attacks over target epochs."""
    style()
    d = df.copy()
    d["error_pct"] = 100 * d["error_rate"]
    d["source"] = d["source"].astype(str)
    black = sorted({s for s in d["source"] if s != "respective epoch"}, key=lambda s: int(s.split()[-1]))
    order = ["respective epoch"] + black
    palette = {"respective epoch": "black", **dict(zip(black, sns.color_palette("viridis", len(black))))}
    splits = [s for s in ("train", "test") if s in set(d["split"])]
    fig, axes = plt.subplots(1, len(splits), figsize=(5.4 * len(splits) + 1.8, 4.3), sharey=True, squeeze=False)
    for ax, split in zip(axes[0], splits):
        g = d[d["split"] == split]
        for src in order:
            h = g[g["source"] == src].sort_values("target_epoch")
            if h.empty:
                continue
            white = src == "respective epoch"
            ax.plot(h["target_epoch"], h["error_pct"], color=palette[src], lw=2.4 if white else 1.4,
                    ls="-" if white else "--", marker="o" if len(h) <= 30 else None, ms=3.5,
                    label="respective epoch (white-box)" if white else f"source {src} (black-box)")
            if not white:  # mark the source model itself
                s = int(src.split()[-1])
                at = h[h["target_epoch"] == s]
                ax.scatter(at["target_epoch"], at["error_pct"], s=70, facecolor="none", edgecolor=palette[src], lw=1.5)
        n = int(g["n"].iloc[0])
        ax.set_title(f"{'training' if split == 'train' else 'test'} inputs (n = {n})")
        ax.set_xlabel("target epoch (model attacked; 0 = pretrained)")
        ax.set_ylim(-2, 102)
        epochs = sorted(g["target_epoch"].unique())
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    axes[0][0].set_ylabel("error rate under BI (%)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    axes[0][-1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
                       title="perturbations generated on", fontsize=9)
    fig.suptitle(title or "Error rate of white-box and black-box attacks", y=1.0)
    fig.text(0.5, -0.02, "Open circles: the source model itself (where the black-box curve is white-box).",
             ha="center", va="top", fontsize=8.5)
    fig.tight_layout()
    return fig


def maxmin_minmax(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 10: MaxMin (y) against MinMax (x) for the profile inputs; MinMax ≤ MaxMin always."""
    style()
    fig, ax = plt.subplots(figsize=(9.0, 5.6))
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="MaxMin = MinMax")
    ok = summary["clean_correct_all"].astype(bool) if "clean_correct_all" in summary else pd.Series(True, summary.index)
    ax.scatter(summary.loc[ok, "minmax"], summary.loc[ok, "maxmin"], s=16, alpha=0.45, color="tab:blue", lw=0,
               label=f"classified correctly clean at every epoch (n = {int(ok.sum())})")
    if (~ok).any():
        ax.scatter(summary.loc[~ok, "minmax"], summary.loc[~ok, "maxmin"], s=18, alpha=0.6, color="0.45", marker="x",
                   lw=0.8, label=f"misclassified clean by some epoch's model (n = {int((~ok).sum())})")
    for case in CASES:
        r = summary[summary["example"] == case]
        if len(r):
            ax.scatter(r["minmax"], r["maxmin"], s=90, facecolor="none", edgecolor=CASE_COLOR[case], lw=2,
                       label=f"Fig. 1: {CASE_TEXT[case]} (#{int(r['input_id'].iloc[0])})")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_aspect("equal")
    ax.set_xlabel("MinMax = max$_{t_2}$ min$_{t_1}$ P\n(large: one model resists every perturbation)")
    ax.set_ylabel("MaxMin = min$_{t_1}$ max$_{t_2}$ P\n(large: every perturbation fails under some model)")
    kw = {"fontsize": 9, "color": "0.3", "transform": ax.transAxes, "style": "italic",
          "bbox": {"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5}, "zorder": 6}
    # corner names at their corners; the two on the diagonal sit just below it, where no point can
    # be (MinMax <= MaxMin always), so they cover none
    ax.text(0.02, 0.98, "oscillation\n(upper left)", ha="left", va="top", **kw)
    ax.text(0.985, 0.905, "robust to all\n(upper right)", ha="right", va="top", **kw)
    ax.text(0.06, 0.012, "stable perturbation (lower left)", ha="left", va="bottom", **kw)
    stable = int((summary["maxmin"] < 0.5).sum())
    osc = int(((summary["maxmin"] >= 0.5) & (summary["minmax"] < 0.5)).sum())
    robust = int((summary["minmax"] >= 0.5).sum())
    ax.legend(loc="center left", bbox_to_anchor=(1.03, 0.5), frameon=False, fontsize=8.5,
              title=(f"all {len(summary)} profile test inputs counted:\n"
                     f"stable (MaxMin < 0.5): {stable}\noscillation (MaxMin ≥ 0.5 > MinMax): {osc}\n"
                     f"robust to all (MinMax ≥ 0.5): {robust}\nFig. 1's examples: correctly classified clean"),
              title_fontsize=8.5, alignment="left")
    ax.set_title(title or "MaxMin vs. MinMax", fontsize=11)
    fig.tight_layout()
    return fig


def sharedness(sh: pd.DataFrame, summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 11: distribution over perturbations of the % of other test inputs each is effective on."""
    style()
    d = sh.copy()
    d["epoch"] = d["epoch"].astype(int)
    epochs = sorted(d["epoch"].unique())
    fig, ax = plt.subplots(figsize=(max(5.5, 1.5 * len(epochs) + 2.5), 4.6))
    sns.boxplot(data=d, x="epoch", y="pct_effective", order=epochs, color="0.85", fliersize=0, width=0.55, ax=ax)
    for i, e in enumerate(epochs):  # seaborn's stripplot jitters with the global NumPy RNG: seeded here
        y = d.loc[d["epoch"] == e, "pct_effective"].to_numpy()
        ax.scatter(i + jitter(len(y), 0.2, seed=e), y, s=2.5 ** 2, color="tab:blue", alpha=0.45, linewidths=0,
                   zorder=3)
    s = summary.set_index("epoch").loc[epochs]
    ax.scatter(range(len(epochs)), s["mean_pct"], marker="D", s=45, color="tab:red", zorder=5,
               label="mean (bar: 95 % bootstrap interval)")
    if "mean_ci_low" in s:
        ax.errorbar(range(len(epochs)), s["mean_pct"], yerr=[s["mean_pct"] - s["mean_ci_low"],
                    s["mean_ci_high"] - s["mean_pct"]], fmt="none", ecolor="tab:red", elinewidth=1.6, capsize=4,
                    zorder=6)
    top = max(float(d["pct_effective"].max()), 1.25 * SHARED_PCT)
    for i, (_, r) in enumerate(s.iterrows()):
        ci = f" [{r['mean_ci_low']:.1f}, {r['mean_ci_high']:.1f}]" if "mean_ci_low" in r else ""
        ax.text(i, top * 1.04, f"mean {r['mean_pct']:.1f}%{ci}\nrange {r['min_pct']:.1f}–{r['max_pct']:.1f}\n"
                f"of {int(r['n_other'])} others", ha="center", va="bottom", fontsize=8.5)
    ax.axhline(SHARED_PCT, color="0.4", ls=":", lw=1.2, label=f"{SHARED_PCT:g} % (shared vs. singular)")
    ax.set_ylim(-0.02 * top, top * 1.3)
    ax.set_xlabel("adversarial-training epoch (perturbations generated and evaluated with this model)")
    ax.set_ylabel("other test inputs the perturbation\nis effective on (%)")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.82), fontsize=8.5)
    n_p = int(s["n_perturbations"].iloc[0])
    ax.set_title(title or "Sharedness of adversarial perturbations", fontsize=10.5)
    fig.text(0.5, -0.01, f"{n_p} perturbations per epoch; above each box: mean [95 % bootstrap interval], range. "
             "The % is over all the n other test inputs, as the paper\n(effective = prediction changes from correct "
             "to incorrect; table column pct_effective_of_correct: over those classified correctly clean).",
             ha="center", va="top", fontsize=8.5)
    fig.tight_layout()
    return fig
