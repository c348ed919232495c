"""Compare paper 000's tables of two results directories, exactly (issue 26: the main run's tables
stay numerically identical apart from the new ``run`` column).

    .venv/bin/python bench/compare_tables.py BASE/results/digits/tables NEW/results/digits/tables [--run main]

For every table of paper 000's stages (advtrace.studies.p000.schemas) present in BASE: the NEW table's
rows of `--run` (its ``run`` column dropped; a table without the column is taken whole) must equal
BASE's table with ``pandas.testing.assert_frame_equal(check_exact=True)`` (same columns, dtypes,
order and values; index reset). Prints one line per table and exits 1 if any differs or is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def compare(base_dir: Path, new_dir: Path, run: str = "main") -> dict[str, str]:
    """{table: "identical" | what differs} for paper 000's tables in `base_dir`."""
    from advtrace.studies.p000.schemas import SCHEMAS

    out = {}
    for name in SCHEMAS:
        base_path, new_path = base_dir / f"{name}.parquet", new_dir / f"{name}.parquet"
        if not base_path.exists():
            continue
        if not new_path.exists():
            out[name] = f"missing in {new_dir}"
            continue
        base = pd.read_parquet(base_path)
        new = pd.read_parquet(new_path)
        if "run" in new.columns and "run" not in base.columns:
            new = new[new["run"] == run].drop(columns="run")
        try:
            pd.testing.assert_frame_equal(base.reset_index(drop=True), new.reset_index(drop=True), check_exact=True)
            out[name] = f"identical ({len(base)} rows)"
        except AssertionError as err:
            out[name] = "DIFFERS: " + " ".join(str(err).split())[:500]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", type=Path, help="tables directory of the reference run (results/<exp>/tables)")
    ap.add_argument("new", type=Path, help="tables directory to check")
    ap.add_argument("--run", default="main", help="the run of NEW's tables to compare (default main)")
    args = ap.parse_args(argv)
    result = compare(args.base, args.new, args.run)
    for name, what in result.items():
        print(f"{name:24s} {what}")
    bad = [n for n, w in result.items() if not w.startswith("identical")]
    print(f"{len(result) - len(bad)} of {len(result)} tables identical" + (f"; differ: {', '.join(bad)}" if bad else ""))
    return 1 if bad or not result else 0


if __name__ == "__main__":
    raise SystemExit(main())
