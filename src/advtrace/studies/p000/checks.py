"""Cross-field checks of paper 000's sections (advtrace.stages collects :func:`problems`).

Each section is checked as it analyses each of its runs (:func:`advtrace.studies.p000.plan.run_view`:
the run's T and the section's epoch lists mapped onto it), so an epoch beyond a run's training
(``run_epochs: same``) is reported with the run's name. The section's ``runs`` must name runs of
the experiment.
"""

from __future__ import annotations

from ... import runs
from ...specs import L2_EPS, attack_problems
from .plan import DESTRUCTION_ATTACKS, SECTIONS, destruction_epochs, run_view, section_runs, trained_epochs


def problems(exp: dict) -> list[str]:
    """Problems of every paper-000 section `exp` has (empty = OK)."""
    present = [s for s in SECTIONS if s in exp]
    out: list[str] = []
    known = list(runs.expand(exp))
    for section in present:
        names = exp[section].get("runs")
        if names is None:
            continue
        unknown = [r for r in names if r not in known]
        if unknown:
            out.append(f"{section}.runs: {unknown} not runs of the experiment; runs: {', '.join(known)}")
        if len(set(names)) != len(names):
            out.append(f"{section}.runs: {names} lists a run twice")
    out += _shared_problems(exp)
    if out:
        return out
    for section in present:
        for run in section_runs(exp, section):
            view = run_view(exp, section, run)
            found = _CHECKS[section](view) + _analysis_problems(view, section)
            if run != runs.MAIN:
                mode = exp[section].get("run_epochs", "fraction")
                found = [f"{p} [as {section} analyses run {run!r}: T = {trained_epochs(exp, run)}, "
                         f"run_epochs: {mode}]" for p in found]
            out += [p for p in found if p not in out]
    return out


def _shared_problems(exp: dict) -> list[str]:
    """The attacks of the evaluation and perturb sections (each attack's parameters as its entry of
    the attack registry lists them)."""
    out: list[str] = []
    for label, att in exp.get("evaluation", {}).get("attacks", {}).items():
        # the learning-curve evaluation (advtrace.evaluation) passes no generator
        out += attack_problems(f"evaluation.attacks.{label}", att, seeded=False)
    for label, att in exp.get("perturb", {}).get("attacks", {}).items():
        out += attack_problems(f"perturb.attacks.{label}", att)
    return out


def _analysis_problems(exp: dict, section: str) -> list[str]:
    """analysis.epochs (read by universal, destruction and detect) within the trained epochs."""
    if section not in ("universal", "destruction", "detect") or "analysis" not in exp:
        return []
    T = exp["adv_train"]["epochs"]
    bad = [e for e in exp["analysis"]["epochs"] if e > T]
    if bad:
        return [f"analysis.epochs: {bad} beyond the trained epochs; allowed 0..{T} (adv_train.epochs = {T})"]
    return []


def check_evaluation(exp: dict) -> list[str]:
    """Cross-field checks of the ``evaluation`` section (learning curves, Fig. 8)."""
    ev, samples = exp["evaluation"], exp["samples"]
    problems = [f"evaluation.{key}: unknown sample set {ev[key]!r}; allowed: {sorted(samples)}"
                for key in ("train_set", "test_set") if ev[key] not in samples]
    spec = ev.get("pretrain_epochs")
    if spec is not None:
        P = exp["pretrain"]["epochs"]
        if spec != "all" and any(k >= P for k in spec):
            problems.append(f"evaluation.pretrain_epochs: {sorted(k for k in spec if k >= P)} not in 0..{P - 1} "
                            f"(k = completed vanilla epochs; k = pretrain.epochs = {P} is t = 0, already evaluated)")
        if exp["pretrain"].get("select", "last") != "last":
            problems.append("evaluation.pretrain_epochs: needs pretrain.select: last (with best_val, t = 0 is not "
                            "the last vanilla epoch, so the curve would not be one training history)")
        if ev.get("paper_epoch_offset", P) != P:
            problems.append(f"evaluation.paper_epoch_offset: {ev['paper_epoch_offset']} with pretrain_epochs must "
                            f"equal pretrain.epochs ({P}): the vanilla epochs are paper epochs 0..{P - 1}")
    return problems


def universal_problems(exp: dict) -> list[str]:
    """Cross-field checks of the ``universal`` section (paper 000 App. D/E)."""
    problems: list[str] = []
    u = exp["universal"]
    samples = exp["samples"]
    T = exp["adv_train"]["epochs"]
    if u["alpha"] > u["eps"]:
        problems.append(f"universal.alpha: {u['alpha']} > eps {u['eps']}; the step α must not exceed ε "
                        "(both in [0,255] units)")
    for key, split in (("train_set", "train"), ("test_set", "test"), ("eval_set", "test")):
        name = u[key]
        if name not in samples:
            problems.append(f"universal.{key}: unknown sample set {name!r}; allowed: {sorted(samples)}")
        elif samples[name]["split"] != split:
            problems.append(f"universal.{key}: sample set {name!r} is drawn from the {samples[name]['split']!r} "
                            f"split; it must come from the {split!r} split")
        elif key != "eval_set" and u["m"] > samples[name]["n"]:
            problems.append(f"universal.m: m = {u['m']} is larger than universal.{key} "
                            f"{name!r} ({samples[name]['n']} inputs); allowed: 1..{samples[name]['n']}")
    for key in ("source_epochs", "image_epochs"):
        bad = [e for e in u[key] if e > T]
        if bad:
            problems.append(f"universal.{key}: {bad} beyond the trained epochs; allowed 0..{T} "
                            f"(adv_train.epochs = {T})")
    return problems


