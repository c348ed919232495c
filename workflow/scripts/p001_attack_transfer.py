import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import json
from pathlib import Path

import pandas as pd
import torch

from advtrace import detectors
from advtrace.data import load_dataset, sample_set, to_float
from advtrace.runtime import load_torch, setup_job
from advtrace.studies.p001 import core
from advtrace.tables import coerce, read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
bs = cfg["chunk_size"]
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
clf = load_checkpoint(snakemake.input.checkpoint, device)
test = sample_set(data, samples, cfg["sets"]["test"])
x = to_float(test.x)

# each family's detector and test examples at its ε* (or at paper001.transfer_eps, paper 001 Fig. 8)
fams = {}
for d in map(Path, snakemake.input.families):
    sel = json.loads((d / "selected.json").read_text())
    stored = load_torch(d / "test_adv.pt")
    if not torch.equal(stored["index"], test.index):
        raise ValueError(f"{d}: test examples of another sample set than {cfg['sets']['test']!r}; rerun its family job")
    eps = float(cfg["transfer_eps"].get(sel["family"], sel["eps_star"]))
    delta = stored["delta"][[float(e) for e in stored["eps"]].index(eps)]
    det, _ = core.load(d / f"eps_{eps:g}.pt", clf, device)
    fams[sel["family"]] = {"eps": eps, "det": det, "adv": (x + delta).clamp_(0.0, 1.0)}

# Fig. 4: every detector on every family's examples (the clean half is classified once per detector)
rows = []
for fit, f in fams.items():
    clean = core.flags(f["det"], x, bs, device)
    for tst, t in fams.items():
        res = detectors.detectability_from_predictions(clean, core.flags(f["det"], t["adv"], bs, device))
        rows.append({"fit_family": fit, "fit_eps": f["eps"], "test_family": tst, "test_eps": t["eps"], **core.detect_cols(res)})
write_table(coerce(pd.DataFrame(rows), "p001_attack_transfer"), snakemake.output.table, "p001_attack_transfer")
