import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import prepare_dataset
from advtrace.runtime import setup_logging

setup_logging()
prepare_dataset(snakemake.params.dataset, snakemake.params.seed, snakemake.output.dataset)