def destruction_problems(exp: dict) -> list[str]:
    """Cross-field checks of the `destruction` section (destruction-rate sweeps)."""
    problems: list[str] = []
    tr = exp["destruction"]
    samples = exp["samples"]
    if tr["sample_set"] not in samples:
        problems.append(f"destruction.sample_set: unknown sample set {tr['sample_set']!r}; allowed: {sorted(samples)}")
    elif samples[tr["sample_set"]]["split"] != "test":
        test_sets = sorted(k for k, v in samples.items() if v["split"] == "test")
        problems.append(
            f"destruction.sample_set: {tr['sample_set']!r} is drawn from the "
            f"{samples[tr['sample_set']]['split']} split; destruction rates are measured on test inputs; "
            f"allowed: {test_sets}"
        )
    analysed = exp["analysis"]["epochs"]
    bad = [e for e in destruction_epochs(exp) if e not in analysed]
    if bad:
        problems.append(f"destruction.epochs: {bad} not in analysis.epochs; allowed: {sorted(analysed)}")
    missing = [a for a in DESTRUCTION_ATTACKS if a not in exp["perturb"]["attacks"]]
    if missing:
        problems.append(
            f"perturb.attacks: no attack labelled {missing}, which Figs. 5, 14, 15 (destruction) need; "
            f"required labels: {list(DESTRUCTION_ATTACKS)}"
        )
    return problems


def _part_runs_problems(exp: dict, section: str, key: str, chosen: list[str] | None, reads: str) -> list[str]:
    """The ``runs`` of a part of `section` (e.g. ``detect.maximise.runs``; None = every run of the section):
    runs of the section only, and its first run, which the paper's figure `reads`, among them."""
    if chosen is None:
        return []
    among = section_runs(exp, section)
    out = []
    bad = [r for r in chosen if r not in among]
    if bad:
        out.append(f"{key}: {bad} not in {section}.runs; allowed: {among}")
    if among[0] not in chosen:
        out.append(f"{key}: {chosen} leaves out {among[0]!r}, the first run of {section}.runs, which {reads}; add it")
    return out


def check_stability(exp: dict) -> list[str]:
    """Cross-field checks of the `stability` section (paper 000 Figs. 1, 2, 9, 10, 11)."""
    problems: list[str] = []
    st, samples, T = exp["stability"], exp["samples"], exp["adv_train"]["epochs"]
    attacks = exp["perturb"]["attacks"]
    if st["attack"] not in attacks:
        problems.append(f"stability.attack: {st['attack']!r} is not an attack of perturb.attacks; allowed: {sorted(attacks)}")
    sets = {
        "profiles.set": (st["profiles"]["set"], None),
        "transfer.train_set": (st["transfer"]["train_set"], "train"),
        "transfer.test_set": (st["transfer"]["test_set"], "test"),
        "cost_change.test_set": (st["cost_change"]["test_set"], "test"),
        "cost_change.train_set": (st["cost_change"]["train_set"], "train"),
        "sharedness.set": (st["sharedness"]["set"], None),
        "sharedness.other_set": (st["sharedness"]["other_set"], None),
    }
    for key, (name, split) in sets.items():
        if name not in samples:
            problems.append(f"stability.{key}: unknown sample set {name!r}; allowed: {sorted(samples)}")
        elif split is not None and samples[name]["split"] != split:
            problems.append(
                f"stability.{key}: sample set {name!r} is drawn from the {samples[name]['split']} split; "
                f"it must be a {split} set"
            )
    sh = st["sharedness"]
    if sh["set"] in samples and sh["other_set"] in samples:
        other = samples[sh["other_set"]]
        if other["split"] != samples[sh["set"]]["split"] or sh["set"] not in other["exclude"]:
            problems.append(
                f"stability.sharedness.other_set: {sh['other_set']!r} must be drawn from the same split as "
                f"{sh['set']!r} and list it in samples.{sh['other_set']}.exclude (the other inputs must be disjoint)"
            )
    for part, reads in (("transfer", "Fig. 9 reads"), ("cost_change", "Fig. 2 and its claim read")):
        problems += _part_runs_problems(exp, "stability", f"stability.{part}.runs", st[part].get("runs"), reads)
    epoch_sets = {
        "profiles.epochs": (st["profiles"]["epochs"], 0),
        "cost_change.future_epochs": (st["cost_change"]["future_epochs"], 1),
        "sharedness.epochs": (sh["epochs"], 0),
    }
    for key, (spec, first) in epoch_sets.items():
        if spec == "all":
            continue
        bad = sorted({e for e in spec if e < first or e > T})
        if bad:
            problems.append(
                f"stability.{key}: {bad} outside the trained epochs; allowed {first}..{T} (adv_train.epochs = {T})"
            )
    return problems


