"""Self-describing classifier checkpoints and :func:`load_checkpoint`, the one way a trained model is
loaded: by the workflow's jobs (any run's checkpoints) and outside the workflow (torchattacks,
foolbox, RobustBench-style evaluation).

Every checkpoint training writes (``results/{exp}/runs/{run}/checkpoints/epoch_{t:03d}.pt``) carries, next
to the training state, ``"meta"``: plain Python data describing the model, enough to rebuild it
without the experiment YAML or ``dataset.pt``::

    {"format": 1, "advtrace_version": "0.1.0",
     "run": "cifar10_preact18/main",     # <exp>/<run> (advtrace.runs); None outside the layout
     "seed": 0, "epoch": 12, "phase": "adv",   # "pretrain" for epoch 0
     "model": {"name": "preact_resnet18", "width": 64},   # the experiment's `model` section
     "dataset": "cifar10", "num_classes": 10, "class_names": ["airplane", ...],
     "in_channels": 3, "image_size": 32,
     "mean": [...], "std": [...],        # per channel, of the training split, in [0, 1] units
     "input_range": [0.0, 1.0],          # models take N×C×H×W float images in [0, 1]
     "class_index": [...]}               # only for a class subset (imagenet dataset.classes): indices in the full set

The normalisation is a layer inside the model (its buffers are in the state dict as well), so
the loaded model takes raw [0, 1] images and returns logits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .models import build_model
from .runtime import load_torch

CHECKPOINT_FORMAT = 1

DIGITS_CLASSES = [str(i) for i in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# GTSRB class ids 0..42 (the benchmark's sign names)
GTSRB_CLASSES = [
    "Speed limit (20km/h)", "Speed limit (30km/h)", "Speed limit (50km/h)", "Speed limit (60km/h)",
    "Speed limit (70km/h)", "Speed limit (80km/h)", "End of speed limit (80km/h)", "Speed limit (100km/h)",
    "Speed limit (120km/h)", "No passing", "No passing for vehicles over 3.5 metric tons",
    "Right-of-way at the next intersection", "Priority road", "Yield", "Stop", "No vehicles",
    "Vehicles over 3.5 metric tons prohibited", "No entry", "General caution", "Dangerous curve to the left",
    "Dangerous curve to the right", "Double curve", "Bumpy road", "Slippery road", "Road narrows on the right",
    "Road work", "Traffic signals", "Pedestrians", "Children crossing", "Bicycles crossing", "Beware of ice/snow",
    "Wild animals crossing", "End of all speed and passing limits", "Turn right ahead", "Turn left ahead",
    "Ahead only", "Go straight or right", "Go straight or left", "Keep right", "Keep left",
    "Roundabout mandatory", "End of no passing", "End of no passing by vehicles over 3.5 metric tons",
]
# torchvision's FashionMNIST.classes (Xiao et al. 2017, labels 0..9)
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot"]
CLASS_NAMES = {"digits": DIGITS_CLASSES, "cifar10": CIFAR10_CLASSES, "gtsrb": GTSRB_CLASSES,
               "fashion_mnist": FASHION_MNIST_CLASSES}


class CheckpointError(ValueError):
    """A checkpoint that cannot be turned into a model; the message says what to do instead."""


def class_names(dataset: str, num_classes: int) -> list[str]:
    """Names of the classes 0..num_classes-1 (the class id as text for an unknown dataset)."""
    names = CLASS_NAMES.get(dataset)
    if names is None or len(names) != num_classes:
        return [str(i) for i in range(num_classes)]
    return list(names)


def run_name(path: str | Path) -> str | None:
    """Which training run a checkpoint belongs to, from the workflow layout: ``<exp>/<run>`` for a run
    of the experiment (results/<exp>/runs/<run>/checkpoints/, main included; advtrace.runs), ``<exp>``
    for the layout before runs had directories of their own (results/<exp>/checkpoints/); None
    outside the layout."""
    path = Path(path)
    if path.parent.name != "checkpoints":
        return None
    run_dir = path.parent.parent
    if run_dir.parent.name == "runs":
        return f"{run_dir.parent.parent.name}/{run_dir.name}"
    return run_dir.name


def checkpoint_meta(model_cfg: dict, data: dict, epoch: int, phase: str, run: str | None = None,
                    seed: int | None = None) -> dict[str, Any]:
    """The ``meta`` entry of a classifier checkpoint (see the module docstring)."""
    from . import __version__

    name = str(data.get("name"))
    num_classes = int(data["num_classes"])
    return {
        "format": CHECKPOINT_FORMAT,
        "advtrace_version": __version__,
        "run": run,
        "seed": None if seed is None else int(seed),
        "epoch": int(epoch),
        "phase": phase,
        "model": {k: v for k, v in model_cfg.items()},
        "dataset": name,
        "num_classes": num_classes,
        "class_names": list(data.get("class_names") or class_names(name, num_classes)),
        "in_channels": int(data["in_channels"]),
        "image_size": int(data["image_size"]),
        "mean": [float(v) for v in data["mean"]],
        "std": [float(v) for v in data["std"]],
        "input_range": [0.0, 1.0],
        # a class subset of a larger dataset (imagenet dataset.classes): each class's index there
        **({"class_index": [int(i) for i in data["class_index"]]} if data.get("class_index") is not None else {}),
    }


def _no_meta_message(path: Path) -> str:
    run = run_name(path)
    exp = run.split("/")[0] if run else "<exp>"
    # results/<exp>/runs/<run>/checkpoints/ (or the older results/<exp>/checkpoints/)
    exp_dir = path.parents[3] if run and path.parent.parent.parent.name == "runs" else path.parent.parent
    dataset = exp_dir / "data" / "dataset.pt" if run else Path("results/<exp>/data/dataset.pt")
    return (
        f"{path} has no model description (key 'meta'): it was written by an advtrace before checkpoints "
        "became self-describing. Load it with a description built from its experiment's prepared data and "
        "model config:\n"
        "    from advtrace.checkpoints import checkpoint_meta, load_checkpoint\n"
        "    from advtrace.config import load_yaml\n"
        "    from advtrace.data import load_dataset\n"
        f"    meta = checkpoint_meta(load_yaml('config/experiments/{exp}.yaml')['model'], "
        f"load_dataset({str(dataset)!r}), epoch=0, phase='adv')\n"
        f"    model = load_checkpoint({str(path)!r}, 'cpu', meta=meta)\n"
        "or re-run the training (delete the checkpoints) to write self-describing ones."
    )


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu", meta: dict | None = None) -> nn.Module:
    """The classifier stored in a checkpoint, ready to use: on `device`, in eval mode, taking
    float images in [0, 1] (N×C×H×W, normalisation inside the model) and returning logits.

    The one way a model is loaded, by the workflow's jobs and outside it (torchattacks, foolbox,
    RobustBench-style evaluation): the architecture comes from the checkpoint's own description
    (``meta``, attached as ``model.meta``: dataset, class names, mean/std, image size, run, epoch,
    advtrace version; see the module docstring), so a job needs no experiment config to rebuild the
    model of any run. The runtime switches (memory layout, ``torch.compile``;
    :func:`advtrace.runtime.prepare_model`) are applied for `device`, as for a model being trained.
    Loading never executes code from the file (``torch.load(weights_only=True)``). A checkpoint
    written before checkpoints carried their description raises :class:`CheckpointError` naming
    the call that loads it with an explicit `meta` (:func:`checkpoint_meta`).
    """
    from .runtime import check_device_for_dataset, prepare_model

    path = Path(path)
    ckpt = load_torch(path, map_location=device)
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise CheckpointError(f"{path} is not an advtrace classifier checkpoint (no 'model' state dict)")
    meta = ckpt.get("meta") or meta
    if meta is None:
        raise CheckpointError(_no_meta_message(path))
    if meta.get("format", 0) > CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {meta['format']}, newer than this advtrace "
                              f"understands ({CHECKPOINT_FORMAT}); upgrade advtrace")
    check_device_for_dataset(device, meta.get("dataset"))
    model = build_model(meta["model"], meta["num_classes"], meta["in_channels"], meta["image_size"],
                        meta["mean"], meta["std"], meta.get("class_index"))
    model = prepare_model(model, device=device).to(device)
    model.load_state_dict(ckpt["model"])
    model.meta = dict(meta)
    return model.eval()
