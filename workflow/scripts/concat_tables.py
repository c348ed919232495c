import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.tables import concat_runs, write_table

# a per-run table: {run: [its parts, in order]} -> one block of rows per run, with a run column
name = snakemake.params.name
write_table(concat_runs(dict(snakemake.params.parts), name), snakemake.output.table, name)