def check_detect(exp: dict) -> list[str]:
    """Cross-field checks of the `detect` section (detectors, Figs. 6, 7, 16)."""
    problems: list[str] = []
    det = exp["detect"]
    analysed = exp["analysis"]["epochs"]
    bad = [e for e in det["epochs"] if e not in analysed]
    if bad:
        problems.append(f"detect.epochs: {bad} not in analysis.epochs; allowed: {analysed}")
    if len(set(det["epochs"])) != len(det["epochs"]):
        problems.append(f"detect.epochs: {det['epochs']} lists an epoch twice")
    bad = [e for e in det["fixed_epochs"] if e not in det["epochs"]]
    if bad:
        problems.append(f"detect.fixed_epochs: {bad} not in detect.epochs; allowed: {det['epochs']}")
    perturb_attacks = sorted(exp["perturb"]["attacks"])
    for label in det["attacks"]:
        if label not in exp["perturb"]["attacks"]:
            problems.append(f"detect.attacks.{label}: not an attack of perturb.attacks; allowed: {perturb_attacks}")
    detect_attacks = sorted(det["attacks"])
    for key in ("fig06_attacks", "fig16_attacks"):
        bad = [a for a in det[key] if a not in det["attacks"]]
        if bad:
            problems.append(f"detect.{key}: {bad} not in detect.attacks; allowed: {detect_attacks}")
    samples = exp["samples"]
    for key, split in (("train_set", "train"), ("val_set", "val"), ("test_set", "test")):
        name = det[key]
        if name not in samples:
            problems.append(f"detect.{key}: unknown sample set {name!r}; allowed: {sorted(samples)}")
        elif samples[name]["split"] != split:
            allowed = sorted(k for k, v in samples.items() if v["split"] == split)
            problems.append(
                f"detect.{key}: sample set {name!r} is drawn from the {samples[name]['split']!r} split; "
                f"it must come from the {split!r} split (detectors never train on test inputs); allowed: {allowed}")
    mx = det["maximise"]
    if mx["attack"] not in det["attacks"]:
        problems.append(f"detect.maximise.attack: {mx['attack']!r} not in detect.attacks; allowed: {detect_attacks}")
    if mx["alpha"] > mx["eps"]:
        problems.append(f"detect.maximise.alpha: {mx['alpha']} > eps {mx['eps']}; the step must not exceed ε "
                        "(both in [0,255] units)")
    problems += _part_runs_problems(exp, "detect", "detect.maximise.runs", mx.get("runs"), "Fig. 7 and its claim read")
    train_set = samples.get(det["train_set"])
    if train_set is not None and mx["m"] > train_set["n"]:
        problems.append(f"detect.maximise.m: {mx['m']} > {train_set['n']} inputs of "
                        f"detect.train_set {det['train_set']!r}; allowed: 1..{train_set['n']}")
    d = det["detector"]
    side = exp["dataset"]["image_size"]
    if d["position"] != "input":
        if exp["model"]["name"] != "preact_resnet18":
            problems.append(f"detect.detector.position: {d['position']!r} needs the classifier's feature maps, "
                            f"which only preact_resnet18 exposes; allowed for {exp['model']['name']!r}: 'input'")
        side = side // 2 ** max(0, d["position"] - 1)  # stages 2..4 halve the resolution
    if side // 2 ** d["pools"] < 1:
        problems.append(f"detect.detector.pools: {d['pools']} 2x2 max-poolings do not fit the {side}x{side} "
                        f"map the detector reads; allowed: 0..{max(0, side.bit_length() - 1)}")
    return problems


# --- for advtrace.config's value checks (torch seeds, ε in [0, 255] units) ----------------------------------


def SEEDS(exp: dict) -> list[tuple[str, int]]:  # noqa: N802 (a declaration, as the other studies' parts)
    """The seeds of paper 000's sections besides the experiment's."""
    return [("destruction.noise_seed", exp["destruction"]["noise_seed"])] if "destruction" in exp else []


def EPS_SPECS(exp: dict) -> list[tuple[str, dict, bool]]:  # noqa: N802
    """(key prefix, spec with eps, is the ε an ℓ2 norm) of every attack and perturbation bound of paper 000's
    sections."""
    specs = [(f"evaluation.attacks.{k}", a, a["name"] in L2_EPS) for k, a in exp.get("evaluation", {}).get("attacks", {}).items()]
    specs += [(f"perturb.attacks.{k}", a, a["name"] in L2_EPS) for k, a in exp.get("perturb", {}).get("attacks", {}).items()]
    if "universal" in exp:
        specs.append(("universal", exp["universal"], False))
    if "detect" in exp:
        specs.append(("detect.maximise", exp["detect"]["maximise"], False))
    return specs


_CHECKS = {"evaluation": check_evaluation, "universal": universal_problems, "destruction": destruction_problems,
           "stability": check_stability, "detect": check_detect}
