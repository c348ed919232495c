import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from pathlib import Path

from advtrace import perturbations
from advtrace.checkpoints import load_checkpoint
from advtrace.data import load_dataset, sample_set
from advtrace.runtime import setup_job
from advtrace.tables import read_table

device = setup_job(snakemake.threads)
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
sets = {}
out = Path(snakemake.output.perturbations)
for epoch, checkpoint, tasks in snakemake.params.epochs:  # the chunk's epochs, each model loaded once
    epoch = int(epoch)
    model = load_checkpoint(checkpoint, device)
    for attack, attack_cfg, set_name in tasks:
        s = sets.setdefault(set_name, sample_set(data, samples, set_name))
        # a fresh generator per (set, epoch) (seed + epoch), so a set's perturbations depend neither on the
        # other sets nor on which epochs share the job
        result = perturbations.generate(model, s, attack_cfg, snakemake.params.chunk_size, device,
                                        seed=snakemake.params.seed + epoch)
        perturbations.save(out / f"epoch_{epoch:03d}" / attack / f"{set_name}.pt", result, s, attack, attack_cfg,
                           epoch)
    del model
