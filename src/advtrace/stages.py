"""Analysis stages as units an experiment opts into (pure Python, no torch).

A *stage* is one analysis of the workflow: its config section (the stage's name), the shared
sections it needs, its cross-field checks, its aggregated tables, its figures and its rules file.
An experiment runs exactly the stages whose sections it has; the core (dataset, model,
pretraining, adversarial training, samples) always runs. Central code only collects what the
active stages register here: the config checks (:mod:`advtrace.config`), ``rule all`` and the
``figNN`` targets (``rules/common.smk``, ``rules/figures.smk``), the perturbation jobs
(:mod:`advtrace.perturb_plan`) and the claims scorecard (:mod:`advtrace.claims`).

Paper 000's analyses (``paper="000"``) keep their schemas, claims and checks in the central
modules they grew in. A companion-paper study is a self-contained package
``advtrace.studies.<pkg>`` named by the stage's ``module``; the central modules collect from it:

* ``<module>.schemas``: ``SCHEMAS`` (its Parquet tables, merged into :data:`advtrace.tables.SCHEMAS`)
  and ``CONFIG`` (the JSON-schema fragment of its config section, merged into
  ``config/schema.yaml``'s experiment properties);
* ``<module>.checks``: ``problems(exp) -> list[str]`` (cross-field checks of its section);
* ``<module>.claims``: ``CLAIMS`` (:class:`advtrace.claims.Claim` with ``paper`` set);
* its rules file (included by the Snakefile for every registered stage).

Adding a stage: those files and one :class:`Stage` entry below.
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
    paper: str = "000"  # the paper whose study the stage is (claims `paper` column, `paperNNN` target)
    module: str | None = None  # a study package (advtrace.studies.*): schemas, checks, claims
    # other outputs, relative to results/{exp}/ (rendered Markdown/HTML tables in the paper's layout)
    reports: tuple[str, ...] = ()


CORE_SECTIONS = ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples")
SHARED_SECTIONS = ("perturb", "analysis")  # required only by the stages that read them


def _checks() -> dict:
    """Each stage's cross-field checks (functions of the whole experiment config)."""
    from . import config as C

    return {"evaluation": C.check_evaluation, "universal": C.universal_problems,
            "destruction": C.destruction_problems, "stability": C.check_stability, "detect": C.check_detect}


_STAGES = (
    Stage("evaluation", "learning curves (Fig. 8)", "rules/learning_curves.smk", ("learning_curve",),
          ("fig08_learning_curves",)),
    Stage("universal", "universal perturbations (Figs. 3, 4, 12, 13)", "rules/universal.smk",
          ("universal_accuracy", "universal_images"),
          ("fig03_universal_accuracy", "fig04_universal_perturbations", "fig12_universal_train_vs_test",
           "fig13_universal_perturbations_test"), requires=("analysis",)),
    Stage("destruction", "destruction rates under transformations (Figs. 5, 14, 15)", "rules/destruction.smk",
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
# Companion-paper studies (one package each under advtrace.studies; see the module docstring).
_STAGES += (
    Stage("paper001", "paper 001: detectability of adversaries, attachment depth, ε and attack transfer, dynamic "
          "adversary and detector (Figs. 2-5; Figs. 6-8 on ImageNet-10)", "rules/paper001.smk",
          ("p001_adversaries", "p001_depth", "p001_eps_transfer", "p001_attack_transfer", "p001_dynamic",
           "p001_detector_training", "p001_dynamic_training"),
          ("p001_fig02_detectability", "p001_fig03_eps_transfer", "p001_fig04_attack_transfer", "p001_fig05_dynamic",
           "p001_dynamic_training_curve"),
          paper="001", module="advtrace.studies.p001", reports=("paper001/tables.md",)),
    Stage("paper002", "paper 002: one-step adversarial training, label leaking, transfer, capacity",
          "rules/paper002.smk", ("p002_accuracy", "p002_label_leaking", "p002_transfer", "p002_capacity"),
          ("p002_fig01_capacity_top1", "p002_fig02_transfer_eps", "p002_fig03_one_step_methods",
           "p002_fig04_capacity_top5", "p002_fig05_transfer_error_eps"),
          requires=(), paper="002", module="advtrace.studies.p002",
          reports=tuple(f"paper002/table{t}.md" for t in range(1, 9)) + ("paper002/tables.html",)),
    Stage("paper004", "paper 004: shared adversarial training (Figs. 1, 3, 5, Table A1, risk ordering, cost)",
          "rules/paper004.smk",
          ("p004_robustness", "p004_search", "p004_risk", "p004_images", "p004_front", "p004_cost"),
          ("p004_fig3_pareto_front", "p004_fig03_deepfool_front", "p004_fig5_learning_curves", "p004_risk_ordering",
           "p004_fig1_perturbations"),
          paper="004", module="advtrace.studies.p004", reports=("reports/p004_table_a1.md", "reports/p004_cost.md")),
)
STAGES: dict[str, Stage] = {s.name: s for s in _STAGES}
PAPERS = {
    "000": "Metzen et al. (2018), Universality, Robustness, and Detectability of Adversarial Perturbations under "
           "Adversarial Training",
    "001": "Metzen et al. (2017), On Detecting Adversarial Perturbations",
    "002": "Kurakin et al. (2017), Adversarial Machine Learning at Scale",
    "004": "Mummadi et al. (2019), Defending Against Universal Perturbations With Shared Adversarial Training",
}


def study_part(stage: Stage, part: str):
    """The `part` module (schemas, checks, claims) of a study stage's package, or None."""
    if stage.module is None:
        return None
    import importlib

    return importlib.import_module(f"{stage.module}.{part}")


def all_stages() -> list[Stage]:
    return list(_STAGES)


def of_paper(exp: dict, paper: str) -> list[Stage]:
    """The active stages of `exp` that belong to `paper`'s study."""
    return [s for s in active(exp) if s.paper == paper]


def active(exp: dict) -> list[Stage]:
    """The stages an experiment runs: those whose section it has, in workflow order."""
    return [s for s in _STAGES if s.name in exp]


def tables(exp: dict) -> list[str]:
    return [t for s in active(exp) for t in s.tables]


def figures(exp: dict) -> list[str]:
    return [f for s in active(exp) for f in s.figures]


def reports(exp: dict) -> list[str]:
    return [r for s in active(exp) for r in s.reports]


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
        problems += checks[s.name](exp) if s.module is None else study_part(s, "checks").problems(exp)
    return problems


def chunk_name(chunk: list[int]) -> str:
    """The ``{chunk}`` wildcard of an analysis job over several epochs: first and last, ``004-007``."""
    return f"{chunk[0]:03d}-{chunk[-1]:03d}"


def epoch_chunks(epochs, k: int) -> dict[str, list[int]]:
    """Analysis jobs that take ``k`` epochs each: chunk name -> its epochs, consecutive groups of the
    sorted ``epochs`` (``epochs_per_analysis_job`` for paper 000's stages; a study's own setting)."""
    epochs = sorted(int(e) for e in epochs)
    return {chunk_name(g): g for g in (epochs[i:i + k] for i in range(0, len(epochs), k))}
