import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.stability import transfer_error
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

fig = transfer_error(
    read_table(snakemake.input.table, "transfer_error", run=run),
    f"Fig. 9 — white-box and black-box error rates during adversarial training ({label})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
