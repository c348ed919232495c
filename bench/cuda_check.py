"""Check the CUDA path of the library and measure per-epoch GPU cost (no Snakemake needed).

1. Runs the smoke experiment's compute through the library on the chosen device: data
   preparation, pretraining, adversarial epochs, learning-curve evaluation and per-epoch
   perturbations (BI, FGSM, DeepFool), asserting finite results and the attack bounds.
2. Times adversarial training (BI-10) and clean training steps of the CIFAR-10 pre-activation
   ResNet-18 (64-128-256-512, 32×32×3, batch 128) on random uint8 data and projects the cost of
   one 45000-image epoch and of the paper's 200 + 251 epochs.

    python bench/cuda_check.py --device cuda --out results/cuda_check.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from advtrace import attacks, perturbations  # noqa: E402
from advtrace.config import attack_kwargs, load_yaml  # noqa: E402
from advtrace.data import draw_samples, prepare_dataset, sample_set  # noqa: E402
from advtrace.evaluation import learning_curve_rows  # noqa: E402
from advtrace.models import PreActResNet18  # noqa: E402
from advtrace.runtime import resolve_device, setup_logging, tune_allocator  # noqa: E402
from advtrace.checkpoints import load_checkpoint  # noqa: E402
from advtrace.training import adv_train_epoch, pretrain  # noqa: E402


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def pipeline_check(dev: torch.device, tmp: Path) -> dict:
    exp = load_yaml(ROOT / "config" / "experiments" / "smoke.yaml")
    t0 = time.perf_counter()
    data = prepare_dataset(exp["dataset"], exp["seed"], tmp / "dataset.pt")
    samples = draw_samples(exp["samples"], {s: len(data[f"{s}_y"]) for s in ("train", "val", "test")}, exp["seed"])
    pretrain(data, exp, dev, tmp / "epoch_000.pt")
    for t in range(1, exp["adv_train"]["epochs"] + 1):
        adv_train_epoch(tmp / f"epoch_{t - 1:03d}.pt", data, exp, t, dev, tmp / f"epoch_{t:03d}.pt")
    T = exp["adv_train"]["epochs"]
    model = load_checkpoint(tmp / f"epoch_{T:03d}.pt", dev)
    assert next(model.parameters()).device.type == dev.type
    ev = exp["evaluation"]
    sets = {"train": sample_set(data, samples, ev["train_set"]), "test": sample_set(data, samples, ev["test_set"])}
    lc = learning_curve_rows(model, T, sets, ev, dev)
    out = {"learning_curve_last_epoch": lc.to_dict("records")}
    s = sample_set(data, samples, "transfer_test")
    for label, cfg in exp["perturb"]["attacks"].items():
        res = perturbations.generate(model, s, cfg, 512, dev)
        d = res["delta"]
        assert torch.isfinite(d).all()
        assert d.abs().max() <= cfg["eps"] / 255 + 1e-6, label
        x_adv = perturbations.adversarial_images(s.x, d)
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        out[f"perturb_{label}_fooling_rate"] = float((res["pred_adv"] != s.y).float().mean())
    out["pipeline_seconds"] = time.perf_counter() - t0
    return out


def time_steps(dev: torch.device, batch: int, repeats: int, amp: bool) -> dict:
    model = PreActResNet18(10, 3, 64).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x_all = torch.randint(0, 256, (batch * 4, 3, 32, 32), dtype=torch.uint8, device=dev)
    y_all = torch.randint(0, 10, (batch * 4,), device=dev)
    kw = attack_kwargs({"name": "bi", "eps": 4, "alpha": 1, "iterations": 10})
    ctx = torch.autocast(dev.type, dtype=torch.bfloat16) if amp else torch.autocast(dev.type, enabled=False)

    def clean_step(i):
        x = x_all[(i % 4) * batch:(i % 4 + 1) * batch].float() / 255
        y = y_all[(i % 4) * batch:(i % 4 + 1) * batch]
        model.train()
        with ctx:
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def adv_step(i):
        x = x_all[(i % 4) * batch:(i % 4 + 1) * batch].float() / 255
        y = y_all[(i % 4) * batch:(i % 4 + 1) * batch]
        with ctx:
            y_att = attacks.predict(model, x)
            delta = attacks.run_attack(model, x, y_att, **kw)
        model.train()
        with ctx:
            loss = F.cross_entropy(model(x + delta), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    res = {}
    for name, fn in (("clean_step", clean_step), ("adv_step", adv_step)):
        for i in range(3):
            fn(i)
        sync(dev)
        times = []
        for i in range(repeats):
            t = time.perf_counter()
            fn(i)
            sync(dev)
            times.append(time.perf_counter() - t)
        times.sort()
        res[name] = {"median_s": times[len(times) // 2], "min_s": times[0], "max_s": times[-1]}
    per_epoch = 45000 / batch
    res["adv_epoch_s"] = res["adv_step"]["median_s"] * per_epoch
    res["clean_epoch_s"] = res["clean_step"]["median_s"] * per_epoch
    res["adv_over_clean"] = res["adv_step"]["median_s"] / res["clean_step"]["median_s"]
    res["paper_training_hours"] = (200 * res["clean_epoch_s"] + 251 * res["adv_epoch_s"]) / 3600
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    setup_logging()
    tune_allocator()
    dev = resolve_device(args.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    report = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
              "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
    if not args.skip_pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            report["pipeline"] = pipeline_check(dev, Path(tmp))
    report["cifar10_preact18_fp32"] = time_steps(dev, args.batch, args.repeats, amp=False)
    if dev.type == "cuda":
        report["cifar10_preact18_bf16"] = time_steps(dev, args.batch, args.repeats, amp=True)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
