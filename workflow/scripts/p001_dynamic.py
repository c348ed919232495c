import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from pathlib import Path

import torch

from advtrace import detectors
from advtrace.data import load_dataset, sample_set, seed_for, to_float
from advtrace.runtime import log, setup_job
from advtrace.studies.p001 import core
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
dyn = cfg["dynamic"]
bs = cfg["chunk_size"]
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
clf = load_checkpoint(snakemake.input.checkpoint, device)
sets = {k: sample_set(data, samples, cfg["sets"][k]) for k in ("train", "val", "test")}

# the static detector: the family's detector of ε at its selected position (paper 001 Sec. 4.1.1)
static, ckpt = core.load(Path(snakemake.input.family) / f"eps_{dyn['eps']:g}.pt", clf, device)
# the dynamic detector: same network and position, trained by dynamic adversary training from the
# static detector's weights or from scratch (dynamic.training.init; the paper does not say)
torch.manual_seed(seed_for(cfg["seed"], "p001-dynamic-init"))
dynamic = detectors.build_detector(ckpt["arch"], clf).to(device)
if dyn["training"]["init"] == "static":
    core.inner(dynamic).load_state_dict(core.inner(static).state_dict())
result = core.train_dynamic(clf, dynamic, to_float(sets["train"].x), sets["train"].y, to_float(sets["val"].x),
                            sets["val"].y, dyn, dyn["training"], device, cfg["seed"], bs)
if result["best_epoch"] == 0:
    log.warning("dynamic adversary training never beat its initial weights on validation (selected epoch 0): the "
                "dynamic detector is the %s detector, and the dynamic-detector claim is not measured",
                "static" if dyn["training"]["init"] == "static" else "randomly initialised")
core.save(snakemake.output.detector, dynamic, ckpt["arch"],
          {"family": "dynamic", "attack": "bi+detector", "eps": float(dyn["eps"]), "position": ckpt["position"],
           "classifier": snakemake.input.checkpoint, "init": dyn["training"]["init"]}, result)
write_table(core.dynamic_training_rows(result, len(sets["val"].y), dyn["training"]["init"], dyn["training"]["select"]),
            snakemake.output.training, "p001_dynamic_training")

# Fig. 5: the dynamic adversary against each detector, per σ, on the test inputs
df = core.dynamic_rows(clf, {"static": static, "dynamic": dynamic}, to_float(sets["test"].x), sets["test"].y, dyn, bs,
                       device, epochs={"static": ckpt["best_epoch"], "dynamic": result["best_epoch"]})
write_table(df, snakemake.output.table, "p001_dynamic")
