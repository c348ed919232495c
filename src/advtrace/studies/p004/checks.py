"""Cross-field checks of the ``paper004`` section (advtrace.stages)."""

from __future__ import annotations

from ... import runs
from .plan import SECTION, last_epoch, study_runs


def problems(exp: dict) -> list[str]:
    sec = exp[SECTION]
    out: list[str] = []
    try:
        names = study_runs(exp)
    except (KeyError, TypeError, ValueError) as err:  # the runs checks report malformed runs
        return [f"{SECTION}.runs: {err}"]
    bad = [n for n in names if not n.startswith("p004_")]
    if bad:
        out.append(f"{SECTION}.runs: run names {bad} must start with p004_ (run names are unique per experiment)")
    samples = exp["samples"]
    ev = sec["evaluation"]
    for key in ("generation_set", "eval_set"):
        if ev[key] not in samples:
            out.append(f"{SECTION}.evaluation.{key}: unknown sample set {ev[key]!r}; allowed: {sorted(samples)}")
    if not out and ev["generation_set"] == ev["eval_set"]:
        out.append(f"{SECTION}.evaluation.eval_set: must differ from generation_set (universal perturbations are "
                   "evaluated on held-out inputs)")
    elif not out and samples[ev["generation_set"]]["split"] == samples[ev["eval_set"]]["split"] and \
            ev["generation_set"] not in samples[ev["eval_set"]]["exclude"]:
        out.append(f"{SECTION}.evaluation.eval_set: {ev['eval_set']!r} shares the {samples[ev['eval_set']]['split']} "
                   f"split with {ev['generation_set']!r}; add it to samples.{ev['eval_set']}.exclude")
    if not out and ev["m"] > samples[ev["generation_set"]]["n"]:
        out.append(f"{SECTION}.evaluation.m: {ev['m']} > the generation set's "
                   f"{samples[ev['generation_set']]['n']} inputs; allowed: 1..{samples[ev['generation_set']]['n']}")
    T = exp["adv_train"]["epochs"]
    late = [e for e in sec["main_epochs"] if e > T]
    if late:
        out.append(f"{SECTION}.main_epochs: {late} beyond the main chain's adv_train.epochs = {T}")
    for r in sec["curve_runs"]:
        if r not in names:
            out.append(f"{SECTION}.curve_runs: {r!r} is not a paper004 run; runs: {', '.join(names)}")
    if out:
        return out
    shared = [n for n in names if runs.run_config(exp, n)["adv_train"]["method"] == "shared"]
    if not shared:
        out.append(f"{SECTION}.runs: no run uses adv_train.method: shared")
    risk = sec["risk"]
    if risk["run"] != runs.MAIN and risk["run"] not in names:
        out.append(f"{SECTION}.risk.run: {risk['run']!r} is not main or a paper004 run")
    else:
        from .plan import eval_epochs
        if risk["epoch"] not in eval_epochs(exp, risk["run"]):
            out.append(f"{SECTION}.risk.epoch: {risk['epoch']} is not evaluated for {risk['run']!r}; allowed: "
                       f"{eval_epochs(exp, risk['run'])}")
    if risk["alpha"] > risk["eps"]:
        out.append(f"{SECTION}.risk.alpha: {risk['alpha']} > eps {risk['eps']}")
    if sec["images"]["defended"] not in names:
        out.append(f"{SECTION}.images.defended: {sec['images']['defended']!r} is not a paper004 run")
    if sec["images"]["input_rank"] >= samples[ev["eval_set"]]["n"]:
        out.append(f"{SECTION}.images.input_rank: {sec['images']['input_rank']} >= the evaluation set's size")
    for n in names:
        if last_epoch(exp, n) < 1:
            out.append(f"runs.{n}: needs at least one epoch")
    return out
