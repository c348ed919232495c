import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace import perturbations
from advtrace.data import load_dataset, sample_set
from advtrace.destruction import epoch_rows
from advtrace.runtime import setup_job
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
data = load_dataset(snakemake.input.dataset)
s = sample_set(data, read_table(snakemake.input.samples, "samples"), snakemake.params.sample_set)
stored = {attack: perturbations.load(path) for attack, path in snakemake.params.perturbations.items()}
model = load_checkpoint(snakemake.params.checkpoint, device)
df = epoch_rows(model, s, stored, int(snakemake.wildcards.epoch), snakemake.params.destruction, device)
write_table(df, snakemake.output.table, "destruction")
