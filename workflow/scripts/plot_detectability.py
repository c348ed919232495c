import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.detect import detectability_figure
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

cfg = snakemake.params.cfg
df = read_table(snakemake.input.table, "detectability", run=run)
for key, pdf, png, title in (
    ("fig06_attacks", snakemake.output.fig06_pdf, snakemake.output.fig06_png, "Fig. 6 — detectability of adversarial perturbations"),
    ("fig16_attacks", snakemake.output.fig16_pdf, snakemake.output.fig16_png, "Fig. 16 — detectability of other adversaries"),
):
    fig = detectability_figure(df, cfg[key], cfg["fixed_epochs"], title=f"{title} on test data ({label})")
    save_figure(fig, pdf, png)
