import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.stability import sharedness
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

fig = sharedness(
    read_table(snakemake.input.table, "sharedness", run=run),
    read_table(snakemake.input.summary, "sharedness_summary", run=run),
    f"Fig. 11 — sharedness of adversarial perturbations on test data ({label})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
