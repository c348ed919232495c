"""Training methods: how one mini-batch's loss is formed (``adv_train.method``).

The training loop (:func:`advtrace.training._train_epoch`) is the same for every method: it
slices and augments a batch, calls ``METHODS[name](ctx, model, x, y)`` under autocast, then
steps the optimiser on the returned loss. A method is a function

    method(ctx: MethodContext, model, x, y) -> (loss, logits, y_acc)

``x`` ([0, 1] images) and ``y`` (true labels) are the augmented batch on the device, the model
is in train mode; ``loss`` is the scalar to minimise, ``logits`` / ``y_acc`` the predictions
and labels the epoch's reported training accuracy counts (the adversarial ones for an
adversarial method). Attacks run in eval mode (:mod:`advtrace.attacks`), the update in train
mode; every random number comes from ``ctx.generator``, the training generator that is saved in
the checkpoint, so epochs continue bit-identically. :data:`METHODS` has the same keys as
:data:`advtrace.specs.METHOD_SPECS`, which says which ``adv_train`` keys each method reads.

Methods
-------
``clean``  J(x, y): pretraining (epoch 0) and a baseline.
``sigma_mix``  paper 000 Sec. 2 (after paper 002):  J̃ = σ·J(x, y) + (1−σ)·J(x+ξ, y), ξ from the
    configured adversary against the label the current model predicts (``attack_label:
    predicted``, no label leaking) or the true label; σ > 0 forwards the clean and the adversarial
    batch together (2m inputs, one BatchNorm batch), σ = 0 the adversarial batch only.
``kofm``  paper 002 Sec. 3 (Kurakin et al. 2017, Algorithm 1): the first k = round(k_fraction·m)
    inputs of a batch of m (its order is random) are replaced by adversarial examples, each with
    its own ε drawn from N(0, eps_sigma) truncated to [0, ε_max] (ε_max = the adversary's ε), and
    the mixed batch is forwarded once:  loss = (Σ_clean J + λ Σ_adv J) / ((m−k) + λk).
    With ``per_example_iterations`` an iterative adversary (bi, iter_ll) runs, for each example,
    the paper's min(ε_i/α + 4, 1.25 ε_i/α) iterations (capped at the attack's ``iterations``).
``deepfool_uad``, ``fictitious_play``  the universal-perturbation baselines paper 004 compares with
    (Moosavi-Dezfooli et al. 2017; Perolat et al. 2018): an epoch hook (:data:`EPOCH_HOOKS`,
    :func:`uap_round`) computes DeepFool universal perturbations against the model once per round
    of epochs (replacing the pool, or adding to the memory for fictitious play); each input of a
    batch gets one drawn from the pool with probability ``p_adv``; loss J(x', y) with label smoothing.
``shared``  paper 004 (Mummadi et al. 2019): the batch is cut into heaps of s consecutive inputs;
    :func:`heap_pgd` computes one perturbation per heap, PGD from a uniform random start on the
    heap's thresholded loss min(J, κ) (all heaps at once), and adds it to every input of the heap:
    loss = (1−w)·J(x, y) + w·J(x+δ_heap, y), w = ``adv_weight`` (paper 004 calls it σ, but it
    weights the *adversarial* loss, the inverse of sigma_mix's σ). The threshold applies to the
    adversary's objective; the training loss is the cross-entropy. Both use label smoothing
    (``label_smoothing``, default 0.1: the paper uses it "in all our experiments", value not
    stated). Clean and adversarial batches are forwarded together, as sigma_mix does.

Adding a method: a function with the signature above here, its name in :data:`METHODS`, a
:class:`advtrace.specs.MethodSpec` (the keys it reads, its checks) and the ``adv_train.method``
enum (plus a block for its parameters) in ``config/schema.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import attacks
from .config import attack_kwargs
from .runtime import adversary_context
from .specs import METHOD_SPECS, kofm_k

# Paper 004 Sec. 4.3 uses label smoothing "in all our experiments" without its value: the standard 0.1
# of Szegedy et al. (2016), the default of ``adv_train.shared.label_smoothing`` and ``adv_train.uap.label_smoothing``.
SHARED_LABEL_SMOOTHING = 0.1


@dataclass(frozen=True)
class MethodContext:
    """What a method needs besides the model and the batch.

    Attributes:
        method: the method's name (a key of :data:`METHODS`).
        attack: ``run_attack`` keywords of the adversary ([0,1] units), or ``None``.
        attack_label: ``'predicted'`` or ``'ground_truth'``: the label the adversary attacks.
        params: the method's parameters (ε, α in [0,1] units).
        generator: the training generator (CPU), the source of every random number.
        state: what an epoch hook (:data:`EPOCH_HOOKS`) prepared for this epoch (e.g. a pool of
            universal perturbations); saved in the checkpoint as ``method_state``.
    """

    method: str
    attack: Mapping[str, Any] | None = None
    attack_label: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    generator: torch.Generator | None = None
    state: Mapping[str, Any] | None = None

    def with_generator(self, generator: torch.Generator) -> "MethodContext":
        return replace(self, generator=generator)

    def with_state(self, state: Mapping[str, Any] | None) -> "MethodContext":
        return replace(self, state=state)


Method = Callable[[MethodContext, nn.Module, torch.Tensor, torch.Tensor],
                  tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def context_from_config(adv_cfg: Mapping, generator: torch.Generator | None = None) -> MethodContext:
    """The context of the ``adv_train`` section's method (units converted to [0, 1] here, once)."""
    name = adv_cfg["method"]
    if name not in METHODS:
        raise ValueError(f"unknown training method {name!r}; allowed: {', '.join(METHODS)}")
    params: dict[str, Any] = {}
    if name == "sigma_mix":
        params = {"sigma": adv_cfg["sigma"]}
    elif name == "kofm":
        k = adv_cfg["kofm"]
        params = {"k_fraction": k["k_fraction"], "lam": k["lam"], "eps_sigma": k["eps_sigma"] / 255.0,
                  "per_example_iterations": bool(k.get("per_example_iterations", False))}
    elif name == "shared":
        sh = adv_cfg["shared"]
        params = {"heap_size": sh["heap_size"], "adv_weight": sh["adv_weight"], "kappa": sh["kappa"],
                  "eps": sh["eps"] / 255.0, "alpha": sh["alpha"] / 255.0, "iterations": sh["iterations"],
                  "label_smoothing": sh.get("label_smoothing", SHARED_LABEL_SMOOTHING)}
    elif name in UAP_METHODS:
        u = adv_cfg["uap"]
        params = {**u, "eps": u["eps"] / 255.0, "label_smoothing": u.get("label_smoothing", SHARED_LABEL_SMOOTHING),
                  "accumulate": name == "fictitious_play"}
    attack = attack_kwargs(adv_cfg["attack"]) if "attack" in METHOD_SPECS[name].keys else None
    label = adv_cfg["attack_label"] if "attack_label" in METHOD_SPECS[name].keys else None
    return MethodContext(name, attack, label, params, generator)


