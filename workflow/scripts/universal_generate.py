import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import save_torch, setup_job
from advtrace.tables import read_table, write_table
from advtrace.training import load_model
from advtrace.universal import generate_for_epoch, image_rows

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
source = snakemake.wildcards.source
epoch = int(snakemake.wildcards.epoch)
data = load_dataset(snakemake.input.dataset)
pool = sample_set(data, read_table(snakemake.input.samples, "samples"), cfg["set"])
model = load_model(snakemake.input.checkpoint, data, cfg["model"], device)
result = generate_for_epoch(model, pool.x, pool.y, cfg["generation"], cfg["seed"], source, epoch, device)
result["set"] = pool.name
save_torch(result, snakemake.output.perturbation)
write_table(image_rows(result["xi"], epoch, source, cfg["generation"]["eps"] / 255.0), snakemake.output.images,
            "universal_images")
