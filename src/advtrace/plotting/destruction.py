"""Figs. 5, 14, 15 (20, 25): destruction rate vs transformation strength, one line per epoch."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from . import style

PANELS = {
    "brightness": ("brightness", "additive change δ (pixel units, 0–255)", 0.0),
    "contrast": ("contrast", "multiplicative factor μ", 1.0),
    "blur": ("Gaussian blur", "σ (pixels)", 0.0),
    "noise": ("Gaussian noise", "σ (pixel units, 0–255)", 0.0),
}
PALETTE = "mako_r"  # sequential: light = early epochs, dark = late epochs


def destruction_rates(df: pd.DataFrame, attack: str, title: str = "") -> plt.Figure:
    """Four panels (brightness, contrast, blur, noise): destruction rate (%) vs strength for one
    attack, one line per epoch (sequential palette, early → late). The legend gives each epoch's
    number of effective perturbations (the denominator); an epoch without any has no points and
    says so in the legend instead of being drawn as 0."""
    style()
    d = df[df["attack"] == attack]
    if d.empty:
        raise ValueError(f"no destruction rows for attack {attack!r}; have {sorted(df['attack'].unique())}")
    epochs = sorted(int(e) for e in d["epoch"].unique())
    # skip the palette's lightest shade so the earliest epoch stays readable on white
    colors = dict(zip(epochs, sns.color_palette(PALETTE, n_colors=len(epochs) + 1)[1:]))
    fig, grid = plt.subplots(2, 2, figsize=(10.5, 7.4), sharey=True)
    axes = grid.ravel()
    for ax, (name, (label, unit, identity)) in zip(axes, PANELS.items()):
        p = d[d["transform"] == name].sort_values("strength")
        for epoch in epochs:
            e = p[p["epoch"] == epoch]
            if e.empty or e["destruction_rate"].isna().all():
                continue
            ax.plot(e["strength"], 100 * e["destruction_rate"], color=colors[epoch], marker="o", ms=3.5, lw=1.6)
            if "ci_low" in e:  # 95 % Wilson interval over the effective inputs (issue 17)
                ax.fill_between(e["strength"], 100 * e["ci_low"], 100 * e["ci_high"], color=colors[epoch],
                                alpha=0.13, lw=0)
        ax.axvline(identity, color="0.6", lw=0.8, ls=":", zorder=0)
        ax.set_title(label)
        ax.set_xlabel(unit)
        if p.empty:
            ax.text(0.5, 0.5, "not swept", ha="center", va="center", transform=ax.transAxes, color="0.4")
    for ax in grid[:, 0]:
        ax.set_ylabel("destruction rate (%)")
    axes[0].set_ylim(-3, 103)
    handles, labels = [], []
    for epoch in epochs:
        n_eff = d.loc[d["epoch"] == epoch, "n_effective"]
        n_in = d.loc[d["epoch"] == epoch, "n_inputs"]
        n, total = (int(n_eff.iloc[0]), int(n_in.iloc[0])) if len(n_eff) else (0, 0)
        if n == 0:
            handles.append(Line2D([], [], color=colors[epoch], ls="none", marker="x"))
            labels.append(f"epoch {epoch}: no effective\nperturbation (0 of {total}), no rate")
        else:
            handles.append(Line2D([], [], color=colors[epoch], marker="o", ms=3.5, lw=1.6))
            labels.append(f"epoch {epoch} (n = {n} of {total})")
    fig.legend(handles, labels, title="adv.-training epoch\n(n = effective perturbations;\nbands: 95 % Wilson intervals)",
               loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(title or f"Destruction rate of {attack} perturbations under image transformations")
    fig.tight_layout()
    return fig

