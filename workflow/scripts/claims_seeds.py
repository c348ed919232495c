import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.claims import across_seeds, seeds_markdown
from advtrace.runtime import atomic_path
from advtrace.tables import read_table, write_table

by_seed = {int(k): read_table(path, "claims") for k, path in snakemake.input.items()}
df = across_seeds(by_seed, snakemake.wildcards.exp)
write_table(df, snakemake.output.table, "claims_seeds")
with atomic_path(snakemake.output.markdown) as tmp:
    tmp.write_text(seeds_markdown(df, by_seed))
