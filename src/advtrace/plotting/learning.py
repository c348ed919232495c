"""Fig. 8 (17, 22): learning curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import style

ATTACK_ORDER = ["clean", "FGSM", "BI"]


def learning_curves(df: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 8: clean / attacked accuracy on train and test subsets over adversarial-training epochs."""
    style()
    attacks = [a for a in ATTACK_ORDER if a in set(df["attack"])] + sorted(set(df["attack"]) - set(ATTACK_ORDER))
    d = df.copy()
    d["accuracy_pct"] = 100 * d["accuracy"]
    d["split"] = d["split"].map({"train": "train", "test": "test"}).astype(str)
    d["attack"] = d["attack"].astype(str)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sns.lineplot(data=d, x="epoch", y="accuracy_pct", hue="attack", hue_order=attacks, style="split",
                 style_order=["train", "test"], markers=True, dashes={"train": (4, 2), "test": ""}, ax=ax)
    ax.set_xlabel("adversarial-training epoch (0 = pretrained model)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-2, 102)
    n = d.groupby("split")["n"].first().to_dict()
    ax.set_title(title or "Learning curve during adversarial training")
    handles, labels = ax.get_legend_handles_labels()
    labels = [f"{lab} (n={n[lab]})" if lab in n else lab for lab in labels]
    ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    epochs = sorted(d["epoch"].unique())
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    fig.tight_layout()
    return fig
