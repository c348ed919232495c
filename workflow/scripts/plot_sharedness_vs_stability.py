import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.stability import sharedness_vs_stability
from advtrace.tables import read_table

fig = sharedness_vs_stability(
    read_table(snakemake.input.table, "sharedness_vs_stability"),
    read_table(snakemake.input.correlation, "stability_correlation"),
    f"Fig. 2 — sharedness vs. stability of epoch-0 perturbations ({snakemake.wildcards.exp})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
