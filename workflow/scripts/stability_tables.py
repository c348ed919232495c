import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import pandas as pd

from advtrace import stability
from advtrace.runtime import setup_logging
from advtrace.tables import coerce, read_table, with_run, write_table

setup_logging()
# each analysed run's tables from its own parts, epochs and T, then one table per name with a run column
per_run = {}
for run, cfg in snakemake.params.runs.items():
    tables = stability.aggregate(
        [read_table(p, "transfer") for p in cfg["transfer"]],
        [read_table(p, "pairwise_transfer") for p in cfg["pairwise"]],
        cfg["stability"],
        cfg["T"],
    )
    per_run[run] = {name: with_run(df, name, run) for name, df in tables.items()}
for name in [k for k in snakemake.output.keys() if k != "benchmark"]:
    df = pd.concat([tables[name] for tables in per_run.values()], ignore_index=True)
    write_table(coerce(df, name), snakemake.output[name], name)
