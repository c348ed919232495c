"""The work of a whole paper run, counted from its real Snakemake DAG (for the benchmark's projection).

`snakemake -n` lists every job with its rule and wildcards. Each job is turned into counts of
four unit operations on single images, which the benchmark has measured:

    F  classifier forward (inference mode)          priced with plain_inference
    G  classifier input-gradient pass (one BI step) priced with bi10_ours / 10
    S  adversarial-training step of the classifier  priced with adv_epoch (one image of an epoch)
    D  detector training step                       priced with detector_epoch

A clean (pre)training step is priced with clean_epoch and counted as `C`. The counts follow what
the job's code does with the experiment config as it analyses the job's run (sample-set sizes,
iterations, epoch plans of `advtrace.stability_plan`; advtrace.studies.p000.plan.run_view); what an attack costs comes from the attack registry
(`advtrace.specs.ATTACK_SPECS`: gradient steps per input, and whether each step takes one
gradient per candidate class). The two figures that depend on the data are marked as
assumptions: DeepFool's iterations per input (the registry's `steps_note`) and the cost of a
detector forward relative to its training step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from advtrace import perturb_plan, stability_plan
from advtrace.studies.p000.plan import run_view
from advtrace.specs import ATTACK_SPECS, DEEPFOOL_ASSUMED_STEPS
from advtrace.workdir import job_list

DEEPFOOL_ITERATIONS = DEEPFOOL_ASSUMED_STEPS  # assumed, see the registry's steps_note
BACKWARD_PER_G = 2.0 / 3.0  # assumed: a backward pass is ~2/3 of a forward+backward input-gradient pass
DETECTOR_FORWARD_PER_D = 1.0 / 3.0  # assumed: detector inference ~1/3 of its training step
UNITS = ("F", "G", "S", "C", "D")
# the columns of the bench tables that hold each unit's count (bench_measure writes, bench_report reads)
WORK_UNITS = {"F": "n_forward", "G": "n_input_grad", "S": "n_adv_step", "C": "n_clean_step", "D": "n_detector_step"}

@dataclass
class Work:
    component: str
    counts: Counter = field(default_factory=Counter)
    jobs: int = 0
    how: str = ""


def attack_cost(att: dict, classes: int) -> Counter:
    """Unit operations to perturb one input (without the predictions around it), from the attack
    registry: one input-gradient pass per step."""
    spec = ATTACK_SPECS.get(att["name"])
    if spec is None:
        raise ValueError(f"no cost model for attack {att['name']!r}; allowed: {', '.join(ATTACK_SPECS)}")
    steps = spec.gradient_steps(att)
    if spec.class_gradients:
        # per step: one forward + backward for the first candidate class, one more backward per
        # other candidate class (shared graph), and one forward to check the label
        per_step = 1 + (classes - 2) * BACKWARD_PER_G
        return Counter(G=steps * per_step, F=steps)
    return Counter(G=int(steps))


def _chunk(name: str, epochs) -> list[int]:
    """The epochs of an analysis chunk wildcard such as 004-007 (rules/common.smk chunk_name)."""
    first, last = (int(x) for x in name.split("-"))
    return [int(t) for t in epochs if first <= int(t) <= last]


def _scale(c: Counter, k: float) -> Counter:
    return Counter({u: v * k for u, v in c.items()})


def paper_work(stdout: str, exp: dict, classes: int = 10) -> list[dict]:
    """Per component: unit counts summed over the DAG's jobs. `exp` is the experiment config."""
    samples = exp["samples"]
    n = {name: int(s["n"]) for name, s in samples.items()}
    split_n = {k: int(v["n"]) for k, v in exp["dataset"]["splits"].items()}
    train_n = split_n["train"]
    T = int(exp["adv_train"]["epochs"])
    groups: dict[str, Work] = {}

    def add(comp: str, counts: Counter, how: str) -> None:
        w = groups.setdefault(comp, Work(comp, how=how))
        w.counts.update(counts)
        w.jobs += 1

    needs = perturb_plan.perturbation_needs(exp)
    for rule, wc in job_list(stdout):
        run = wc.get("run", "main")

        def view(section: str) -> dict:
            return run_view(exp, section, run)

        if rule == "pretrain":
            add("pretraining", Counter(C=int(exp["pretrain"]["epochs"]) * train_n),
                f"{exp['pretrain']['epochs']} clean epochs × {train_n} images")
        elif rule == "adv_train_epoch":
            add("adversarial training", Counter(S=train_n), f"{T} epochs × {train_n} images (S includes the adversary)")
        elif rule == "evaluate_epochs":
            ev = exp["evaluation"]
            m = n[ev["train_set"]] + n[ev["test_set"]]
            per = Counter(F=1)
            for att in ev["attacks"].values():
                per.update(attack_cost(att, classes))
                per.update(F=1)
            T_run = view("evaluation")["adv_train"]["epochs"]
            add("learning curves (Fig. 8)", _scale(per, m * len(_chunk(wc["chunk"], range(T_run + 1)))),
                f"every checkpoint: {m} inputs × clean + {', '.join(ev['attacks'])}")
        elif rule == "perturb_epoch":
            for attack, set_name in needs.get((run, int(wc["epoch"])), []):
                att = exp["perturb"]["attacks"][attack]
                per = attack_cost(att, classes) + Counter(F=2)  # + clean and adversarial predictions
                note = ATTACK_SPECS[att["name"]].steps_note
                add(f"perturbations: {attack}", _scale(per, n[set_name]),
                    "per epoch job, per set: set size × attack cost + 2 predictions" + (f"; {note}" if note else ""))
        elif rule == "stability_epochs":
            f = 0
            cfg = view("stability")
            stab, T_run = cfg["stability"], cfg["adv_train"]["epochs"]
            for t in _chunk(wc["chunk"], stability_plan.plan_epochs(stab, T_run)):
                plan = stability_plan.epoch_plan(stab, T_run, t)
                f += sum(n[s] * len(src) for s, src in plan["transfer"].items())
                f += sum(n[p["perturbations"]] * n[p["inputs"]] for p in plan["pairwise"])
            add("transfer, profiles, sharedness (Figs. 1, 2, 9, 10, 11)", Counter(F=f),
                "advtrace.stability_plan per checkpoint: set size × source epochs + perturbations × inputs")
        elif rule == "universal_generate":
            u = exp["universal"]
            add("universal perturbations: generation", Counter(G=2 * u["iterations"] * u["batches"] * u["m"]),
                f"App. D: {u['iterations']} it. × K={u['batches']} × m={u['m']} per split, "
                "train and test per epoch job")
        elif rule == "universal_evaluate":
            u = view("universal")["universal"]
            k = 1 + u["random_draws"] + 2 * len({int(wc["epoch"])} | set(u["source_epochs"]))
            add("universal perturbations: evaluation", Counter(F=n[u["eval_set"]] * k),
                f"per analysed epoch: {n[u['eval_set']]} inputs × (clean + {u['random_draws']} random + "
                "own and fixed sources, train- and test-generated)")
        elif rule == "destruction_sweep":
            tr = exp["destruction"]
            settings = sum(len(v) for v in tr["sweeps"].values())
            k = len(exp["perturb"]["attacks"]) + 1
            add("destruction rates (Figs. 5, 14, 15)", Counter(F=n[tr["sample_set"]] * settings * k),
                f"per epoch: {n[tr['sample_set']]} inputs × {settings} settings × ({k - 1} attacks + clean)")
        elif rule == "train_detectors":
            d, t = exp["detect"], exp["detect"]["training"]
            pairs, val, k = n[d["train_set"]], n[d["val_set"]], len(d["attacks"])
            add("detectors: training", Counter(D=k * t["epochs"] * 2 * (pairs + val * DETECTOR_FORWARD_PER_D)),
                f"per epoch, {k} attacks × {t['epochs']} epochs × 2 × {pairs} images + validation "
                f"(detector forward = {DETECTOR_FORWARD_PER_D:.2g} D assumed)")
        elif rule == "evaluate_detectors":
            d = view("detect")["detect"]
            E = len(d["epochs"])
            k = E * E if d["attacks"][wc["attack"]] == "matrix" else E
            add("detectors: evaluation", Counter(D=k * 2 * n[d["test_set"]] * DETECTOR_FORWARD_PER_D),
                "per attack: (detector, test epoch) pairs × 2 × test set")
        elif rule == "maximise_detector":
            mx, d = exp["detect"]["maximise"], exp["detect"]
            grads = mx["iterations"] * mx["batches"] * mx["m"]
            add("detector-maximising perturbation (Fig. 7)",
                Counter(D=grads + 2 * n[d["test_set"]] * DETECTOR_FORWARD_PER_D),
                f"{mx['iterations']} it. × K={mx['batches']} × m={mx['m']} detector input gradients "
                "(~ one detector step each) + evaluation on the test set")
    out = []
    for w in groups.values():
        out.append({"component": w.component, "jobs": w.jobs, "how": w.how,
                    **{u: float(w.counts.get(u, 0.0)) for u in UNITS}})
    return out
