"""Universal perturbations across adversarial training (paper 000 Sec. 3.2, App. D and E).

Generator (App. D, after Metzen et al. 2017b, untargeted):

    Ξ⁽⁰⁾ = 0,   Ξ⁽ⁿ⁺¹⁾ = Clip_ε{ Ξ⁽ⁿ⁾ + α/K · Σ_{k=1..K} sgn(∇^{D(k)}(Ξ⁽ⁿ⁾)) },
    ∇^D(Ξ) = ∇_Ξ (1/m) Σ_{j∈D} J(θ, clip(x_j + Ξ), y_j)

with D(1..K) K mini-batches of m inputs, each drawn uniformly at random (without replacement
within a batch) from the generation pool, and clip(·) the valid image range [0, 1]: images stay
valid after adding Ξ, and the gradient is the input gradient of J evaluated *at* the clipped
image clip(x_j + Ξ), as App. D writes it, not the gradient through the clipping (which is zero
wherever x_j + Ξ sits on the range boundary, e.g. a black digit background, and would freeze Ξ
there). The paper uses ε = 10, α = 2.5 (in [0,255] units), m = 128, K = 10 and 200
iterations; everything here is an argument.

The objective is a callable ``objective(model, x_perturbed, y) -> scalar`` that the generator
*maximises*; the default :func:`cross_entropy_objective` is the classifier's mean
cross-entropy with the true labels (App. D). The detector analysis (paper 000 Fig. 7) passes
the detector's mean log p_adv instead (``y`` may then be ``None``).

Sampling is driven by an explicit ``torch.Generator``, so a run is reproducible; the workflow
seeds it by (experiment seed, source split) only, so every epoch's perturbation sees the same
sequence of mini-batches and differences between epochs come from the model alone.

Units: images and Ξ in [0, 1]; ``eps``/``alpha`` arguments are [0, 1] units (config values /255).
The tables store Ξ and ε in [0, 255] pixel units, as the papers report them.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from .attacks import eval_mode
from .data import seed_for as data_seed_for
from .data import to_float
from .runtime import Progress, log
from .stats import with_wilson
from .tables import coerce
# the perturbation kinds of the universal_accuracy table and the reader of universal_images live in the
# torch-free advtrace.universal_rows (for the figure jobs); re-exported here
from .universal_rows import CLEAN, RANDOM_SIGN, UNIVERSAL, images_from_table  # noqa: F401

Objective = Callable[..., torch.Tensor]

NO_SOURCE = "none"  # source_split of the clean and random-sign rows


def cross_entropy_objective(model: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the classifier on the mini-batch (App. D's J with true labels)."""
    return F.cross_entropy(model(x).float(), y)


def seed_for(seed: int, *parts: object) -> int:
    """A reproducible 63-bit seed from the experiment seed and a label (e.g. 'train'), in the
    ``universal`` namespace of :func:`advtrace.data.seed_for`."""
    return data_seed_for(seed, "universal", *parts)


