import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.data import write_samples
from advtrace.runtime import setup_logging

setup_logging()
write_samples(snakemake.params.samples, snakemake.input.dataset, snakemake.params.seed, snakemake.output.samples)
