import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.claims import claims_html, claims_markdown, evaluate_claims
from advtrace.runtime import atomic_path
from advtrace.tables import read_table, write_table

tables = {name: read_table(path, name) for name, path in snakemake.input.items()}
df = evaluate_claims(tables, snakemake.wildcards.exp, stage_tables=list(tables))  # inputs: the active stages' tables
write_table(df, snakemake.output.table, "claims")
with atomic_path(snakemake.output.markdown) as tmp:
    tmp.write_text(claims_markdown(df))
with atomic_path(snakemake.output.html) as tmp:
    tmp.write_text(claims_html(df))
