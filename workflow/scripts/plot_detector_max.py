import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.detect import detector_max_figure
from advtrace.tables import read_table

image = read_table(snakemake.input.image, "detector_max")
summary = read_table(snakemake.input.summary, "detector_max_summary")
fig = detector_max_figure(image, summary, title=f"Fig. 7 — perturbations maximising the detector ({snakemake.wildcards.exp})")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
