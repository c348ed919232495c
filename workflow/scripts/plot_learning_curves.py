import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.learning import learning_curves
from advtrace.tables import read_table

df = read_table(snakemake.input.table, "learning_curve")
fig = learning_curves(df, f"Fig. 8 — learning curve during adversarial training ({snakemake.wildcards.exp})",
                      attacks=snakemake.params.attacks, epoch_offset=snakemake.params.offset)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
