"""Cross-field checks of the ``paper001`` section (pure Python, no torch)."""

from __future__ import annotations

import math

from ...specs import ATTACK_SPECS, attack_problems

# models whose `features` the detector can read (advtrace.models), with their number of feature maps
FEATURE_MODELS = {"preact_resnet18": 5, "resnet32": 4, "vgg16": 5}


def min_iterations(eps: float, alpha: float, sigmas) -> int:
    """Iterations the dynamic adversary needs so that, at every σ of ``sigmas`` but 0.5, a pixel
    pushed the same way every step reaches ‖δ‖∞ = ε.

    Paper 001's step α[(1 − σ) sgn ∇J_cls + σ sgn ∇J_det] moves a pixel where the two signs agree
    by α, and one where they disagree by only |1 − 2σ|·α (towards the larger weight's sign). So
    ε / α steps saturate the agreeing pixels and ε / (|1 − 2σ|·α) the disagreeing ones; at
    σ = 0.5 the disagreeing pixels do not move at all (no count reaches the bound there), so
    σ = 0.5 asks only for the agreeing pixels' ε / α."""
    m = min([abs(1.0 - 2.0 * float(s)) for s in sigmas if abs(1.0 - 2.0 * float(s)) > 1e-9] or [1.0])
    return max(1, math.ceil(eps / (alpha * m) - 1e-9))


def problems(exp: dict) -> list[str]:
    sec = exp["paper001"]
    out: list[str] = []
    samples = exp.get("samples", {})
    for key, split in (("train_set", "train"), ("val_set", "val"), ("test_set", "test")):
        name = sec[key]
        if name not in samples:
            out.append(f"paper001.{key}: sample set {name!r} is not in samples; add it there or name one of "
                       f"{sorted(samples)}")
        elif samples[name]["split"] != split:
            out.append(f"paper001.{key}: sample set {name!r} is drawn from the {samples[name]['split']!r} split; "
                       f"this role needs a {split!r} set")
    for label, fam in sec["families"].items():
        if not label.replace("_", "").isalnum():
            out.append(f"paper001.families.{label}: a family label is letters, digits and _ (it names files)")
        if len(set(fam["eps"])) != len(fam["eps"]):
            out.append(f"paper001.families.{label}.eps: {fam['eps']} repeats a value; list each ε once")
        for e in fam["eps"]:
            out += attack_problems(f"paper001.families.{label}", {**fam, "eps": e})
        if ATTACK_SPECS[fam["name"]].random:
            out.append(f"paper001.families.{label}.name: {fam['name']!r} draws random targets; paper 001's "
                       "adversaries are deterministic")
    positions = [str(p) for p in sec["positions"]]
    if len(set(positions)) != len(positions):
        out.append(f"paper001.positions: {sec['positions']} repeats a position")
    if any(p != "input" for p in positions) and exp["model"]["name"] not in FEATURE_MODELS:
        out.append(f"paper001.positions: model {exp['model']['name']!r} exposes no feature maps; use [input] or one "
                   f"of {', '.join(FEATURE_MODELS)}")
    n_maps = FEATURE_MODELS.get(exp["model"]["name"])
    bad = [p for p in sec["positions"] if p != "input" and n_maps is not None and p >= n_maps]
    if bad:
        out.append(f"paper001.positions: {bad} beyond the {n_maps} feature maps of {exp['model']['name']} "
                   f"(0..{n_maps - 1})")
    for label, e in sec.get("transfer_eps", {}).items():
        fam = sec["families"].get(label)
        if fam is None:
            out.append(f"paper001.transfer_eps.{label}: not a family; have {sorted(sec['families'])}")
        elif e not in fam["eps"]:
            out.append(f"paper001.transfer_eps.{label}: {e} is not in the family's eps {fam['eps']}")
    dyn = sec["dynamic"]
    fam = sec["families"].get(dyn["family"])
    if fam is None:
        out.append(f"paper001.dynamic.family: {dyn['family']!r} is not a family; have {sorted(sec['families'])}")
    else:
        if fam["name"] != "bi":
            out.append(f"paper001.dynamic.family: {dyn['family']!r} is a {fam['name']!r} family; the dynamic adversary "
                       "extends the basic iterative ℓ∞ method (a 'bi' family) and attacks its static detector")
        if dyn["eps"] not in fam["eps"]:
            out.append(f"paper001.dynamic.eps: {dyn['eps']} is not in paper001.families.{dyn['family']}.eps "
                       f"{fam['eps']}; the static detector attacked is the family's detector of that ε")
    if dyn["alpha"] > dyn["eps"]:
        out.append(f"paper001.dynamic.alpha: {dyn['alpha']} > eps {dyn['eps']}; the step must not exceed ε")
    else:
        need = min_iterations(dyn["eps"], dyn["alpha"], dyn["sigmas"])
        if dyn["iterations"] < need:
            worst = min((s for s in dyn["sigmas"] if abs(1 - 2 * s) > 1e-9), key=lambda s: abs(1 - 2 * s), default=0.0)
            out.append(f"paper001.dynamic.iterations: {dyn['iterations']} iterations of α = {dyn['alpha']:g} leave the "
                       f"pixels where classifier and detector gradient signs disagree short of ε = {dyn['eps']:g} at "
                       f"σ = {worst:g} (they move |1 - 2σ|·α per step); set iterations >= {need} "
                       f"(ε / (α·min |1 - 2σ|) over the σ ≠ 0.5 of sigmas)")
    return out
