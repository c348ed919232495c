"""Adversarial attacks: small batched functions that return the perturbation ξ (here ``delta``).

Conventions (the whole project relies on them)
----------------------------------------------
* **Images** are float32 tensors in [0, 1], shape N×C×H×W. Models take such images (the
  normalisation is a layer inside the model) and return logits.
* **Units.** ``eps`` and ``alpha`` are given in the same [0, 1] units as the images, i.e. they
  are *already converted* from the papers' [0, 255] pixel units (ε = 4 in the paper is
  ``eps=4/255`` here; an ℓ2 radius of 20 is ``eps=20/255``). The conversion happens once, in
  :func:`advtrace.config.attack_kwargs`; nothing in this module rescales.
* **Output.** Every attack returns δ (float32, shape of ``x``, on ``x``'s device) with
  ``x + δ ∈ [0, 1]``; ℓ∞ attacks guarantee ‖δ‖∞ ≤ ε and ℓ2 attacks the per-sample ‖δ‖₂ ≤ ε (up
  to float rounding, ~1e-7).
* **Model state.** The model is switched to eval mode for the attack (so BatchNorm uses and never
  updates its running statistics, dropout is off) and every submodule's previous mode is restored
  afterwards (:func:`eval_mode`).
* **Gradients** come from ``torch.autograd.grad(loss, delta)`` with respect to the input
  perturbation only: no ``.backward()``, parameter ``.grad`` fields are never touched. The loss
  J is the *summed* per-sample cross-entropy, so a sample's gradient does not depend on the batch
  size or on the other samples (the model is in eval mode). Logits are cast to float32 before
  the loss, so δ stays float32 when the model runs under autocast in reduced precision.
* **Objective.** Every gradient attack takes ``objective(logits, labels) -> scalar``, the summed
  loss J it ascends (the least-likely / random-target attacks descend it towards their target);
  default :func:`cross_entropy_sum`, the loss above. :func:`thresholded_ce` gives paper 004's
  min(J, κ). DeepFool has no objective: it steps towards the closest linearised decision
  boundary, from differences of logits and their gradients, not from a loss. (Paper 001's
  dynamic adversary, sgn of a σ-mix of the classifier's and the detector's gradient *signs*, is
  not the gradient of one loss: it is a :class:`SignMix` of objectives, which the ℓ∞ iterative
  attacks (``bi``, ``iter_ll``) accept in place of an objective; see there.)
* **Per-input ε.** The ℓ∞ one-step and iterative attacks (``per_sample_eps`` in the registry)
  also take ε as a tensor of shape N, one bound per input (paper 002's k-of-m training draws
  ε per example); α stays one number.
  The ℓ∞ iterative attacks (``bi``, ``iter_ll``) also take ``iterations`` as an integer tensor
  of shape N: input n stops after its own count (0 = unperturbed), as paper 002's iteration
  rule min(ε+4, 1.25ε) gives with a per-example ε (:func:`advtrace.specs.kurakin_iterations`).
* **Registry.** :data:`REGISTRY` (= :data:`advtrace.specs.ATTACK_SPECS`) holds, per attack name,
  its norm, labels, parameters, function, whether δ is int8-exact, and its gradient passes;
  :func:`run_attack` dispatches through it.
* **Labels.** Which label an attack uses is the caller's choice: pass the true labels, or
  ``predict(model, x)`` for predicted labels (avoids label leaking, paper 002 Sec. 4.2). ``y`` is
  ignored by the least-likely / random-target attacks (their target comes from the model) and
  defaults to the prediction for DeepFool.
* Everything is batched (Python loops only over iterations and classes), device-agnostic (works
  on CUDA when ``x`` is on CUDA) and deterministic given its inputs; ``step_rnd`` draws its target
  classes from an explicit ``torch.Generator``.

Attacks (``sgn`` = sign, Clip_ε = element-wise clipping to [−ε, ε], every step is followed by
clipping ``x + ξ`` to [0, 1])
------------------------------------------------------------------------------------------
``fgsm``  Fast gradient sign method (Goodfellow et al., 2015; paper 001 Sec. 3.1 "Fast method",
    paper 002 Eq. 1):  ξ = ε sgn ∇ₓJ(x, y).
``bi``  Basic iterative ℓ∞ method (Kurakin et al., 2016; paper 001 Sec. 3.1, paper 000 Sec. 2):
    ξ⁽⁰⁾ = 0,  ξ⁽ⁿ⁺¹⁾ = Clip_ε{ξ⁽ⁿ⁾ + α sgn ∇ₓJ(x + ξ⁽ⁿ⁾, y)}.
    With one iteration and α = ε it equals ``fgsm`` bit for bit.
``bi_l2``  Basic iterative ℓ2 method (paper 001 Sec. 3.1): a step of ℓ2 length α along the
    normalised gradient, then projection onto the ℓ2 ball of radius ε around x:
    ξ⁽ⁿ⁺¹⁾ = Project_ε{ξ⁽ⁿ⁾ + α g/‖g‖₂},  g = ∇ₓJ(x + ξ⁽ⁿ⁾, y),  Project_ε(ξ) = ξ·min(1, ε/‖ξ‖₂).
    (Clipping x + ξ to [0, 1] afterwards only shrinks |ξ| element-wise, so ‖ξ‖₂ ≤ ε still holds.)
``step_ll``  One-step least-likely class (paper 002 Sec. 2.2, Eq. 2):
    ξ = −ε sgn ∇ₓJ(x, y_LL),  y_LL = argmin_y p(y | x) of the clean input.
``step_rnd``  As ``step_ll`` with a target class drawn uniformly from all classes (paper 002:
    "a random class"; it may coincide with the true class, as in the paper's definition).
``iter_ll``  Iterative least-likely class (paper 002 Sec. 2.2), y_LL fixed from the clean input:
    ξ⁽⁰⁾ = 0,  ξ⁽ⁿ⁺¹⁾ = Clip_ε{ξ⁽ⁿ⁾ − α sgn ∇ₓJ(x + ξ⁽ⁿ⁾, y_LL)}.
``deepfool_l2`` / ``deepfool_linf``  DeepFool (Moosavi-Dezfooli et al., 2016) for the ℓ2 / ℓ∞
    norm, see :func:`deepfool`.

Paper 002's other one-step methods (App. A; each takes a per-input ε like the ℓ∞ one-step attacks):

``fast_entropy``  "Fast entropy": one sign step that maximises the entropy of the predicted
    distribution, ξ = ε sgn ∇ₓH(p(·|x)), H(p) = −Σ_y p(y) log p(y) (no label).
``fast_grad_l2``  "Fast grad. L2": ξ = ε ∇ₓJ(x, y) / ‖∇ₓJ(x, y)‖₂, a step of ℓ2 length ε (ε is an
    ℓ2 radius here, in the same [0, 1] units; the paper uses the same numbers as for its ℓ∞ ε).
``fast_grad_linf``  "Fast grad. L∞": ξ = ε ∇ₓJ(x, y) / ‖∇ₓJ(x, y)‖∞ (largest element ±ε).
``rand_sign``  "Sign of random perturbation": ξ = ε sgn(N), N ~ N(0, I) (drawn with ``generator``).
``rand_normal``  "Random truncated normal perturbation with zero mean and 0.5ε standard deviation
    defined on [−ε, ε] and uncorrelated pixels": ξ = T, each element T ~ N(0, (ε/2)²) conditioned on
    |T| ≤ ε (inverse-CDF draws from ``generator``).
A zero gradient gives a zero step (sgn 0 = 0; the normalised steps divide by max(‖∇‖, 1e-12)).

DeepFool variant
----------------
Paper 001 (Sec. 3.1) says it uses "the variant of DeepFool presented in the first version of the
paper (arXiv:1511.04599v1)" because it was more stable than the final version, without saying how
the versions differ, and the v1 text is not part of this project. We therefore implement the
algorithm of the authors' reference code released together with v1 (github.com/LTS4/DeepFool,
MATLAB ``adversarial_perturbation.m``, Nov. 2015, commit 4e58aae; its ℓp step, used here for ℓ∞,
was added in Apr. 2016, commit be88b8a); its loop is the multi-class DeepFool loop of the paper.
For the original class l = y (default: the model's prediction) and candidate classes k ≠ l:

    x₀ = x,  r = 0;  while argmax f(x + (1+η)·r) = l and i < max_iter:
        f'_k = f_k(x_i) − f_l(x_i),   w'_k = ∇f_k(x_i) − ∇f_l(x_i)        (f = logits)
        k* = argmin_k |f'_k| / ‖w'_k‖_q           (q = dual norm: q = 2 for ℓ2, q = 1 for ℓ∞)
        ℓ2:  r_i = |f'_k*| / ‖w'_k*‖₂² · w'_k*
        ℓ∞:  r_i = |f'_k*| / ‖w'_k*‖₁ · sgn(w'_k*)
        x_{i+1} = x_i + r_i,   r = r + r_i
    return ξ = (1+η)·r

i.e. the classifier is linearised at the accumulated point x + r (*without* the overshoot), the
overshoot η (default 0.02) multiplies the total perturbation and the stopping test is made on
x + (1+η)r; candidates are the ``num_classes − 1`` classes other than l with the largest clean
logits (the reference code's ``labels_limit``, 10 there; ``None`` = all classes); no constant is
added to the step. (The later 2017 PyTorch reference instead linearises at the overshot point and
adds 1e-4 to every step.)

Constraints, our additions (the reference code has none):

* valid range: the iterate is kept a valid image, r ← clip(x + r + r_i, 0, 1) − x after every
  step (as BI clips every iteration), and the stopping test uses x + clip((1+η)r); so a sample
  stops only once the returned image really changes the label, and the linearisation point never
  leaves [0, 1]. Inputs away from the range edges follow the reference algorithm exactly.
* ``linf_bound`` (optional): the final perturbation is clipped to ‖ξ‖∞ ≤ ``linf_bound`` *after*
  the iterations (paper 001 Sec. 4.2 "limit[s] changes of the DeepFool adversaries to an ℓ∞
  distance of 6", i.e. 6/255, on ImageNet, to avoid clearly perceptible distortions). The bound
  does not enter the iterations, so the perturbation keeps DeepFool's shape (and may no longer
  fool the model) instead of drifting towards a sign pattern.

Samples not classified as l at the start get ξ = 0; samples not fooled after ``max_iter`` steps
return their last perturbation. Batched with masking: only samples still classified as l are
forwarded in an iteration.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from .specs import ATTACK_SPECS, AttackSpec

REGISTRY: dict[str, AttackSpec] = ATTACK_SPECS
ATTACKS = tuple(REGISTRY)

_TINY = 1e-12  # guards divisions by a zero gradient norm

# objective(logits (fp32, N×classes), labels (N,)) -> scalar summed loss the attack ascends
Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

__all__ = [
    "ATTACKS", "REGISTRY", "Objective", "SignMix", "cross_entropy_sum", "thresholded_ce", "eval_mode", "predict",
    "input_grad", "fgsm", "bi", "bi_l2", "deepfool", "step_ll", "step_rnd", "iter_ll", "fast_entropy",
    "fast_grad_l2", "fast_grad_linf", "rand_sign", "rand_normal", "run_attack", "attack_batched",
]


# --------------------------------------------------------------------------- objectives

def cross_entropy_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Σ_n CE(logits_n, labels_n): the default objective of every gradient attack."""
    return F.cross_entropy(logits, labels, reduction="sum")


