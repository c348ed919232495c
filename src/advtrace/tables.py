"""Parquet tables and their schemas.

Every table the workflow writes has a schema here: ordered columns, pandas dtype and a one-line
description. :func:`write_table` checks a frame against its schema (exact columns, exact
dtypes) before an atomic write, and :func:`read_table` checks again on read, so a figure is a
pure function of tables whose shape is guaranteed. ``TABLES.md`` is generated from this module
(:func:`schema_markdown`; a test keeps it in sync).
"""

from __future__ import annotations

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
    "learning_curve": (
        "Per-epoch accuracy on fixed train/test subsets (Fig. 8; results/{exp}/tables/learning_curve.parquet).",
        {
            "epoch": ("int64", "completed adversarial-training epochs (0 = pretrained model)"),
            "split": ("string", "train or test (the evaluation sample sets)"),
            "attack": ("string", "clean, or the evaluation attack's label (e.g. FGSM, BI)"),
            "accuracy": ("float64", "fraction of the subset classified correctly (true labels)"),
            "n": ("int64", "number of inputs evaluated"),
        },
    ),
    "claims": (
        "The claims scorecard: paper 000's quantitative statements vs this run (results/{exp}/tables/claims.parquet, claims.md).",
        {
            "experiment": ("string", "experiment name"),
            "claim": ("string", "claim identifier"),
            "section": ("string", "where paper 000 states it"),
            "statement": ("string", "the statement"),
            "paper_value": ("string", "the paper's number(s) (CIFAR-10 unless the claim says otherwise)"),
            "criterion": ("string", "the direction or threshold checked on this run"),
            "measured": ("string", "what this run measured"),
            "status": ("string", "holds, does not hold, or not measured (its tables are not produced by this experiment)"),
        },
    ),
}


class SchemaError(ValueError):
    pass


def check_schema(df: pd.DataFrame, name: str) -> None:
    if name not in SCHEMAS:
        raise SchemaError(f"unknown table {name!r}; known: {sorted(SCHEMAS)}")
    cols = SCHEMAS[name][1]
    if list(df.columns) != list(cols):
        raise SchemaError(f"table {name!r}: columns {list(df.columns)} != schema {list(cols)}")
    for col, (dtype, _) in cols.items():
        actual = str(df[col].dtype)
        if actual != dtype and not (dtype == "string" and actual in ("string", "str", "string[python]", "string[pyarrow]")):
            raise SchemaError(f"table {name!r}: column {col!r} has dtype {actual}, schema says {dtype}")


def coerce(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Order columns as in the schema and cast to its dtypes (for frames built from dicts)."""
    cols = SCHEMAS[name][1]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"table {name!r}: missing columns {missing}")
    out = df[list(cols)].copy()
    for col, (dtype, _) in cols.items():
        out[col] = out[col].astype(dtype)
    return out


def write_table(df: pd.DataFrame, path: str | Path, name: str) -> None:
    check_schema(df, name)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"advtrace.table": name.encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path: str | Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(path)
    for col, (dtype, _) in SCHEMAS[name][1].items():
        if col in df.columns and dtype == "string":
            df[col] = df[col].astype("string")
    check_schema(df, name)
    return df


def concat_tables(paths: list[str | Path], name: str) -> pd.DataFrame:
    frames = [read_table(p, name) for p in paths]
    df = pd.concat(frames, ignore_index=True) if frames else coerce(pd.DataFrame({c: [] for c in SCHEMAS[name][1]}), name)
    return coerce(df, name)


def schema_markdown() -> str:
    lines = ["# Tables", "", "Generated from `src/advtrace/tables.py` (`python -m advtrace.tables > TABLES.md`).", ""]
    for name, (desc, cols) in SCHEMAS.items():
        lines += [f"## `{name}`", "", desc, "", "| column | dtype | meaning |", "|---|---|---|"]
        lines += [f"| `{c}` | {d} | {m} |" for c, (d, m) in cols.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown(), end="")
