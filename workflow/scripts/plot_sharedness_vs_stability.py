import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.stability import sharedness_vs_stability
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

fig = sharedness_vs_stability(
    read_table(snakemake.input.table, "sharedness_vs_stability", run=run),
    read_table(snakemake.input.correlation, "stability_correlation", run=run),
    f"Fig. 2 — sharedness vs. stability of epoch-0 perturbations ({label})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
