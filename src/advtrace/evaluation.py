"""Accuracy of a checkpoint on fixed sample sets, clean and under attack (learning curves, Fig. 8)."""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn as nn

from . import attacks
from .config import attack_kwargs
from .stats import with_wilson
from .data import SampleSet, to_float
from .runtime import Progress
from .tables import coerce

PHASES = ("adversarial", "pretrain")  # the learning_curve table's phase column


def accuracy_under_attacks(model: nn.Module, s: SampleSet, attack_cfgs: dict[str, dict], chunk_size: int,
                           device: torch.device) -> dict[str, tuple[int, int]]:
    """{'clean' | label: (n_correct, n)} with true labels; the attack sees the true label too."""
    correct = {"clean": 0, **{label: 0 for label in attack_cfgs}}
    prog = Progress(len(s.y), f"evaluate {s.name}", unit="img")
    for start in range(0, len(s.y), chunk_size):
        x = to_float(s.x[start:start + chunk_size]).to(device)
        y = s.y[start:start + chunk_size].to(device)
        correct["clean"] += int((attacks.predict(model, x) == y).sum())
        for label, cfg in attack_cfgs.items():
            delta = attacks.run_attack(model, x, y, **attack_kwargs(cfg))
            correct[label] += int((attacks.predict(model, x + delta) == y).sum())
        prog.update(len(y))
    return {k: (v, len(s.y)) for k, v in correct.items()}


def learning_curve_rows(model: nn.Module, epoch: int, sets: dict[str, SampleSet], eval_cfg: dict,
                        device: torch.device, phase: str = "adversarial", paper_epoch: int | None = None) -> pd.DataFrame:
    """Rows of the learning_curve table for one epoch; `sets` maps 'train'/'test' to sample sets.
    `phase`: adversarial (epoch = t) or pretrain (a vanilla-training model, epoch = k - pretrain.epochs);
    `paper_epoch`: the epoch in the paper's numbering (default `epoch`)."""
    if phase not in PHASES:
        raise ValueError(f"phase {phase!r}; allowed: {PHASES}")
    rows = []
    for split, s in sets.items():
        res = accuracy_under_attacks(model, s, eval_cfg["attacks"], eval_cfg["chunk_size"], device)
        for attack, (c, n) in res.items():
            rows.append({"epoch": epoch, "phase": phase, "paper_epoch": epoch if paper_epoch is None else paper_epoch,
                         "split": split, "attack": attack, "accuracy": c / n, "n": n})
    return coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "learning_curve")
