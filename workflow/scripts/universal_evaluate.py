import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import load_torch, setup_job
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint
from advtrace.universal import accuracy_rows

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
epoch = int(snakemake.wildcards.epoch)
data = load_dataset(snakemake.input.dataset)
s = sample_set(data, read_table(snakemake.input.samples, "samples"), cfg["eval_set"])
model = load_checkpoint(snakemake.params.checkpoint, device)
universal = {}
for path in snakemake.input.perturbations:
    rec = load_torch(path)
    universal[(rec["source_split"], int(rec["epoch"]))] = rec["xi"]
df = accuracy_rows(model, epoch, s.x, s.y, universal, cfg["eps"] / 255.0, cfg["seed"], cfg["chunk_size"], device,
                   random_draws=cfg["random_draws"])
write_table(df, snakemake.output.table, "universal_accuracy")
