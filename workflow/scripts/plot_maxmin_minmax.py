import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.stability import maxmin_minmax
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

fig = maxmin_minmax(
    read_table(snakemake.input.summary, "stability_summary", run=run),
    f"Fig. 10 — MaxMin vs. MinMax of temporal stability profiles ({label})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
