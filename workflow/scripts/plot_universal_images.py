import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.universal import universal_images
from advtrace.tables import read_table

plot = snakemake.params.plot
df = read_table(snakemake.input.table, "universal_images")
fig = universal_images(df, "train", plot["image_epochs"], plot["amplify"], title_prefix="Fig. 4 — ")
save_figure(fig, snakemake.output.fig04_pdf, snakemake.output.fig04_png)
fig = universal_images(df, "test", plot["image_epochs"], plot["amplify"], title_prefix="Fig. 13 — ")
save_figure(fig, snakemake.output.fig13_pdf, snakemake.output.fig13_png)
