"""Cross-field checks of the ``cross_method`` section (advtrace.stages)."""

from __future__ import annotations

from ... import runs
from ..p000.plan import section_runs

ONE_STEP = ("fgsm", "step_ll", "step_rnd")
SECTIONS = ("stability", "universal", "detect")


def problems(exp: dict) -> list[str]:
    sec = exp["cross_method"]
    known = list(runs.expand(exp))
    out: list[str] = []
    for role, run in sec["methods"].items():
        if run not in known:
            out.append(f"cross_method.methods.{role}: {run!r} is not a run of the experiment; runs: {', '.join(known)}")
            continue
        for section in SECTIONS:
            if run not in section_runs(exp, section):
                out.append(f"cross_method.methods.{role}: {run!r} is not analysed by {section}; add it to "
                           f"{section}.runs (now {section_runs(exp, section)})")
        adv = runs.run_config(exp, run)["adv_train"]
        attack = (adv.get("attack") or {}).get("name")
        if role == "standard" and not (adv["method"] == "sigma_mix" and attack not in ONE_STEP):
            out.append(f"cross_method.methods.standard: {run!r} trains with {adv['method']}/{attack}; the standard "
                       "method is sigma_mix with an iterative adversary (paper 000's BI)")
        if role == "one_step" and not (adv["method"] == "kofm" and attack in ONE_STEP):
            out.append(f"cross_method.methods.one_step: {run!r} trains with {adv['method']}/{attack}; the one-step "
                       f"method is kofm with one of {', '.join(ONE_STEP)} (paper 002)")
        if role == "shared" and not (adv["method"] == "shared" and adv["shared"]["heap_size"] > 1):
            out.append(f"cross_method.methods.shared: {run!r} is not shared adversarial training with heap_size > 1 "
                       "(paper 004's s)")
    if len(set(sec["methods"].values())) != len(sec["methods"]):
        out.append(f"cross_method.methods: {sec['runs']} names a run twice")
    if sec["attack"] not in exp["detect"]["attacks"]:
        out.append(f"cross_method.attack: {sec['attack']!r} is not in detect.attacks; allowed: "
                   f"{sorted(exp['detect']['attacks'])}")
    return out
