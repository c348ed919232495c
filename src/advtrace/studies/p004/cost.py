"""Paper 004 Sec. 6.1's cost comparison of the defences: training time per epoch.

The paper reports, on CIFAR-10 (one GPU), 189 s per epoch for shared adversarial training, "the same
compute time as required by standard adversarial training", 3118 s for the defence of
Moosavi-Dezfooli et al. (2017, "DeepFool UAD") and 3840 s for Perolat et al. (2018,
"FictitiousPlay"): 16.5× and 20.3× standard adversarial training.

Here each training run's cost comes from its training jobs:

* ``job_cpu_s`` / ``job_wall_s``: the jobs' benchmark tables (advtrace.jobusage; ``cpu_time`` and ``s`` columns of
  ``results/{exp}/benchmarks/…/adv_train_*/NNN.tsv``), whole jobs including the Python and torch
  start-up (3-4 s per job on a CPU host);
* ``cpu_s_per_epoch``: the CPU seconds of the epochs themselves, timed inside the job
  (``cpu_s`` of the chained jobs' manifests ``job_NNN.json``; start-up excluded), mean over the
  run's epochs; ``cpu_s_min`` / ``cpu_s_max`` show the spread (the baselines' first epoch of a round
  also computes the universal perturbations). Runs trained one job per epoch (the main chain) have
  no manifest: their per-epoch value is the job's benchmark CPU time (start-up included,
  ``source`` says which).

``relative`` divides ``cpu_s_per_epoch`` by the mean over the standard adversarial-training runs
(shared, s = 1) of the same table, the paper's unit of comparison. CPU seconds on a shared host are
noisy (±10-25 %); the ratios are what transfers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ...tables import coerce, empty_table

# Sec. 6.1, s per epoch on CIFAR-10; shared and standard adversarial training took the same time.
PAPER_S_PER_EPOCH = {"shared": 189.0, "deepfool_uad": 3118.0, "fictitious_play": 3840.0}
LABELS = {"shared": "shared adversarial training (s > 1)", "standard": "standard adversarial training (s = 1)",
          "deepfool_uad": "DeepFool UAD (Moosavi-Dezfooli et al. 2017)",
          "fictitious_play": "FictitiousPlay (Perolat et al. 2018)", "paper000": "paper 000's chain (BI, σ = 0)"}


def read_benchmark(path: str | Path) -> tuple[float, float]:
    """(wall s, CPU s) of a job's benchmark TSV (its last row; advtrace.jobusage)."""
    df = pd.read_csv(path, sep="\t")
    if df.empty or "cpu_time" not in df:
        raise ValueError(f"{path}: not a benchmark table (no cpu_time row)")
    r = df.iloc[-1]
    return float(r["s"]), float(r["cpu_time"])


def run_cost(info: dict, epochs: int, benchmarks: list[str], manifests: list[str]) -> dict:
    """One row of ``p004_cost``: `info` (run, family, heap_size, eps_train, adv_weight), the run's
    trained epochs, its jobs' benchmark files and (chained runs) their manifests."""
    walls, cpus = zip(*(read_benchmark(p) for p in benchmarks)) if benchmarks else ((), ())
    per_epoch = [c for m in manifests for c in json.loads(Path(m).read_text()).get("cpu_s", [])]
    if per_epoch and len(per_epoch) == epochs:
        source, values = "manifest", np.asarray(per_epoch, float)
    else:  # one epoch per job: the benchmark's CPU time (start-up included)
        source, values = "benchmark", np.asarray(cpus, float) / max(1, epochs // max(1, len(cpus)))
    return {**info, "epochs": int(epochs), "jobs": len(benchmarks), "job_cpu_s": float(sum(cpus)),
            "job_wall_s": float(sum(walls)), "cpu_s_per_epoch": float(values.mean()) if len(values) else math.nan,
            "cpu_s_min": float(values.min()) if len(values) else math.nan,
            "cpu_s_max": float(values.max()) if len(values) else math.nan, "source": source}


def cost_table(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return empty_table("p004_cost")
    df = pd.DataFrame(rows)
    at = df[(df["family"] == "shared") & (df["heap_size"] == 1)]["cpu_s_per_epoch"]
    df["relative"] = df["cpu_s_per_epoch"] / (float(at.mean()) if len(at) else math.nan)
    return coerce(df, "p004_cost")


def _kind(r) -> str:
    if r.family == "shared":
        return "standard" if r.heap_size == 1 else "shared"
    return r.family


def cost_markdown(cost: pd.DataFrame, experiment: str) -> str:
    """Per defence: mean CPU s per epoch and the ratio to standard adversarial training, next to the
    paper's seconds per epoch and ratios."""
    lines = [f"# Paper 004 Sec. 6.1 — training cost per epoch ({experiment})", "",
             "CPU seconds per epoch timed inside the training jobs (start-up excluded; `source: benchmark`: the "
             "job's whole CPU time), averaged over each defence's runs and epochs; ratio to standard adversarial "
             "training (shared, s = 1). Paper: CIFAR-10, one GPU, wall seconds per epoch.", "",
             "| defence | runs | CPU s / epoch (mean) | range over runs | × standard AT | paper s / epoch | "
             "paper × standard AT |", "|---|---|---|---|---|---|---|"]
    if cost.empty:
        return "\n".join(lines + ["", "(no training runs)"])
    d = cost.assign(kind=[_kind(r) for r in cost.itertuples()])
    at = PAPER_S_PER_EPOCH["shared"]
    for kind in ("standard", "shared", "deepfool_uad", "fictitious_play", "paper000"):
        g = d[d["kind"] == kind]
        if g.empty:
            continue
        paper = {"standard": at, "shared": at}.get(kind, PAPER_S_PER_EPOCH.get(kind, math.nan))
        p_txt = "–" if math.isnan(paper) else f"{paper:.0f}"
        p_rel = "–" if math.isnan(paper) else f"{paper / at:.1f}"
        src = "" if (g["source"] == "manifest").all() else " (job CPU incl. start-up)"
        lines.append(f"| {LABELS[kind]}{src} | {len(g)} | {g['cpu_s_per_epoch'].mean():.2f} | "
                     f"{g['cpu_s_per_epoch'].min():.2f}–{g['cpu_s_per_epoch'].max():.2f} | "
                     f"{g['relative'].mean():.2f} | {p_txt} | {p_rel} |")
    lines += ["", f"Training jobs: {int(cost['jobs'].sum())}, {cost['job_cpu_s'].sum():.0f} CPU s in all "
              f"(benchmarks, start-up included)."]
    return "\n".join(lines)
