import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import save_torch, setup_job
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint
from advtrace.universal import generate_for_epoch, image_rows

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
epoch = int(snakemake.wildcards.epoch)
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
model = load_checkpoint(snakemake.params.checkpoint, device)
for source, set_name in cfg["sets"].items():  # train- and test-generated (App. D and E)
    pool = sample_set(data, samples, set_name)
    result = generate_for_epoch(model, pool.x, pool.y, cfg["generation"], cfg["seed"], source, epoch, device)
    result["set"] = pool.name
    save_torch(result, snakemake.output[source])
    write_table(image_rows(result["xi"], epoch, source, cfg["generation"]["eps"] / 255.0),
                snakemake.output[f"{source}_images"], "universal_images")
