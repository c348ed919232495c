import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import pandas as pd

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import setup_job
from advtrace.studies.p004.robustness import evaluate_model, image_rows, risk_rows
from advtrace.tables import coerce, empty_table, read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
ev = cfg["evaluation"]
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
gen = sample_set(data, samples, ev["generation_set"])
test = sample_set(data, samples, ev["eval_set"])
rob, search, risk, images = [], [], [], []
for item in cfg["epochs"]:
    epoch, info = item["epoch"], item["info"]
    model = load_checkpoint(item["checkpoint"], device)
    r, s, xi = evaluate_model(model, gen.x, gen.y, test.x, test.y, ev, cfg["seed"], device, info, epoch,
                              deepfool=item["deepfool"])
    rob.append(r)
    search.append(s)
    if epoch in cfg["image_epochs"] and xi is not None:
        images.append(image_rows(info["run"], epoch, "perturbation", float(r["eps_uni"].iloc[0]), xi))
    if cfg["risk"] is not None and epoch == cfg["risk"]["epoch"]:
        risk.append(risk_rows(model, gen.x, gen.y, test.x, test.y, cfg["risk"], ev, cfg["seed"], device,
                              info["run"], epoch))
if cfg["input_rank"] is not None:
    x = test.x[cfg["input_rank"]].float() / 255.0
    images.append(image_rows(snakemake.wildcards.run, -1, "input", 0.0, x))


def cat(parts, name):
    return coerce(pd.concat(parts, ignore_index=True), name) if parts else empty_table(name)


write_table(cat(rob, "p004_robustness"), snakemake.output.robustness, "p004_robustness")
write_table(cat(search, "p004_search"), snakemake.output.search, "p004_search")
write_table(cat(risk, "p004_risk"), snakemake.output.risk, "p004_risk")
write_table(cat(images, "p004_images"), snakemake.output.images, "p004_images")
