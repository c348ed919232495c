import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from advtrace.mdhtml import page
from advtrace.runtime import atomic_path
from advtrace.studies.p004.cost import cost_markdown, cost_table, run_cost
from advtrace.studies.p004.front import front_table, table_a1_markdown
from advtrace.tables import concat_tables, write_table

inp, out, cfg = snakemake.input, snakemake.output, snakemake.params.cfg
tables = {name: concat_tables(list(getattr(inp, name)), f"p004_{name}")
          for name in ("robustness", "search", "risk", "images")}
for name, df in tables.items():
    write_table(df, getattr(out, name), f"p004_{name}")
front = front_table(tables["robustness"], cfg["reference_accuracy"])
write_table(front, out.front, "p004_front")
table_a1 = table_a1_markdown(front, tables["robustness"], snakemake.wildcards.exp, cfg["delta"]) + "\n"
for path, text in ((out.table_a1, table_a1), (out.table_a1_html, page(table_a1))):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
cost = cost_table([run_cost(r["info"], r["epochs"], r["benchmarks"], r["manifests"]) for r in cfg["cost_runs"].values()])
write_table(cost, out.cost, "p004_cost")
cost_md = cost_markdown(cost, snakemake.wildcards.exp) + "\n"
for path, text in ((out.cost_report, cost_md), (out.cost_html, page(cost_md))):
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
