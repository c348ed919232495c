import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.universal import universal_images
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

plot = snakemake.params.plot
df = read_table(snakemake.input.table, "universal_images", run=run)
fig = universal_images(df, "train", plot["image_epochs"], plot["amplify"], title_prefix=f"Fig. 4 — {label}: ")
save_figure(fig, snakemake.output.fig04_pdf, snakemake.output.fig04_png)
fig = universal_images(df, "test", plot["image_epochs"], plot["amplify"], title_prefix=f"Fig. 13 — {label}: ")
save_figure(fig, snakemake.output.fig13_pdf, snakemake.output.fig13_png)
