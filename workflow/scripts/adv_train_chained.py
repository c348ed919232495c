import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
import time

from advtrace.data import load_dataset
from advtrace.runtime import atomic_path, setup_job
from advtrace.training import adv_train_epoch

device = setup_job(snakemake.threads)
job = snakemake.params.job
data = load_dataset(snakemake.input.dataset)
previous = job["previous"]
cpu_s, wall_s = [], []  # per epoch, without the job's start-up (paper 004's cost table reads them)
for epoch, path in zip(range(job["first"], job["last"] + 1), job["checkpoints"]):
    t0, w0 = time.process_time(), time.perf_counter()
    adv_train_epoch(previous, data, snakemake.params.cfg, epoch, device, path)
    cpu_s.append(time.process_time() - t0)
    wall_s.append(time.perf_counter() - w0)
    previous = path
with atomic_path(snakemake.output.manifest) as tmp:
    tmp.write_text(json.dumps({"epochs": [job["first"], job["last"]], "checkpoints": job["checkpoints"],
                               "cpu_s": cpu_s, "wall_s": wall_s}, indent=1))
