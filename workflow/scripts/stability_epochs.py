import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import pandas as pd

from advtrace import stability
from advtrace.checkpoints import load_checkpoint
from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.tables import coerce, read_table, write_table

device = setup_job(snakemake.threads)
files = {(set_name, int(t)): path for set_name, t, path in snakemake.params.files}
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
transfers, pairwises = [], []
# the chunk's checkpoints in order: each θ_t is loaded once and evaluated on what its plan lists
for (epoch, plan), checkpoint in zip(snakemake.params.plans, snakemake.params.checkpoints):
    model = load_checkpoint(checkpoint, device)
    transfer, pairwise = stability.run_epoch(model, data, samples, plan, int(epoch), files,
                                             snakemake.params.chunk_size, device)
    transfers.append(transfer)
    pairwises.append(pairwise)
write_table(coerce(pd.concat(transfers, ignore_index=True), "transfer"), snakemake.output.transfer, "transfer")
write_table(coerce(pd.concat(pairwises, ignore_index=True), "pairwise_transfer"), snakemake.output.pairwise,
            "pairwise_transfer")
