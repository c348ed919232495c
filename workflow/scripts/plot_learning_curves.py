import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.learning import learning_curves
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

df = read_table(snakemake.input.table, "learning_curve", run=run)
what = ("learning curve: vanilla, then adversarial training" if (df["phase"] == "pretrain").any()
        else "learning curve during adversarial training")
fig = learning_curves(df, f"Fig. 8 — {what} ({label})", attacks=snakemake.params.attacks)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