CLEAN = MethodContext("clean")


def attack_labels(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The labels the adversary attacks: the model's prediction (``predicted``) or ``y``."""
    if ctx.attack_label == "predicted":
        return attacks.predict(model, x)
    if ctx.attack_label == "ground_truth":
        return y
    raise ValueError(f"attack_label must be 'predicted' or 'ground_truth', got {ctx.attack_label!r}")


# --------------------------------------------------------------------------- methods

def clean(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """J(x, y)."""
    logits = model(x)
    return F.cross_entropy(logits, y), logits, y


def sigma_mix(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Paper 000: σ·J(x, y) + (1−σ)·J(x+ξ, y); accuracy on x+ξ."""
    sigma = ctx.params["sigma"]
    with adversary_context(model, x.device):  # runtime switch attack_amp; parameters frozen meanwhile
        y_att = attack_labels(ctx, model, x, y)
        delta = attacks.run_attack(model, x, y_att, generator=ctx.generator, **ctx.attack)
    model.train()
    if sigma > 0:
        logits = model(torch.cat([x, x + delta]))
        n = len(y)
        loss = sigma * F.cross_entropy(logits[:n], y) + (1 - sigma) * F.cross_entropy(logits[n:], y)
        logits = logits[n:]
    else:
        logits = model(x + delta)
        loss = F.cross_entropy(logits, y)
    return loss, logits, y


def truncated_normal_eps(n: int, sigma: float, eps_max: float, generator: torch.Generator) -> torch.Tensor:
    """n draws (float32, CPU) of N(0, σ) truncated to [0, eps_max] (paper 002: σ = 8, [0, 16]).

    Inverse-CDF sampling with one uniform draw per value from ``generator``: on [0, eps_max] the
    truncated normal is the half-normal |N(0, σ)| conditioned on ≤ eps_max, whose CDF is
    erf(e / (σ√2)) / erf(eps_max / (σ√2)).
    """
    if not (sigma > 0 and eps_max >= 0):
        raise ValueError(f"need sigma > 0 and eps_max >= 0, got sigma={sigma}, eps_max={eps_max}")
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    scale = sigma * math.sqrt(2.0)
    e = scale * torch.special.erfinv(u * math.erf(eps_max / scale))
    return e.clamp_(0.0, eps_max).to(torch.float32)


def per_example_iterations(eps: torch.Tensor, alpha: float, cap: int) -> torch.Tensor:
    """Paper 002 Sec. 2.2 per example: min(cap, int(min(ε/α + 4, 1.25 ε/α))) (long, ε's device);
    :func:`advtrace.specs.kurakin_iterations` for one number."""
    e = eps.double() / alpha
    return torch.minimum(e + 4, 1.25 * e).floor().clamp_(0, cap).long()


def kofm_loss(per_example: torch.Tensor, k: int, lam: float) -> torch.Tensor:
    """(Σ_clean J + λ Σ_adv J) / ((m−k) + λk), the adversarial examples being the first k."""
    m = per_example.shape[0]
    return (per_example[k:].sum() + lam * per_example[:k].sum()) / ((m - k) + lam * k)


def kofm(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Paper 002: k of the m inputs replaced by adversarial examples with per-example ε; accuracy
    on the mixed batch."""
    p = ctx.params
    m = len(y)
    k = kofm_k(m, p["k_fraction"])
    if k > 0:
        att = dict(ctx.attack)
        eps = truncated_normal_eps(k, p["eps_sigma"], att.pop("eps"), ctx.generator).to(x.device)
        if p.get("per_example_iterations"):
            att["iterations"] = per_example_iterations(eps, att["alpha"], att["iterations"])
        xk = x[:k]
        # least-likely / random-target adversaries (paper 002's step l.l.) ignore labels: no prediction pass
        with adversary_context(model, x.device):
            y_att = attack_labels(ctx, model, xk, y[:k]) if attacks.REGISTRY[att["name"]].labels == "given" else None
            delta = attacks.run_attack(model, xk, y_att, eps=eps, generator=ctx.generator, **att)
        x = torch.cat([xk + delta, x[k:]])
    model.train()
    logits = model(x)
    loss = kofm_loss(F.cross_entropy(logits, y, reduction="none"), k, p["lam"])
    return loss, logits, y


def heap_pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, iterations: int,
             heap_size: int, generator: torch.Generator,
             objective: attacks.Objective = attacks.cross_entropy_sum) -> torch.Tensor:
    """Paper 004's heap adversary: one ℓ∞ perturbation per heap of ``heap_size`` consecutive inputs.

    δ_h⁽⁰⁾ ~ U[−ε, ε] (per heap, from ``generator``), then ``iterations`` times
    δ_h ← Clip_ε{δ_h + α sgn Σ_{n∈h} ∇ J_n(clip(x_n + δ_h))}, with J the ``objective`` (the sign
    of a heap's summed gradient is that of its mean loss). The gradient is taken at the clipped
    image (as :func:`advtrace.universal.generate` does), δ_h itself is only clipped to the ε-ball,
    and the result per input is clip(x_n + δ_h, 0, 1) − x_n. With heap_size 1 this is per-input
    PGD (BI from a random start, iterating on δ). Returns δ (float32, shape of x).
    """
    if heap_size < 1 or iterations < 1:
        raise ValueError(f"heap_size and iterations must be >= 1, got {heap_size}, {iterations}")
    x = x.detach().to(torch.float32)
    n = x.shape[0]
    heap = torch.arange(n, device=x.device) // heap_size
    n_heaps = (n + heap_size - 1) // heap_size
    start = torch.rand((n_heaps, *x.shape[1:]), generator=generator, dtype=torch.float32)
    delta = (start * (2 * eps) - eps).to(x.device)
    with attacks.eval_mode(model), torch.enable_grad():
        for _ in range(iterations):
            grad = attacks.input_grad(model, (x + delta[heap]).clamp_(0.0, 1.0), y, objective)
            step = torch.zeros_like(delta).index_add_(0, heap, grad).sign_()
            delta = torch.add(delta, step, alpha=alpha).clamp_(-eps, eps)
    return ((x + delta[heap]).clamp_(0.0, 1.0) - x).detach()


def shared(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Paper 004: (1−w)·J(x, y) + w·J(x+δ_heap, y); accuracy on x+δ_heap. J (the training loss and
    the heap adversary's min(J, κ)) uses label smoothing ``label_smoothing``."""
    p = ctx.params
    ls = p.get("label_smoothing", 0.0)
    with adversary_context(model, x.device):
        delta = heap_pgd(model, x, attack_labels(ctx, model, x, y), p["eps"], p["alpha"], p["iterations"],
                         p["heap_size"], ctx.generator, attacks.thresholded_ce(p["kappa"], ls))
    model.train()
    w = p["adv_weight"]
    n = len(y)
    if w < 1:
        logits = model(torch.cat([x, x + delta]))
        loss = ((1 - w) * F.cross_entropy(logits[:n], y, label_smoothing=ls)
                + w * F.cross_entropy(logits[n:], y, label_smoothing=ls))
        logits = logits[n:]
    else:
        logits = model(x + delta)
        loss = F.cross_entropy(logits, y, label_smoothing=ls)
    return loss, logits, y


# --------------------------------------------------------------------------- universal-perturbation baselines

UAP_METHODS = ("deepfool_uad", "fictitious_play")


def uap_round(ctx: MethodContext, model: nn.Module, x_all: torch.Tensor, epoch: int,
              state: Mapping[str, Any] | None, device: torch.device | str) -> dict | None:
    """Epoch hook of the universal-perturbation baselines of paper 004 Fig. 3: at the first epoch of
    each round of ``round_epochs`` epochs, ``pool_size`` universal perturbations are computed against
    the current model (:func:`advtrace.universal.deepfool_universal`, each on ``generation_n``
    training inputs drawn with the training generator) and

    * ``deepfool_uad`` (Moosavi-Dezfooli et al. 2017, Sec. 5): replace the pool;
    * ``fictitious_play`` (Perolat et al. 2018): join the memory of every earlier round's ones (the
      classifier then plays against the uniform mixture of the attacker's past best responses).

    Other epochs keep the state of the previous checkpoint. Returns ``{"pool": P×C×H×W float32 (CPU,
    [0,1] units), "round": r}``."""
    from .universal import deepfool_universal

    p = ctx.params
    r = (int(epoch) - 1) // int(p["round_epochs"])
    if state is not None and int(state["round"]) == r:
        return dict(state)
    gen = ctx.generator
    fresh = []
    for _ in range(int(p["pool_size"])):
        idx = torch.randperm(len(x_all), generator=gen)[:int(p["generation_n"])]
        fresh.append(deepfool_universal(model, x_all[idx.to(x_all.device)], p["eps"], gen, p["fooling_rate"],
                                        int(p["max_passes"]), p["overshoot"], int(p["max_iter"]),
                                        p.get("num_classes", 10), int(p["chunk_size"]), device))
    pool = torch.stack(fresh)
    if p["accumulate"] and state is not None:
        pool = torch.cat([state["pool"].cpu(), pool])
    return {"pool": pool, "round": r}


def uap_mix(ctx: MethodContext, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Each input gets, with probability ``p_adv``, a universal perturbation drawn uniformly from
    the pool (:func:`uap_round`); loss J(x', y) with label smoothing; accuracy on the batch trained."""
    p = ctx.params
    if ctx.state is None:
        raise ValueError(f"method {ctx.method!r} needs its epoch hook's pool (advtrace.methods.uap_round)")
    pool = ctx.state["pool"].to(x.device)
    n = len(y)
    use = (torch.rand(n, generator=ctx.generator) < p["p_adv"]).to(x.device)
    pick = torch.randint(0, len(pool), (n,), generator=ctx.generator).to(x.device)
    x = torch.where(use[:, None, None, None], (x + pool[pick]).clamp(0.0, 1.0), x)
    model.train()
    logits = model(x)
    return F.cross_entropy(logits, y, label_smoothing=p["label_smoothing"]), logits, y


METHODS: dict[str, Method] = {"sigma_mix": sigma_mix, "kofm": kofm, "shared": shared, "clean": clean,
                              "deepfool_uad": uap_mix, "fictitious_play": uap_mix}
# Methods that prepare state once per epoch, before its batches (stored in the checkpoint):
# hook(ctx, model, x_train, epoch, previous state, device) -> state
EPOCH_HOOKS: dict[str, Callable] = {"deepfool_uad": uap_round, "fictitious_play": uap_round}
