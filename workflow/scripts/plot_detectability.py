import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.detect import detectability_figure
from advtrace.tables import read_table

cfg = snakemake.params.cfg
exp = snakemake.wildcards.exp
df = read_table(snakemake.input.table, "detectability")
for key, pdf, png, title in (
    ("fig06_attacks", snakemake.output.fig06_pdf, snakemake.output.fig06_png, "Fig. 6 — detectability of adversarial perturbations"),
    ("fig16_attacks", snakemake.output.fig16_pdf, snakemake.output.fig16_png, "Fig. 16 — detectability of other adversaries"),
):
    fig = detectability_figure(df, cfg[key], cfg["fixed_epochs"], title=f"{title} on test data ({exp})")
    save_figure(fig, pdf, png)
