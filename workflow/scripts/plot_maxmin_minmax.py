import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.stability import maxmin_minmax
from advtrace.tables import read_table

fig = maxmin_minmax(
    read_table(snakemake.input.summary, "stability_summary"),
    f"Fig. 10 — MaxMin vs. MinMax of temporal stability profiles ({snakemake.wildcards.exp})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
