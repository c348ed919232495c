import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json

from advtrace.data import load_dataset
from advtrace.runtime import atomic_path, setup_job
from advtrace.training import adv_train_epoch

device = setup_job(snakemake.threads)
job = snakemake.params.job
data = load_dataset(snakemake.input.dataset)
previous = job["previous"]
for epoch, path in zip(range(job["first"], job["last"] + 1), job["checkpoints"]):
    adv_train_epoch(previous, data, snakemake.params.cfg, epoch, device, path)
    previous = path
with atomic_path(snakemake.output.manifest) as tmp:
    tmp.write_text(json.dumps({"epochs": [job["first"], job["last"]], "checkpoints": job["checkpoints"]}, indent=1))
