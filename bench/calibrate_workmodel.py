"""Measure the work model's per-image op costs on this machine's CPU (advtrace.workmodel).

For a range of network shapes (the pre-act ResNet-18 of the digits experiments at widths 4-32,
larger inputs, the CIFAR ResNet and ConvNet, paper 001's detector) this times, with one thread
as the workflow's jobs use and the jobs' runtime switches (tuned allocator, channels_last auto):

    F  forward in inference mode, chunks of 128 and 512 images   (analysis jobs' chunk_size)
    G  input gradient (attacks.input_grad, frozen weights), 64 and 512 images
    C  training step (forward, backward, SGD momentum step), mini-batches of 64 and 128

as CPU seconds per image (``time.process_time``: a busy shared machine inflates wall time far more
than CPU time), then fits ``t = a + b · MACs`` per op (least squares on relative error) and writes
the ``cpu`` entry of ``src/advtrace/calibration.json`` with the host, date, commit and load. G is
fitted on both batch sizes (jobs use both). The start-up term and the memory constants come from a
workflow run's benchmark tables: ``python -m advtrace.plan --calibrate results/<exp>``.

    python bench/calibrate_workmodel.py [--repeats 5] [--dry] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from advtrace import workmodel as W  # noqa: E402

SHAPES = [  # (label, model config, channels, side, classes) — classifier shapes
    ("preact18 w4 8x8", {"name": "preact_resnet18", "width": 4}, 1, 8, 10),
    ("preact18 w8 8x8", {"name": "preact_resnet18", "width": 8}, 1, 8, 10),
    ("preact18 w16 8x8", {"name": "preact_resnet18", "width": 16}, 1, 8, 10),
    ("preact18 w32 8x8", {"name": "preact_resnet18", "width": 32}, 1, 8, 10),
    ("preact18 w16 16x16", {"name": "preact_resnet18", "width": 16}, 1, 16, 10),
    ("preact18 w8 28x28", {"name": "preact_resnet18", "width": 8}, 1, 28, 10),
    ("preact18 w16 32x32x3", {"name": "preact_resnet18", "width": 16}, 3, 32, 10),
    ("resnet20 w16 32x32x3", {"name": "resnet20", "width": 16}, 3, 32, 10),
    ("convnet w16 28x28", {"name": "convnet", "width": 16}, 1, 28, 10),
]
DETECTORS = [  # (label, channels in, side, widths, pools)
    ("detector 32-64-64 8x8", 1, 8, (32, 64, 64), 2),
    ("detector 16-32-32 8x8", 1, 8, (16, 32, 32), 2),
    ("detector 32-64-64 28x28", 1, 28, (32, 64, 64), 2),
]


def _time(fn, repeats: int, images: int) -> float:
    """Median CPU seconds per image of `fn` over `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times) / images


def measure(repeats: int) -> list[dict]:
    import torch
    import torch.nn.functional as F

    from advtrace import attacks
    from advtrace.detectors import Detector
    from advtrace.models import build_model
    from advtrace.runtime import prepare_model, setup_job

    setup_job(1, device="cpu")
    rows = []

    def bench(label, net, profile, channels, side, classes):
        net = prepare_model(net, device="cpu").eval()
        g = torch.Generator().manual_seed(0)
        for op, n in (("F", 128), ("F", 512), ("G", 64), ("G", 512), ("C", 64), ("C", 128)):
            x = torch.rand(n, channels, side, side, generator=g)
            y = torch.randint(0, classes, (n,), generator=g)
            if op == "F":
                def fn():
                    with torch.inference_mode():
                        net(x)
            elif op == "G":
                def fn():
                    with attacks.eval_mode(net):
                        for p in net.parameters():
                            p.requires_grad_(False)
                        attacks.input_grad(net, x, y)
                        for p in net.parameters():
                            p.requires_grad_(True)
            else:
                opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, nesterov=True)

                def fn():
                    net.train()
                    loss = F.cross_entropy(net(x), y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    net.eval()
            reps = repeats if profile.macs * n < 5e9 else max(2, repeats // 2)
            t = _time(fn, reps, n)
            rows.append({"label": label, "profile": profile.name, "macs": profile.macs, "act": profile.act,
                         "layers": profile.layers, "op": op, "batch": n, "s_per_img": t})
            print(f"{label:28s} {op} batch {n:4d}: {t * 1e6:9.1f} µs/img CPU ({profile.macs / 1e6:.3g} MMAC)",
                  flush=True)

    for label, model_cfg, c, s, k in SHAPES:
        torch.manual_seed(0)
        net = build_model(model_cfg, k, c, s)
        bench(label, net, W._classifier(model_cfg["name"], model_cfg["width"], c, s, k), c, s, k)
    for label, c, s, widths, pools in DETECTORS:
        torch.manual_seed(0)
        net = Detector(c, widths, pools)
        bench(label, net, W.detector(c, s, widths, pools), c, s, 2)
    return rows


def features(r: dict) -> list[float]:
    """The terms of t = a + b·MACs + c·activations + e·layers/batch (advtrace.workmodel.op_seconds)."""
    return [1.0, r["macs"], r["act"], r["layers"] / r["batch"]]


def fit(rows: list[dict]) -> dict[str, list[float]]:
    """Per op, (a, b, c, e) ≥ 0 minimising Σ((a + b·M + c·A + e·L/B)/t − 1)² (relative error)."""
    import numpy as np
    from scipy.optimize import nnls

    out = {}
    for op in W.OPS:
        pts = [r for r in rows if r["op"] == op]
        A = np.array([[v / r["s_per_img"] for v in features(r)] for r in pts])
        scale = A.max(axis=0)
        scale[scale == 0] = 1.0
        coef, _ = nnls(A / scale, np.ones(len(pts)))
        out[op] = [float(v) for v in coef / scale]
    return out


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "bench"], cwd=ROOT, capture_output=True,
                               text=True).stdout
        return sha.strip() + ("+dirty" if dirty.strip() else "")
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dry", action="store_true", help="measure and print, do not write calibration.json")
    p.add_argument("--note", default="", help="free text stored with the measurement (e.g. the host load)")
    args = p.parse_args(argv)
    load0 = os.getloadavg()[0]
    rows = measure(args.repeats)
    load1 = os.getloadavg()[0]
    ops = fit(rows)
    for op, coef in ops.items():
        a, b, c, e = coef
        print(f"{op}: a = {a * 1e6:.2f} µs/img, b = {b * 1e12:.2f} ps/MAC, c = {c * 1e9:.2f} ns/activation, "
              f"e = {e * 1e6:.1f} µs/layer/batch")
        for r in (r for r in rows if r["op"] == op):
            pred = sum(k * v for k, v in zip(coef, features(r)))
            print(f"    {r['label']:28s} batch {r['batch']:4d}: measured {r['s_per_img'] * 1e6:9.1f} µs, "
                  f"fit {pred * 1e6:9.1f} µs ({pred / r['s_per_img']:.2f}x)")
    if args.dry:
        return 0
    table = json.loads(W.CALIBRATION_FILE.read_text()) if W.CALIBRATION_FILE.exists() else {}
    cpu = table.get("cpu", {})
    cpu.update({
        "gpu": False,
        "source": "measured",
        "ops": ops,
        "measured": {
            "what": "bench/calibrate_workmodel.py: CPU seconds per image (time.process_time), 1 thread, median of "
                    f"{args.repeats} after a warm-up; t = a + b·MACs + c·activations + e·layers/batch fitted "
                    "per op (relative least squares, non-negative)",
            "host": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git_commit(),
            "load_average": [round(load0, 2), round(load1, 2)],
            "note": args.note,
            "points": rows,
        },
    })
    table["cpu"] = cpu
    W.CALIBRATION_FILE.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote the cpu entry of {W.CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
