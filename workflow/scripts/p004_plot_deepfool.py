import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.studies.p004 import plots
from advtrace.tables import read_table

c = snakemake.params.cfg
t = {name: read_table(path, name) for name, path in snakemake.input.items()}
fig = plots.deepfool_front(t['p004_robustness'], c['experiment'], c['deepfool_eps'])
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
