import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.studies.x000.analysis import comparisons_table, metrics_table
from advtrace.tables import read_table, write_table

cfg = snakemake.params.cfg
tables = {name: read_table(path, name) for name, path in snakemake.input.items()}
roles, T = dict(cfg["methods"]), {run: int(t) for run, t in cfg["T"].items()}
metrics = metrics_table(tables, roles, T, cfg["attack"])
n_classes = max(2, int(tables["sharedness"]["label"].nunique()))  # the classes of the sharedness inputs (chance)
comparisons = comparisons_table(tables, metrics, roles, T, cfg, n_classes)
write_table(metrics, snakemake.output.x000_metrics, "x000_metrics")
write_table(comparisons, snakemake.output.x000_comparisons, "x000_comparisons")
