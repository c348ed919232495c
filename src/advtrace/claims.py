"""The claims scorecard: each quantitative statement of the papers next to what this run measured.

Each study keeps its claims in its package (``advtrace.studies.<pkg>.claims.CLAIMS``; paper 000's
in :mod:`advtrace.studies.p000.claims`); this module defines :class:`Claim`, collects them
(:func:`all_claims`) and renders the scorecard.

A claim is a small function of the experiment's aggregated tables. It returns the measured
value (a number, or a short text for compound values) and whether the paper's direction or
threshold holds on this run. Claims whose tables this experiment does not produce are listed
as ``not measured`` rather than silently dropped. The scorecard is written as the ``claims``
Parquet table and as ``results/{exp}/claims.md``.

Thresholds are the paper's where it states one (e.g. "≥ 80 % from epoch 3 on", "> 90 % at every
epoch"); for statements that only give a direction ("sharedness is drastically reduced") the
criterion is the direction. Absolute CIFAR-10 numbers (94.1 % clean accuracy, …) are quoted as
the paper's value; the verdict checks the relation the paper draws from them, since a small
digits model cannot match CIFAR-10 numbers and need not.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .stats import FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, VERDICTS, Estimate, proportion  # noqa: F401
from .tables import PER_RUN, RUN, coerce


@dataclass
class Claim:
    id: str
    section: str
    statement: str
    paper_value: str
    criterion: str
    tables: tuple[str, ...]
    # returns (measured, verdict) or (measured, verdict, value): verdict True/False (holds / does
    # not hold), None (measured only), one of advtrace.stats.VERDICTS ("inconclusive" when two
    # intervals overlap), or advtrace.stats.NOT_MEASURED (the run cannot decide the claim, e.g. every
    # model at chance; `measured` says why); value (optional): the claim's headline number, averaged
    # over seeds by :func:`across_seeds`
    measure: Callable[..., tuple[float | str, bool | str | None]]
    paper: str = "000"  # the paper the statement is from (claims `paper` column)
    # a per-run table (advtrace.tables.PER_RUN) reaches `measure` with the rows of its first run (the run
    # the paper's figures draw: the first of its section's `runs`), or with every run's (all_runs)
    all_runs: bool = False


def rate(value: float, n: int) -> Estimate:
    """A proportion given as a rate and its n, with its Wilson interval (k = rate·n)."""
    n = int(n)
    return proportion(min(max(float(value) * n, 0.0), n), n) if n else Estimate(np.nan, np.nan, np.nan, 0)


def first_run(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-run table's first run (the table lists its section's runs in order); a frame
    without the run column is one run's already."""
    if df.empty or RUN not in df.columns:
        return df
    return df[df[RUN] == df[RUN].iloc[0]].reset_index(drop=True)


def all_claims() -> list[Claim]:
    """Every study's claims, in study order (advtrace.stages: ``<module>.claims.CLAIMS``)."""
    import importlib

    from . import stages

    out: list[Claim] = []
    for module in stages.study_modules(stages.all_stages()):
        out += importlib.import_module(f"{module}.claims").CLAIMS
    return out


def _status(holds) -> str:
    if isinstance(holds, str):
        # the claim itself found the run cannot decide it (every model at chance, a run too short, runs
        # not matched): its text says why
        if holds == NOT_MEASURED:
            return holds
        if holds not in VERDICTS:
            raise ValueError(f"a claim's verdict is one of {VERDICTS} or {NOT_MEASURED!r}, not {holds!r}")
        return holds
    if isinstance(holds, (bool, np.bool_)):
        return HOLDS if holds else FAILS
    return "measured"


