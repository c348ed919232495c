import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.stability import transfer_error
from advtrace.tables import read_table

fig = transfer_error(
    read_table(snakemake.input.table, "transfer_error"),
    f"Fig. 9 — white-box and black-box error rates during adversarial training ({snakemake.wildcards.exp})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
