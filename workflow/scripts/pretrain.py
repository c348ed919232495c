import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.training import pretrain

device = setup_job(snakemake.threads)
out = Path(snakemake.output.checkpoint)
keep_dir = snakemake.output.get("pretrain_epochs")  # rule pretrain: the vanilla epochs the learning curve evaluates
if keep_dir is not None:
    Path(keep_dir).mkdir(parents=True, exist_ok=True)  # empty unless evaluation.pretrain_epochs asks for some
pretrain(
    load_dataset(snakemake.input.dataset),
    snakemake.params.cfg,
    device,
    out,
    resume_path=out.with_name("pretrain_resume.pt"),
    keep_epochs=snakemake.params.get("keep_epochs", []),
    keep_dir=keep_dir,
)