def evaluate_claims(tables: dict[str, pd.DataFrame], experiment: str,
                    stage_tables: Iterable[str] | None = None) -> pd.DataFrame:
    """Evaluate every claim whose tables are present; the others are marked not measured.

    `stage_tables`: the tables the experiment's active stages produce (advtrace.stages); claims
    reading any other table belong to a stage the experiment does not run and are left out."""
    rows = []
    claims = all_claims()
    if stage_tables is not None:
        claims = [c for c in claims if set(c.tables) <= set(stage_tables)]
    for c in claims:
        if all(t in tables for t in c.tables):
            value = float("nan")
            try:
                out = c.measure(*(tables[t] if c.all_runs or t not in PER_RUN else first_run(tables[t])
                                  for t in c.tables))
                measured, holds = out[0], out[1]
                if len(out) > 2 and out[2] is not None:
                    value = float(out[2])
                status = _status(holds)
            except (IndexError, KeyError, ValueError, ZeroDivisionError) as err:
                measured, holds, status = f"error: {err}", None, "not measured"
        else:
            missing = [t for t in c.tables if t not in tables]
            measured, holds, status = f"tables not produced: {', '.join(missing)}", None, "not measured"
            value = float("nan")
        if isinstance(measured, (float, np.floating)):
            measured = f"{measured:.3g}"
        rows.append({"experiment": experiment, "paper": c.paper, "claim": c.id, "section": c.section, "statement": c.statement,
                     "paper_value": c.paper_value, "criterion": c.criterion, "measured": str(measured),
                     "value": value, "status": status})
    return coerce(pd.DataFrame(rows), "claims")


_MARK = {HOLDS: "✅ holds", FAILS: "❌ does not hold", INCONCLUSIVE: "❔ inconclusive",
         "not measured": "– not measured", "measured": "measured"}


def _tally(d: pd.DataFrame) -> str:
    n_eval = int(d["status"].isin(VERDICTS).sum())
    counts = ", ".join(f"{int((d['status'] == v).sum())} {v}" for v in VERDICTS)
    return f"{n_eval} evaluated claims: {counts} ({len(d) - n_eval} not measured or measured only)."


def claims_markdown(df: pd.DataFrame) -> str:
    """The scorecard, one section per paper (000 first)."""
    from .stages import PAPERS

    exp = df["experiment"].iloc[0] if len(df) else "?"
    lines = [f"# Claims scorecard: {exp}", "", _tally(df), ""]
    for paper in sorted(df["paper"].unique()):
        d = df[df["paper"] == paper]
        lines += [f"## Paper {paper}: {PAPERS.get(paper, '')}", "", _tally(d), "",
                  "| claim | section | statement | paper value | criterion | measured | verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in d.itertuples():
            lines.append(f"| `{r.claim}` | {r.section} | {r.statement} | {r.paper_value} | {r.criterion} | "
                         f"{r.measured} | {_MARK.get(r.status, r.status)} |")
        lines.append("")
    return "\n".join(lines)


def claims_html(df: pd.DataFrame) -> str:
    """The scorecard as a standalone HTML page (embedded in the Snakemake report)."""
    exp = df["experiment"].iloc[0] if len(df) else "?"
    colour = {HOLDS: "#d4edda", FAILS: "#f8d7da", INCONCLUSIVE: "#fff3cd"}
    rows = "".join(
        f'<tr style="background:{colour.get(r.status, "#eeeeee")}"><td>{html.escape(r.paper)}</td>'
        f"<td><code>{html.escape(r.claim)}</code></td><td>{html.escape(r.section)}</td><td>{html.escape(r.statement)}</td><td>{html.escape(r.paper_value)}</td>"
        f"<td>{html.escape(r.criterion)}</td><td>{html.escape(r.measured)}</td><td>{html.escape(r.status)}</td></tr>"
        for r in df.itertuples()
    )
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Claims: {html.escape(exp)}</title></head>"
            f"<body><h1>Claims scorecard: {html.escape(exp)}</h1><table border='1' cellpadding='4' "
            "style='border-collapse:collapse;font-family:sans-serif;font-size:13px'>"
            "<tr><th>paper</th><th>claim</th><th>section</th><th>statement</th><th>paper value</th><th>criterion</th>"
            f"<th>measured</th><th>verdict</th></tr>{rows}</table></body></html>\n")


# --- several seeds (issue 17): each claim's value and verdict per seed, mean, spread, one verdict ---

def seed_experiment(exp: str, seed: int, base_seed: int) -> str:
    """The experiment name that runs `exp` under `seed` (itself for its own seed; else the seed
    variant ``<exp>_seed<k>`` of :func:`advtrace.config.seed_variant`)."""
    return exp if int(seed) == int(base_seed) else f"{exp}_seed{int(seed)}"


