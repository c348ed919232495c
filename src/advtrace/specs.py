"""What the workflow knows about each attack and each training method: one table each.

This module imports no torch, so the Snakefile and the config checks can read it while the DAG
is built (``import torch`` costs ~3 s, which every dry run would pay). The implementations live
in :mod:`advtrace.attacks` (:data:`advtrace.attacks.REGISTRY` is :data:`ATTACK_SPECS`) and
:mod:`advtrace.methods` (:data:`advtrace.methods.METHODS`, same keys as :data:`METHOD_SPECS`).

Readers of :data:`ATTACK_SPECS`: :func:`advtrace.attacks.run_attack` (dispatch, argument checks),
:func:`advtrace.config.attack_kwargs` (units), the config checks (:func:`attack_problems`),
:mod:`advtrace.perturbations` (int8 storage, :func:`int8_exact`), ``bench/paper_work.py``
(gradient passes per input) and ``config/schema.yaml`` (its attack ``name`` enum equals the keys;
tested). Readers of :data:`METHOD_SPECS`: the config checks (:func:`method_problems`) and the
schema's ``adv_train.method`` enum (tested).

Units: configs give ε, α (and every other key of :data:`PIXEL_KEYS`) in [0, 255] pixel units.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

NORMS = ("linf", "l2")
# How an attack chooses the label whose loss it ascends (or descends towards):
#   given         the y run_attack is called with (true labels, or the prediction: the caller's choice)
#   least_likely  argmin of the clean logits (y is ignored)
#   random        a class drawn with the generator (y is ignored)
#   predicted     moves away from the model's prediction of the clean input (DeepFool); a given y is
#                 honoured by the function, the workflow passes none
#   none          reads no label (paper 002 App. A: fast entropy ascends the entropy of the
#                 prediction; the random perturbations do not look at the model)
LABELS = ("given", "least_likely", "random", "predicted", "none")
# Config keys given in [0, 255] pixel units; run_attack takes them in [0, 1] units.
PIXEL_KEYS = ("eps", "alpha", "linf_bound")
# DeepFool's linearisation steps per input are data dependent; the paper-scale cost projection
# assumes this many (Moosavi-Dezfooli et al. 2016 report ~2-3 on CIFAR-10).
DEEPFOOL_ASSUMED_STEPS = 3


L2_EPS = frozenset({"bi_l2"})  # attacks whose ε is an ℓ2 norm (in [0,255] units); every other ε is an ℓ∞ bound

@dataclass(frozen=True)
class AttackSpec:
    """One attack of :func:`advtrace.attacks.run_attack`.

    Attributes:
        name: the config / ``run_attack`` name.
        function: name of the function in :mod:`advtrace.attacks` (:attr:`fn` resolves it).
        norm: ``'linf'`` or ``'l2'``: the norm ε bounds.
        iterative: several gradient steps per input.
        labels: one of :data:`LABELS`.
        params: ``run_attack`` parameters that must be given (not ``None``); ε is one of them for
            every attack but DeepFool, whose ε (the ℓ∞ bound of its result) is optional there and
            required by the config schema like every attack's.
        options: optional keyword arguments of ``run_attack``.
        eps_as: the function's parameter that receives ``run_attack``'s ε.
        fixed: keyword arguments the function always gets (DeepFool's norm).
        lattice: δ is an exact multiple of 1/255 when ε, α are integers in [0, 255] units and the
            inputs are uint8 images (every step is ±α or ±ε, then clipped to a lattice box), so
            :mod:`advtrace.perturbations` stores it as int8.
        per_sample_eps: accepts ε as a tensor of shape N (one bound per input).
        objective: accepts ``objective(logits, labels) -> summed loss``.
        random: draws random numbers, from the ``generator`` it must be given.
        steps: input-gradient steps per input; ``None`` = the ``iterations`` parameter.
        steps_note: says when :attr:`steps` is an assumption.
        class_gradients: each step takes one input gradient per candidate class (DeepFool).
        summary: one line for messages and docs.
    """

    name: str
    function: str
    norm: str
    iterative: bool
    labels: str
    params: tuple[str, ...]
    options: tuple[str, ...] = ()
    eps_as: str = "eps"
    fixed: tuple[tuple[str, Any], ...] = ()
    lattice: bool = False
    per_sample_eps: bool = False
    objective: bool = True
    random: bool = False
    steps: int | None = None
    steps_note: str = ""
    class_gradients: bool = False
    summary: str = ""

    def __post_init__(self) -> None:
        if self.norm not in NORMS or self.labels not in LABELS:
            raise ValueError(f"attack spec {self.name!r}: norm {self.norm!r}, labels {self.labels!r}")

    @property
    def fn(self) -> Callable:
        """The attack function (imports :mod:`advtrace.attacks`, hence torch)."""
        return getattr(importlib.import_module("advtrace.attacks"), self.function)

    @property
    def keys(self) -> tuple[str, ...]:
        """Keys an attack section of the config may hold (besides ``name``); ε is always required."""
        return tuple(dict.fromkeys(("eps", *self.params, *self.options)))

    def gradient_steps(self, att: dict) -> float:
        """Input-gradient steps per input for the config attack ``att`` (see :attr:`steps_note`)."""
        return float(att["iterations"]) if self.steps is None else float(self.steps)


_DEEPFOOL_OPTIONS = ("overshoot", "max_iter", "num_classes", "linf_bound")
_DEEPFOOL_NOTE = f"DeepFool {DEEPFOOL_ASSUMED_STEPS} iterations assumed"

ATTACK_SPECS: dict[str, AttackSpec] = {s.name: s for s in (
    AttackSpec("fgsm", "fgsm", "linf", False, "given", ("eps",), lattice=True, per_sample_eps=True, steps=1,
               summary="fast gradient sign method, ξ = ε sgn ∇J(x, y)"),
    AttackSpec("bi", "bi", "linf", True, "given", ("eps", "alpha", "iterations"), lattice=True,
               per_sample_eps=True, summary="basic iterative ℓ∞ method"),
    AttackSpec("bi_l2", "bi_l2", "l2", True, "given", ("eps", "alpha", "iterations"),
               summary="basic iterative ℓ2 method"),
    AttackSpec("deepfool_l2", "deepfool", "l2", True, "predicted", (), _DEEPFOOL_OPTIONS, eps_as="linf_bound",
               fixed=(("norm", "l2"),), objective=False, steps=DEEPFOOL_ASSUMED_STEPS, steps_note=_DEEPFOOL_NOTE,
               class_gradients=True, summary="DeepFool ℓ2 (eps = ℓ∞ bound of the result)"),
    AttackSpec("deepfool_linf", "deepfool", "linf", True, "predicted", (), _DEEPFOOL_OPTIONS,
               eps_as="linf_bound", fixed=(("norm", "linf"),), objective=False, steps=DEEPFOOL_ASSUMED_STEPS,
               steps_note=_DEEPFOOL_NOTE, class_gradients=True,
               summary="DeepFool ℓ∞ (eps = ℓ∞ bound of the result)"),
    AttackSpec("step_ll", "step_ll", "linf", False, "least_likely", ("eps",), lattice=True, per_sample_eps=True,
               steps=1, summary="one step towards the least-likely class"),
    AttackSpec("step_rnd", "step_rnd", "linf", False, "random", ("eps",), ("num_classes",), lattice=True,
               per_sample_eps=True, random=True, steps=1, summary="one step towards a random class"),
    AttackSpec("iter_ll", "iter_ll", "linf", True, "least_likely", ("eps", "alpha", "iterations"), lattice=True,
               per_sample_eps=True, summary="iterative steps towards the least-likely class"),
    # paper 002 App. A's other one-step methods
    AttackSpec("fast_entropy", "fast_entropy", "linf", False, "none", ("eps",), lattice=True, per_sample_eps=True,
               objective=False, steps=1, summary="one sign step up the entropy of the prediction, ξ = ε sgn ∇H(p(·|x))"),
    AttackSpec("fast_grad_l2", "fast_grad_l2", "l2", False, "given", ("eps",), per_sample_eps=True, steps=1,
               summary="one step along the ℓ2-normalised gradient, ξ = ε ∇J / ‖∇J‖₂"),
    AttackSpec("fast_grad_linf", "fast_grad_linf", "linf", False, "given", ("eps",), per_sample_eps=True, steps=1,
               summary="one step along the ℓ∞-normalised gradient, ξ = ε ∇J / ‖∇J‖∞"),
    AttackSpec("rand_sign", "rand_sign", "linf", False, "none", ("eps",), lattice=True, per_sample_eps=True,
               objective=False, random=True, steps=0, summary="sign of random normal noise, ξ = ε sgn N(0, I)"),
    AttackSpec("rand_normal", "rand_normal", "linf", False, "none", ("eps",), per_sample_eps=True, objective=False,
               random=True, steps=0,
               summary="random normal noise of standard deviation ε/2 truncated to [-ε, ε] per pixel"),
)}


def _integer(v: Any) -> bool:
    return isinstance(v, (int, float)) and float(v).is_integer()


def int8_exact(att: dict) -> bool:
    """True when the config attack ``att`` ([0,255] units) gives δ on the 1/255 lattice within
    int8's range on uint8 inputs: a :attr:`AttackSpec.lattice` attack with integer ε (≤ 127) and α."""
    spec = ATTACK_SPECS[att["name"]]
    return (spec.lattice and _integer(att["eps"]) and att["eps"] <= 127
            and all(_integer(att[k]) for k in PIXEL_KEYS if k in att))


def attack_problems(prefix: str, att: dict, seeded: bool = True) -> list[str]:
    """Cross-field checks of one schema-valid config attack at key ``prefix``. With ``seeded=False``
    (a caller that passes no generator) attacks that draw random numbers are rejected."""
    name, spec = att["name"], ATTACK_SPECS[att["name"]]
    problems = []
    for key in spec.params:
        if key not in att:
            kind = "iterative attack" if spec.iterative else "attack"
            problems.append(f"{prefix}.{key}: required for the {kind} {name!r}")
    for key in att:
        if key not in ("name", *spec.keys):
            problems.append(f"{prefix}.{key}: not a parameter of {name!r} ({spec.summary}); "
                            f"allowed: {', '.join(spec.keys)}")
    if spec.norm == "linf" and "alpha" in spec.params and "alpha" in att and att["alpha"] > att["eps"]:
        problems.append(f"{prefix}.alpha: {att['alpha']} > eps {att['eps']}; the step α must not exceed ε "
                        "(both in [0,255] units)")
    if spec.random and not seeded:
        allowed = [n for n, s in ATTACK_SPECS.items() if not s.random]
        problems.append(f"{prefix}.name: {name!r} draws random numbers and this analysis passes no seeded "
                        f"generator; allowed: {', '.join(allowed)}")
    return problems


# --------------------------------------------------------------------------- training methods

@dataclass(frozen=True)
class MethodSpec:
    """One training method of :data:`advtrace.methods.METHODS` (how a batch's loss is formed).

    Attributes:
        name: the ``adv_train.method`` value.
        keys: the ``adv_train`` keys it reads besides the common ones (epochs, batch_size,
            optimizer, schedule, augment, method); each is required with this method and every
            other method's key is rejected, so no key is silently ignored.
        summary: one line for messages and docs.
        check: cross-field checks of the ``adv_train`` section, returning problem strings.
    """

    name: str
    keys: tuple[str, ...]
    summary: str
    check: Callable[[dict], list[str]] | None = None


def kofm_k(m: int, k_fraction: float) -> int:
    """k of a mini-batch of m: k_fraction·m rounded half up (the last batch of an epoch may be smaller)."""
    return min(m, int(math.floor(k_fraction * m + 0.5)))


def kurakin_iterations(eps: float, alpha: float) -> int:
    """Paper 002 Sec. 2.2's iteration count of the iterative attacks, int(min(ε + 4, 1.25 ε)) with ε
    in units of the step α (the paper's α is 1 pixel): 20 for ε = 16, 2 for ε = 2 (α = 1).
    :func:`advtrace.methods.kofm` applies the same rule per example."""
    e = eps / alpha
    return int(min(e + 4, 1.25 * e))


def _kofm_problems(adv: dict) -> list[str]:
    problems = []
    att = adv["attack"]
    if not ATTACK_SPECS[att["name"]].per_sample_eps:
        allowed = [n for n, s in ATTACK_SPECS.items() if s.per_sample_eps]
        problems.append(f"adv_train.attack.name: method 'kofm' draws one ε per example, which {att['name']!r} "
                        f"does not take; allowed: {', '.join(allowed)}")
    if adv["kofm"].get("per_example_iterations") and not ATTACK_SPECS[att["name"]].iterative:
        problems.append(f"adv_train.kofm.per_example_iterations: only for an iterative adversary (bi, iter_ll), "
                        f"not {att['name']!r}; remove it")
    k = kofm_k(adv["batch_size"], adv["kofm"]["k_fraction"])
    if k < 1:
        problems.append(f"adv_train.kofm.k_fraction: {adv['kofm']['k_fraction']} of a batch of "
                        f"{adv['batch_size']} replaces no example; allowed: >= {0.5 / adv['batch_size']:.3g}")
    return problems


def _shared_problems(adv: dict) -> list[str]:
    problems = []
    sh = adv["shared"]
    if sh["alpha"] > sh["eps"]:
        problems.append(f"adv_train.shared.alpha: {sh['alpha']} > eps {sh['eps']}; the step α must not exceed ε "
                        "(both in [0,255] units)")
    if sh["heap_size"] > adv["batch_size"]:
        problems.append(f"adv_train.shared.heap_size: {sh['heap_size']} > adv_train.batch_size {adv['batch_size']}; "
                        f"a heap is part of a mini-batch; allowed: 1..{adv['batch_size']}")
    return problems


def _uap_problems(adv: dict) -> list[str]:
    u = adv["uap"]
    problems = []
    if u["round_epochs"] > adv["epochs"]:
        problems.append(f"adv_train.uap.round_epochs: {u['round_epochs']} > adv_train.epochs {adv['epochs']}; the "
                        f"perturbations are recomputed every round_epochs epochs; allowed: 1..{adv['epochs']}")
    return problems


METHOD_SPECS: dict[str, MethodSpec] = {s.name: s for s in (
    MethodSpec("sigma_mix", ("sigma", "attack_label", "attack"),
               "paper 000: σ·J(x, y) + (1−σ)·J(x+ξ, y), ξ from adv_train.attack"),
    MethodSpec("kofm", ("attack_label", "attack", "kofm"),
               "paper 002: k of m examples replaced by adversarial ones, λ-weighted loss, per-example ε",
               _kofm_problems),
    MethodSpec("shared", ("attack_label", "shared"),
               "paper 004: heap perturbations (PGD on min(J, κ)), (1−w)·J(x, y) + w·J(x+δ_heap, y)",
               _shared_problems),
    MethodSpec("clean", (), "no adversary: J(x, y) (pretraining; a baseline run)"),
    MethodSpec("deepfool_uad", ("uap",),
               "paper 004's baseline after Moosavi-Dezfooli et al. 2017: fine-tuning on a pool of DeepFool universal "
               "perturbations recomputed every round", _uap_problems),
    MethodSpec("fictitious_play", ("uap",),
               "paper 004's baseline after Perolat et al. 2018: fine-tuning against the growing memory of DeepFool "
               "universal perturbations, one round's best responses added per round", _uap_problems),
)}
METHOD_KEYS = tuple(dict.fromkeys(k for s in METHOD_SPECS.values() for k in s.keys))


def method_problems(adv: dict) -> list[str]:
    """Cross-field checks of a schema-valid ``adv_train`` section: the method's keys are present,
    no other method's key is, and the method's own checks."""
    name = adv["method"]
    if name not in METHOD_SPECS:
        return [f"adv_train.method: {name!r} is not a training method; allowed: {', '.join(METHOD_SPECS)}"]
    spec = METHOD_SPECS[name]
    problems = [f"adv_train.{k}: required by method {name!r} ({spec.summary})" for k in spec.keys if k not in adv]
    problems += [f"adv_train.{k}: not read by method {name!r}, which reads "
                 f"{', '.join(spec.keys) or 'no method keys'}; remove it (or choose the method that reads it)"
                 for k in METHOD_KEYS if k in adv and k not in spec.keys]
    if not problems and spec.check is not None:
        problems += spec.check(adv)
    return problems
