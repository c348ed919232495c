"""Figures: each is a pure function of Parquet tables (never checkpoints or tensors).

One submodule per analysis (learning, stability, universal, destruction, detect); every figure
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


# Figures are byte-for-byte reproducible: no creation timestamp in the PDF (Matplotlib writes
# the current time, or SOURCE_DATE_EPOCH, unless told not to), and no random draw without a seed
# (strip-plot jitter: :func:`jitter`).
PDF_METADATA = {"CreationDate": None}
PNG_METADATA: dict = {}  # Matplotlib's PNGs carry no timestamp (only Software: its version)


def save_figure(fig: plt.Figure, pdf: str | Path, png: str | Path, dpi: int = 150) -> None:
    for path, kw in ((pdf, {"metadata": PDF_METADATA}), (png, {"dpi": dpi, "metadata": PNG_METADATA})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."), bbox_inches="tight", **kw)
    plt.close(fig)


def run_label(exp: str, run: str) -> str:
    """How a figure title names what it shows: the experiment, and the run unless it is main."""
    return exp if run == "main" else f"{exp}, run {run}"


def jitter(n: int, width: float, seed: int = 0):
    """`n` seeded offsets uniform in [-width, width] (strip plots; never the global NumPy RNG)."""
    import numpy as np

    return np.random.default_rng(seed).uniform(-width, width, n)
