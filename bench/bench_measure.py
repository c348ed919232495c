"""Measurement helpers for bench/run_bench.py (importable, tested by tests/test_bench.py).

Every timed quantity is measured the same way: each function under comparison is called
``warmup`` times untimed, then the functions are called round-robin ``repeats`` times each
(interleaving spreads background load and clock drift evenly over the variants being compared),
and min / median / max of the wall times are reported. On CUDA each call is bracketed by CUDA
events and followed by a synchronize; on the CPU ``time.perf_counter`` is used.

A ratio of two measurements is the ratio of their medians.
"""

from __future__ import annotations

import copy
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from advtrace import attacks, perturbations, stability
from advtrace.data import to_float
from advtrace.models import build_model
from advtrace.runtime import (RuntimeOptions, adversary_context, autocast, configure_runtime, prepare_model,
                              runtime_options)
from advtrace.training import _train_epoch, adversary_from_config, make_optimizer
from paper_work import WORK_UNITS
from advtrace.workdir import copy_workflow, job_counts, run_snakemake, write_exp

ROOT = Path(__file__).resolve().parents[1]

# Targets from issue 8: (operator, threshold). A ratio "meets" its target when `value op threshold`.
TARGETS: dict[str, tuple[str, float]] = {
    "attack_vs_limit": (">=", 0.95),       # BI-10 throughput / limit throughput
    "torchattacks_speed": (">=", 1.0),     # torchattacks.BIM time / our BI time
    "torchattacks_max_abs_diff": ("<=", 1e-6),  # max |x_adv(ours) − x_adv(torchattacks)|
    "adv_epoch_vs_11_clean": ("<=", 1.1),  # adversarial epoch / (11 × clean epoch)
    "transfer_vs_inference": (">=", 0.9),  # transfer-pattern throughput / plain inference throughput
    "dag_build_s": ("<=", 10.0),           # snakemake -n, CIFAR-10 paper config (seconds)
    "figure_rerender_s": ("<=", 15.0),     # re-render fig08 after editing its script (seconds)
    # bench/gpu_check.sh (issue 20): one CIFAR-10 adversarial-training epoch (45000 images, pre-act
    # ResNet-18, BI-10) on one H200, seconds; and the smoke experiment's accuracies GPU vs CPU (points)
    "adv_epoch_45k_s": ("<=", 5.0),
    "smoke_gpu_cpu_acc_points": ("<=", 1.0),
}


# --------------------------------------------------------------------------- timing

class Clock:
    """Times one call of a function: CUDA events + synchronize on CUDA, perf_counter on the CPU."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"

    def time(self, fn: Callable[[], Any]) -> float:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


@dataclass
class Timing:
    name: str
    times: list[float]
    images: int = 0  # images processed per call (0: not an image workload)
    warmup_s: float = 0.0  # total time of the warm-up calls (compile cost shows up here)
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def row(self, **kw: Any) -> dict:
        med = self.median
        return {
            "name": self.name, "images": self.images, "repeats": len(self.times),
            "min_s": min(self.times), "median_s": med, "max_s": max(self.times),
            "img_per_s": self.images / med if self.images and med > 0 else float("nan"),
            "warmup_s": self.warmup_s, **kw,
        }


def measure(fns: dict[str, Callable[[], Any]], clock: Clock, warmup: int, repeats: int,
            images: dict[str, int] | int = 0) -> dict[str, Timing]:
    """Warm every function up, then time them round-robin; returns one Timing per name."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    out = {}
    for name, fn in fns.items():
        n_img = images.get(name, 0) if isinstance(images, dict) else images
        warm = sum(clock.time(fn) for _ in range(warmup))
        out[name] = Timing(name, [], n_img, warm)
    for _ in range(repeats):
        for name, fn in fns.items():
            out[name].times.append(clock.time(fn))
    return out


def ratio(num: Timing, den: Timing) -> float:
    """median(num) / median(den)."""
    return num.median / den.median


def target_row(name: str, value: float, **kw: Any) -> dict:
    op, thr = TARGETS[name]
    meets = value >= thr if op == ">=" else value <= thr
    return {"name": name, "value": float(value), "target": thr, "target_op": op, "meets": bool(meets), **kw}


# --------------------------------------------------------------------------- workloads

