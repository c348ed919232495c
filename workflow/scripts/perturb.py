import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import perturbations
from advtrace.data import load_dataset, sample_set
from advtrace.runtime import setup_job
from advtrace.tables import read_table
from advtrace.training import load_model

device = setup_job(snakemake.threads)
data = load_dataset(snakemake.input.dataset)
s = sample_set(data, read_table(snakemake.input.samples, "samples"), snakemake.wildcards.set)
model = load_model(snakemake.input.checkpoint, data, snakemake.params.model, device)
epoch = int(snakemake.wildcards.epoch)
result = perturbations.generate(
    model, s, snakemake.params.attack_cfg, snakemake.params.batch_size, device, seed=snakemake.params.seed + epoch
)
perturbations.save(
    snakemake.output.perturbations, result, s, snakemake.wildcards.attack, snakemake.params.attack_cfg, epoch
)
