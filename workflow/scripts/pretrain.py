import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.data import load_dataset
from advtrace.runtime import setup_job
from advtrace.training import pretrain

device = setup_job(snakemake.threads)
out = Path(snakemake.output.checkpoint)
pretrain(
    load_dataset(snakemake.input.dataset),
    snakemake.params.cfg,
    device,
    out,
    resume_path=out.with_name("pretrain_resume.pt"),
)
