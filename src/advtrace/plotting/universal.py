"""Figs. 3, 12 (18, 23): accuracy under universal perturbations; Figs. 4, 13 (19, 24): the
perturbations themselves. Pure functions of the universal_accuracy / universal_images tables."""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import style
from ..universal_rows import CLEAN, RANDOM_SIGN, UNIVERSAL, images_from_table

SPLIT_NAME = {"train": "training data", "test": "test data"}


def _eps_label(eps: float) -> str:
    return f"{eps:g}/255"


def _universal(df: pd.DataFrame, split: str) -> pd.DataFrame:
    return df[(df["perturbation"] == UNIVERSAL) & (df["source_split"] == split)]


def _respective(df: pd.DataFrame, split: str) -> pd.DataFrame:
    u = _universal(df, split)
    return u[u["source_epoch"] == u["epoch"]].sort_values("epoch")


def _band(ax: plt.Axes, d: pd.DataFrame, color) -> None:
    """The 95 % Wilson interval of a line's accuracies as a light band (issue 17)."""
    if "ci_low" in d and len(d):
        ax.fill_between(d["epoch"], 100 * d["ci_low"], 100 * d["ci_high"], color=color, alpha=0.15, lw=0)


def _baselines(ax: plt.Axes, df: pd.DataFrame) -> None:
    for kind, label, kw in ((CLEAN, "clean (no perturbation)", dict(color="0.35", ls=":", marker=".")),
                            (RANDOM_SIGN, "random ±ε sign perturbation", dict(color="0.55", ls="--", marker="x"))):
        d = df[df["perturbation"] == kind].sort_values("epoch")
        if not d.empty:
            ax.plot(d["epoch"], 100 * d["accuracy"], label=label, lw=1.3, ms=5, **kw)


def _finish(ax: plt.Axes, df: pd.DataFrame, title: str) -> None:
    epochs = sorted(df["epoch"].unique())
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    ax.set_xlabel("adversarial-training epoch of the evaluated model (0 = pretrained)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(-2, 102)
    n = int(df["n"].iloc[0]) if len(df) else 0
    ax.set_title(f"{title}\naccuracy on n = {n} test inputs; bands: 95 % Wilson intervals" if n else title,
                 fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=9.5)


def universal_accuracy(df: pd.DataFrame, source_epochs: Sequence[int], split: str = "train", title: str = "") -> plt.Figure:
    """Fig. 3: accuracy vs epoch under the respective epoch's universal perturbation and under
    those of fixed source epochs (generated on `split`), with clean and random-sign baselines."""
    style()
    fig, ax = plt.subplots(figsize=(7.5, 5.4))
    eps = df.loc[df["perturbation"] == UNIVERSAL, "eps"]
    resp = _respective(df, split)
    ax.plot(resp["epoch"], 100 * resp["accuracy"], color="C3", marker="o", lw=2.2, zorder=5,
            label="universal perturbation of the respective epoch")
    _band(ax, resp, "C3")
    u = _universal(df, split)
    for i, src in enumerate(sorted(source_epochs)):
        d = u[u["source_epoch"] == src].sort_values("epoch")
        if not d.empty:
            ax.plot(d["epoch"], 100 * d["accuracy"], color=f"C{i}", marker="s", ms=4, lw=1.3,
                    label=f"universal perturbation of epoch {src}")
            _band(ax, d, f"C{i}")
    _baselines(ax, df)
    eps_txt = f" (ε = {_eps_label(eps.iloc[0])})" if len(eps) else ""
    _finish(ax, df, title or f"Accuracy under universal perturbations{eps_txt}\ngenerated on {SPLIT_NAME[split]}")
    fig.tight_layout()
    return fig


def universal_train_vs_test(df: pd.DataFrame, title: str = "") -> plt.Figure:
    """Fig. 12: respective-epoch universal perturbations generated on training vs test data."""
    style()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    eps = df.loc[df["perturbation"] == UNIVERSAL, "eps"]
    for split, color, marker, ls in (("train", "C3", "o", "-"), ("test", "C0", "s", "--")):
        d = _respective(df, split)
        if not d.empty:
            ax.plot(d["epoch"], 100 * d["accuracy"], color=color, marker=marker, ls=ls, lw=2,
                    label=f"generated on {SPLIT_NAME[split]}")
            _band(ax, d, color)
    _baselines(ax, df)
    eps_txt = f" (ε = {_eps_label(eps.iloc[0])})" if len(eps) else ""
    _finish(ax, df, title or f"Universal perturbations{eps_txt} of the respective epoch\ngenerated on training vs test data")
    fig.tight_layout()
    return fig


def display_image(xi: np.ndarray, amplify: float) -> np.ndarray:
    """C×H×W perturbation in [0,255] units -> H×W (grey) or H×W×3 image in [0,1] for imshow:
    127.5 + amplify·Ξ, clipped to [0, 255], so 0 is mid-grey."""
    img = np.clip(127.5 + amplify * xi, 0.0, 255.0) / 255.0
    return img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))


def universal_images(df: pd.DataFrame, split: str, epochs: Sequence[int], amplify: float, title: str = "",
                     ncols: int | None = None, title_prefix: str = "") -> plt.Figure:
    """Figs. 4 / 13: grid of universal perturbations generated on `split` for `epochs`,
    amplified by `amplify` around mid-grey, epoch as panel title."""
    style()
    images = images_from_table(df[df["source_split"] == split])
    epochs = [e for e in epochs if (split, e) in images]
    if not epochs:
        raise ValueError(f"no universal perturbations generated on {split!r} for the requested epochs")
    eps = float(df.loc[df["source_split"] == split, "eps"].iloc[0])
    ncols = ncols or min(len(epochs), 6)
    nrows = math.ceil(len(epochs) / ncols)
    grey = images[(split, epochs[0])].shape[0] == 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols + (1.3 if grey else 0.2), 2.1 * nrows + 0.7),
                             squeeze=False)
    im = None
    for ax, epoch in zip(axes.flat, epochs):
        xi = images[(split, epoch)]
        img = display_image(xi, amplify)
        im = ax.imshow(img, cmap="gray" if grey else None, vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(f"epoch {epoch}\nmean |Ξ| = {np.abs(xi).mean():.1f}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes.flat)[len(epochs):]:
        ax.axis("off")
    fig.suptitle((title_prefix + title) if title else f"{title_prefix}Universal perturbations (ε = {_eps_label(eps)}) generated on {SPLIT_NAME[split]}, "
                 f"amplified ×{amplify:g} (grey = 0)", fontsize=11)
    fig.tight_layout()
    if grey and im is not None:
        cbar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.04, pad=0.03)
        ticks = sorted({v for v in (-eps, -eps / 2, 0.0, eps / 2, eps) if abs(amplify * v) <= 127.5 + 1e-9})
        cbar.set_ticks([(127.5 + amplify * v) / 255.0 for v in ticks])
        cbar.set_ticklabels([f"{v:+g}" if v else "0" for v in ticks])
        cbar.set_label("Ξ ([0,255] pixel units)")
    return fig
