import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.detect import detector_max_figure
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

image = read_table(snakemake.input.image, "detector_max", run=run)
summary = read_table(snakemake.input.summary, "detector_max_summary", run=run)
fig = detector_max_figure(image, summary, title=f"Fig. 7 — perturbations maximising the detector ({label})")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
