import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.tables import concat_tables, write_table

name = snakemake.params.name
write_table(concat_tables(list(snakemake.input.parts), name), snakemake.output.table, name)
