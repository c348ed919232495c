"""Which runs and epochs paper 000's analyses read (pure Python, no torch: the rules import it).

Paper 000's analyses (sections ``evaluation``, ``universal``, ``destruction``, ``stability``,
``detect``) are functions of a *training run* (:mod:`advtrace.runs`). Each section names the runs
it analyses in ``runs:`` (default ``[main]``); every table it writes has a ``run`` column and the
paper's figures draw the first run of the list (:func:`figure_run`).

**Epochs of a run with another T.** Every epoch list of these sections (``analysis.epochs``,
``universal.source_epochs``, ``stability.sharedness.epochs``, ``detect.epochs``, …) is written
for the main run, whose T is ``adv_train.epochs``. How it applies to a run with T_r epochs is the
section's ``run_epochs``:

* ``fraction`` (default): the same fraction of training, epoch e → round(e · T_r / T) (halves
  up), clipped to 0..T_r (1..T_r for ``stability.cost_change.future_epochs``), duplicates merged.
  Main's lists are unchanged (T_r = T). E.g. ``[0, 1, 2, 3, 5, 10]`` of a 10-epoch main run is
  ``[0, 1, 2, 4]`` for a 4-epoch run and ``[0, 1]`` for a 1-epoch run.
* ``same``: the same epoch numbers; an epoch beyond a run's T is a config error naming the run.
* ``last``: every run but main is analysed at its last epoch T_r only (each list becomes [T_r]);
  main keeps its lists. For a section whose other runs only a comparison of trained models reads
  (the cross-method study compares each run's last epoch): none of their earlier epochs is computed.

``all`` (stability's profile and future epochs) means every epoch of the run. :func:`run_view`
returns the experiment as a section analyses a run: the run's own config (its model, training
method and T, with chained training jobs; :func:`advtrace.runs.run_config`) with the section's
epoch lists mapped onto it, so the per-run plans are the same functions as main's.
"""

from __future__ import annotations

import copy

from ... import runs

# the sections of paper 000's analyses (each a stage, advtrace.stages) and the shared ones they read
SECTIONS = ("evaluation", "universal", "destruction", "stability", "detect")
RUN_EPOCHS = ("fraction", "same", "last")
# per section: the dotted keys of its epoch lists (written for the main run), with the first epoch
# each may hold; the analysis section's list is shared by universal, destruction and detect
EPOCH_KEYS: dict[str, dict[str, int]] = {
    "analysis": {"epochs": 0},
    "universal": {"source_epochs": 0, "image_epochs": 0},
    "destruction": {"epochs": 0},
    "stability": {"profiles.epochs": 0, "transfer.sources": 0, "cost_change.future_epochs": 1,
                  "sharedness.epochs": 0},
    "detect": {"epochs": 0, "fixed_epochs": 0},
}
READS_ANALYSIS = ("universal", "destruction", "detect")


def section_runs(exp: dict, section: str) -> list[str]:
    """The runs `section` analyses (its ``runs``, default ``[main]``), in order."""
    return list(exp[section].get("runs") or [runs.MAIN])


def maximise_runs(exp: dict) -> list[str]:
    """The runs whose detectors Fig. 7's maximisation reads (``detect.maximise.runs``, default every run
    of ``detect.runs``), in the order of ``detect.runs``."""
    chosen = exp["detect"]["maximise"].get("runs")
    return [r for r in section_runs(exp, "detect") if chosen is None or r in chosen]


def figure_run(exp: dict, section: str) -> str:
    """The run paper 000's figures of `section` draw: the first of its ``runs``."""
    return section_runs(exp, section)[0]


def run_epochs_mode(exp: dict, section: str) -> str:
    return exp[section].get("run_epochs", "fraction")


def trained_epochs(exp: dict, run: str) -> int:
    """T of `run`: its adversarial-training epochs (``adv_train.epochs`` with its overrides)."""
    return int(runs.run_config(exp, run)["adv_train"]["epochs"])


def map_epoch(epoch: int, T_run: int, T_main: int, first: int = 0) -> int:
    """`epoch` of the main run (T_main epochs) as the same fraction of a run of T_run epochs: round
    half up, within first..T_run."""
    e = (int(epoch) * T_run * 2 + T_main) // (2 * T_main)  # floor(e·T_run/T_main + 1/2), exact in integers
    return max(min(e, T_run), min(first, T_run))


def map_epochs(spec, T_run: int, T_main: int, mode: str = "fraction", first: int = 0):
    """An epoch list of a section (``all`` and ``analysis`` are kept: resolved against the run's T
    and its mapped ``analysis.epochs``) for a run of T_run epochs; ``last``: [T_run], whatever the list."""
    if mode == "last":  # (run_view calls it for runs other than main only)
        return [T_run]
    if isinstance(spec, str) or mode == "same" or T_run == T_main:
        return spec
    return sorted({map_epoch(e, T_run, T_main, first) for e in spec})


def _get(d: dict, dotted: str):
    for key in dotted.split("."):
        d = d[key]
    return d


