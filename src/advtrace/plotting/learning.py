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


def learning_curves(df: pd.DataFrame, title: str = "", attacks: dict | None = None,
                    epoch_offset: int = 0) -> plt.Figure:
    """Fig. 8: clean / attacked accuracy on train and test subsets over adversarial-training epochs,
    one line per (attack, split) with its 95 % Wilson band; the legend names each line (attack with
    its ε and iterations from `attacks`, the config's evaluation.attacks; split; n). `epoch_offset`:
    the x axis in the paper's numbering (GTSRB: t + 25 vanilla epochs)."""
    style()
    df = df.assign(epoch=df["epoch"] + epoch_offset)
    cfgs = attacks or {}
    order = [a for a in ATTACK_ORDER if a in set(df["attack"])] + sorted(set(df["attack"]) - set(ATTACK_ORDER))
    colors = dict(zip(order, sns.color_palette(n_colors=len(order))))
    fig, ax = plt.subplots(figsize=(10.5, 4.6))
    for attack in order:
        for split, ls, marker in (("train", (0, (4, 2)), "s"), ("test", "-", "o")):
            d = df[(df["attack"] == attack) & (df["split"] == split)].sort_values("epoch")
            if d.empty:
                continue
            name = "clean" if attack == "clean" else attack_text(str(attack), cfgs.get(attack))
            ax.plot(d["epoch"], 100 * d["accuracy"], color=colors[attack], ls=ls, marker=marker, ms=4, lw=1.6,
                    label=f"{name}, {'training' if split == 'train' else 'test'} data (n = {int(d['n'].iloc[0])})")
            if "ci_low" in d:
                ax.fill_between(d["epoch"], 100 * d["ci_low"], 100 * d["ci_high"], color=colors[attack],
                                alpha=0.12, lw=0)
    ax.set_xlabel("adversarial-training epoch (0 = pretrained model)" if not epoch_offset else
                  f"epoch in the paper's numbering ({epoch_offset} vanilla epochs, then adversarial training)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title or "Learning curve during adversarial training")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8.5,
              title="bands: 95 % Wilson intervals", title_fontsize=8.5)
    epochs = sorted(df["epoch"].unique())
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    fig.tight_layout()
    return fig
