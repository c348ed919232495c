import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.learning import learning_curves
from advtrace.tables import read_table

df = read_table(snakemake.input.table, "learning_curve")
what = ("learning curve: vanilla, then adversarial training" if (df["phase"] == "pretrain").any()
        else "learning curve during adversarial training")
fig = learning_curves(df, f"Fig. 8 — {what} ({snakemake.wildcards.exp})", attacks=snakemake.params.attacks)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
