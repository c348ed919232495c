import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.tables import concat_runs, write_table

# each table from its per-run parts ({run: [files]}), one block of rows per run with a run column; the
# training histories lie in the per-epoch detector directories (inputs), one file per attack
for name, parts in snakemake.params.parts.items():
    write_table(concat_runs(dict(parts), name), snakemake.output[name], name)
