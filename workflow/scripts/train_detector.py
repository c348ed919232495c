import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from pathlib import Path

from advtrace import detectors, perturbations
from advtrace.checkpoints import load_checkpoint
from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.tables import write_table

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
epoch = int(snakemake.wildcards.epoch)
data = load_dataset(snakemake.input.dataset)
files = snakemake.params.files
# a detector attached to the classifier's feature maps reads that epoch's classifier
classifier = load_checkpoint(files["checkpoint"], device) if files["checkpoint"] else None
# one detector per attack, each its own file in the job's directory output (Snakemake removes the
# directory of a failed job and reruns a job it recorded as incomplete)
out = Path(snakemake.output.detectors)
for attack, sets in files["detectors"].items():
    train_pert = perturbations.load(sets["train"])
    val_pert = perturbations.load(sets["val"])
    detector, arch, result = detectors.fit(
        data, train_pert, val_pert, cfg["detector"], cfg["training"], cfg["seed"], attack, epoch, device,
        classifier=classifier, eval_chunk_size=cfg["chunk_size"],
    )
    detectors.save_detector(out / f"{attack}.pt", detector, arch, attack, epoch, result, train_pert, val_pert)
    write_table(detectors.training_rows(result, attack, epoch), out / f"{attack}_training.parquet", "detector_training")
