"""Clean accuracy of one checkpoint of a run on a whole split (default: every test image), with its 95 %
Wilson interval, as one JSON line with commit, host, date and the checkpoint's path.

The workflow's headline rates use fixed sample sets (``samples:``); this measures a model on its whole
split, e.g. fashion's pretrained model on all 10,000 official test images, the check behind
``config/experiments/fashion.yaml``'s ``dataset.splits.train`` choice (docs/fashion.md, relaxation 3):

    .venv/bin/python bench/clean_accuracy.py results/fashion                 # main's epoch 0, test split
    .venv/bin/python bench/clean_accuracy.py results/fashion --run main --epoch 8 --split val
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
from pathlib import Path

import torch

from advtrace import attacks
from advtrace.checkpoints import load_checkpoint
from advtrace.data import load_dataset, to_float
from advtrace.publish import cpu_facts, git
from advtrace.stats import proportion


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> tuple[int, int]:
    """(correct, n) of the model's top-1 predictions (advtrace.attacks.predict) on uint8 images `x` with labels `y`."""
    with torch.inference_mode():
        pred = attacks.predict(model, to_float(x), chunk_size)
    return int((pred == y).sum()), len(y)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="an experiment's results directory, e.g. results/fashion")
    p.add_argument("--run", default="main")
    p.add_argument("--epoch", type=int, default=0, help="0 = the pretrained model")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    args = p.parse_args(argv)
    checkpoint = args.results / "runs" / args.run / "checkpoints" / f"epoch_{args.epoch:03d}.pt"
    dataset = args.results / "data" / "dataset.pt"
    for path in (checkpoint, dataset):
        if not path.is_file():
            p.error(f"{path} does not exist: run the experiment first (snakemake --cores all --config "
                    f"experiments='[{args.results.name}]')")
    torch.set_num_threads(1)
    data = load_dataset(str(dataset))
    model = load_checkpoint(str(checkpoint), torch.device("cpu"))
    k, n = accuracy(model, data[f"{args.split}_x"], data[f"{args.split}_y"])
    est = proportion(k, n)
    print(json.dumps({"checkpoint": str(checkpoint), "split": args.split, "correct": k, "n": n,
                      "accuracy": round(k / n, 4), "ci_low": round(est.low, 4), "ci_high": round(est.high, 4),
                      "commit": git("rev-parse", "--short=12", "HEAD") or None, "host": socket.gethostname(),
                      **cpu_facts(), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
