"""Analysis stages as units an experiment opts into (pure Python, no torch): the registry.

A *stage* is one analysis of the workflow (:class:`advtrace.studies.Stage`): its config section
(the stage's name), the shared sections it needs, its aggregated tables, its figures, its rules
file and the study package it belongs to. An experiment runs exactly the stages whose sections it
has; the core (dataset, model, pretraining, adversarial training, samples) always runs.

Every study is a package ``advtrace.studies.<pkg>`` (paper 000's reproduction included) that
declares its stages in ``registry.py`` and keeps its schemas, checks, claims and perturbation
needs in its own modules (see :mod:`advtrace.studies`). This module and the other central ones
only collect, for every study alike: the config checks (:mod:`advtrace.config` via
:func:`stage_problems`), ``rule all`` and the ``figNN``/``paperNNN`` targets (``rules/common.smk``,
``rules/figures.smk``), the perturbation jobs (:mod:`advtrace.perturb_plan`), the table schemas
(:mod:`advtrace.tables`) and the claims scorecard (:mod:`advtrace.claims`).

Adding a study: a package with those modules, its rules file, and its name in :data:`STUDIES`.

Imports: :mod:`advtrace.runs` and the registries only, never :mod:`advtrace.config` (which
imports this module), so there is no import loop between config, runs and stages.
"""

from __future__ import annotations

import importlib

from .runs import CORE_SECTIONS, chunk_name, epoch_chunks  # noqa: F401  (re-exported)
from .studies import Stage  # noqa: F401  (re-exported)

# the study packages under advtrace.studies, in workflow order (their stages' order is the order of
# rule inclusion, tables, figures and claims)
STUDIES = ("p000", "p001", "p002", "p004", "x000")
SHARED_SECTIONS = ("perturb", "analysis")  # required only by the stages that read them


def _registries():
    return [importlib.import_module(f"advtrace.studies.{pkg}.registry") for pkg in STUDIES]


_STAGES: tuple[Stage, ...] = tuple(stage for reg in _registries() for stage in reg.STAGES)
STAGES: dict[str, Stage] = {s.name: s for s in _STAGES}
PAPERS: dict[str, str] = {reg.PAPER: reg.CITATION for reg in _registries()}
# {paper: its category in the HTML report} (advtrace.report_catalogue)
REPORT_CATEGORIES: dict[str, str] = {reg.PAPER: reg.REPORT_CATEGORY for reg in _registries()}


def study_part(stage: Stage, part: str):
    """The `part` module (schemas, checks, claims, plan) of a stage's study package, or None when the
    package has no such module."""
    try:
        return importlib.import_module(f"{stage.module}.{part}")
    except ModuleNotFoundError as err:
        if err.name != f"{stage.module}.{part}":
            raise
        return None


def study_modules(stages) -> list[str]:
    """The study packages of `stages`, each once, in order."""
    return list(dict.fromkeys(s.module for s in stages))


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
    for module in study_modules(active(exp)):  # each study's checks of its active sections
        problems += importlib.import_module(f"{module}.checks").problems(exp)
    return problems


def figure_key(slug: str) -> str:
    """A figure's short name, its target (rules/figures.smk): ``fig05`` for paper 000's
    ``fig05_destruction_bi``, ``p004_fig03`` for ``p004_fig03_pareto_front``, the slug itself for a
    figure the paper does not number (``p004_risk_ordering``, ``x000_methods_final``)."""
    import re

    m = re.match(r"^((?:p\d{3}_)?fig\d{2})_", slug)
    return m.group(1) if m else slug
