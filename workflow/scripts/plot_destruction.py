import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import run_label, save_figure
from advtrace.plotting.destruction import destruction_rates
from advtrace.tables import read_table

run = snakemake.params.run  # the run the figure draws (the first of its section's runs)
label = run_label(snakemake.wildcards.exp, run)

df = read_table(snakemake.input.table, "destruction", run=run)
for attack, number in snakemake.params.figures.items():
    fig = destruction_rates(
        df, attack, f"Fig. {number} — destruction rate of {attack} perturbations under image transformations ({label})"
    )
    save_figure(fig, getattr(snakemake.output, f"{attack}_pdf"), getattr(snakemake.output, f"{attack}_png"))
