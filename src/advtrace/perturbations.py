"""Per-epoch perturbations of a fixed sample set: generated once, stored compactly, reused.

The one cached ``perturb_epochs`` job of the chunk of epochs holding t (``rules/perturb.smk``) writes,
for every (attack, sample set) a stage needs at t (:mod:`advtrace.perturb_plan`),
``results/{exp}/runs/{run}/perturbations/epochs_{chunk}/epoch_{t:03d}/{attack}/{set}.pt``; every analysis that needs the
perturbations of those inputs at that epoch (transfer matrices, destruction rates, detectors)
reads this file instead of regenerating them.

Storage: ℓ∞ attacks with integer ε and α in [0,255] units (BI ε=4 α=1, FGSM ε=4, ...) on
uint8 images produce perturbations that are integers in [−ε, ε] pixel units, so they are stored
as int8 (``"delta_q"``, 1 byte per value, 4× smaller than float32) and checked to be exact;
other attacks (DeepFool, ℓ2) are stored as float32 (``"delta"``). Which attacks qualify is the
attack registry's call (:func:`advtrace.specs.int8_exact`). The file also holds the
indices into the split, the clean and adversarial predictions of the generating model θ_t and
the attack configuration. Everything is tensors / plain types: loaded with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from . import attacks
from .config import attack_kwargs
from .data import SampleSet, to_float
from .runtime import Progress, load_torch, save_torch
from .specs import int8_exact

QUANT_TOL = 1e-4  # |δ·255 − round(δ·255)| below this counts as an integer perturbation


def generate(model: nn.Module, s: SampleSet, attack_cfg: dict, chunk_size: int, device: torch.device,
             seed: int = 0) -> dict:
    """Perturb every input of `s` against `model` with the true labels (attacks whose registry
    entry has ``labels: predicted``, DeepFool, move away from the model's prediction instead).

    Returns {"delta": float32 (cpu, [0,1] units), "pred_clean": int64, "pred_adv": int64}. An
    attack whose ε is an ℓ∞ bound applied after its iterations (DeepFool, registry ``eps_as:
    linf_bound``) runs unbounded when the config gives no ``eps`` (paper 000: no bound). With a
    bound, the unbounded result is clipped here (the same as the attack's own final clip) and
    ``"pred_adv_unbounded"`` records the predictions before the clip, so how many perturbations
    still fool after it is known (:func:`fooling_counts`).
    """
    kw = attack_kwargs(attack_cfg)
    spec = attacks.REGISTRY[attack_cfg["name"]]
    bound = None
    if spec.eps_as == "linf_bound":
        bound = kw.pop("eps", None)
        kw["eps"] = None
    with_labels = spec.labels != "predicted"
    gen = torch.Generator().manual_seed(seed)
    deltas, pc, pa, pu = [], [], [], []
    prog = Progress(len(s.y), f"perturb {s.name} with {attack_cfg['name']}", unit="img")
    for start in range(0, len(s.y), chunk_size):
        x = to_float(s.x[start:start + chunk_size]).to(device)
        y = s.y[start:start + chunk_size].to(device)
        label = y if with_labels else None
        delta = attacks.run_attack(model, x, label, generator=gen, **kw)
        if bound is not None:
            pu.append(attacks.predict(model, x + delta).cpu())
            delta = delta.clamp(-bound, bound)
        pc.append(attacks.predict(model, x).cpu())
        pa.append(attacks.predict(model, x + delta).cpu())
        deltas.append(delta.float().cpu())
        prog.update(len(y))
    out = {"delta": torch.cat(deltas), "pred_clean": torch.cat(pc), "pred_adv": torch.cat(pa)}
    if bound is not None:
        out["pred_adv_unbounded"] = torch.cat(pu)
    return out


def fooling_counts(stored: dict) -> dict[str, int]:
    """{"n": inputs, "n_fooled": adversarial prediction ≠ clean prediction (after any ℓ∞ clip),
    "n_fooled_unbounded": the same before the clip (= n_fooled when no bound was applied)}."""
    pc, pa = stored["pred_clean"], stored["pred_adv"]
    pu = stored.get("pred_adv_unbounded", pa)
    return {"n": int(len(pc)), "n_fooled": int((pa != pc).sum()), "n_fooled_unbounded": int((pu != pc).sum())}


def pack(delta: torch.Tensor, int8: bool | None = None) -> dict:
    """int8 pixel units or float32.

    ``int8=True`` (the attack's registry entry and config say δ is on the 1/255 lattice,
    :func:`advtrace.specs.int8_exact`): int8, and a δ that is not exactly so is an error;
    ``False``: float32; ``None``: int8 when δ is integer-valued and fits, else float32."""
    q = torch.round(delta * 255.0)
    exact = bool(q.abs().max() <= 127 and (q - delta * 255.0).abs().max() <= QUANT_TOL * 255.0) if delta.numel() else True
    if int8 and not exact:
        raise ValueError("perturbation expected on the 1/255 lattice within ±127 (integer ε, α of a lattice attack) "
                         f"is not: max |δ·255 − round(δ·255)| = {float((q - delta * 255.0).abs().max()):.3g}")
    if exact and int8 is not False:
        return {"delta_q": q.to(torch.int8)}
    return {"delta": delta.to(torch.float32)}


def unpack(stored: dict) -> torch.Tensor:
    if "delta_q" in stored:
        return stored["delta_q"].to(torch.float32) / 255.0
    return stored["delta"].to(torch.float32)


def save(path: str | Path, result: dict, s: SampleSet, attack_label: str, attack_cfg: dict, epoch: int) -> None:
    save_torch({
        **pack(result["delta"], int8_exact(attack_cfg)),
        "index": s.index.clone(), "split": s.split, "set": s.name, "labels": s.y.clone(),
        "pred_clean": result["pred_clean"], "pred_adv": result["pred_adv"],
        **({"pred_adv_unbounded": result["pred_adv_unbounded"]} if "pred_adv_unbounded" in result else {}),
        "attack": attack_label, "attack_cfg": dict(attack_cfg), "epoch": int(epoch),
    }, path)


def load(path: str | Path) -> dict:
    """Stored perturbations with ``"delta"`` as float32 in [0,1] units."""
    stored = load_torch(path)
    stored["delta"] = unpack(stored)
    stored.pop("delta_q", None)
    return stored


def adversarial_images(x_uint8: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """x + δ in [0,1] (float32)."""
    return (to_float(x_uint8) + delta).clamp_(0.0, 1.0)


def load_compact(path: str | Path) -> dict:
    """As :func:`load`, but ``"delta"`` keeps its storage type (int8 pixel units for integer ℓ∞
    attacks, else float32 in [0,1]), so it moves to the device 4× smaller; decode it there with
    :func:`to_unit`."""
    stored = load_torch(path)
    stored["delta"] = stored.pop("delta_q") if "delta_q" in stored else stored["delta"].to(torch.float32)
    return stored


def to_unit(delta: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """A perturbation from :func:`load_compact` (or :func:`load`) as float32 [0,1] units on `device`,
    bit-identical to :func:`unpack`."""
    d = delta.to(device, non_blocking=True) if device is not None else delta
    return d.to(torch.float32).div_(255.0) if d.dtype == torch.int8 else d.to(torch.float32)
