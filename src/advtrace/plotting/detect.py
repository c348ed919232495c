"""Figs. 6, 16 (detectability across adversarial training) and Fig. 7 (perturbations that
maximise the detector), drawn from the detectability / detector_max(_summary) tables."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import style

RESPECTIVE_COLOR = "black"


def _fixed_label(epoch: int, epochs: Sequence[int]) -> str:
    if epoch == 0:
        return "detector of epoch 0 (no adv. training)"
    if epoch == max(epochs):
        return f"detector of epoch {epoch} (last)"
    return f"detector of epoch {epoch}"


def _band(ax: plt.Axes, d: pd.DataFrame, color) -> None:
    """95 % Wilson interval of each detectability over its union of 2n inputs (issue 17): bars."""
    if "ci_low" in d and len(d):
        ax.vlines(d["test_epoch"], 100 * d["ci_low"], 100 * d["ci_high"], colors=[color], lw=3, alpha=0.35)


def detectability_figure(df: pd.DataFrame, attacks: Sequence[str], fixed_epochs: Sequence[int],
                         title: str = "") -> plt.Figure:
    """Figs. 6 / 16: one panel per attack; detectability over the epoch t′ of the attacked classifier,
    for the detector trained on the respective epoch (t = t′) and for detectors fixed at
    `fixed_epochs` (drawn only where the table holds that detector on several test epochs)."""
    style()
    attacks = list(attacks)
    fig, axes = plt.subplots(1, len(attacks), figsize=(6.4 * len(attacks), 4.3), sharey=True, squeeze=False)
    palette = plt.get_cmap("tab10")
    lo = 100.0
    handles: dict[str, object] = {}
    for ax, attack in zip(axes[0], attacks):
        d = df[df["attack"] == attack].copy()
        d["pct"] = 100.0 * d["accuracy"]
        epochs = sorted(set(d["test_epoch"]) | set(d["train_epoch"]))
        resp = d[d["train_epoch"] == d["test_epoch"]].sort_values("test_epoch")
        h, = ax.plot(resp["test_epoch"], resp["pct"], "o-", color=RESPECTIVE_COLOR, lw=2, ms=6, zorder=3,
                     label="detector of the respective epoch (t = t′)")
        _band(ax, resp, RESPECTIVE_COLOR)
        handles.setdefault(h.get_label(), h)
        if len(resp):
            lo = min(lo, resp["pct"].min())
        only_respective = True
        for i, f in enumerate(fixed_epochs):
            line = d[d["train_epoch"] == f].sort_values("test_epoch")
            if len(line) <= 1:
                continue
            only_respective = False
            h, = ax.plot(line["test_epoch"], line["pct"], "s--", color=palette(i + 1), lw=1.5, ms=5,
                         label=_fixed_label(f, epochs))
            _band(ax, line, palette(i + 1))
            handles.setdefault(h.get_label(), h)
            lo = min(lo, line["pct"].min())
        n = int(d["n"].iloc[0] // 2) if len(d) else 0
        note = " (respective epoch only)" if only_respective and fixed_epochs else ""
        ax.set_title(f"{attack}{note}, {n} test inputs + {n} adversarial")
        ax.set_xlabel("epoch t′ of the attacked classifier (0 = pretrained)")
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    axes[0][0].set_ylabel("detectability (% correct on clean ∪ adversarial)\nbars: 95 % Wilson intervals")
    bottom = max(45.0, np.floor((lo - 3) / 10) * 10)  # zoom in, but never below chance level
    axes[0][0].set_ylim(bottom, 100.5)
    if bottom < 50:
        for ax in axes[0]:
            ax.axhline(50, color="grey", lw=1, ls=":")
            ax.text(0.5, 50, "chance level", color="grey", ha="center", va="top", fontsize=9,
                    transform=ax.get_yaxis_transform())
    fig.legend(list(handles.values()), list(handles.keys()), loc="upper center",
               ncol=min(2 if len(attacks) == 1 else 4, len(handles)),
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.suptitle(title or "Detectability of adversarial perturbations on test data")
    fig.tight_layout()
    return fig


def detector_max_figure(image: pd.DataFrame, summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 7: per epoch, the perturbation maximising the detector's p_adv on training data, shown
    amplified (single channel: diverging colour map over [−ε, ε]; RGB: 0.5 + Ξ·127.5/ε), with the
    mean p_adv it achieves on test inputs in the panel title."""
    style()
    summary = summary.sort_values("epoch")
    epochs = list(summary["epoch"])
    eps = float(summary["eps"].max())
    fig, axes = plt.subplots(1, len(epochs), figsize=(max(6.0, 2.2 * len(epochs) + 1.2), 3.4), squeeze=False,
                             layout="constrained")
    shown = None
    for ax, (_, row) in zip(axes[0], summary.iterrows()):
        d = image[image["epoch"] == row["epoch"]]
        c, h, w = (int(d[k].max()) + 1 for k in ("channel", "row", "col"))
        arr = np.zeros((c, h, w))
        arr[d["channel"].to_numpy(), d["row"].to_numpy(), d["col"].to_numpy()] = d["value"].to_numpy()
        if c == 1:  # grey map as Figs. 4 / 13: mid-grey = 0, white = +ε, black = −ε
            shown = ax.imshow(arr[0], cmap="gray", vmin=-eps, vmax=eps, interpolation="nearest")
        else:
            ax.imshow(np.clip(0.5 + arr.transpose(1, 2, 0) / (2 * eps), 0, 1), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ref = f"clean {100 * row['mean_p_adv_clean']:.1f} %"
        if "mean_p_adv_random" in row and row["mean_p_adv_random"] == row["mean_p_adv_random"]:
            ref += f"\nrandom ±ε sign {100 * row['mean_p_adv_random']:.1f} %"
        ax.set_title(f"epoch {int(row['epoch'])}\nmean p_adv {100 * row['mean_p_adv']:.1f} %\n{ref}", fontsize=9)
    if shown is not None:
        cb = fig.colorbar(shown, ax=list(axes[0]), shrink=0.8)
        cb.set_label("perturbation ([0,255] pixel units)")
        note = f"ε = {eps:g}/255, grey scale −ε (black) … +ε (white)"
    else:
        note = f"ε = {eps:g}/255, amplified ×{127.5 / eps:.1f} around grey"
    n = int(summary["n"].iloc[0])
    fig.suptitle((title or "Perturbations maximising the detector on training data")
                 + f"\n{note}; mean p_adv on {n} test inputs with the perturbation", fontsize=10)
    return fig
