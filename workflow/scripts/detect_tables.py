import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.tables import concat_tables, write_table

for name in ("detectability", "detector_max", "detector_max_summary"):
    write_table(concat_tables(list(snakemake.input[name]), name), snakemake.output[name], name)
# the training histories lie in the per-epoch detector directories (inputs), one file per attack
write_table(concat_tables(list(snakemake.params.histories), "detector_training"), snakemake.output.detector_training,
            "detector_training")
