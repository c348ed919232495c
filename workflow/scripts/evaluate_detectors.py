import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace import detectors, perturbations
from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.tables import write_table
from advtrace.training import model_from_data

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
data = load_dataset(snakemake.input.dataset)
test_perts = {}
for path in snakemake.params.files["test"]:
    pert = perturbations.load(path)
    test_perts[int(pert["epoch"])] = pert
df = detectors.evaluate_detectors(
    list(snakemake.params.files["detectors"]), test_perts, data, snakemake.wildcards.attack, cfg["mode"], cfg["chunk_size"],
    device, classifier_factory=lambda: model_from_data(cfg["model"], data, device),
)
write_table(df, snakemake.output.table, "detectability")
