import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from pathlib import Path

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import save_torch, setup_job
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint
from advtrace.universal import generate_for_epoch, image_rows

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
out = Path(snakemake.output.universal)
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
pools = {source: sample_set(data, samples, set_name) for source, set_name in cfg["sets"].items()}
for epoch, checkpoint in snakemake.params.epochs:  # the chunk's epochs, each model loaded once
    epoch = int(epoch)
    model = load_checkpoint(checkpoint, device)
    for source, pool in pools.items():  # train- and test-generated (App. D and E)
        # seeded per (seed, source) as before chunking: the same perturbation whichever epochs share the job
        result = generate_for_epoch(model, pool.x, pool.y, cfg["generation"], cfg["seed"], source, epoch, device)
        result["set"] = pool.name
        save_torch(result, out / source / f"epoch_{epoch:03d}.pt")
        write_table(image_rows(result["xi"], epoch, source, cfg["generation"]["eps"] / 255.0),
                    out / "images" / source / f"epoch_{epoch:03d}.parquet", "universal_images")
    del model
