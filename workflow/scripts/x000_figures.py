import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.studies.x000.plots import methods_final, methods_training
from advtrace.tables import read_table

exp = snakemake.wildcards.exp
m = read_table(snakemake.input.metrics, "x000_metrics")
fig = methods_final(m, f"Beyond the papers — paper 000's analyses of three training methods ({exp}): each run at the "
                       "end of its training (epoch T), 95 % intervals", snakemake.params.min_epochs)
save_figure(fig, snakemake.output.x000_methods_final_pdf, snakemake.output.x000_methods_final_png)
fig = methods_training(m, f"Beyond the papers — paper 000's analyses over training, per method ({exp}), 95 % bands")
save_figure(fig, snakemake.output.x000_methods_training_pdf, snakemake.output.x000_methods_training_png)
