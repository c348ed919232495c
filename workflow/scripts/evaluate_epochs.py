import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import pandas as pd

from advtrace.data import load_dataset, sample_set
from advtrace.evaluation import learning_curve_rows
from advtrace.runtime import setup_job
from advtrace.tables import read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
ev = snakemake.params.evaluation
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
sets = {
    "train": sample_set(data, samples, ev["train_set"]),
    "test": sample_set(data, samples, ev["test_set"]),
}
phase = snakemake.params.phase
if phase == "pretrain":  # rule evaluate_pretrain_epochs: kept vanilla epochs, in the pretrain job's directory
    chunk = snakemake.params.chunk
    epochs, paper_epochs, checkpoints = chunk["epochs"], chunk["paper_epochs"], chunk["checkpoints"]
else:  # rule evaluate_epochs: adversarial epochs t (0 = the pretrained model)
    epochs, checkpoints = snakemake.params.epochs, snakemake.params.checkpoints
    paper_epochs = [int(t) + snakemake.params.offset for t in epochs]
frames = []
for epoch, paper_epoch, checkpoint in zip(epochs, paper_epochs, checkpoints):  # the chunk's epochs, in order
    model = load_checkpoint(checkpoint, device)
    frames.append(learning_curve_rows(model, int(epoch), sets, ev, device, phase=phase, paper_epoch=int(paper_epoch)))
write_table(pd.concat(frames, ignore_index=True), snakemake.output.table, "learning_curve")
