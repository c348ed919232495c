"""Cross-field checks of the ``paper002`` section (pure Python, no torch)."""

from __future__ import annotations

from ... import runs as R


def _named_runs(sec: dict) -> list[tuple[str, str]]:
    out = [("reference", sec["reference"]), ("baseline.run", sec["baseline"]["run"])]
    out += [(f"capacity.baselines[{i}]", r) for i, r in enumerate(sec["capacity"].get("baselines") or [])]
    out += [(f"methods[{i}]", r) for i, r in enumerate(sec["methods"])]
    out += [(f"k[{i}]", r) for i, r in enumerate(sec["k"])]
    out += [(f"capacity.runs[{i}]", r) for i, r in enumerate(sec["capacity"]["runs"])]
    out += [(f"transfer.models[{i}]", r) for i, r in enumerate(sec["transfer"]["models"])]
    return out


def problems(exp: dict) -> list[str]:
    sec = exp["paper002"]
    out: list[str] = []
    if sec["test_set"] not in exp["samples"]:
        out.append(f"paper002.test_set: {sec['test_set']!r} is not a sample set; allowed: {', '.join(exp['samples'])}")
    if min(sec["eps"]) < sec["alpha"]:
        out.append(f"paper002.alpha: {sec['alpha']} exceeds the smallest eps {min(sec['eps'])}; the step α must "
                   "not exceed ε (both in [0,255] units)")
    try:
        names = R.expand(exp)
    except (KeyError, TypeError, ValueError):  # advtrace.runs.problems reports malformed runs
        return out
    for key, run in _named_runs(sec):
        if run not in names:
            out.append(f"paper002.{key}: no run {run!r}; runs: {', '.join(names)} (a grid run is named "
                       "<name>_<key><value>, e.g. p002_k_k_fraction0p125)")
    if out:
        return out
    for key, run in _named_runs(sec):
        if key.startswith(("transfer", "baseline", "capacity.baselines")):
            continue
        adv = R.run_config(exp, run)["adv_train"]
        if adv["method"] != "kofm":
            out.append(f"paper002.{key}: run {run!r} trains with method {adv['method']!r}; paper 002's runs use "
                       "adv_train.method: kofm")
    ref = R.run_config(exp, sec["reference"])["adv_train"]
    if not out and ref["attack"]["name"] != "step_ll":
        out.append(f"paper002.reference: run {sec['reference']!r} trains with {ref['attack']['name']!r}; the "
                   "reference of Tables 1-3 is step l.l. (adv_train.attack.name: step_ll)")
    base = sec["capacity"].get("baselines") or []
    widths = sorted(R.run_config(exp, r)["model"]["width"] for r in sec["capacity"]["runs"])
    if base and sorted(R.run_config(exp, r)["model"]["width"] for r in base) != widths:
        out.append(f"paper002.capacity.baselines: one clean run per width of capacity.runs ({widths})")
    archs = {R.run_config(exp, r)["model"]["name"] for r in sec["capacity"]["runs"]}
    if len(archs) > 1:
        out.append(f"paper002.capacity.runs: runs of several architectures {sorted(archs)}; ρ scales the width of "
                   "one architecture - keep one")
    return out
