"""Prepared datasets and the fixed sample sets every analysis uses.

``prepare_dataset`` draws the experiment's train/val/test splits (seeded, disjoint within each
official source split) and writes them once as uint8 tensors together with per-channel
mean/std of the training split (used by the model's internal normalisation):

    results/{exp}/data/dataset.pt   {"train_x": uint8 N×C×H×W, "train_y": int64 N, "val_x", ...,
                                     "train_source_index": int64 N (index into the official split),
                                     "num_classes", "in_channels", "image_size", "mean", "std", "name",
                                     "class_index", "class_names": only for a class subset (dataset.classes)}

A dataset whose raw images are too large for memory (ImageNet: 1.28 M images of 3×299×299 fill
~343 GB; its sources are lazy :class:`advtrace.datasets.ImageFiles`) keeps its images out of
``dataset.pt``: each split's ``x`` is written incrementally, in chunks, to a uint8 ``.npy`` file
beside it (``numpy.lib.format.open_memmap``, atomically renamed when complete), and ``dataset.pt``
records ``"x_store": "npy"`` and per split ``"{split}_x_file"`` (the file name) and
``"{split}_x_shape"``::

    results/{exp}/data/train_x.npy, val_x.npy, test_x.npy   uint8 N×C×H×W
    results/{exp}/data/dataset.pt                            labels, indices, mean/std, file names

:func:`load_dataset` opens the files read-only with ``mmap_mode="r"`` and puts
``torch.from_numpy`` views of them under ``"{split}_x"``, so ``data["train_x"][idx]`` reads just
those images from disk (through the page cache) and every consumer indexes as before. Training
keeps such a split on the CPU and moves each mini-batch to the device (:func:`resident`).
``dataset.pt`` is written last and still loaded with ``torch.load(weights_only=True)``; the
``.npy`` files are checked for shape and dtype (not checksummed: hashing 343 GB on every load
would dominate the job).

``draw_samples`` draws each named sample set of ``samples:`` once from its split, seeded by the
experiment seed and the set's name (adding a set never changes the others), disjoint from the
sets it ``exclude``s, and stores them as the ``samples`` Parquet table
(set, rank, split, index).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .runtime import CheckpointError, Progress, atomic_path, load_torch, log, rerun_hint, save_torch
from .tables import write_table

SPLITS = ("train", "val", "test")


def seed_for(seed: int, *parts: object) -> int:
    """The project's one seed derivation: a reproducible 63-bit seed from the experiment seed and
    labels naming what it seeds (``seed_for(s, "samples/eval_test")``, ``seed_for(s, "detector-init",
    "BI", 3)``; the labels are joined with ``/``)."""
    return (int(seed) * 1_000_003 + zlib.crc32("/".join(map(str, parts)).encode())) % (2**63)


def _generator(seed: int, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(seed_for(seed, name))


def _group_order(groups: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Image indices ordered by a seeded permutation of their groups (images of one group
    together, in index order), and for each position the end position of its group."""
    uniq, inv = torch.unique(groups, return_inverse=True)
    rank = torch.empty_like(uniq)
    rank[torch.randperm(len(uniq), generator=gen)] = torch.arange(len(uniq))
    key = rank[inv] * (len(groups) + 1) + torch.arange(len(groups))
    order = torch.argsort(key)
    g = rank[inv][order]
    ends = torch.searchsorted(g, g, right=True)
    return order, ends