def _put(d: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        d = d[key]
    d[last] = value


def run_view(exp: dict, section: str, run: str) -> dict:
    """The experiment as `section` analyses `run`: :func:`advtrace.runs.run_config` (the run's seed,
    model, pretraining and adv_train, so ``adv_train.epochs`` is its T) with the epoch lists of
    `section` (and of ``analysis``, which it reads) mapped onto the run (``run_epochs``). For main, an
    equal copy of the experiment's sections."""
    cfg = runs.run_config(exp, run)
    T_main, T_run = int(exp["adv_train"]["epochs"]), int(cfg["adv_train"]["epochs"])
    mode = run_epochs_mode(exp, section)
    if mode == "last" and run == runs.MAIN:
        mode = "same"  # main keeps its lists
    keys = [section] + (["analysis"] if section in READS_ANALYSIS and "analysis" in exp else [])
    for name in keys:
        cfg[name] = copy.deepcopy(exp[name])
        for dotted, first in EPOCH_KEYS.get(name, {}).items():
            _put(cfg[name], dotted, map_epochs(_get(cfg[name], dotted), T_run, T_main, mode, first))
    if section == "stability":
        for part in STABILITY_PARTS:  # Fig. 9's transfer, Fig. 2's cost change: only for their runs
            chosen = cfg["stability"][part].get("runs")
            if chosen is not None and run not in chosen:
                cfg["stability"][part]["skip"] = True
    return cfg


# the parts of the stability section a run may leave out (each with its ``runs``, default every stability
# run): what only paper 000's figures of the first run read, never the cross-method study
STABILITY_PARTS = ("transfer", "cost_change")


def analysed_runs(exp: dict) -> list[str]:
    """Every run some paper-000 section of `exp` analyses (main first when analysed)."""
    out: list[str] = []
    for section in SECTIONS:
        if section in exp:
            out += [r for r in section_runs(exp, section) if r not in out]
    return out


def pretrain_eval_epochs(exp: dict) -> list[int]:
    """The vanilla-training epochs k (completed vanilla epochs; 0 = the initialisation) whose models the
    learning curve evaluates (``evaluation.pretrain_epochs``; [] when unset or without the stage)."""
    spec = (exp.get("evaluation") or {}).get("pretrain_epochs")
    if spec is None:
        return []
    return list(range(exp["pretrain"]["epochs"])) if spec == "all" else sorted({int(k) for k in spec})


def paper_epoch_offset(exp: dict) -> int:
    """Paper epoch of t = 0 (``evaluation.paper_epoch_offset``; default pretrain.epochs when the
    pretraining epochs are evaluated, else 0). Paper epoch = t + offset; pretraining epoch k = k."""
    ev = exp.get("evaluation") or {}
    if "paper_epoch_offset" in ev:
        return int(ev["paper_epoch_offset"])
    return int(exp["pretrain"]["epochs"]) if pretrain_eval_epochs(exp) else 0


# Figs. 5, 14, 15 draw the perturbations of these perturb.attacks labels (paper 000 Sec. 3.3, App. F).
DESTRUCTION_ATTACKS = ("BI", "FGSM", "DeepFool")


def destruction_epochs(exp: dict) -> list[int]:
    """Epochs of the destruction sweeps: destruction.epochs, or analysis.epochs for 'analysis'."""
    epochs = exp["destruction"]["epochs"]
    return sorted(exp["analysis"]["epochs"]) if epochs == "analysis" else sorted(epochs)


# --- perturbations: which stored sets each analysis reads at which (run, epoch) ----------------------
# (advtrace.perturb_plan collects them from every study; rules/perturb.smk computes them, one job per
# (run, epoch), and bench/paper_work.py counts the same tasks)

def _stability_needs(cfg: dict):
    """Figs. 1, 2, 9, 10, 11: every perturbation set a stability_epochs job reads."""
    from ... import stability_plan

    stab, T = cfg["stability"], cfg["adv_train"]["epochs"]
    for epoch in stability_plan.plan_epochs(stab, T):
        for s, t in stability_plan.perturbation_needs(stability_plan.epoch_plan(stab, T, epoch), epoch):
            yield stab["attack"], s, t


def _destruction_needs(cfg: dict):
    """Figs. 5, 14, 15: BI, FGSM and DeepFool on destruction.sample_set at every sweep epoch."""
    for epoch in destruction_epochs(cfg):
        for attack in DESTRUCTION_ATTACKS:
            yield attack, cfg["destruction"]["sample_set"], epoch


def _detect_needs(cfg: dict):
    """Figs. 6, 7, 16: train/val perturbations of each detector, test ones of every detect epoch."""
    det = cfg["detect"]
    for attack in det["attacks"]:
        for t in det["epochs"]:
            for key in ("train_set", "val_set", "test_set"):
                yield attack, det[key], t


STAGE_NEEDS = {"stability": _stability_needs, "destruction": _destruction_needs, "detect": _detect_needs}


def perturbation_needs(exp: dict):
    """(run, attack label, sample set, epoch) of every stored perturbation set paper 000's analyses
    of `exp` read: for each section and each of its runs, on the run's view (its T and epochs)."""
    for section, needs in STAGE_NEEDS.items():
        if section in exp:
            for run in section_runs(exp, section):
                for attack, set_name, epoch in needs(run_view(exp, section, run)):
                    yield run, attack, set_name, int(epoch)