def seeds_verdict(statuses: Iterable[str]) -> str:
    """One verdict over seeds: holds (does not hold) when it holds (does not hold) under every seed
    that measured it, inconclusive otherwise (a verdict that differs between seeds, or is
    inconclusive under one, hinges on the seed or the host); not measured when no seed measured it."""
    st = [s for s in statuses if s in VERDICTS]
    if not st:
        return "not measured"
    if all(s == HOLDS for s in st):
        return HOLDS
    if all(s == FAILS for s in st):
        return FAILS
    return INCONCLUSIVE


def across_seeds(by_seed: dict[int, pd.DataFrame], experiment: str) -> pd.DataFrame:
    """The `claims_seeds` table from the claims tables of one experiment under several seeds."""
    seeds = sorted(by_seed)
    frames = {s: by_seed[s].set_index("claim") for s in seeds}
    order = list(dict.fromkeys(c for s in seeds for c in by_seed[s]["claim"]))
    rows = []
    for claim in order:
        have = [s for s in seeds if claim in frames[s].index]
        first = frames[have[0]].loc[claim]
        vals = np.array([frames[s].loc[claim, "value"] for s in have], dtype=np.float64)
        statuses = [str(frames[s].loc[claim, "status"]) for s in have]
        finite = vals[np.isfinite(vals)]
        rows.append({
            "experiment": experiment, "paper": first["paper"], "claim": claim, "statement": first["statement"],
            "paper_value": first["paper_value"], "criterion": first["criterion"],
            "seeds": ",".join(map(str, have)),
            "values": ", ".join("n/a" if not np.isfinite(v) else f"{v:.4g}" for v in vals),
            "verdicts": ", ".join(statuses),
            "n_holds": sum(s == HOLDS for s in statuses), "n_fails": sum(s == FAILS for s in statuses),
            "n_inconclusive": sum(s == INCONCLUSIVE for s in statuses),
            "value_mean": float(finite.mean()) if finite.size else float("nan"),
            "value_sd": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
            "value_min": float(finite.min()) if finite.size else float("nan"),
            "value_max": float(finite.max()) if finite.size else float("nan"),
            "status": seeds_verdict(statuses),
        })
    return coerce(pd.DataFrame(rows), "claims_seeds")


def seeds_markdown(df: pd.DataFrame, measured: dict[int, pd.DataFrame] | None = None) -> str:
    """The multi-seed scorecard: per claim the verdict under each seed, the value's mean and spread,
    and the verdict over seeds."""
    exp = df["experiment"].iloc[0] if len(df) else "?"
    seeds = sorted({s for v in df["seeds"] for s in v.split(",") if s})
    lines = [f"# Claims over seeds: {exp} (seeds {', '.join(seeds)})", "",
             "A claim holds (does not hold) over seeds when it holds (does not hold) under every seed; a verdict "
             "that differs between seeds, or is inconclusive under one, is inconclusive. Values: each claim's "
             "headline number (see `value` in TABLES.md), mean ± sample standard deviation over seeds.", "",
             _tally(df), "",
             "| paper | claim | criterion | verdict per seed | value per seed | mean ± sd [min, max] | verdict over seeds |",
             "|---|---|---|---|---|---|---|"]
    for r in df.itertuples():
        spread = ("n/a" if not np.isfinite(r.value_mean) else
                  f"{r.value_mean:.4g} ± {r.value_sd:.2g} [{r.value_min:.4g}, {r.value_max:.4g}]")
        lines.append(f"| {r.paper} | `{r.claim}` | {r.criterion} | {r.verdicts} | {r.values} | {spread} | "
                     f"{_MARK.get(r.status, r.status)} |")
    if measured:
        lines += ["", "## Measured text per seed", ""]
        for s in sorted(measured):
            lines += [f"### seed {s}", ""]
            for r in measured[s].itertuples():
                lines.append(f"- `{r.claim}`: {r.measured} — {r.status}")
            lines.append("")
    return "\n".join(lines) + "\n"