@dataclass
class Workload:
    """One model of the benchmark: its experiment config (model + adv_train sections) and shapes."""

    key: str  # digits | cifar10
    exp: dict
    channels: int
    size: int
    classes: int = 10

    @property
    def adv(self) -> dict:
        return self.exp["adv_train"]

    def data(self, n: int, seed: int = 0) -> dict:
        """Synthetic uint8 data of the experiment's shape (timings do not depend on pixel values)."""
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 256, (n, self.channels, self.size, self.size), generator=g, dtype=torch.uint8)
        y = torch.randint(0, self.classes, (n,), generator=g)
        return {"num_classes": self.classes, "in_channels": self.channels, "image_size": self.size,
                "mean": [0.5] * self.channels, "std": [0.25] * self.channels, "train_x": x, "train_y": y}

    def plain_model(self) -> nn.Module:
        """The experiment's model as built, before the runtime switches."""
        d = self.data(1)
        return build_model(self.exp["model"], d["num_classes"], d["in_channels"], d["image_size"], d["mean"], d["std"])

    def model(self, device: torch.device, options: RuntimeOptions, seed: int = 0) -> nn.Module:
        """Freshly initialised model with `options` applied, on `device`, in eval mode."""
        torch.manual_seed(seed)
        return prepare_model(self.plain_model(), options, device).to(device).eval()


def workloads(base_exp: dict, cifar_batch: int | None = None, cifar_width: int = 64) -> dict[str, Workload]:
    """The digits experiment as configured, and CIFAR-10 with the paper's setup (paper 000 Sec. 3:
    pre-act ResNet-18 64-128-256-512, batch 128, BI ε=4 α=1 10 iterations, crop 4 + flips)."""
    digits = copy.deepcopy(base_exp)
    cifar = copy.deepcopy(base_exp)
    cifar["model"]["width"] = cifar_width
    cifar["adv_train"].update(batch_size=cifar_batch or 128, augment={"crop_padding": 4, "flip": True},
                              attack={"name": "bi", "eps": 4, "alpha": 1, "iterations": 10})
    cifar["pretrain"].update(batch_size=cifar_batch or 128, augment={"crop_padding": 4, "flip": True})
    # paper 001 Sec. 4.1.1 detector on the input (96-192-192, two max-poolings), batch 128
    cifar["detect"]["detector"] = {"position": "input", "channels": [96, 192, 192], "pools": 2}
    cifar["detect"]["training"] = dict(cifar["detect"]["training"], batch_size=cifar_batch or 128)
    return {"digits": Workload("digits", digits, 1, 8), "cifar10": Workload("cifar10", cifar, 3, 32)}


def attack_params(w: Workload) -> tuple[float, float, int]:
    a = w.adv["attack"]
    return a["eps"] / 255.0, a["alpha"] / 255.0, a["iterations"]