def thresholded_ce(kappa: float, label_smoothing: float = 0.0) -> Objective:
    """Σ_n min(CE_n, κ) (paper 004 Sec. 4.3, κ = −log 0.2): inputs whose loss already exceeds κ add
    no gradient, so a few badly classified inputs cannot dominate a shared perturbation. With
    ``label_smoothing`` > 0, CE_n is taken against the smoothed (soft) targets (paper 004: "label
    smoothing … soft targets for the computation of loss in all our experiments")."""
    if not kappa > 0:
        raise ValueError(f"kappa must be > 0, got {kappa!r}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing!r}")

    def objective(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(logits, labels, reduction="none", label_smoothing=label_smoothing)
        return ce.clamp(max=kappa).sum()

    objective.__name__ = f"thresholded_ce({kappa:g}, label_smoothing={label_smoothing:g})"
    return objective


class SignMix:
    """A σ-mix of gradient *signs* of several objectives: step direction Σ_k w_k sgn ∇ₓJ_k(x, y).

    Paper 001's dynamic adversary (Sec. 3.3) ascends
    ``(1 − σ) sgn ∇J_cls(x + ξ, y) + σ sgn ∇J_det(x + ξ, adversarial)``, which is not the gradient
    of one loss. Pass ``SignMix((1 − σ, j_cls), (σ, j_det))`` as the ``objective`` of :func:`bi`
    (or :func:`iter_ll`): each iteration forwards the model once and takes one input gradient per
    term (``objective(logits, labels)`` as for any objective; with a model whose logits are the
    classifier's and a detector's side by side, each term reads its own columns). A weight is a
    number or a tensor of shape N (one σ per input). The ℓ∞ step is α·direction, then Clip_ε
    and the [0, 1] clip as usual; with one term of weight 1 it is exactly the plain attack.
    """

    def __init__(self, *terms: tuple[float | torch.Tensor, Objective]):
        if not terms:
            raise ValueError("SignMix needs at least one (weight, objective) term")
        self.terms = tuple(terms)

    def direction(self, model: nn.Module, x_in: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Σ_k w_k sgn ∇ₓ J_k(model(x), target) at ``x_in`` (one forward pass)."""
        x_in = x_in.detach().requires_grad_(True)
        logits = model(x_in).float()
        out = torch.zeros_like(x_in)
        for i, (weight, objective) in enumerate(self.terms):
            (grad,) = torch.autograd.grad(objective(logits, target), x_in, retain_graph=i < len(self.terms) - 1)
            if isinstance(weight, torch.Tensor):
                weight = _per_sample(weight.to(device=x_in.device, dtype=torch.float32), x_in)
            out += weight * grad.sign()
        return out


# --------------------------------------------------------------------------- helpers

@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode inside the block; restore every submodule's mode afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, was_training in modes:
            m.training = was_training


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """Predicted class (argmax of the logits) for every input, in eval mode, in chunks."""
    with eval_mode(model):
        out = [model(x[i:i + chunk_size]).argmax(dim=1) for i in range(0, len(x), chunk_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long, device=x.device)


def _as_input(x: torch.Tensor) -> torch.Tensor:
    if x.dim() < 2:
        raise ValueError(f"expected a batch of inputs (N×C×H×W), got shape {tuple(x.shape)}")
    return x.detach().to(torch.float32)


def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a length-N vector to broadcast against an N×... tensor."""
    return v.view(-1, *([1] * (x.dim() - 1)))


def _bound(eps: float | torch.Tensor, x: torch.Tensor) -> float | torch.Tensor:
    """ε as given (a number), or a per-input tensor of shape N as float32 N×1×…×1 on x's device."""
    if not isinstance(eps, torch.Tensor):
        return eps
    if eps.shape != (x.shape[0],):
        raise ValueError(f"a per-input eps must have shape ({x.shape[0]},), got {tuple(eps.shape)}")
    return _per_sample(eps.detach().to(device=x.device, dtype=torch.float32), x)


def input_grad(model: nn.Module, x_in: torch.Tensor, target: torch.Tensor,
               objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """∇ objective(model(x).float(), target) w.r.t. the model input only (default Σ_n CE)."""
    x_in = x_in.detach().requires_grad_(True)
    logits = model(x_in).float()
    loss = objective(logits, target)
    (grad,) = torch.autograd.grad(loss, x_in)
    return grad


def _loss_grad(model: nn.Module, x: torch.Tensor, delta: torch.Tensor, target: torch.Tensor,
               objective: Objective) -> torch.Tensor:
    """∇_δ objective(model(x + δ), target), w.r.t. the perturbation only."""
    return input_grad(model, x + delta, target, objective)


def _clip_range(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """δ such that x + δ ∈ [0, 1]."""
    return (x + delta).clamp_(0.0, 1.0) - x


def _linf_step(x: torch.Tensor, delta: torch.Tensor, step: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """Clip_ε{δ + step}, then clip x + δ to the valid range."""
    return _clip_range(x, (delta + step).clamp_(-eps, eps))


def _iterative_linf(model: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float | torch.Tensor,
                    alpha: float, iterations: int | torch.Tensor, direction: float, objective: Objective) -> torch.Tensor:
    """ℓ∞ iterations ξ ← Clip_ε{ξ + direction·α sgn ∇J(x + ξ, target)} (+1: away, −1: towards).

    Iterates on the adversarial image x̃ = x + ξ itself, clipped to [max(x−ε, 0), min(x+ε, 1)]
    (the same set as Clip_ε followed by the [0, 1] clip), so the model sees exactly the clipped
    image. This is also torchattacks.BIM's arithmetic: both give bit-identical images
    (bench/run_bench.py). Feeding x + (clip(x + ξ) − x) instead differs by float rounding, which
    can flip the sign of a near-zero gradient element and make the iterates drift apart.
    """
    _check_positive(eps=eps, alpha=alpha)
    per_input = isinstance(iterations, torch.Tensor)
    if per_input:  # one count per input (paper 002's min(ε+4, 1.25ε) with a per-example ε); 0 = no step
        if iterations.shape != (x.shape[0],) or bool((iterations < 0).any()):
            raise ValueError(f"per-input iterations must have shape ({x.shape[0]},) and be ≥ 0")
        counts = _per_sample(iterations.detach().to(device=x.device), x)
        rounds = int(iterations.max()) if iterations.numel() else 0
    elif iterations < 1:
        raise ValueError(f"iterations must be ≥ 1, got {iterations}")
    else:
        rounds = iterations
    eps = _bound(eps, x)
    lo = (x - eps).clamp_(min=0.0)
    hi = (x + eps).clamp_(max=1.0)
    x_adv = x
    for i in range(rounds):
        if isinstance(objective, SignMix):  # paper 001's dynamic adversary: a mix of gradient signs
            sign = objective.direction(model, x_adv, target)
        else:
            sign = input_grad(model, x_adv, target, objective).sign_()
        step = torch.add(x_adv, sign, alpha=direction * alpha).clamp_(lo, hi)  # α·sgn is exact
        x_adv = torch.where(counts > i, step, x_adv) if per_input else step
    return (x_adv - x).detach()


def _one_step(model: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float | torch.Tensor,
              direction: float, objective: Objective) -> torch.Tensor:
    _check_positive(eps=eps)
    eps = _bound(eps, x)
    grad = _loss_grad(model, x, torch.zeros_like(x), target, objective)
    return _linf_step(x, torch.zeros_like(x), (direction * eps) * grad.sign(), eps).detach()


@torch.no_grad()
def _least_likely(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """y_LL = argmin_y p(y | x) = argmin of the logits."""
    return model(x).float().argmin(dim=1)


def _check_positive(**values: float | torch.Tensor | None) -> None:
    for name, v in values.items():
        if isinstance(v, torch.Tensor):
            if not (v.is_floating_point() and bool((v >= 0).all())):
                raise ValueError(f"{name} must hold floats ≥ 0, got {v!r}")
        elif v is None or not v >= 0:
            raise ValueError(f"{name} must be a number ≥ 0, got {v!r}")


def _check_labels(y: torch.Tensor | None, x: torch.Tensor, attack: str) -> torch.Tensor:
    if y is None:
        raise ValueError(f"{attack} needs labels y (true labels or predict(model, x))")
    if y.shape != (x.shape[0],):
        raise ValueError(f"{attack}: y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    return y.to(device=x.device, dtype=torch.long)


# --------------------------------------------------------------------------- attacks

def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
         objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Fast gradient sign method: ξ = ε sgn ∇ₓJ(x, y), then x + ξ clipped to [0, 1].

    ``eps``: a number or one per input (shape N); ``objective``: the J to ascend."""
    x = _as_input(x)
    y = _check_labels(y, x, "fgsm")
    with eval_mode(model), torch.enable_grad():
        return _one_step(model, x, y, eps, +1.0, objective)


def bi(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, alpha: float,
       iterations: int, objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Basic iterative ℓ∞ method: ξ⁽ⁿ⁺¹⁾ = Clip_ε{ξ⁽ⁿ⁾ + α sgn ∇ₓJ(x + ξ⁽ⁿ⁾, y)}, ξ⁽⁰⁾ = 0.

    x + ξ is clipped to [0, 1] after every iteration. ``eps``: a number or one per input (shape
    N); ``objective``: the J to ascend.
    """
    x = _as_input(x)
    y = _check_labels(y, x, "bi")
    with eval_mode(model), torch.enable_grad():
        return _iterative_linf(model, x, y, eps, alpha, iterations, +1.0, objective)


def bi_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float,
          iterations: int, objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Basic iterative ℓ2 method (paper 001): ξ ← Project_ε{ξ + α g/‖g‖₂}, then clip to [0, 1].

    ``eps`` is the radius of the ℓ2 ball and ``alpha`` the ℓ2 length of each step (both in [0,1]
    image units, i.e. the paper's values divided by 255). A zero gradient gives a zero step.
    ``objective``: the J to ascend.
    """
    if isinstance(eps, torch.Tensor):
        raise ValueError("bi_l2 takes one eps for all inputs, not a tensor")
    _check_positive(eps=eps, alpha=alpha)
    if iterations < 1:
        raise ValueError(f"iterations must be ≥ 1, got {iterations}")
    x = _as_input(x)
    y = _check_labels(y, x, "bi_l2")
    delta = torch.zeros_like(x)
    with eval_mode(model), torch.enable_grad():
        for _ in range(iterations):
            grad = _loss_grad(model, x, delta, y, objective)
            gnorm = grad.flatten(1).norm(dim=1).clamp_min(_TINY)
            delta = delta + alpha * grad / _per_sample(gnorm, x)
            dnorm = delta.flatten(1).norm(dim=1)
            # project onto the ε-ball; inside it (dnorm ≤ ε, including dnorm = ε = 0) keep δ as is,
            # so ε = 0, α = 0 or a zero gradient give δ = 0, never 0/0 = NaN
            scale = torch.where(dnorm > eps, eps / dnorm.clamp_min(_TINY), torch.ones_like(dnorm))
            delta = _clip_range(x, delta * _per_sample(scale, x))
    return delta.detach()


def step_ll(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor,
            objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """One-step least-likely class: ξ = −ε sgn ∇ₓJ(x, y_LL), y_LL = argmin_y p(y | x).

    ``objective``: the J descended towards y_LL."""
    x = _as_input(x)
    with eval_mode(model), torch.enable_grad():
        target = _least_likely(model, x)
        return _one_step(model, x, target, eps, -1.0, objective)


def step_rnd(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor, num_classes: int | None,
             generator: torch.Generator, objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """One-step random target class: ξ = −ε sgn ∇ₓJ(x, y_rnd), y_rnd ~ U{0, …, num_classes−1}.

    The targets are drawn with ``generator`` (on the generator's device, then moved to ``x``'s),
    so the result is reproducible for a given generator state. ``num_classes=None`` takes the
    number of classes from the model's logits. ``objective``: the J descended towards y_rnd.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError("step_rnd needs a torch.Generator (reproducible random target classes)")
    x = _as_input(x)
    with eval_mode(model), torch.enable_grad():
        if num_classes is None:
            with torch.no_grad():
                num_classes = model(x[:1]).shape[1]
        target = torch.randint(num_classes, (x.shape[0],), generator=generator, device=generator.device)
        return _one_step(model, x, target.to(x.device), eps, -1.0, objective)


def iter_ll(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor, alpha: float, iterations: int,
            objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Iterative least-likely class: ξ⁽ⁿ⁺¹⁾ = Clip_ε{ξ⁽ⁿ⁾ − α sgn ∇ₓJ(x + ξ⁽ⁿ⁾, y_LL)}.

    y_LL is the least-likely class of the *clean* input and stays fixed over the iterations.
    ``objective``: the J descended towards y_LL.
    """
    x = _as_input(x)
    with eval_mode(model), torch.enable_grad():
        target = _least_likely(model, x)
        return _iterative_linf(model, x, target, eps, alpha, iterations, -1.0, objective)


def prediction_entropy_sum(logits: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Σ_n H(softmax(logits_n)), H(p) = −Σ_y p(y) log p(y) (``labels`` is ignored): the objective of
    :func:`fast_entropy`."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum()


def fast_entropy(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor) -> torch.Tensor:
    """Paper 002 App. A "fast entropy": ξ = ε sgn ∇ₓH(p(·|x)), then x + ξ clipped to [0, 1]; no label.

    ``eps``: a number or one per input (shape N)."""
    x = _as_input(x)
    with eval_mode(model), torch.enable_grad():
        return _one_step(model, x, torch.zeros(x.shape[0], dtype=torch.long, device=x.device), eps, +1.0,
                         prediction_entropy_sum)


def _normalised_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor, p: float,
                     objective: Objective) -> torch.Tensor:
    _check_positive(eps=eps)
    eps = _bound(eps, x)
    grad = _loss_grad(model, x, torch.zeros_like(x), y, objective)
    norm = grad.flatten(1).norm(p=p, dim=1).clamp_min(_TINY)
    return _clip_range(x, eps * grad / _per_sample(norm, x)).detach()


def fast_grad_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
                 objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Paper 002 App. A "fast grad. L2" (Miyato et al. 2016): ξ = ε ∇ₓJ(x, y) / ‖∇ₓJ(x, y)‖₂, then
    x + ξ clipped to [0, 1]. ``eps`` is the ℓ2 length of the step ([0, 1] units; a number or one per
    input)."""
    x = _as_input(x)
    y = _check_labels(y, x, "fast_grad_l2")
    with eval_mode(model), torch.enable_grad():
        return _normalised_step(model, x, y, eps, 2.0, objective)


def fast_grad_linf(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float | torch.Tensor,
                   objective: Objective = cross_entropy_sum) -> torch.Tensor:
    """Paper 002 App. A "fast grad. L∞": ξ = ε ∇ₓJ(x, y) / ‖∇ₓJ(x, y)‖∞, then x + ξ clipped to [0, 1]."""
    x = _as_input(x)
    y = _check_labels(y, x, "fast_grad_linf")
    with eval_mode(model), torch.enable_grad():
        return _normalised_step(model, x, y, eps, float("inf"), objective)


def _noise(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal draws of x's shape from ``generator`` (on its device, float32), moved to x's device."""
    if not isinstance(generator, torch.Generator):
        raise ValueError("random perturbations need a torch.Generator (reproducible draws)")
    return torch.randn(x.shape, generator=generator, device=generator.device).to(x.device)


def rand_sign(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Paper 002 App. A "sign of random perturbation": ξ = ε sgn(N), N ~ N(0, I), then x + ξ clipped
    to [0, 1]. ``model`` is not used (the signature of every attack)."""
    x = _as_input(x)
    _check_positive(eps=eps)
    return _clip_range(x, _bound(eps, x) * _noise(x, generator).sign_())


# Φ(−2), the standard normal CDF at the truncation point −ε = −2σ of rand_normal
_PHI_MINUS_2 = 0.5 * (1.0 + math.erf(-2.0 / math.sqrt(2.0)))


def rand_normal(model: nn.Module, x: torch.Tensor, eps: float | torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Paper 002 App. A "random truncated normal perturbation with zero mean and 0.5ε standard
    deviation defined on [−ε, ε] and uncorrelated pixels": each element of ξ is (ε/2)·Φ⁻¹(u),
    u ~ U[Φ(−2), Φ(2)] (inverse-CDF sampling of N(0, (ε/2)²) conditioned on [−ε, ε] = ±2σ); then x + ξ
    clipped to [0, 1]. ``model`` is not used."""
    x = _as_input(x)
    _check_positive(eps=eps)
    if not isinstance(generator, torch.Generator):
        raise ValueError("random perturbations need a torch.Generator (reproducible draws)")
    u = torch.rand(x.shape, generator=generator, device=generator.device, dtype=torch.float64)
    z = torch.special.ndtri(_PHI_MINUS_2 + u * (1.0 - 2.0 * _PHI_MINUS_2)).clamp_(-2.0, 2.0)
    eps = _bound(eps, x)
    return _clip_range(x, (0.5 * eps) * z.to(device=x.device, dtype=torch.float32))


def deepfool(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, norm: str = "l2",
             overshoot: float = 0.02, max_iter: int = 50, num_classes: int | None = None,
             linf_bound: float | None = None) -> torch.Tensor:
    """DeepFool (ℓ2 or ℓ∞), the v1-era reference algorithm described in the module docstring.

    It takes no objective: its steps come from logit differences f_k − f_l and their gradients
    (the closest linearised boundary), not from a loss to ascend.

    Args:
        y: the class to move away from (default: the model's prediction). Samples not classified
            as ``y`` at the start get δ = 0.
        norm: ``"l2"`` or ``"linf"``.
        overshoot: η; the returned perturbation is (1+η)·r (then clipped).
        max_iter: maximum number of linearisation steps.
        num_classes: consider only the ``num_classes − 1`` classes other than ``y`` with the largest
            clean logits (reference default 10); ``None`` = all classes.
        linf_bound: optional ℓ∞ bound (in [0,1] units) the final perturbation is clipped to
            (after the iterations; it does not enter the stopping test).
    """
    if norm not in ("l2", "linf"):
        raise ValueError(f"deepfool: norm must be 'l2' or 'linf', got {norm!r}")
    _check_positive(overshoot=overshoot)
    if linf_bound is not None:
        _check_positive(linf_bound=linf_bound)
    x = _as_input(x)

    with eval_mode(model), torch.enable_grad():
        with torch.no_grad():
            logits0 = model(x).float()
        n_all = logits0.shape[1]
        if n_all < 2:
            raise ValueError("deepfool needs a classifier with at least 2 classes")
        label = logits0.argmax(dim=1) if y is None else _check_labels(y, x, "deepfool")
        k = n_all if num_classes is None else max(2, min(int(num_classes), n_all))
        others = logits0.scatter(1, label[:, None], float("-inf"))
        candidates = others.topk(k - 1, dim=1).indices  # N × (k−1), by clean logit
        r_tot = torch.zeros_like(x)   # accumulated Σ r_i, x + r_tot ∈ [0, 1]
        delta = torch.zeros_like(x)   # clip((1+η)·r_tot), the current output
        active = logits0.argmax(dim=1) == label
        for _ in range(max_iter):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            xs, r = x[idx], r_tot[idx]
            xi = (xs + r).requires_grad_(True)
            logits = model(xi).float()
            f_l = logits.gather(1, label[idx, None])
            f_c = logits.gather(1, candidates[idx])
            f_diff = (f_c - f_l).detach()
            best_dist = torch.full_like(f_diff[:, 0], float("inf"))
            best_w = torch.zeros_like(xs)
            for j in range(k - 1):
                (w,) = torch.autograd.grad((f_c[:, j] - f_l[:, 0]).sum(), xi, retain_graph=j < k - 2)
                wn = w.flatten(1).norm(p=2 if norm == "l2" else 1, dim=1).clamp_min(_TINY)
                dist = f_diff[:, j].abs() / wn   # distance to the linearised boundary with class j
                better = dist < best_dist
                best_dist = torch.where(better, dist, best_dist)
                best_w = torch.where(_per_sample(better, xs), w, best_w)
            if norm == "l2":
                step = _per_sample(best_dist / best_w.flatten(1).norm(dim=1).clamp_min(_TINY), xs) * best_w
            else:
                step = _per_sample(best_dist, xs) * best_w.sign()
            with torch.no_grad():
                r = _clip_range(xs, r + step)
                cand = _clip_range(xs, (1.0 + overshoot) * r)
                still = model(xs + cand).argmax(dim=1) == label[idx]
            r_tot[idx] = r
            delta[idx] = cand
            active[idx] = still
    if linf_bound is not None:
        delta = delta.clamp(-linf_bound, linf_bound)
    return delta.detach()


# --------------------------------------------------------------------------- dispatch

def run_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, name: str, eps: float | torch.Tensor | None,
               alpha: float | None = None, iterations: int | None = None,
               generator: torch.Generator | None = None, objective: Objective | None = None,
               **kwargs: Any) -> torch.Tensor:
    """Run the attack ``name`` (a key of :data:`REGISTRY`) and return δ.

    ``eps``/``alpha`` are in [0,1] units; ``eps`` may be a tensor of shape N for the attacks whose
    spec has ``per_sample_eps``. For ``deepfool_l2``/``deepfool_linf`` ``eps`` is the ℓ∞ bound the
    result is clipped to (``None`` = unbounded; an explicit ``linf_bound`` keyword wins) and
    ``kwargs`` may hold ``overshoot``, ``max_iter``, ``num_classes``; ``step_rnd`` needs
    ``generator`` and accepts ``num_classes``. ``generator`` is ignored by deterministic attacks,
    ``y`` by the least-likely / random-target attacks. ``objective`` (default
    :func:`cross_entropy_sum`) is passed to the attacks that take one (all but DeepFool).
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise ValueError(f"unknown attack {name!r}; allowed: {', '.join(REGISTRY)}")
    allowed_kw = set(spec.options)
    unexpected = sorted(set(kwargs) - allowed_kw)
    if unexpected:
        raise ValueError(f"attack {name!r} got unexpected arguments {unexpected}; allowed: {sorted(allowed_kw)}")
    given = {"eps": eps, "alpha": alpha, "iterations": iterations}
    missing = [p for p in spec.params if given[p] is None]
    if missing:
        raise ValueError(f"attack {name!r} needs {' and '.join(missing)}")
    if isinstance(eps, torch.Tensor) and not spec.per_sample_eps:
        allowed = [n for n, s in REGISTRY.items() if s.per_sample_eps]
        raise ValueError(f"attack {name!r} takes one eps for all inputs; a per-input eps tensor works with "
                         f"{', '.join(allowed)}")
    if objective is not None and not spec.objective:
        raise ValueError(f"attack {name!r} takes no objective ({spec.summary}; DeepFool steps towards the "
                         "closest linearised decision boundary, not up a loss)")
    if spec.random and generator is None:
        raise ValueError(f"attack {name!r} needs a torch.Generator (generator=...) to be reproducible")

    call: dict[str, Any] = dict(spec.fixed)
    if spec.labels in ("given", "predicted"):
        call["y"] = y
    call.update({p: given[p] for p in spec.params})
    call.update(kwargs)
    if spec.eps_as != "eps":
        call.setdefault(spec.eps_as, eps)
    if spec.random:
        call["generator"] = generator
        if "num_classes" in spec.options:
            call.setdefault("num_classes", None)
    if objective is not None:
        call["objective"] = objective
    return spec.fn(model, x, **call)


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return fallback


def attack_batched(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, name: str, chunk_size: int,
                   **kw: Any) -> torch.Tensor:
    """:func:`run_attack` over chunks of ``chunk_size`` inputs, concatenated.

    Chunks are moved to the model's device and the result back to ``x``'s device, so a large set
    can stay on the CPU. For per-sample-independent attacks (all but ``step_rnd``, whose random
    draws depend on the chunking) the result equals one call on the whole tensor.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be ≥ 1, got {chunk_size}")
    device = _model_device(model, x.device)
    out = []
    for start in range(0, len(x), chunk_size):
        xb = x[start:start + chunk_size].to(device)
        yb = None if y is None else y[start:start + chunk_size].to(device)
        out.append(run_attack(model, xb, yb, name, **kw).to(x.device))
    return torch.cat(out) if out else torch.zeros_like(x, dtype=torch.float32)
