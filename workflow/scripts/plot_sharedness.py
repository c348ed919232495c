import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.stability import sharedness
from advtrace.tables import read_table

fig = sharedness(
    read_table(snakemake.input.table, "sharedness"),
    read_table(snakemake.input.summary, "sharedness_summary"),
    f"Fig. 11 — sharedness of adversarial perturbations on test data ({snakemake.wildcards.exp})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