def split_indices(source_sizes: dict[str, int], splits: dict, seed: int,
                  groups: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Disjoint index sets per split: one seeded permutation per source, cut in train/val/test order.

    ``groups`` (per source, one group id per image, e.g. GTSRB's physical-sign tracks of 30
    images): the permutation is over groups, so no group spans two splits; a group cut by a
    split's end is not continued in the next split (its remaining images are left unused)."""
    out: dict[str, torch.Tensor] = {}
    offsets: dict[str, int] = {}
    perms: dict[str, torch.Tensor] = {}
    ends: dict[str, torch.Tensor] = {}
    groups = groups or {}
    for split in SPLITS:
        spec = splits[split]
        src = spec["source"]
        if src not in source_sizes:
            raise ValueError(f"split {split}: source {src!r} not available; have {sorted(source_sizes)}")
        if src not in perms:
            gen = _generator(seed, f"source/{src}")
            if src in groups:
                if len(groups[src]) != source_sizes[src]:
                    raise ValueError(f"source {src!r}: {len(groups[src])} group ids for {source_sizes[src]} images")
                perms[src], ends[src] = _group_order(groups[src], gen)
            else:
                perms[src] = torch.randperm(source_sizes[src], generator=gen)
            offsets[src] = 0
        start, n = offsets[src], spec["n"]
        if start + n > source_sizes[src]:
            extra = " (whole groups: images of a group cut by a split's end are left unused)" if src in groups else ""
            raise ValueError(f"splits drawn from {src!r} need {start + n} images; it has {source_sizes[src]}{extra}")
        out[split] = perms[src][start:start + n].sort().values
        offsets[src] = int(ends[src][start + n - 1]) if src in ends and n else start + n
    return out


def prepare_dataset(dataset_cfg: dict, seed: int, out_path: str | Path, root: str | Path | None = None) -> dict:
    """Load the raw dataset, cut the splits, compute normalisation stats, write uint8 tensors
    (into ``dataset.pt``, or into ``.npy`` files beside it for lazy sources, see the module doc)."""
    from . import datasets  # torchvision import is slow: only the data job pays for it

    raw = datasets.load_raw(dataset_cfg["name"], root or dataset_cfg["root"], dataset_cfg["download"],
                            dataset_cfg["image_size"], dataset_cfg.get("classes"))
    sizes = {k: len(v[1]) for k, v in raw.sources.items()}
    by = dataset_cfg.get("split_by", "image")
    if by != "image" and not raw.groups:
        raise ValueError(f"dataset.split_by: {by!r}, but dataset {raw.name!r} has no {by} ids; use split_by: image")
    idx = split_indices(sizes, dataset_cfg["splits"], seed, raw.groups if by != "image" else None)
    data: dict = {
        "name": raw.name, "num_classes": raw.num_classes, "in_channels": raw.in_channels,
        "image_size": raw.image_size,
    }
    if raw.class_index is not None:  # a class subset (imagenet dataset.classes): indices and names in the full set
        data["class_index"] = list(raw.class_index)
        data["class_names"] = list(raw.class_names)
    lazy = any(not isinstance(x, torch.Tensor) for x, _ in raw.sources.values())
    if lazy:
        data["x_store"] = "npy"
    for split in SPLITS:
        xs, ys = raw.sources[dataset_cfg["splits"][split]["source"]]
        if lazy:
            stats = _write_npy(xs, idx[split], Path(out_path).with_name(f"{split}_x.npy"), split == "train")
            data[f"{split}_x_file"] = f"{split}_x.npy"
            data[f"{split}_x_shape"] = [len(idx[split]), *xs.shape[1:]]
            if stats is not None:
                data["mean"], data["std"] = stats
        else:
            data[f"{split}_x"] = xs[idx[split]].contiguous()
        data[f"{split}_y"] = ys[idx[split]].to(torch.int64).contiguous()
        data[f"{split}_source_index"] = idx[split]
    if not lazy:
        xf = data["train_x"].float() / 255.0
        data["mean"] = xf.mean(dim=(0, 2, 3)).tolist()
        data["std"] = xf.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
    save_torch(data, out_path)  # last: a dataset.pt always names complete .npy files
    log.info("prepared %s: %s", raw.name, {s: len(data[f"{s}_y"]) for s in SPLITS})
    return load_dataset(out_path) if lazy else data


def _write_npy(xs, index: torch.Tensor, path: Path, stats: bool, chunk: int = 256):
    """Write images ``xs[index]`` chunk by chunk into a uint8 .npy at `path` (atomically); with
    `stats`, also return the per-channel mean and std (unbiased, as ``Tensor.std``) of x/255."""
    n = len(index)
    shape = (n, *xs.shape[1:])
    c = shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    progress = Progress(n, f"writing {path.name}", unit="img", every=10.0)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        for start in range(0, n, chunk):
            x = xs[index[start:start + chunk]]
            out[start:start + len(x)] = x.numpy()
            if stats:
                xf = x.to(torch.float64) / 255.0
                total += xf.sum(dim=(0, 2, 3))
                total_sq += (xf * xf).sum(dim=(0, 2, 3))
            progress.update(len(x))
        out.flush()
        del out
    if not stats:
        return None
    count = n * shape[2] * shape[3]
    mean = total / count
    var = (total_sq - count * mean * mean) / max(1, count - 1)
    return mean.tolist(), var.clamp_min(0).sqrt().clamp_min(1e-3).tolist()


def load_dataset(path: str | Path) -> dict:
    """``dataset.pt`` (``torch.load(weights_only=True)``, checksum verified); a dataset with
    ``x_store: npy`` gets its image splits as read-only memory-mapped tensors of the .npy files."""
    data = load_torch(path)
    if data.get("x_store") != "npy":
        return data
    for split in SPLITS:
        f = Path(path).with_name(data[f"{split}_x_file"])
        try:
            arr = np.load(f, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{f}: cannot be read ({type(err).__name__}: {err}); it holds the {split} images "
                                  f"of {path}: {rerun_hint(path)}") from None
        if arr.dtype != np.uint8 or list(arr.shape) != list(data[f"{split}_x_shape"]):
            raise CheckpointError(f"{f}: holds {arr.dtype} {tuple(arr.shape)}, but {path} expects uint8 "
                                  f"{tuple(data[f'{split}_x_shape'])}; {rerun_hint(path)}")
        with warnings.catch_warnings():  # read-only memory map: torch warns it is not writable (it is never written)
            warnings.simplefilter("ignore", UserWarning)
            data[f"{split}_x"] = torch.from_numpy(arr)
    return data


def resident(data: dict, key: str, device: torch.device | str) -> torch.Tensor:
    """``data[key]`` on `device`, except a memory-mapped split (``x_store: npy``), which stays on
    the CPU (indexing then reads only the mini-batch's images)."""
    if data.get("x_store") == "npy" and key.endswith("_x"):
        return data[key]
    return data[key].to(device)


def draw_samples(samples_cfg: dict, split_sizes: dict[str, int], seed: int) -> pd.DataFrame:
    """Draw every sample set; returns the `samples` table (set, rank, split, index)."""
    drawn: dict[str, torch.Tensor] = {}
    visiting: set[str] = set()

    def draw(name: str) -> torch.Tensor:
        if name in drawn:
            return drawn[name]
        if name in visiting:
            raise ValueError(f"samples.{name}.exclude: circular exclusion")
        visiting.add(name)
        spec = samples_cfg[name]
        n_split = split_sizes[spec["split"]]
        mask = torch.ones(n_split, dtype=torch.bool)
        for other in spec["exclude"]:
            mask[draw(other)] = False
        pool = mask.nonzero().flatten()
        if spec["n"] > len(pool):
            raise ValueError(f"samples.{name}: needs {spec['n']} inputs, only {len(pool)} available")
        perm = torch.randperm(len(pool), generator=_generator(seed, f"samples/{name}"))
        drawn[name] = pool[perm[: spec["n"]]]
        visiting.discard(name)
        return drawn[name]

    frames = []
    for name in sorted(samples_cfg):
        idx = draw(name)
        frames.append(pd.DataFrame({
            "set": name, "rank": range(len(idx)), "split": samples_cfg[name]["split"], "index": idx.numpy(),
        }))
    df = pd.concat(frames, ignore_index=True)
    df["set"] = df["set"].astype("string")
    df["split"] = df["split"].astype("string")
    df["rank"] = df["rank"].astype("int64")
    df["index"] = df["index"].astype("int64")
    return df


def write_samples(samples_cfg: dict, dataset_path: str | Path, seed: int, out_path: str | Path) -> pd.DataFrame:
    data = load_dataset(dataset_path)
    sizes = {s: len(data[f"{s}_y"]) for s in SPLITS}
    df = draw_samples(samples_cfg, sizes, seed)
    write_table(df, out_path, "samples")
    return df


@dataclass
class SampleSet:
    name: str
    split: str
    index: torch.Tensor  # int64 indices into the split
    x: torch.Tensor      # uint8 images
    y: torch.Tensor      # int64 labels


def sample_set(data: dict, samples: pd.DataFrame, name: str) -> SampleSet:
    rows = samples[samples["set"] == name].sort_values("rank")
    if rows.empty:
        raise KeyError(f"sample set {name!r} not in the samples table; have {sorted(samples['set'].unique())}")
    split = str(rows["split"].iloc[0])
    # a copy: pandas (copy-on-write) hands out read-only arrays, which torch would warn about
    index = torch.tensor(rows["index"].to_numpy(dtype="int64", copy=True))
    return SampleSet(name, split, index, data[f"{split}_x"][index], data[f"{split}_y"][index])


def to_float(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0,255] -> float32 [0,1] (the unit every model and attack uses)."""
    return x_uint8.float().div_(255.0)
