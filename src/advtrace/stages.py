"""Analysis stages as units an experiment opts into (pure Python, no torch).

A *stage* is one analysis of the workflow: its config section (the stage's name), the shared
sections it needs, its cross-field checks, its aggregated tables, its figures and its rules file.
An experiment runs exactly the stages whose sections it has; the core (dataset, model,
pretraining, adversarial training, samples) always runs. Central code only collects what the
active stages register here: the config checks (:mod:`advtrace.config`), ``rule all`` and the
``figNN`` targets (``rules/common.smk``, ``rules/figures.smk``), the perturbation jobs
(:mod:`advtrace.perturb_plan`) and the claims scorecard (:mod:`advtrace.claims`).

Adding a stage: a library module, a ``rules/<stage>.smk`` (included by the Snakefile), its
config-schema section (``config/schema.yaml``, not in the experiment's ``required`` list), table
schemas (:mod:`advtrace.tables`), claims reading those tables, and one :class:`Stage` entry below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str  # the experiment config section that switches the stage on
    title: str
    rules: str  # rules file
    tables: tuple[str, ...]  # aggregated tables (results/{exp}/tables/{name}.parquet)
    figures: tuple[str, ...]  # figure slugs (results/{exp}/figures/{slug}.pdf/.png)
    requires: tuple[str, ...] = ()  # shared config sections the stage reads


CORE_SECTIONS = ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples")
SHARED_SECTIONS = ("perturb", "analysis")  # required only by the stages that read them


def _checks() -> dict:
    """Each stage's cross-field checks (functions of the whole experiment config)."""
    from . import config as C

    return {"evaluation": C.check_evaluation, "universal": C.universal_problems,
            "transforms": C.transforms_problems, "stability": C.check_stability, "detect": C.check_detect}


_STAGES = (
    Stage("evaluation", "learning curves (Fig. 8)", "rules/learning_curves.smk", ("learning_curve",),
          ("fig08_learning_curves",)),
    Stage("universal", "universal perturbations (Figs. 3, 4, 12, 13)", "rules/universal.smk",
          ("universal_accuracy", "universal_images"),
          ("fig03_universal_accuracy", "fig04_universal_perturbations", "fig12_universal_train_vs_test",
           "fig13_universal_perturbations_test"), requires=("analysis",)),
    Stage("transforms", "destruction rates under transformations (Figs. 5, 14, 15)", "rules/transforms.smk",
          ("destruction",), ("fig05_destruction_bi", "fig14_destruction_fgsm", "fig15_destruction_deepfool"),
          requires=("perturb", "analysis")),
    Stage("stability", "temporal stability, transfer, sharedness (Figs. 1, 2, 9, 10, 11)", "rules/stability.smk",
          ("transfer", "stability_profile", "stability_summary", "transfer_error", "sharedness_vs_stability",
           "stability_correlation", "sharedness", "sharedness_summary"),
          ("fig01_stability_profiles", "fig02_sharedness_vs_stability", "fig09_transfer_error",
           "fig10_maxmin_minmax", "fig11_sharedness"), requires=("perturb",)),
    Stage("detect", "detectors (Figs. 6, 7, 16)", "rules/detect.smk",
          ("detectability", "detector_training", "detector_max", "detector_max_summary"),
          ("fig06_detectability", "fig07_detector_max", "fig16_detectability_attacks"),
          requires=("perturb", "analysis")),
)
STAGES: dict[str, Stage] = {s.name: s for s in _STAGES}


def active(exp: dict) -> list[Stage]:
    """The stages an experiment runs: those whose section it has, in workflow order."""
    return [s for s in _STAGES if s.name in exp]


def tables(exp: dict) -> list[str]:
    return [t for s in active(exp) for t in s.tables]


def figures(exp: dict) -> list[str]:
    return [f for s in active(exp) for f in s.figures]


def stage_of_figure(slug: str) -> Stage:
    for s in _STAGES:
        if slug in s.figures:
            return s
    raise KeyError(f"no stage makes the figure {slug!r}")


def stage_problems(exp: dict) -> list[str]:
    """Shared sections the active stages need, then each active stage's cross-field checks."""
    problems = []
    for s in active(exp):
        for section in s.requires:
            if section not in exp:
                problems.append(f"{section}: required by the {s.name!r} stage ({s.title}); add the section "
                                f"or remove {s.name!r}")
    if problems:
        return problems
    checks = _checks()
    for s in active(exp):
        problems += checks[s.name](exp)
    return problems
