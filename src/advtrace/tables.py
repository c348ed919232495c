"""Parquet tables and their schemas.

Every table the workflow writes has a schema: ordered columns, pandas dtype and a one-line
description. The experiment-wide tables (samples, claims) are defined here; each study's tables
in its package (``advtrace.studies.<pkg>.schemas.SCHEMAS``, collected into :data:`SCHEMAS` through
the stage registry). :func:`write_table` checks a frame against its schema (exact columns, exact
dtypes) before an atomic write, and :func:`read_table` checks again on read, so a figure is a
pure function of tables whose shape is guaranteed. ``TABLES.md`` is generated from this module
(:func:`schema_markdown`; a test keeps it in sync).

**Tables of a run.** A study may declare tables *per run* (``schemas.PER_RUN``; every table of
paper 000's analyses): the aggregated table (results/{exp}/tables/) has the column ``run`` first,
one block of rows per analysed run; its per-run parts (results/{exp}/runs/{run}/metrics/, written
by a job of that run) and the frames the library builds omit it. :func:`with_run` and
:func:`concat_runs` add it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .runtime import atomic_path

# name -> (description, {column: (dtype, description)})
SCHEMAS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "samples": (
        "Fixed index sets drawn once per experiment (results/{exp}/data/samples.parquet).",
        {
            "set": ("string", "sample-set name from the experiment's `samples:`"),
            "rank": ("int64", "position within the set (0..n-1)"),
            "split": ("string", "split the indices refer to: train, val or test"),
            "index": ("int64", "index into that split of the prepared dataset"),
        },
    ),

}


RUN = "run"
RUN_COLUMN = {RUN: ("string", "training run the rows belong to (advtrace.runs; main = the experiment's own "
                              "adv_train chain); absent from the per-run parts under results/{exp}/runs/{run}/")}
PER_RUN: set[str] = set()  # tables with the run column (their parts omit it)


def _study_schemas() -> None:
    """Merge each study's tables (advtrace.stages: ``<module>.schemas.SCHEMAS`` and ``PER_RUN``)."""
    from . import stages

    for module in stages.study_modules(stages.all_stages()):
        part = importlib.import_module(f"{module}.schemas")
        clash = sorted(set(part.SCHEMAS) & set(SCHEMAS))
        if clash:
            raise RuntimeError(f"study {module}: tables {clash} are already defined")
        for name, (desc, cols) in part.SCHEMAS.items():
            per_run = name in getattr(part, "PER_RUN", ())
            if per_run:
                PER_RUN.add(name)
            SCHEMAS[name] = (desc, {**RUN_COLUMN, **cols} if per_run else cols)


_study_schemas()
# the scorecards, built last from every study's tables
SCHEMAS.update({
    "claims": (
        "The claims scorecard: each paper's quantitative statements vs this run, grouped by paper "
        "(results/{exp}/tables/claims.parquet, claims.md).",
        {
            "experiment": ("string", "experiment name"),
            "paper": ("string", "the paper whose statement it is: 000, 001, 002 or 004; x000 for the cross-method study beyond the papers"),
            "claim": ("string", "claim identifier"),
            "section": ("string", "where the paper states it"),
            "statement": ("string", "the statement"),
            "paper_value": ("string", "the paper's number(s) (CIFAR-10 unless the claim says otherwise)"),
            "criterion": ("string", "the direction or threshold checked on this run"),
            "measured": ("string", "what this run measured (rates with their n and 95 % interval)"),
            "value": ("float64", "the claim's headline number (a rate, a difference of rates, r), averaged over seeds "
                                 "by claims_seeds; NaN when the claim gives none"),
            "status": ("string", "holds, does not hold, inconclusive (the intervals of the compared numbers overlap), "
                                 "measured (no verdict), or not measured (its tables are not produced)"),
        },
    ),
    "claims_seeds": (
        "Each claim under several seeds of one experiment (issue 17; results/{exp}/tables/claims_seeds.parquet, "
        "claims_seeds.md; target claims_seeds, config `seeds`).",
        {
            "experiment": ("string", "the experiment (seed variants <exp>_seed<k>)"),
            "paper": ("string", "the paper whose statement it is"),
            "claim": ("string", "claim identifier"),
            "statement": ("string", "the statement"),
            "paper_value": ("string", "the paper's number(s)"),
            "criterion": ("string", "the direction or threshold checked"),
            "seeds": ("string", "the seeds that measured it, comma-separated"),
            "values": ("string", "the claim's value under each seed, comma-separated"),
            "verdicts": ("string", "its verdict under each seed, comma-separated"),
            "n_holds": ("int64", "seeds under which it holds"),
            "n_fails": ("int64", "seeds under which it does not hold"),
            "n_inconclusive": ("int64", "seeds under which it is inconclusive"),
            "value_mean": ("float64", "mean of the values over seeds"),
            "value_sd": ("float64", "their sample standard deviation (NaN for one seed)"),
            "value_min": ("float64", "smallest value"),
            "value_max": ("float64", "largest value"),
            "status": ("string", "holds / does not hold under every seed; else inconclusive; not measured"),
        },
    ),
})


