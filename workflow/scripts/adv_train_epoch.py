import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.training import adv_train_epochs, training_key

device = setup_job(snakemake.threads)
# keep=True: a hard link under .kept/ survives Snakemake deleting this job's output when the job
# group it ran in fails later (a cancelled SLURM group job); the retry restores the epoch from it
adv_train_epochs(
    snakemake.input.previous,
    load_dataset(snakemake.input.dataset),
    snakemake.params.cfg,
    [(int(snakemake.wildcards.epoch), snakemake.output.checkpoint)],
    device,
    key=training_key(snakemake.params.cfg, snakemake.params.get("code", ""), device),
    keep=True,
)
