"""The studies, one package each: paper 000's reproduction (:mod:`.p000`) and the companion papers'
(:mod:`.p001`, :mod:`.p002`, :mod:`.p004`).

A study package declares its stages in ``registry.py`` (``PAPER``, ``CITATION``, ``STAGES``: the
:class:`Stage` entries of the analyses it runs, in workflow order) and keeps everything else of
the study in its own modules, which the central modules collect (:mod:`advtrace.stages`):

* ``schemas``: ``SCHEMAS``, its Parquet tables (merged into :data:`advtrace.tables.SCHEMAS`), and
  optionally ``CONFIG``, the JSON-schema fragment of its config section (merged into
  ``config/schema.yaml``'s experiment properties; paper 000's sections are written there);
* ``checks``: ``problems(exp) -> list[str]``, cross-field checks of its active sections, and
  optionally ``SEEDS(exp)`` and ``EPS_SPECS(exp)``, the seeds and ε bounds of its sections for
  :func:`advtrace.config.value_problems` (torch's seed range, ε in [0, 255] pixel units);
* ``claims``: ``CLAIMS``, its :class:`advtrace.claims.Claim` entries;
* ``plan`` (optional): ``perturbation_needs(exp)``, the stored perturbation sets its stages read
  (:mod:`advtrace.perturb_plan`);
* its rules files (included by the Snakefile for every registered stage).

This package's ``__init__`` imports nothing: a registry imports only :class:`Stage`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One analysis of the workflow, switched on by the experiment config section of its name."""

    name: str  # the experiment config section that switches the stage on
    title: str
    rules: str  # rules file
    tables: tuple[str, ...]  # aggregated tables (results/{exp}/tables/{name}.parquet)
    figures: tuple[str, ...]  # figure slugs (results/{exp}/figures/{slug}.pdf/.png)
    requires: tuple[str, ...] = ()  # shared config sections the stage reads
    paper: str = "000"  # the study the stage belongs to (claims `paper` column, `paperNNN` target)
    module: str = ""  # its study package (advtrace.studies.*): schemas, checks, claims, plan
    # other outputs, relative to results/{exp}/ (rendered Markdown/HTML tables in the paper's layout)
    reports: tuple[str, ...] = ()
