"""Destruction rates of adversarial perturbations under image transformations (paper 000 Sec. 3.3,
App. F; Figs. 5, 14, 15).

Kurakin et al. (2017, "Adversarial examples in the physical world") define the destruction rate of
a transformation T over inputs x_k with true labels y_k and adversarial images x_k^adv as

    d = Σ_k C(x_k) · ¬C(x_k^adv) · C(T(x_k^adv))  /  Σ_k C(x_k) · ¬C(x_k^adv)

with C(·) = 1 when the classifier predicts y_k. The denominator counts the *effective*
perturbations (clean correct, adversarial wrong); the numerator those of them that the
transformation turns back into a correct prediction (*destroyed*). Only the adversarial image is
transformed, never the clean one. Both counts are reported: a rate over 3 inputs is not a rate
over 3000, and with no effective perturbation the rate is NaN (not 0).

One job per epoch t reads the stored perturbations of a sample set at t for each attack (generated
against θ_t by the shared ``perturb`` rule), loads θ_t once and evaluates every attack,
transformation and strength in batched forward passes under ``torch.inference_mode()``; its rows
are per (attack, epoch, transform, strength).
"""

from __future__ import annotations

import logging

import pandas as pd
import torch
import torch.nn as nn

from . import transforms as T
from .data import SampleSet, to_float
from .runtime import Progress
from .stats import wilson_columns
from .stability import effective
from .tables import coerce

log = logging.getLogger("advtrace.destruction")


effective_mask = effective  # one definition of an effective perturbation (advtrace.stability)


def destruction_counts(labels: torch.Tensor, pred_clean: torch.Tensor, pred_adv: torch.Tensor,
                       pred_transformed: torch.Tensor) -> tuple[int, int]:
    """(n_effective, n_destroyed): effective perturbations, and those classified correctly after
    the transformation of the adversarial image."""
    eff = effective_mask(labels, pred_clean, pred_adv)
    destroyed = eff & (pred_transformed == labels)
    return int(eff.sum()), int(destroyed.sum())


def destruction_rate(n_effective: int, n_destroyed: int) -> float:
    """n_destroyed / n_effective; NaN when there is no effective perturbation."""
    if n_destroyed > n_effective or n_destroyed < 0:
        raise ValueError(f"n_destroyed={n_destroyed} must lie in [0, n_effective={n_effective}]")
    return float("nan") if n_effective == 0 else n_destroyed / n_effective


def settings(sweeps: dict[str, list[float]]) -> list[tuple[str, float]]:
    """(transform, strength) pairs in the canonical order (brightness, contrast, blur, noise)."""
    unknown = sorted(set(sweeps) - set(T.TRANSFORMS))
    if unknown:
        raise ValueError(f"unknown transformations {unknown}; allowed: {', '.join(T.TRANSFORMS)}")
    return [(name, float(s)) for name in T.TRANSFORMS for s in sorted(sweeps.get(name, []))]


