import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import json

from advtrace.data import load_dataset
from advtrace.runtime import atomic_path, load_torch, setup_job
from advtrace.training import adv_train_epochs, training_key

device = setup_job(snakemake.threads)
job = snakemake.params.job
# the epochs' checkpoints are not outputs of this job: a killed attempt leaves its finished epochs
# in place and the retry resumes after the last of them (advtrace.training.adv_train_epochs)
adv_train_epochs(
    job["previous"],
    load_dataset(snakemake.input.dataset),
    snakemake.params.cfg,
    list(zip(range(job["first"], job["last"] + 1), job["checkpoints"])),
    device,
    key=training_key(snakemake.params.cfg, snakemake.params.get("code", ""), device),
)
# per epoch, without the job's start-up (paper 004's cost table reads them): recorded in each checkpoint's
# meta when the epoch was trained, so an epoch kept from an earlier attempt keeps its own timing
metas = [load_torch(path).get("meta") or {} for path in job["checkpoints"]]
cpu_s, wall_s = [m.get("cpu_s") for m in metas], [m.get("wall_s") for m in metas]
with atomic_path(snakemake.output.manifest) as tmp:
    tmp.write_text(json.dumps({"epochs": [job["first"], job["last"]], "checkpoints": job["checkpoints"],
                               "cpu_s": cpu_s, "wall_s": wall_s}, indent=1))
