"""The work of a whole paper run, counted from its real Snakemake DAG (for the benchmark's projection).

`snakemake -n` lists every job with its rule and wildcards; each job's work is counted by the
workflow's own work model (:mod:`advtrace.workmodel`, the entries of :mod:`advtrace.work_rules`: the
same counts size the cluster jobs and the cost plan, ``python -m advtrace.plan``). This module only
regroups them into the benchmark's components and its five unit operations on single images,
which the benchmark has measured:

    F  classifier forward (inference mode)          priced with plain_inference
    G  classifier input-gradient pass (one BI step) priced with bi10_ours / 10
    S  adversarial-training step of the classifier  priced with adv_epoch (one image of an epoch)
    D  detector training step                       priced with detector_epoch

A clean (pre)training step is priced with clean_epoch and counted as `C`. A detector's forward
counts as DETECTOR_FORWARD_PER_D of a D, its input gradient as DETECTOR_GRADIENT_PER_D (assumed).
DeepFool's iterations per input are an assumption of the attack registry (its ``steps_note``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from advtrace import perturb_plan, runs, workmodel
from advtrace.specs import ATTACK_SPECS, DEEPFOOL_ASSUMED_STEPS
from advtrace.workdir import job_list

DEEPFOOL_ITERATIONS = DEEPFOOL_ASSUMED_STEPS  # assumed, see the registry's steps_note
DETECTOR_FORWARD_PER_D = 1.0 / 3.0  # assumed: detector inference ~1/3 of its training step
DETECTOR_GRADIENT_PER_D = 2.0 / 3.0  # assumed: a detector input gradient ~2/3 of its training step
UNITS = ("F", "G", "S", "C", "D")
# the columns of the bench tables that hold each unit's count (bench_measure writes, bench_report reads)
WORK_UNITS = {"F": "n_forward", "G": "n_input_grad", "S": "n_adv_step", "C": "n_clean_step", "D": "n_detector_step"}
TRAINING = {"adv_train_epoch", "adv_train_chained"}
# rule -> (component, how its work is counted); the training rules' jobs of a run other than main count
# as the "... of further runs" components (FURTHER)
COMPONENTS = {
    "pretrain": ("pretraining", "pretrain.epochs clean epochs × training split"),
    "adv_train_epoch": ("adversarial training", "epochs × training split (S includes the adversary)"),
    "adv_train_chained": ("adversarial training", "epochs × training split (S includes the adversary)"),
    "evaluate_epochs": ("learning curves (Fig. 8)", "every checkpoint: both evaluation sets × clean + each attack"),
    "evaluate_pretrain_epochs": ("learning curves (Fig. 8)", "kept vanilla epochs: as the adversarial ones"),
    "stability_epochs": ("transfer, profiles, sharedness (Figs. 1, 2, 9, 10, 11)",
                         "advtrace.stability_plan per checkpoint: set size × source epochs + perturbations × inputs"),
    "universal_generate": ("universal perturbations: generation", "App. D: iterations × K × m per split, train and test"),
    "universal_evaluate": ("universal perturbations: evaluation",
                           "per analysed epoch: eval set × (clean + random draws + own and fixed sources)"),
    "destruction_sweep": ("destruction rates (Figs. 5, 14, 15)", "per epoch: sample set × settings × (attacks + clean)"),
    "train_detectors": ("detectors: training", "per epoch, attacks × detector epochs × 2 × training set + validation"),
    "evaluate_detectors": ("detectors: evaluation", "per attack: (detector, test epoch) pairs × 2 × test set"),
    "maximise_detector": ("detector-maximising perturbation (Fig. 7)",
                          "iterations × K × m detector input gradients + evaluation on the test set"),
}
FURTHER = {"pretrain": "pretraining of further runs", "adv_train_epoch": "training of further runs",
           "adv_train_chained": "training of further runs"}


@dataclass
class Work:
    component: str
    counts: Counter = field(default_factory=Counter)
    jobs: int = 0
    how: str = ""


def attack_cost(att: dict, classes: int) -> Counter:
    """Unit operations to perturb one input (without the predictions around it): the work model's."""
    return workmodel.attack_ops(att, classes)


def _units(rule: str, job: workmodel.Job) -> Counter:
    """The benchmark's units of one job of the work model."""
    out: Counter = Counter()
    for (profile, op, _batch), n in job.ops.items():
        if profile.name.startswith("detector"):
            out["D"] += n * {"C": 1.0, "F": DETECTOR_FORWARD_PER_D, "G": DETECTOR_GRADIENT_PER_D}[op]
        elif rule in TRAINING:
            if op == "C":
                out["S"] += n
        else:
            out[op] += n
    return out


def paper_work(stdout: str, exp: dict, classes: int = 10) -> list[dict]:
    """Per component: unit counts summed over the DAG's jobs. `exp` is the experiment config."""
    groups: dict[str, Work] = {}
    rules = workmodel.rules()

    def add(comp: str, counts: Counter, how: str) -> None:
        w = groups.setdefault(comp, Work(comp, how=how))
        w.counts.update(counts)
        w.jobs += 1

    needs = perturb_plan.perturbation_needs(exp)
    for rule, wc in job_list(stdout):
        if rule == "perturb_epochs":  # one component per attack (the job computes every set of its epochs)
            run = wc.get("run", "main")
            first, last = runs.chunk_range(wc["chunk"])
            for attack, set_name in [p for (r, t), ps in needs.items() if r == run and first <= t <= last for p in ps]:
                att = exp["perturb"]["attacks"][attack]
                n = exp["samples"][set_name]["n"]
                note = ATTACK_SPECS[att["name"]].steps_note
                per = attack_cost(att, classes) + Counter(F=2)  # + clean and adversarial predictions
                add(f"perturbations: {attack}", Counter({u: v * n for u, v in per.items()}),
                    "per epoch of a chunk job, per set: set size × attack cost + 2 predictions" + (f"; {note}" if note else ""))
            continue
        if rule not in COMPONENTS or rule not in rules:
            continue
        component, how = COMPONENTS[rule]
        if rule in FURTHER and wc.get("run", "main") != "main":
            component = FURTHER[rule]
        job = rules[rule].work(workmodel.Ctx(exp, wc))
        add(component, _units(rule, job), how)
    return [{"component": w.component, "jobs": w.jobs, "how": w.how,
             **{u: float(w.counts.get(u, 0.0)) for u in UNITS}} for w in groups.values()]
