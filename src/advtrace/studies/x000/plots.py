"""The cross-method study's figures: pure functions of the x000_metrics table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ...plotting import style
from .analysis import ROLES

COLOURS = {"standard": "#1f77b4", "one_step": "#d62728", "shared": "#2ca02c"}
SHORT = {"standard": "BI (paper 000)", "one_step": "one-step k-of-m (paper 002)", "shared": "shared (paper 004)"}
PANELS = (("sharedness", "sharedness: % of the other inputs\na perturbation fools"),
          ("universal_accuracy", "accuracy under the model's own\nuniversal perturbation (%)"),
          ("detectability", "detectability of the perturbations\n(respective detector, %)"))


def _label(m: pd.DataFrame, role: str) -> str:
    d = m[m["role"] == role]
    if d.empty:
        return SHORT[role]
    return f"{SHORT[role]}\n{d['run'].iloc[0]}, T = {int(d['T'].iloc[0])}"


TICK = {"standard": "BI", "one_step": "one-step\nk-of-m", "shared": "shared"}


def _last(m: pd.DataFrame, role: str, metric: str) -> pd.Series | None:
    d = m[(m["role"] == role) & (m["metric"] == metric)]
    return None if d.empty else d.loc[d["epoch"].idxmax()]


def _point(ax, x, r, colour, filled=True, offset=0.0, label=None):
    ax.errorbar([x + offset], [100 * r["value"]], yerr=[[100 * (r["value"] - r["ci_low"])], [100 * (r["ci_high"] - r["value"])]],
                fmt="o", color=colour, mfc=colour if filled else "white", ms=7, capsize=4, label=label)


def _tick(m: pd.DataFrame, role: str, min_epochs: int | None) -> str:
    d = m[m["role"] == role]
    short = min_epochs is not None and not d.empty and int(d["T"].iloc[0]) < min_epochs
    return TICK[role] + ("\n(too short:\nno verdict)" if short else "")


def methods_final(m: pd.DataFrame, title: str, min_epochs: int | None = None) -> plt.Figure:
    """Each run at its last analysed epoch (= its T), side by side: sharedness, universal accuracy (clean
    accuracy hollow), detectability, and the shares of stable and oscillating perturbations (whole
    profile). A run with fewer than `min_epochs` epochs is marked: its comparisons give no verdict."""
    style()
    fig, axes = plt.subplots(1, 4, figsize=(16, 5.2))
    xs = {role: i for i, role in enumerate(ROLES)}
    for ax, (metric, ylabel) in zip(axes[:3], PANELS):
        for role in ROLES:
            r = _last(m, role, metric)
            if r is None:
                ax.text(xs[role], 0.5, "not analysed", ha="center", va="center", fontsize=9, color="grey",
                        rotation=90, transform=ax.get_xaxis_transform())
                continue
            _point(ax, xs[role], r, COLOURS[role])
            if metric == "universal_accuracy":
                c = _last(m, role, "clean_accuracy")
                if c is not None:
                    _point(ax, xs[role], c, COLOURS[role], filled=False, offset=0.22,
                           label="clean accuracy" if role == ROLES[0] else None)
        ax.set_ylabel(ylabel)
        if metric == "universal_accuracy" and ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower left", fontsize=8)
    ax = axes[3]
    for role in ROLES:
        for metric, filled, off in (("stable_share", True, -0.12), ("oscillating_share", False, 0.12)):
            r = _last(m, role, metric)
            if r is not None:
                _point(ax, xs[role], r, COLOURS[role], filled=filled, offset=off,
                       label=("stable (MaxMin < 0.5)" if filled else "oscillating") if role == ROLES[0] else None)
    ax.set_ylabel("profile inputs, over the run's profile epochs 0..T (%)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", fontsize=8)
    for ax in axes:
        ax.set_xticks(range(len(ROLES)))
        ax.set_xticklabels([_tick(m, role, min_epochs) for role in ROLES], fontsize=9)
        ax.set_xlim(-0.6, len(ROLES) - 0.4)
    handles = [plt.Line2D([], [], marker="o", ls="", color=COLOURS[role], label=_label(m, role).replace("\n", ": "))
               for role in ROLES]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def methods_training(m: pd.DataFrame, title: str) -> plt.Figure:
    """The measures over training (x: the fraction of each run's epochs), one line per run with its 95 %
    band (a point with its interval bar for a run its section analyses at the last epoch only,
    ``run_epochs: last``); the universal panel also draws each run's clean accuracy (dashed)."""
    style()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, (metric, ylabel) in zip(axes, PANELS):
        for role in ROLES:
            d = m[(m["role"] == role) & (m["metric"] == metric)].sort_values("fraction")
            if d.empty:
                continue
            ax.plot(d["fraction"], 100 * d["value"], "o-", color=COLOURS[role], label=_label(m, role).replace("\n", ", "))
            if len(d) == 1:  # a run analysed at its last epoch only (run_epochs: last): its interval as a bar
                _point(ax, d["fraction"].iloc[0], d.iloc[0], COLOURS[role])
            else:
                ax.fill_between(d["fraction"], 100 * d["ci_low"], 100 * d["ci_high"], color=COLOURS[role], alpha=0.15)
            if metric == "universal_accuracy":
                c = m[(m["role"] == role) & (m["metric"] == "clean_accuracy")].sort_values("fraction")
                ax.plot(c["fraction"], 100 * c["value"], "--" if len(c) > 1 else "x", color=COLOURS[role], lw=1)
        ax.set_xlabel("fraction of the run's adversarial training (epoch / T)")
        ax.set_ylabel(ylabel + (" (dashed: clean)" if metric == "universal_accuracy" else ""))
        ax.set_xlim(-0.05, 1.05)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