def input_grad_pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One forward + backward w.r.t. the input only (the unit an iterative attack is made of)."""
    xr = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(xr).float(), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, xr)
    return g


def bim_peer(model: nn.Module, eps: float, alpha: float, steps: int):
    import torchattacks

    return torchattacks.BIM(model, eps=eps, alpha=alpha, steps=steps)


def max_abs_diff_vs_torchattacks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float,
                                 steps: int) -> float:
    """max |(x + δ_ours) − torchattacks.BIM(x)| for identical model, inputs, labels, ε, α, steps."""
    ours = x + attacks.bi(model, x, y, eps, alpha, steps)
    peer = bim_peer(model, eps, alpha, steps)(x, y)
    return float((ours - peer).abs().max())


def attack_benchmark(w: Workload, device: torch.device, options: RuntimeOptions, clock: Clock, batch: int,
                     warmup: int, repeats: int) -> tuple[list[dict], list[dict]]:
    """BI-10 (predicted labels, as in adversarial training) vs its limit, and vs torchattacks.BIM.

    Returns (timing rows, ratio rows)."""
    model = w.model(device, options)
    data = w.data(batch, seed=1)
    x = data["train_x"].to(device).float().div_(255.0)
    eps, alpha, iters = attack_params(w)
    y_pred = attacks.predict(model, x)
    try:
        peer = bim_peer(model, eps, alpha, iters)
    except ImportError:  # the peer (extra `bench`) is installed by workflow/setup.sh
        peer = None

    def attack() -> None:  # what one adversarial-training step spends on the adversary
        attacks.bi(model, x, attacks.predict(model, x), eps, alpha, iters)

    def limit() -> None:  # physical limit: 10 input-gradient passes + 1 forward, same batch
        with torch.no_grad():
            model(x)
        for _ in range(iters):
            input_grad_pass(model, x, y_pred)

    def ours_bi() -> None:
        attacks.bi(model, x, y_pred, eps, alpha, iters)

    def peer_bim() -> None:
        peer(x, y_pred)

    fns = {"bi10_attack": attack, "bi10_limit": limit, "bi10_ours": ours_bi}
    if peer is not None:
        fns["bi10_torchattacks"] = peer_bim
    t = measure(fns, clock, warmup, repeats, images=batch)
    rows = [t[k].row(batch_size=batch) for k in t]
    ratios = [target_row("attack_vs_limit", ratio(t["bi10_limit"], t["bi10_attack"]), batch_size=batch)]
    if peer is None:
        missing = "torchattacks not installed (bash workflow/setup.sh, or pip install --no-deps torchattacks==3.5.1)"
        ratios += [target_row(k, float("nan"), batch_size=batch, note=missing)
                   for k in ("torchattacks_speed", "torchattacks_max_abs_diff")]
    else:
        diff = max_abs_diff_vs_torchattacks(model, x, y_pred, eps, alpha, iters)
        ratios += [target_row("torchattacks_speed", ratio(t["bi10_torchattacks"], t["bi10_ours"]), batch_size=batch),
                   target_row("torchattacks_max_abs_diff", diff, batch_size=batch)]
    # the floor for that comparison: our attack against itself (non-zero only with nondeterministic kernels)
    again = float((attacks.bi(model, x, y_pred, eps, alpha, iters) - attacks.bi(model, x, y_pred, eps, alpha, iters))
                  .abs().max())
    rows.append({"name": "bi10_self_max_abs_diff", "section": "check", "value": again, "batch_size": batch,
                 "unit": "max |x_adv run 1 − x_adv run 2| of our BI", "note": "determinism floor for the comparison"})
    return rows, ratios


def train_benchmark(w: Workload, device: torch.device, options: RuntimeOptions, clock: Clock, n_batches: int,
                    warmup: int, repeats: int) -> tuple[list[dict], list[dict]]:
    """One adversarial-training epoch vs 11 × one clean epoch over the same `n_batches` batches,
    through the real training loop (advtrace.training._train_epoch: on-device uint8 data, batched
    augmentation, predicted-label BI adversary, SGD step), with `options` set process-wide as a
    job's setup_job would."""
    import logging

    logging.getLogger("advtrace").setLevel(logging.WARNING)  # no per-epoch progress lines
    cfg = w.adv
    bs = cfg["batch_size"]
    data = w.data(n_batches * bs, seed=2)
    x_all, y_all = data["train_x"].to(device), data["train_y"].to(device)
    models, opts, gens = {}, {}, {}
    for kind in ("adv", "clean"):
        torch.manual_seed(0)
        m = prepare_model(w.plain_model(), options, device).to(device)
        models[kind], opts[kind], gens[kind] = m, make_optimizer(m, cfg["optimizer"]), torch.Generator().manual_seed(0)
    adversary = adversary_from_config(cfg)

    def epoch(kind: str) -> Callable[[], None]:
        def run() -> None:
            _train_epoch(models[kind], opts[kind], x_all, y_all, cfg, gens[kind], device, f"bench {kind}",
                         adversary=adversary if kind == "adv" else None)
        return run

    detector_epoch = detector_epoch_fn(w, device, n_batches)
    n = n_batches * bs
    previous = runtime_options()
    configure_runtime(options)  # _train_epoch's autocast reads the process-wide switches
    try:
        t = measure({"adv_epoch": epoch("adv"), "clean_epoch": epoch("clean")}, clock, warmup, repeats, images=n)
        t_det = measure({"detector_epoch": detector_epoch}, clock, warmup, repeats,
                        images=n_batches * w.exp["detect"]["training"]["batch_size"])
    finally:
        configure_runtime(previous)
    rows = [t[k].row(batch_size=bs, n_batches=n_batches) for k in t]
    rows.append(t_det["detector_epoch"].row(batch_size=w.exp["detect"]["training"]["batch_size"], n_batches=n_batches))
    ratios = [target_row("adv_epoch_vs_11_clean", t["adv_epoch"].median / (11 * t["clean_epoch"].median),
                         batch_size=bs, n_batches=n_batches)]
    return rows, ratios


