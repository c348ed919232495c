import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import load_dataset, sample_set
from advtrace.runtime import setup_job
from advtrace.studies.p002.evaluate import capacity_table, evaluate_models, transfer_table
from advtrace.tables import read_table, write_table

device = setup_job(snakemake.threads)
study = snakemake.params.study
sec = study["section"]
data = load_dataset(snakemake.input.dataset)
test = sample_set(data, read_table(snakemake.input.samples, "samples"), sec["test_set"])
# uint8 on the CPU: the study moves blocks of inputs to the device as floats (50,000 ImageNet
# images would fill 54 GB as floats)
x, y = test.x, test.y.to(device)
accuracy, leaking, correct = evaluate_models(study["models"], sec, x, y, device, study["seed"])
write_table(accuracy, snakemake.output.accuracy, "p002_accuracy")
write_table(leaking, snakemake.output.leaking, "p002_label_leaking")
write_table(capacity_table(study["models"], sec, correct), snakemake.output.capacity, "p002_capacity")
write_table(transfer_table(study["models"], study["transfer"], sec, x, y, device), snakemake.output.transfer,
            "p002_transfer")
