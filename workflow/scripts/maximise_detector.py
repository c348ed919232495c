import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace import detectors
from advtrace.data import load_dataset, sample_set
from advtrace.runtime import setup_job
from advtrace.tables import read_table, write_table
from advtrace.training import model_from_data

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
train = sample_set(data, samples, cfg["train_set"])
test = sample_set(data, samples, cfg["test_set"])
detector, ckpt = detectors.load_detector(
    snakemake.params.detector, device, classifier_factory=lambda: model_from_data(cfg["model"], data, device)
)
# Fig. 7: the detector-maximising perturbation, its mean p_adv on the test inputs, and the clean and
# random ±ε sign baselines (summary columns mean_p_adv_clean, mean_p_adv_random)
image, summary = detectors.maximise_rows(
    detector, train.x, test.x, ckpt["attack"], int(snakemake.wildcards.epoch), cfg["maximise"], cfg["seed"], device,
    cfg["chunk_size"],
)
write_table(image, snakemake.output.image, "detector_max")
write_table(summary, snakemake.output.summary, "detector_max_summary")
