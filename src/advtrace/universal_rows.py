"""The universal-perturbation tables' labels and the reader of ``universal_images``: pure pandas and numpy,
so the figure jobs (advtrace.plotting.universal) do not import torch (~2 s of each job's start-up).
:mod:`advtrace.universal` computes the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLEAN, UNIVERSAL, RANDOM_SIGN = "clean", "universal", "random_sign"


def images_from_table(df: pd.DataFrame) -> dict[tuple[str, int], np.ndarray]:
    """Inverse of :func:`advtrace.universal.image_rows`: {(source_split, epoch): C×H×W array in [0,255] units}."""
    out = {}
    for (split, epoch), g in df.groupby(["source_split", "epoch"], sort=True):
        c, h, w = int(g["channel"].max()) + 1, int(g["row"].max()) + 1, int(g["col"].max()) + 1
        arr = np.zeros((c, h, w))
        arr[g["channel"].to_numpy(), g["row"].to_numpy(), g["col"].to_numpy()] = g["value"].to_numpy()
        out[(str(split), int(epoch))] = arr
    return out
