"""Cross-field checks of the ``paper001`` section (pure Python, no torch)."""

from __future__ import annotations

from ...specs import ATTACK_SPECS, attack_problems


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
    if any(p != "input" for p in positions) and exp["model"]["name"] != "preact_resnet18" and \
            exp["model"]["name"] != "resnet32":
        out.append(f"paper001.positions: model {exp['model']['name']!r} exposes no feature maps; use [input] or a "
                   "ResNet (preact_resnet18, resnet32)")
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
    return out
