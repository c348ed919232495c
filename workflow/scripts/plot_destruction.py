import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.destruction import destruction_rates
from advtrace.tables import read_table

df = read_table(snakemake.input.table, "destruction")
exp = snakemake.wildcards.exp
for attack, number in snakemake.params.figures.items():
    fig = destruction_rates(
        df, attack, f"Fig. {number} — destruction rate of {attack} perturbations under image transformations ({exp})"
    )
    save_figure(fig, getattr(snakemake.output, f"{attack}_pdf"), getattr(snakemake.output, f"{attack}_png"))
