import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.universal import universal_accuracy, universal_train_vs_test
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

df = read_table(snakemake.input.table, "universal_accuracy", run=run)
fig = universal_accuracy(df, snakemake.params.plot["source_epochs"], split="train")
fig.axes[0].set_title(f"Fig. 3 — {label}: " + fig.axes[0].get_title())
save_figure(fig, snakemake.output.fig03_pdf, snakemake.output.fig03_png)
fig = universal_train_vs_test(df)
fig.axes[0].set_title(f"Fig. 12 — {label}: " + fig.axes[0].get_title())
save_figure(fig, snakemake.output.fig12_pdf, snakemake.output.fig12_png)