def detector_epoch_fn(w: Workload, device: torch.device, n_batches: int) -> Callable[[], None]:
    """`n_batches` detector training steps as advtrace.detectors.train_detector takes them (the
    experiment's detector architecture, Adam, cross-entropy on clean/adversarial labels)."""
    from advtrace import detectors

    det_cfg, tr = w.exp["detect"], w.exp["detect"]["training"]
    bs = tr["batch_size"]
    data = w.data(n_batches * bs, seed=4)
    torch.manual_seed(0)
    det = detectors.build_detector(detectors.architecture(det_cfg["detector"], data)).to(device).train()
    opt = detectors.make_optimizer(det, tr)
    x = data["train_x"].to(device).float().div_(255.0)
    y = (data["train_y"] % 2).to(device)

    def run() -> None:
        for i in range(n_batches):
            logits = det(x[i * bs:(i + 1) * bs])
            loss = F.cross_entropy(logits, y[i * bs:(i + 1) * bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return run


def transfer_stats(model: nn.Module, x_uint8: torch.Tensor, delta_q: torch.Tensor, y: torch.Tensor):
    """The transfer-matrix evaluation of advtrace.stability, with its own functions: uint8 inputs +
    stored int8 perturbations decoded on the device (perturbations.to_unit) → clip →
    stability._stats → p(y|x+ξ), CE cost, argmax (forward only; caller holds inference mode)."""
    xa = (to_float(x_uint8) + perturbations.to_unit(delta_q, x_uint8.device)).clamp_(0.0, 1.0)
    p, pred, cost = stability._stats(model, xa, y)
    return p, cost, pred


def transfer_benchmark(w: Workload, device: torch.device, options: RuntimeOptions, clock: Clock, batch: int,
                       warmup: int, repeats: int) -> tuple[list[dict], list[dict]]:
    """Transfer evaluation (eval + inference_mode, int8 δ unpacked on the device) vs plain model(x)."""
    model = w.model(device, options)
    data = w.data(batch, seed=3)
    x_u8, y = data["train_x"].to(device), data["train_y"].to(device)
    eps = int(w.adv["attack"]["eps"])
    g = torch.Generator().manual_seed(4)
    dq = torch.randint(-eps, eps + 1, x_u8.shape, generator=g).to(torch.int8)
    dq_dev = dq.to(device)
    x_f = x_u8.float().div(255.0)

    def plain() -> None:
        with torch.inference_mode():
            model(x_f)

    def transfer() -> None:
        with torch.inference_mode():
            transfer_stats(model, x_u8, dq_dev, y)

    fns = {"plain_inference": plain, "transfer_eval": transfer}
    if device.type == "cuda":  # the gap when δ is unpacked on the host and copied as float32
        dq_host_f32 = dq.float().div(255.0)

        def transfer_host() -> None:
            with torch.inference_mode():
                d = dq_host_f32.to(device, non_blocking=True)
                xa = (x_u8.float().div(255.0) + d).clamp_(0.0, 1.0)
                logp = torch.log_softmax(model(xa).float(), dim=1)
                logp.gather(1, y[:, None]).squeeze(1).exp()
                logp.argmax(1)

        fns["transfer_eval_host_delta"] = transfer_host
    t = measure(fns, clock, warmup, repeats, images=batch)
    rows = [t[k].row(batch_size=batch) for k in t]
    ratios = [target_row("transfer_vs_inference", ratio(t["plain_inference"], t["transfer_eval"]), batch_size=batch)]
    return rows, ratios


def switch_benchmark(w: Workload, device: torch.device, clock: Clock, batch: int, variants: dict[str, RuntimeOptions],
                     warmup: int, repeats: int) -> list[dict]:
    """One clean training step and one BI-10 attack per runtime variant (layout / bf16 / compile).

    Each variant gets its own freshly built model; `warmup_s` holds the warm-up time (a cold
    torch.compile shows up there). Speed-ups are relative to the first variant."""
    data = w.data(batch, seed=5)
    x = data["train_x"].to(device).float().div_(255.0)
    y = data["train_y"].to(device)
    eps, alpha, iters = attack_params(w)
    rows: list[dict] = []
    base: dict[str, float] = {}
    for vname, opts in variants.items():
        torch.manual_seed(0)
        try:
            if opts.compile:
                torch._dynamo.reset()
            model = prepare_model(w.plain_model(), opts, device).to(device)
            opt = make_optimizer(model, w.adv["optimizer"])

            def step() -> None:
                model.train()
                with autocast(device, opts):
                    loss = F.cross_entropy(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            def attack() -> None:  # as adversarial training runs it: bf16 with attack_amp or amp, weights frozen
                with adversary_context(model, device, opts):
                    attacks.bi(model, x, y, eps, alpha, iters)

            t = measure({"train_step": step, "bi10_attack": attack}, clock, warmup, repeats, images=batch)
        except Exception as err:  # e.g. no compiler for torch.compile on this machine
            rows.append({"name": f"{vname}: failed", "variant": vname, "batch_size": batch,
                         "note": f"{type(err).__name__}: {str(err)[:200]}"})
            continue
        for k, tk in t.items():
            base.setdefault(k, tk.median)
            rows.append(tk.row(batch_size=batch, variant=vname, value=base[k] / tk.median,
                               unit="speed-up vs first variant", name=f"{k} [{vname}]"))
    return rows


# --------------------------------------------------------------------------- workflow overheads

def snakemake(wd: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """`snakemake *args` in the workflow copy `wd`; raises with its output tail if it fails."""
    proc = run_snakemake(wd, *args, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {wd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc


DAG_EXPERIMENT = "cifar10_preact18"  # the CIFAR-10 paper config whose DAG build is timed


def dag_benchmark(tmp: Path, warmup: int, repeats: int) -> tuple[list[dict], list[dict]]:
    """`snakemake -n` on the CIFAR-10 paper config (`config/experiments/cifar10_preact18.yaml`:
    200 pretraining + 251 adversarial epochs and every analysis, the complete DAG of every
    figure), in a temp copy of the workflow. Needs no data: a dry run only plans."""
    wd = copy_workflow(tmp / "dag")
    jobs = {}

    def dry() -> None:
        jobs["stdout"] = snakemake(wd, "-n", "--cores", "1", "--config", f"experiments=[{DAG_EXPERIMENT}]").stdout
        jobs["n"] = job_counts(jobs["stdout"]).get("total", -1)

    t = measure({"dag_build": dry}, Clock(torch.device("cpu")), warmup, repeats)["dag_build"]
    rows = [t.row(value=float(jobs["n"]), unit="jobs in the DAG")]
    return rows, [target_row("dag_build_s", t.median, note=f"{jobs['n']} jobs")], work_rows(wd, jobs["stdout"])


def work_rows(wd: Path, dry_stdout: str) -> list[dict]:
    """The paper run's work per component (bench/paper_work.py), counted from its dry run."""
    import yaml
    from paper_work import paper_work

    exp = yaml.safe_load((wd / "config" / "experiments" / f"{DAG_EXPERIMENT}.yaml").read_text())
    return [{"name": w["component"], "value": float(w["jobs"]), "unit": "jobs", "note": w["how"],
             "variant": DAG_EXPERIMENT, **{col: w[u] for u, col in WORK_UNITS.items()}}
            for w in paper_work(dry_stdout, exp)]


def rerender_benchmark(tmp: Path, warmup: int, repeats: int, quick: bool) -> tuple[list[dict], list[dict]]:
    """Wall time to re-render fig08 after editing its plot script (smoke experiment, temp copy).

    Quick mode shortens the smoke experiment's pretraining to 1 epoch only to make the one-off
    setup run cheap; the re-render itself (DAG + one plot job) is the same job either way. (The
    adversarial epochs stay: every analysis section names epoch 3.)"""
    import yaml

    wd = copy_workflow(tmp / "rerender")
    if quick:
        cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
        cfg["pretrain"]["epochs"] = 1
        write_exp(wd, "smoke", cfg)
    target = "results/smoke/figures/fig08_learning_curves.png"
    common = [target, "--config", "experiments=[smoke]"]  # --config takes every word after it
    t0 = time.perf_counter()
    snakemake(wd, "--cores", str(os.cpu_count() or 1), *common)
    setup_s = time.perf_counter() - t0
    script = wd / "workflow" / "scripts" / "plot_learning_curves.py"
    png = wd / target
    original = script.read_text()
    edits = {"i": 0}

    def rerender() -> None:
        edits["i"] += 1
        script.write_text(original + f"\n# bench edit {edits['i']}\n")
        before = png.stat().st_mtime_ns
        proc = snakemake(wd, "--cores", "1", *common)
        if png.stat().st_mtime_ns == before:
            raise RuntimeError(f"editing {script.name} did not re-render {target}:\n{proc.stderr[-2000:]}")

    t = measure({"figure_rerender": rerender}, Clock(torch.device("cpu")), warmup, repeats)["figure_rerender"]
    rows = [t.row(note=f"setup run of the smoke experiment took {setup_s:.1f} s")]
    return rows, [target_row("figure_rerender_s", t.median)]


def job_startup_benchmark(warmup: int, repeats: int) -> list[dict]:
    """Fixed cost of one job: a fresh Python importing torch + advtrace.training and running setup_job."""
    code = ("import sys; sys.path.insert(0, %r); import advtrace.training; from advtrace.runtime import setup_job; "
            "setup_job(1, 'cpu')" % str(ROOT / "src"))

    def start() -> None:
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

    t = measure({"job_startup": start}, Clock(torch.device("cpu")), warmup, repeats)["job_startup"]
    return [t.row()]