class SchemaError(ValueError):
    pass


def columns(name: str, part: bool = False) -> dict[str, tuple[str, str]]:
    """The columns of table `name` (of one run's part, without ``run``, with `part`)."""
    if name not in SCHEMAS:
        raise SchemaError(f"unknown table {name!r}; known: {sorted(SCHEMAS)}")
    cols = SCHEMAS[name][1]
    return {c: v for c, v in cols.items() if c != RUN} if part and name in PER_RUN else cols


def _is_part(df: pd.DataFrame, name: str) -> bool:
    return name in PER_RUN and RUN not in df.columns


def check_schema(df: pd.DataFrame, name: str) -> None:
    """The frame has exactly the table's columns and dtypes (a per-run table: with ``run`` first, or
    without it for one run's part)."""
    cols = columns(name, part=_is_part(df, name))
    if list(df.columns) != list(cols):
        raise SchemaError(f"table {name!r}: columns {list(df.columns)} != schema {list(cols)}")
    for col, (dtype, _) in cols.items():
        actual = str(df[col].dtype)
        if actual != dtype and not (dtype == "string" and actual in ("string", "str", "string[python]", "string[pyarrow]")):
            raise SchemaError(f"table {name!r}: column {col!r} has dtype {actual}, schema says {dtype}")


def coerce(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Order columns as in the schema and cast to its dtypes (for frames built from dicts); a frame of a
    per-run table without ``run`` is one run's part."""
    cols = columns(name, part=_is_part(df, name))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"table {name!r}: missing columns {missing}")
    out = df[list(cols)].copy()
    for col, (dtype, _) in cols.items():
        out[col] = out[col].astype(dtype)
    return out


def empty_table(name: str) -> pd.DataFrame:
    """A frame with the table's columns and dtypes and no rows (one run's part for a per-run table)."""
    return coerce(pd.DataFrame({c: [] for c in columns(name, part=True)}), name)


def with_run(df: pd.DataFrame, name: str, run: str) -> pd.DataFrame:
    """One run's rows of a per-run table: `df` (a part, or rows with a ``run`` column) labelled `run`."""
    if name not in PER_RUN:
        raise SchemaError(f"table {name!r} has no run column")
    part = df.drop(columns=[RUN]) if RUN in df.columns else df
    return coerce(part.assign(**{RUN: run}), name)


def write_table(df: pd.DataFrame, path: str | Path, name: str) -> None:
    check_schema(df, name)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"advtrace.table": name.encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path: str | Path, name: str, run: str | None = None) -> pd.DataFrame:
    """A table checked against its schema; with `run`, only that run's rows of a per-run table."""
    df = pd.read_parquet(path)
    for col, (dtype, _) in SCHEMAS[name][1].items():
        if col in df.columns and dtype == "string":
            df[col] = df[col].astype("string")
    check_schema(df, name)
    if run is not None:
        if RUN not in df.columns:
            raise SchemaError(f"{path}: table {name!r} has no run column to select run {run!r} from")
        df = df[df[RUN] == run].reset_index(drop=True)
        if df.empty:
            raise SchemaError(f"{path}: table {name!r} has no rows of run {run!r}")
    return df


def concat_tables(paths: list[str | Path], name: str) -> pd.DataFrame:
    frames = [read_table(p, name) for p in paths]
    df = pd.concat(frames, ignore_index=True) if frames else empty_table(name)
    return coerce(df, name)


def concat_runs(parts: dict[str, list], name: str) -> pd.DataFrame:
    """A per-run table from its parts: {run: [part paths, in order]} -> each run's rows labelled with
    it, runs in the given order."""
    frames = [with_run(concat_tables(paths, name), name, run) for run, paths in parts.items()]
    return coerce(pd.concat(frames, ignore_index=True), name) if frames else with_run(empty_table(name), name, "")


def schema_markdown() -> str:
    lines = ["# Tables", "", "Generated from `src/advtrace/tables.py` (`python -m advtrace.tables > TABLES.md`).", ""]
    for name, (desc, cols) in SCHEMAS.items():
        lines += [f"## `{name}`", "", desc, "", "| column | dtype | meaning |", "|---|---|---|"]
        lines += [f"| `{c}` | {d} | {m} |" for c, (d, m) in cols.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown(), end="")
