import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import stability
from advtrace.runtime import setup_logging
from advtrace.tables import read_table, write_table

setup_logging()
cfg = snakemake.params.cfg
tables = stability.aggregate(
    [read_table(p, "transfer") for p in snakemake.input.transfer],
    [read_table(p, "pairwise_transfer") for p in snakemake.input.pairwise],
    cfg["stability"],
    cfg["T"],
)
for name, df in tables.items():
    write_table(df, snakemake.output[name], name)
