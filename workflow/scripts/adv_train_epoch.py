import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.training import adv_train_epoch

device = setup_job(snakemake.threads)
adv_train_epoch(
    snakemake.input.previous,
    load_dataset(snakemake.input.dataset),
    snakemake.params.cfg,
    int(snakemake.wildcards.epoch),
    device,
    snakemake.output.checkpoint,
)