@torch.inference_mode()
def _predict(model: nn.Module, x255: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """Predicted classes of [0,255] images (model takes [0,1]), batched."""
    out = [model(x255[i:i + chunk_size] / T.MAX).argmax(1) for i in range(0, len(x255), chunk_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.int64, device=x255.device)


@torch.inference_mode()
def sweep(model: nn.Module, x_adv: torch.Tensor, labels: torch.Tensor, pred_clean: torch.Tensor,
          pred_adv: torch.Tensor, sweeps: dict[str, list[float]], noise_seed: int, chunk_size: int,
          desc: str = "destruction sweep") -> pd.DataFrame:
    """Destruction counts of every (transform, strength) for adversarial images `x_adv`.

    x_adv: adversarial images in [0,255] (float, on the model's device); labels, pred_clean and
    pred_adv (predictions of the clean and the untransformed adversarial images) on the same
    device. Only the effective inputs are transformed and classified. An identity strength
    (δ = 0, μ = 1, σ = 0) leaves the image unchanged by definition, so its prediction is pred_adv
    and its destruction rate exactly 0 (no forward pass whose batch composition could differ).
    Noise draws are made for the whole set (:func:`advtrace.transforms.standard_noise`), so an
    input's noise does not depend on which other inputs are effective.
    Returns columns transform, strength, n_effective, n_destroyed, destruction_rate.
    """
    model.eval()
    eff = effective_mask(labels, pred_clean, pred_adv)
    x_eff, y_eff = x_adv[eff], labels[eff]  # only effective inputs can be destroyed
    z = T.standard_noise(x_adv.shape, noise_seed)[eff.cpu()] if sweeps.get("noise") else None
    todo = settings(sweeps)
    prog = Progress(len(todo) * len(y_eff), desc, unit="img")
    rows = []
    for name, strength in todo:
        if strength == T.IDENTITY[name] or len(y_eff) == 0:
            pred_t = pred_adv[eff]
        else:
            pred_t = torch.cat([
                _predict(model, T.apply(name, x_eff[i:i + chunk_size], strength,
                                        None if z is None else z[i:i + chunk_size]), chunk_size)
                for i in range(0, len(y_eff), chunk_size)
            ])
        n_eff, n_destroyed = len(y_eff), int((pred_t == y_eff).sum())
        rows.append({"transform": name, "strength": strength, "n_effective": n_eff,
                     "n_destroyed": n_destroyed, "destruction_rate": destruction_rate(n_eff, n_destroyed)})
        prog.update(len(y_eff))
    return pd.DataFrame(rows, columns=["transform", "strength", "n_effective", "n_destroyed", "destruction_rate"])


@torch.inference_mode()
def transformed_accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sweeps: dict[str, list[float]],
                         noise_seed: int, chunk_size: int) -> pd.DataFrame:
    """Accuracy on the *clean* images `x` ([0,255]) after each (transform, strength), with the same
    noise draws as :func:`sweep`. Context for the destruction rate, not part of it: a
    transformation that already breaks the classifier on clean inputs cannot restore the correct
    prediction of an adversarial one. Returns columns transform, strength, clean_accuracy_transformed."""
    model.eval()
    z = T.standard_noise(x.shape, noise_seed) if sweeps.get("noise") else None
    rows = []
    for name, strength in settings(sweeps):
        pred = torch.cat([
            _predict(model, T.apply(name, x[i:i + chunk_size], strength, None if z is None else z[i:i + chunk_size]),
                     chunk_size)
            for i in range(0, len(labels), chunk_size)
        ]) if len(labels) else labels
        acc = float((pred == labels).float().mean()) if len(labels) else float("nan")
        rows.append({"transform": name, "strength": strength, "clean_accuracy_transformed": acc})
    return pd.DataFrame(rows, columns=["transform", "strength", "clean_accuracy_transformed"])


def destruction_rows(model: nn.Module, s: SampleSet, stored: dict, attack: str, epoch: int,
                     cfg: dict, device: torch.device, clean_accuracy: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of the `destruction` table for one (attack, epoch).

    s: the sample set the perturbations were generated for; stored: ``perturbations.load()`` of
    the file for (attack, s, epoch); cfg: the experiment's ``destruction`` section (sweeps,
    noise_seed, chunk_size); clean_accuracy: :func:`transformed_accuracy` of θ_t on s (computed
    here when not given).
    """
    if not torch.equal(stored["index"], s.index):
        raise ValueError(f"perturbations of set {stored.get('set')!r} do not match sample set {s.name!r} (indices differ)")
    if int(stored["epoch"]) != int(epoch):
        raise ValueError(f"perturbations were generated at epoch {stored['epoch']}, expected {epoch}")
    bs = cfg["chunk_size"]
    x = to_float(s.x).to(device)
    x_adv = (x + stored["delta"].to(device)).clamp_(0.0, 1.0).mul_(T.MAX)
    labels = s.y.to(device)
    pred_clean = _predict(model, x * T.MAX, bs)
    pred_adv = _predict(model, x_adv, bs)
    # the stored predictions come from the perturb job (same θ_t); report any disagreement
    for key, ours in (("pred_clean", pred_clean), ("pred_adv", pred_adv)):
        differ = int((stored[key].to(device) != ours).sum())
        if differ:
            log.warning("%d of %d %s differ from the stored ones (numerical ties); using the recomputed ones",
                        differ, len(ours), key)
    df = sweep(model, x_adv, labels, pred_clean, pred_adv, cfg["sweeps"], cfg["noise_seed"], bs,
               desc=f"destruction {attack} epoch {epoch}")
    df.insert(0, "epoch", int(epoch))
    df.insert(0, "attack", attack)
    df.insert(4, "n_inputs", len(labels))
    if clean_accuracy is None:
        clean_accuracy = transformed_accuracy(model, x * T.MAX, labels, cfg["sweeps"], cfg["noise_seed"], bs)
    df = df.merge(clean_accuracy, on=["transform", "strength"], how="left", validate="one_to_one")
    df["ci_low"], df["ci_high"] = wilson_columns(df["n_destroyed"], df["n_effective"])
    unbounded = stored["pred_adv_unbounded"].to(device) if "pred_adv_unbounded" in stored else pred_adv
    df["n_effective_unclipped"] = int(((pred_clean == labels) & (unbounded != labels)).sum())
    log.info("%s epoch %d: %d of %d inputs have an effective perturbation", attack, epoch,
             int(df["n_effective"].iloc[0]) if len(df) else 0, len(labels))
    return coerce(df, "destruction")


def epoch_rows(model: nn.Module, s: SampleSet, stored_by_attack: dict[str, dict], epoch: int, cfg: dict,
               device: torch.device) -> pd.DataFrame:
    """Rows of the `destruction` table for every attack at one epoch (θ_t loaded once by the caller)."""
    x = to_float(s.x).to(device).mul_(T.MAX)
    acc = transformed_accuracy(model, x, s.y.to(device), cfg["sweeps"], cfg["noise_seed"], cfg["chunk_size"])
    frames = [destruction_rows(model, s, stored, attack, epoch, cfg, device, acc)
              for attack, stored in stored_by_attack.items()]
    return coerce(pd.concat(frames, ignore_index=True), "destruction")
