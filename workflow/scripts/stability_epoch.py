import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import stability
from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.tables import read_table, write_table
from advtrace.training import load_model

device = setup_job(snakemake.threads)
epoch = int(snakemake.wildcards.epoch)
plan = snakemake.params.plan
files = {(set_name, int(t)): path for set_name, t, path in snakemake.params.files}
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
model = load_model(snakemake.input.checkpoint, data, snakemake.params.model, device)
transfer, pairwise = stability.run_epoch(
    model, data, samples, plan, epoch, files, snakemake.params.batch_size, device
)
write_table(transfer, snakemake.output.transfer, "transfer")
write_table(pairwise, snakemake.output.pairwise, "pairwise_transfer")
