"""Fig. 8 (17, 22): learning curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import style

ATTACK_ORDER = ["clean", "FGSM", "BI"]


def attack_text(label: str, cfg: dict | None) -> str:
    """``BI (ε = 32/255, α = 8/255, 10 it.)`` from a config attack ([0,255] units)."""
    if not cfg:
        return label
    parts = [f"ε = {cfg['eps']:g}/255"] if "eps" in cfg else []
    if "alpha" in cfg:
        parts.append(f"α = {cfg['alpha']:g}/255")
    if "iterations" in cfg:
        parts.append(f"{cfg['iterations']} it.")
    return f"{label} ({', '.join(parts)})" if parts else label


def learning_curves(df: pd.DataFrame, title: str = "", attacks: dict | None = None) -> plt.Figure:
    """Fig. 8 (17, 22): clean / attacked accuracy on train and test subsets per epoch, one line per
    (attack, split) with its 95 % Wilson band; the legend names each line (attack with its ε and
    iterations from `attacks`, the config's evaluation.attacks; split; n). The x axis is the table's
    paper_epoch (the paper's numbering: GTSRB counts the 25 vanilla epochs, t = 0 is paper epoch 25).
    Rows of the vanilla epochs (phase pretrain, Figs. 17/22) continue each line to the left of a
    dotted marker where adversarial training starts, on a grey background (both in the legend)."""
    style()
    cfgs = attacks or {}
    adv = df[df["phase"] == "adversarial"]
    pre = df[df["phase"] == "pretrain"]
    start = int(adv["paper_epoch"].min() - adv["epoch"].min()) if not adv.empty else 0  # paper epoch of t = 0
    order = [a for a in ATTACK_ORDER if a in set(df["attack"])] + sorted(set(df["attack"]) - set(ATTACK_ORDER))
    colors = dict(zip(order, sns.color_palette(n_colors=len(order))))
    many = df["paper_epoch"].nunique() > 40  # e.g. GTSRB's 25 + 176 epochs: lines without markers
    fig, ax = plt.subplots(figsize=(10.5, 4.6))
    if not pre.empty:  # in the legend, not as text: the vanilla phase is 1/8 of a GTSRB axis
        first = int(pre["paper_epoch"].min())
        ax.axvspan(first, start, color="0.9", lw=0, zorder=0,
                   label=f"vanilla training (paper epochs {first}–{start - 1})")
        ax.axvline(start, color="0.25", ls=":", lw=1.4, zorder=1,
                   label=f"adversarial training starts (paper epoch {start})")
    for attack in order:
        for split, ls, marker in (("train", (0, (4, 2)), "s"), ("test", "-", "o")):
            d = df[(df["attack"] == attack) & (df["split"] == split)].sort_values("paper_epoch")
            if d.empty:
                continue
            name = "clean" if attack == "clean" else attack_text(str(attack), cfgs.get(attack))
            ax.plot(d["paper_epoch"], 100 * d["accuracy"], color=colors[attack], ls=ls, marker=None if many else marker,
                    ms=4, lw=1.6,
                    label=f"{name}, {'training' if split == 'train' else 'test'} data (n = {int(d['n'].iloc[0])})")
            if "ci_low" in d:
                ax.fill_between(d["paper_epoch"], 100 * d["ci_low"], 100 * d["ci_high"], color=colors[attack],
                                alpha=0.12, lw=0)
    if not pre.empty:
        ax.set_xlabel("epoch in the paper's numbering (vanilla, then adversarial training)")
    elif start:
        ax.set_xlabel(f"epoch in the paper's numbering ({start} vanilla epochs, then adversarial training)")
    else:
        ax.set_xlabel("adversarial-training epoch (0 = pretrained model)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title or "Learning curve during adversarial training")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8.5,
              title="bands: 95 % Wilson intervals", title_fontsize=8.5)
    epochs = sorted(df["paper_epoch"].unique())
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    fig.tight_layout()
    return fig
