"""What the HTML report (``snakemake --report report.html``) shows: every catalogued figure and
table of every study, grouped by paper.

An entry is a file under ``results/{exp}/`` that a study registers (:mod:`advtrace.stages`, each
study's ``registry.py``) and ``config/figures.yaml`` catalogues:

* every figure, through its PNG (``figures/<slug>.png``);
* every table in the paper's layout, a Markdown report (``reports/<name>.md``), through its HTML
  rendering ``reports/<name>.html`` (:mod:`advtrace.mdhtml`; the report does not render Markdown),
  which the same job writes and the study registers next to the Markdown.

Each entry is shown in the category of its paper (the registry's ``REPORT_CATEGORY``), in the
subcategory of its experiment, labelled with the name the catalogue gives it (``Fig. 05`` for paper
000's figure kind 5, the key of ``studies`` for the other studies: ``Fig. 3``, ``Table A1``, ...),
with the caption ``workflow/report/<slug or name>.rst``. The rules flag each of these outputs with
``report_file`` (``rules/common.smk``), which takes all of this from here; a rule writing an entry's
file without the flag is refused when the workflow is parsed (``check_report_flags``).

Pure Python (no torch, no Snakemake): tests read it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from . import stages

CAPTIONS = "workflow/report"  # relative to the workflow's root
CLAIMS_CATEGORY = "Claims scorecard"
LABEL = "figure / table"  # the report's one label column (one only: Snakemake turns a second label
# with two values into a toggle)


@dataclass(frozen=True)
class Entry:
    paper: str  # the study (registry PAPER: 000, 001, 002, 004, x000)
    file: str  # relative to results/{exp}/
    item: str  # the catalogue's name of the paper's figure or table it reproduces
    caption: str  # relative to the workflow's root
    category: str  # the report category (its paper)


def html_rendering(report: str) -> str:
    """The HTML file the report shows for the Markdown report `report` (same name, ``.html``)."""
    return str(PurePosixPath(report).with_suffix(".html"))


def categories() -> dict[str, str]:
    """{paper: report category} from the study registries."""
    return dict(stages.REPORT_CATEGORIES)


def _study_items(catalogue: dict, paper: str) -> dict[str, str]:
    """{file: the first catalogue name listing it} of a companion study (`studies`)."""
    items: dict[str, str] = {}
    for name, entry in (catalogue.get("studies", {}).get(paper) or {}).items():
        items.setdefault(entry["file"], str(name))
    return items


def entries(catalogue: dict) -> list[Entry]:
    """Every report entry of every study, in workflow order (config/figures.yaml loaded as `catalogue`).
    A registered figure or Markdown report that the catalogue does not name is an error (it would be
    shown without saying which of the paper's figures or tables it is)."""
    cats = categories()
    kinds = {slug: int(kind) for kind, slug in catalogue["kinds"].items()}
    out, problems = [], []
    for stage in stages.all_stages():
        items = _study_items(catalogue, stage.paper)
        files = [(f"figures/{slug}.png", f"figures/{slug}.png") for slug in stage.figures]
        files += [(html_rendering(r), r) for r in stage.reports if r.endswith(".md")]
        for shown, catalogued in files:
            if stage.paper == "000":
                slug = PurePosixPath(shown).stem
                item = f"Fig. {kinds[slug]:02d}" if slug in kinds else None
            else:
                item = items.get(catalogued)
            if item is None:
                problems.append(f"{catalogued} (stage {stage.name}, paper {stage.paper})")
                continue
            out.append(Entry(stage.paper, shown, item, f"{CAPTIONS}/{PurePosixPath(shown).stem}.rst",
                             cats[stage.paper]))
    if problems:
        raise ValueError("config/figures.yaml does not name these registered figures/tables (add each under its "
                         "paper in `kinds` or `studies`): " + ", ".join(problems))
    return out


def missing_renderings() -> list[str]:
    """Registered Markdown reports without their HTML rendering registered beside them (the report
    could not show them)."""
    out = []
    for stage in stages.all_stages():
        for r in stage.reports:
            if r.endswith(".md") and html_rendering(r) not in stage.reports:
                out.append(f"{stage.name}: {r} has no {html_rendering(r)} in its registry's reports")
    return out
