import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import pandas as pd

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import load_torch, setup_job
from advtrace.tables import coerce, read_table, write_table
from advtrace.checkpoints import load_checkpoint
from advtrace.universal import accuracy_rows

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
data = load_dataset(snakemake.input.dataset)
s = sample_set(data, read_table(snakemake.input.samples, "samples"), cfg["eval_set"])
stored = {}
for path in snakemake.params.perturbations:
    rec = load_torch(path)
    stored[(rec["source_split"], int(rec["epoch"]))] = rec["xi"]
parts = []
for epoch, checkpoint in snakemake.params.checkpoints:  # each model of the chunk: its own and the fixed sources
    epoch = int(epoch)
    sources = {epoch, *cfg["source_epochs"]}
    universal = {key: xi for key, xi in stored.items() if key[1] in sources}
    model = load_checkpoint(checkpoint, device)
    parts.append(accuracy_rows(model, epoch, s.x, s.y, universal, cfg["eps"] / 255.0, cfg["seed"], cfg["chunk_size"],
                               device, random_draws=cfg["random_draws"]))
write_table(coerce(pd.concat(parts, ignore_index=True), "universal_accuracy"), snakemake.output.table,
            "universal_accuracy")
