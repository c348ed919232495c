"""Figures: each is a pure function of Parquet tables (never checkpoints or tensors).

One submodule per analysis (learning, stability, universal, transforms, detect); every figure
function takes DataFrames (and plain options) and returns a matplotlib Figure. This module holds
the shared style and :func:`save_figure`, which writes the PDF and PNG atomically. File names
follow the paper's CIFAR-10 numbering: ``fig{NN}_{slug}.pdf/.png``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ..runtime import atomic_path  # noqa: E402


def style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.15)


def save_figure(fig: plt.Figure, pdf: str | Path, png: str | Path, dpi: int = 150) -> None:
    for path, kw in ((pdf, {}), (png, {"dpi": dpi})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."), bbox_inches="tight", **kw)
    plt.close(fig)