def sample_batches(n: int, m: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """K×m indices into a pool of n inputs: K mini-batches, each m distinct inputs drawn uniformly."""
    if not 1 <= m <= n:
        raise ValueError(f"mini-batch size m={m} must be between 1 and the pool size {n}")
    if k < 1:
        raise ValueError(f"number of mini-batches per step K={k} must be >= 1")
    return torch.stack([torch.randperm(n, generator=generator)[:m] for _ in range(k)])


def generate(model: Callable, x_pool: torch.Tensor, y_pool: torch.Tensor | None, eps: float, alpha: float,
             m: int, batches: int, iterations: int, generator: torch.Generator,
             device: torch.device | str | None = None, objective: Objective = cross_entropy_objective,
             history: list[float] | None = None, desc: str = "universal perturbation",
             alphas: Sequence[float] | None = None, start: torch.Tensor | None = None) -> torch.Tensor:
    """Universal perturbation Ξ (App. D) of the inputs `x_pool` for `model`.

    Args:
        model: classifier (an ``nn.Module`` is put in eval mode for the run and restored after)
            or any callable the objective understands (e.g. a detector).
        x_pool: generation pool, uint8 [0,255] or float [0,1] images N×C×H×W (any device).
        y_pool: labels (N,) passed to the objective, or ``None`` if the objective needs none.
        eps, alpha: ℓ∞ bound ε and step α in [0,1] units.
        m: inputs per mini-batch (App. D's m).   batches: K, mini-batches per update.
        iterations: number of updates.   generator: CPU ``torch.Generator`` driving the sampling.
        objective: ``objective(model, x_perturbed, y) -> scalar`` to maximise.
        history: if given, the mean objective over the K mini-batches of every iteration is appended.
        alphas: a step schedule, one α per iteration ([0,1] units; e.g. paper 004's annealed
            :func:`annealed_steps`); replaces the constant ``alpha`` when given.
        start: Ξ⁽⁰⁾ (C×H×W, [0,1] units, clipped to the ε-ball; e.g. paper 004's uniform random start
            in S); default 0 (App. D).

    Returns Ξ (float32, C×H×W, [0,1] units, on the CPU) with ‖Ξ‖∞ ≤ ε. Every iteration consumes
    exactly K·m pool inputs.
    """
    if not (eps > 0 and alpha > 0):
        raise ValueError(f"eps and alpha must be > 0, got eps={eps}, alpha={alpha}")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if alphas is not None and len(alphas) != iterations:
        raise ValueError(f"a step schedule needs one α per iteration: {len(alphas)} != {iterations}")
    device = torch.device(device) if device is not None else x_pool.device
    pool = x_pool.to(device)
    labels = y_pool.to(device) if y_pool is not None else None
    xi = torch.zeros(pool.shape[1:], dtype=torch.float32, device=device)
    if start is not None:
        if tuple(start.shape) != tuple(xi.shape):
            raise ValueError(f"start has shape {tuple(start.shape)}, the images {tuple(xi.shape)}")
        xi = start.to(device=device, dtype=torch.float32).clamp(-eps, eps)
    frozen = [p for p in (model.parameters() if isinstance(model, nn.Module) else []) if p.requires_grad]
    prog = Progress(iterations, desc, unit="it")
    with (eval_mode(model) if isinstance(model, nn.Module) else nullcontext()), torch.enable_grad():
        for p in frozen:  # input gradients only: skip the weight gradients
            p.requires_grad_(False)
        try:
            for it in range(iterations):
                idx = sample_batches(len(pool), m, batches, generator).to(device)
                step = torch.zeros_like(xi)
                total = torch.zeros((), device=device)
                for b in idx:
                    x = pool[b]
                    x = to_float(x) if x.dtype == torch.uint8 else x.float()
                    # ∇_x J(θ, x_j + Ξ) at the perturbed input clipped to the valid range, as App. D
                    # writes it; differentiating through the clip instead would give a zero gradient
                    # wherever x + Ξ sits on the range boundary (e.g. the black digit background)
                    # and freeze Ξ there. Summing the m per-input gradients gives the sign of ∇^D.
                    z = (x + xi).clamp_(0.0, 1.0).requires_grad_(True)
                    value = objective(model, z, None if labels is None else labels[b])
                    (grad,) = torch.autograd.grad(value, z)
                    step += grad.sum(0).sign()
                    total += value.detach().float()
                a = alpha if alphas is None else float(alphas[it])
                xi = (xi + (a / batches) * step).clamp_(-eps, eps)
                if history is not None:
                    history.append(float(total) / batches)
                prog.update(1)
        finally:
            for p in frozen:
                p.requires_grad_(True)
    return xi.detach().cpu()


def annealed_steps(eps: float, iterations: int, beta: float, gamma: float) -> list[float]:
    """Paper 004 Sec. 5.2's step schedule α_k = β ε γ^k / Σ_{j<K} γ^j (k = 0..K−1), whose steps
    sum to β ε (units of ``eps``)."""
    if iterations < 1 or not (0 < gamma <= 1) or not beta > 0:
        raise ValueError(f"need iterations >= 1, 0 < gamma <= 1, beta > 0; got {iterations}, {gamma}, {beta}")
    total = sum(gamma ** j for j in range(iterations))
    return [beta * eps * gamma ** k / total for k in range(iterations)]


def deepfool_universal(model: nn.Module, x_pool: torch.Tensor, eps: float, generator: torch.Generator,
                       fooling_rate: float = 0.8, max_passes: int = 10, overshoot: float = 0.02, max_iter: int = 10,
                       num_classes: int | None = 10, chunk_size: int = 1, device: torch.device | str | None = None,
                       history: list[float] | None = None) -> torch.Tensor:
    """Universal perturbation of Moosavi-Dezfooli et al. (2017, Algorithm 1), ℓ∞ variant, with DeepFool
    (Moosavi-Dezfooli et al. 2016) as the inner step, as their reference code computes it::

        v ← 0
        repeat (a pass over the pool in a random order) until the fooling rate ≥ fooling_rate (1 − δ):
            for each x_i with k̂(x_i + v) = k̂(x_i):
                Δv_i ← DeepFool ℓ2 step at x_i + v (the minimal perturbation that changes k̂, ×(1 + overshoot))
                v ← P_∞,ε(v + Δv_i)          (clip every pixel to [−ε, ε])

    k̂ is the model's prediction; the fooling rate is the fraction of pool inputs with
    k̂(clip(x + v)) ≠ k̂(x). Reference settings: δ = 0.2 (fooling rate 80 %), overshoot 0.02, at most
    10 DeepFool iterations per input over the 10 classes with the largest logits, ξ (= ε) 10 on
    ImageNet. ``max_passes`` caps the passes (the reference loops until the fooling rate is reached,
    which a robust model may never allow). ``chunk_size`` > 1 computes the DeepFool steps of that
    many consecutive inputs at one v (one batched DeepFool call) and then applies them in order,
    each followed by the projection; 1 is the sequential algorithm. The order is drawn from
    ``generator``. ``history`` gets each pass's fooling rate. Returns v (float32, C×H×W, [0,1]
    units, CPU), ‖v‖∞ ≤ ε; images are clipped to [0, 1] wherever v is added.
    """
    from .attacks import deepfool

    if not eps > 0 or max_passes < 1 or chunk_size < 1 or not 0 < fooling_rate <= 1:
        raise ValueError(f"need eps > 0, max_passes >= 1, chunk_size >= 1, 0 < fooling_rate <= 1; got {eps}, "
                         f"{max_passes}, {chunk_size}, {fooling_rate}")
    device = torch.device(device) if device is not None else x_pool.device
    pool = x_pool.to(device)
    pool = to_float(pool) if pool.dtype == torch.uint8 else pool.float()
    v = torch.zeros(pool.shape[1:], dtype=torch.float32, device=device)

    @torch.no_grad()
    def predict(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([model(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])

    with eval_mode(model):
        clean = predict(pool)
        for _ in range(max_passes):
            for chunk in torch.randperm(len(pool), generator=generator).to(device).split(chunk_size):
                with torch.no_grad():
                    xv = (pool[chunk] + v).clamp_(0.0, 1.0)
                    keep = model(xv).argmax(1) == clean[chunk]
                if not bool(keep.any()):
                    continue
                steps = deepfool(model, xv[keep], clean[chunk][keep], norm="l2", overshoot=overshoot,
                                 max_iter=max_iter, num_classes=num_classes)
                for dv in steps:
                    v = (v + dv).clamp_(-eps, eps)
            fooled = float((predict((pool + v).clamp(0.0, 1.0)) != clean).float().mean())
            if history is not None:
                history.append(fooled)
            if fooled >= fooling_rate:
                break
    return v.detach().cpu()


def random_sign(shape: tuple[int, ...] | torch.Size, eps: float, generator: torch.Generator) -> torch.Tensor:
    """Baseline perturbation: every pixel independently ±ε with probability 1/2 (float32, [0,1] units)."""
    signs = torch.randint(0, 2, tuple(shape), generator=generator, dtype=torch.int64) * 2 - 1
    return signs.to(torch.float32) * eps


@torch.inference_mode()
def accuracy_under(model: nn.Module, x_uint8: torch.Tensor, y: torch.Tensor, perturbations: Mapping,
                   chunk_size: int, device: torch.device | str) -> dict:
    """{key: (n_correct, n)} of `model` on clip(x + Ξ) for every Ξ (C×H×W, [0,1] units) in
    `perturbations`; ``None`` as Ξ means the clean inputs. One forward per batch and perturbation."""
    device = torch.device(device)
    keys = list(perturbations)
    deltas = {k: (None if v is None else v.to(device=device, dtype=torch.float32)) for k, v in perturbations.items()}
    correct = {k: 0 for k in keys}
    with eval_mode(model):
        for start in range(0, len(y), chunk_size):
            x = to_float(x_uint8[start:start + chunk_size].to(device))
            yb = y[start:start + chunk_size].to(device)
            for k in keys:
                xb = x if deltas[k] is None else (x + deltas[k]).clamp_(0.0, 1.0)
                correct[k] += int((model(xb).argmax(1) == yb).sum())
    return {k: (correct[k], len(y)) for k in keys}


def accuracy_rows(model: nn.Module, epoch: int, x_uint8: torch.Tensor, y: torch.Tensor,
                  universal: Mapping[tuple[str, int], torch.Tensor], eps: float, seed: int, chunk_size: int,
                  device: torch.device | str, random_draws: int = 1) -> pd.DataFrame:
    """Rows of the `universal_accuracy` table for the model of `epoch` on the evaluation set.

    `universal` maps (source_split, source_epoch) to a universal perturbation (C×H×W, [0,1]
    units). Adds a clean row and a random-sign row: the mean accuracy over `random_draws`
    random ±ε sign perturbations (`eps` in [0,1] units), seeded by the experiment seed and `epoch`."""
    if random_draws < 1:
        raise ValueError(f"random_draws must be >= 1, got {random_draws}")
    gen = torch.Generator().manual_seed(seed_for(seed, "random_sign", epoch))
    shape = x_uint8.shape[1:]
    perts: dict = {(CLEAN, NO_SOURCE, -1): None}
    for r in range(random_draws):
        perts[("draw", r)] = random_sign(shape, eps, gen)
    for (split, src_epoch), xi in sorted(universal.items()):
        if tuple(xi.shape) != tuple(shape):
            raise ValueError(f"universal perturbation {split}/{src_epoch} has shape {tuple(xi.shape)}, "
                             f"images have {tuple(shape)}")
        perts[(UNIVERSAL, split, int(src_epoch))] = xi
    res = accuracy_under(model, x_uint8, y, perts, chunk_size, device)
    draws = [c / n for key, (c, n) in res.items() if key[0] == "draw"]
    n = len(y)
    rows = [{"epoch": int(epoch), "perturbation": RANDOM_SIGN, "source_split": NO_SOURCE, "source_epoch": -1,
             "eps": eps * 255.0, "accuracy": float(np.mean(draws)), "n": n}]
    log.info("epoch %d, random ±ε sign: mean accuracy %.4f over %d draws (min %.4f, max %.4f; n=%d)", epoch,
             rows[0]["accuracy"], len(draws), min(draws), max(draws), n)
    for key, (c, n) in res.items():
        if key[0] == "draw":
            continue
        kind, split, src_epoch = key
        rows.append({"epoch": int(epoch), "perturbation": kind, "source_split": split, "source_epoch": src_epoch,
                     "eps": 0.0 if kind == CLEAN else eps * 255.0, "accuracy": c / n, "n": n})
        log.info("epoch %d, %s %s %s: accuracy %.4f (n=%d)", epoch, kind, split,
                 "" if src_epoch < 0 else f"source epoch {src_epoch}", c / n, n)
    return coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "universal_accuracy")


def image_rows(xi: torch.Tensor, epoch: int, source_split: str, eps: float) -> pd.DataFrame:
    """Rows of the `universal_images` table: one per pixel of Ξ, values in [0,255] units."""
    c, h, w = xi.shape
    grid = np.indices((c, h, w)).reshape(3, -1)
    df = pd.DataFrame({
        "epoch": int(epoch), "source_split": source_split, "eps": eps * 255.0,
        "channel": grid[0], "row": grid[1], "col": grid[2],
        "value": (xi.detach().cpu().double() * 255.0).flatten().numpy(),
    })
    return coerce(df, "universal_images")


# --- workflow jobs (config sections in, files out) ----------------------------------------------

GENERATION_KEYS = ("eps", "alpha", "m", "batches", "iterations")


def generate_for_epoch(model: nn.Module, x_pool: torch.Tensor, y_pool: torch.Tensor, cfg: Mapping, seed: int,
                       source_split: str, epoch: int, device: torch.device | str) -> dict:
    """One cached job: the universal perturbation of the model of `epoch` on the `source_split` pool.

    `cfg` is the experiment's ``universal`` section (ε, α in [0,255] units). Returns the record the
    workflow stores: {"xi": C×H×W float32 [0,1] units, "history": mean objective per iteration,
    "epoch", "source_split", "cfg"}."""
    gen = torch.Generator().manual_seed(seed_for(seed, source_split))
    history: list[float] = []
    xi = generate(model, x_pool, y_pool, cfg["eps"] / 255.0, cfg["alpha"] / 255.0, cfg["m"],
                  cfg["batches"], cfg["iterations"], gen, device, history=history,
                  desc=f"universal perturbation epoch {epoch} on {source_split}")
    log.info("universal perturbation epoch %d on %s (%d inputs): mean loss %.4f -> %.4f, ‖Ξ‖∞ = %.2f/255",
             epoch, source_split, len(x_pool), history[0], history[-1], float(xi.abs().max()) * 255.0)
    return {"xi": xi, "history": torch.tensor(history, dtype=torch.float64), "epoch": int(epoch),
            "source_split": source_split, "cfg": {k: cfg[k] for k in GENERATION_KEYS}}
