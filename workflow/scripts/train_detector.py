import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import detectors, perturbations
from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.tables import write_table
from advtrace.training import load_model

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
attack, epoch = snakemake.wildcards.attack, int(snakemake.wildcards.epoch)
data = load_dataset(snakemake.input.dataset)
train_pert = perturbations.load(snakemake.params.files["train"])
val_pert = perturbations.load(snakemake.params.files["val"])
classifier = None
if "checkpoint" in snakemake.input.keys():
    classifier = load_model(snakemake.input.checkpoint, data, cfg["model"], device)
detector, arch, result = detectors.fit(
    data, train_pert, val_pert, cfg["detector"], cfg["training"], cfg["seed"], attack, epoch, device,
    classifier=classifier, eval_batch_size=cfg["batch_size"],
)
detectors.save_detector(snakemake.output.detector, detector, arch, attack, epoch, result, train_pert, val_pert)
write_table(detectors.training_rows(result, attack, epoch), snakemake.output.history, "detector_training")
