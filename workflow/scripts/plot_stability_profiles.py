import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.plotting import save_figure
from advtrace.plotting.stability import stability_profiles
from advtrace.tables import read_table

fig = stability_profiles(
    read_table(snakemake.input.profile, "stability_profile"),
    read_table(snakemake.input.summary, "stability_summary"),
    f"Fig. 1 — temporal stability profiles ({snakemake.wildcards.exp})",
)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
