"""The Python half of bench/gpu_check.sh (issue 20): one prepared check of the GPU path.

Each subcommand is one step of the shell script, run in its own process, so a failing step
leaves the others' results in place:

    prepare-wheels   (on a CPU machine with PyPI) download the wheels of Snakemake and the other
                     pure-Python packages a PyTorch GPU image lacks into .whl/
    install-wheels   (on the GPU machine) pip-install, offline, the carried wheels of every
                     package the image does not have
    smoke            (b) the smoke experiment through Snakemake on the GPU and on the CPU,
                     each from its own copy of the tree; compares every table
    at-epoch         (c) a CIFAR-10-shaped adversarial-training epoch: fabricated images in
                     CIFAR-10's on-disk format, the real prepare_dataset, then the real pretrain
                     and adv_train_epoch jobs through Snakemake (timed from the job's log), then
                     the same epoch in-process once per runtime setting, and the agreement of
                     bf16 perturbations with fp32 ones
    summary          summary.json from the steps' statuses and the result table

Every result row goes into the device's result table (bench/run_bench.py's format; part
"smoke" / "at_epoch"), which `python bench/run_bench.py --import TABLE` merges into
bench/results/ and BENCHMARKS.md. Details go to JSON files beside it.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import logging
import os
import pickle
import pickletools
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src")]

AT_EXP = "gpucheck_cifar10"  # the experiment part (c) writes into its workflow copy
EPOCH_IMAGES = 45000  # CIFAR-10 training split of the paper (paper 001 Sec. 4.1)
ACCURACY = re.compile(r"accuracy|error_rate|destruction_rate")  # fractions compared within a point
# Progress's line at the end of an epoch (advtrace.runtime.Progress)
PROGRESS_END = re.compile(r"adversarial epoch \d+: (\d+)/(\d+) img \(100%\) [\d.]+ img/s, elapsed ([\d.]+)s")


def say(msg: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- wheels

# Too large to carry and present in every PyTorch image (the GPU image also has pandas, pyarrow,
# seaborn, scikit-learn): never downloaded.
HEAVY = {"torch", "torchvision", "triton", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "seaborn",
         "scikit-learn", "pillow", "sympy", "networkx", "mpmath", "fsspec", "filelock", "jinja2", "markupsafe"}
WHEEL_ROOTS = ("snakemake", "jsonschema", "torchattacks")  # torchattacks: bench peer, installed without deps


def wheel_closure(roots=WHEEL_ROOTS) -> dict[str, str]:
    """{distribution: version} of `roots` and everything they require, as installed in this
    interpreter (the versions this project runs with), without HEAVY and torchattacks' needs."""
    import importlib.metadata as md

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pins or name in HEAVY or name.startswith(("nvidia-", "cuda-")):
            continue
        dist = md.distribution(name)
        pins[name] = dist.version
        if name == "torchattacks":  # its metadata pins requests~=2.25.1, which it never imports (pyproject.toml)
            continue
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return dict(sorted(pins.items()))


PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]


def prepare_wheels(dest: Path, python_version: str) -> int:
    """Download the closure's wheels for CPython `python_version` on x86-64 Linux into `dest`
    (sdist-only pure-Python packages are built into wheels here)."""
    dest.mkdir(parents=True, exist_ok=True)
    pins = wheel_closure()
    say(f"{len(pins)} packages: {' '.join(f'{k}=={v}' for k, v in pins.items())}")
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
           "--python-version", python_version, "--implementation", "cp"]
    for plat in PLATFORMS:
        pip += ["--platform", plat]
    reqs = [f"{k}=={v}" for k, v in pins.items()]
    if subprocess.run(pip + reqs).returncode == 0:
        return report_wheels(dest)
    failed = []
    have = {(canonical(n), v) for n, v in map(wheel_name, dest.glob("*.whl"))}
    for req in reqs:  # one by one: find the ones without a matching wheel
        name, version = req.split("==")
        if (name, version) in have or subprocess.run(pip + [req], capture_output=True).returncode == 0:
            continue
        say(f"no wheel of {req} for cp{python_version}: building one here (pure Python only)")
        if subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), req]).returncode:
            failed.append(req)
    if failed:
        say(f"FAILED to get wheels of {failed}")
        return 1
    return report_wheels(dest)


def report_wheels(dest: Path) -> int:
    wheels = sorted(dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    say(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB in {dest}")
    names = [wheel_name(w)[0] for w in wheels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        say(f"more than one wheel of {dupes} in {dest}: keep one version of each (pip refuses two)")
        return 1
    return 0


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name (wheel files spell it with underscores)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(path: Path) -> tuple[str, str]:
    """(distribution, version) from a wheel's file name (PEP 427: name-version-...whl)."""
    name, version = path.name.split("-")[:2]
    return name, version


def install_wheels(wheel_dir: Path, target: Path, everything: bool = False) -> int:
    """pip-install (offline, no dependencies) each carried wheel whose distribution this Python lacks
    (every one with `everything`) into `target`; the caller puts `target` on PYTHONPATH."""
    import importlib.metadata as md

    wheels = sorted(wheel_dir.glob("*.whl"))
    if not wheels:
        say(f"no wheels in {wheel_dir}")
        return 1
    need = []
    for w in wheels:
        name, version = wheel_name(w)
        try:
            have = md.version(name)
        except md.PackageNotFoundError:
            have = None
        if have is None or everything:
            need.append(w)
        elif have != version:
            say(f"{name}: keeping this Python's {have} (carried {version})")
    if not need:
        say("every carried package is already installed")
        return 0
    say(f"installing {len(need)} wheels into {target}: {' '.join(wheel_name(w)[0] for w in need)}")
    return subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                           "--no-cache-dir", "--upgrade", "--disable-pip-version-check", "--target", str(target),
                           *map(str, need)]).returncode


# --------------------------------------------------------------------------- result rows

def result_table(out: Path, device, reduced: bool) -> Path:
    """$OUT/results/<device>.parquet: the table bench/run_bench.py --out $OUT/results writes on this device."""
    import run_bench

    return run_bench.result_path(out / "results", device, device_label(device), reduced)


def device_label(device) -> str:
    import run_bench

    return run_bench.device_name(device)


def write_rows(rows: list[dict], part: str, args, device, options, t0: float, load0: float) -> Path:
    """Write this part's rows into the device's result table (replacing the part's earlier rows)."""
    import pandas as pd
    import torch

    import run_bench
    from advtrace.runtime import tune_allocator

    meta = run_bench.run_meta(device, device_label(device), options, torch.get_num_threads(), tune_allocator(),
                              args.reduced, args.note, "bash bench/gpu_check.sh" + (" --reduced" if args.reduced else ""))
    date = dt.datetime.fromtimestamp(t0, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for r in rows:
        r.update(meta, part=part, date=date, load_before=load0, load_after=os.getloadavg()[0])
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    return run_bench.merge_table(pd.DataFrame(rows).reindex(columns=run_bench.COLUMNS),
                                 result_table(args.out, device, args.reduced))


def base_options():
    """The runtime switches of config/config.yaml (what a job of the workflow would use)."""
    import yaml

    from advtrace.runtime import RUNTIME_KEYS, RuntimeOptions

    top = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    return RuntimeOptions(**{k: top[k] for k in RUNTIME_KEYS if k in top})


# --------------------------------------------------------------------------- snakemake

def snakemake_cmd(cores: int, targets: list[str], config: list[str]) -> list[str]:
    """`snakemake` (this interpreter's) for a workflow copy, run with the copy as working directory;
    --config last (it takes every word after it)."""
    from advtrace.workdir import SNAKEMAKE

    return [*SNAKEMAKE, "--cores", str(cores), *targets, "--config", *config]


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a process this script started and its descendants (Snakemake's job processes)."""
    try:
        import psutil

        kids = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - no psutil, or already gone
        kids = []
    for k in kids:
        try:
            k.kill()
        except Exception:  # noqa: BLE001
            pass
    proc.kill()
    proc.wait()


def wait_or_kill(proc: subprocess.Popen, timeout: float) -> int:
    """The exit code of `proc`, or 124 after killing it (and its children) at `timeout` seconds."""
    try:
        return proc.wait(timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        return 124


def run_logged(cmd: list[str], cwd: Path, log: Path, timeout: float) -> tuple[int, float]:
    """Run `cmd` in `cwd` with its output in `log`; (exit code, seconds); exit 124 when it timed out."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    return wait_or_kill(proc, timeout), time.perf_counter() - t0


def tail(path: Path, n: int = 2500) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


# --------------------------------------------------------------------------- (b) smoke, GPU vs CPU

def compare_tables(a_dir: Path, b_dir: Path, tol: float = 0.01) -> list[dict]:
    """One row per table present in `a_dir` (GPU run) and/or `b_dir` (CPU run): the largest
    difference of its accuracy-like columns (fractions; ACCURACY) in percentage points against
    `tol` (0.01 = one point), the other float columns' largest difference in the note, and
    whether shapes and string columns match (row order is the workflow's, deterministic)."""
    import numpy as np
    import pandas as pd

    rows = []
    for name in sorted({p.stem for p in a_dir.glob("*.parquet")} | {p.stem for p in b_dir.glob("*.parquet")}):
        pa, pb = a_dir / f"{name}.parquet", b_dir / f"{name}.parquet"
        if not (pa.exists() and pb.exists()):
            rows.append({"name": name, "value": float("nan"), "meets": False,
                         "note": f"only in the {'GPU' if pa.exists() else 'CPU'} run"})
            continue
        a, b = pd.read_parquet(pa), pd.read_parquet(pb)
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            rows.append({"name": name, "value": float("nan"), "meets": False, "images": len(a),
                         "note": f"shapes differ: {a.shape} vs {b.shape}"})
            continue
        acc, other, notes = [], {}, []
        for col in a.columns:
            x, y = a[col], b[col]
            if pd.api.types.is_float_dtype(x):
                d = np.abs(x.to_numpy(dtype=float) - y.to_numpy(dtype=float))
                both_nan = np.isnan(x.to_numpy(dtype=float)) & np.isnan(y.to_numpy(dtype=float))
                d = np.where(both_nan, 0.0, d)
                m = float(np.nanmax(d)) if len(d) else 0.0
                if ACCURACY.search(col):
                    acc.append(m)
                else:
                    other[col] = m
            elif pd.api.types.is_string_dtype(x) or pd.api.types.is_object_dtype(x):
                if not x.astype(str).equals(y.astype(str)):
                    notes.append(f"column {col} differs")
            else:  # ints and bools: counts and predictions may differ with the weights
                frac = float((x.to_numpy() != y.to_numpy()).mean()) if len(x) else 0.0
                if frac > 0:
                    notes.append(f"{col}: {frac:.1%} of rows differ")
        worst = max(other.items(), key=lambda kv: kv[1]) if other else None
        if worst:
            notes.insert(0, f"other floats: max |Δ| {worst[1]:.3g} ({worst[0]})")
        points = 100 * max(acc) if acc else float("nan")
        ok = (points <= 100 * tol + 1e-9) if acc else None
        if "column" in " ".join(notes):
            ok = False
        rows.append({"name": name, "images": len(a), "value": points, "meets": ok, "note": "; ".join(notes)})
    for r in rows:
        r.update(section="compare", model="smoke", target=100 * tol, target_op="<=",
                 unit="largest accuracy difference, percentage points")
    return rows


def workflow_tables() -> list[str]:
    """The aggregated tables the rule files register (`TABLES += [...]` in rules/*.smk)."""
    names: list[str] = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.findall(r"^TABLES \+= \[(.*?)\]", smk.read_text(), re.S | re.M):
            names += re.findall(r"[\"']([A-Za-z0-9_]+)[\"']", block)
    return names


def smoke_config(reduced: bool) -> tuple[dict, list[str], str]:
    """The smoke experiment as run by part (b), its targets and the folder of tables to compare.
    Full: every aggregated table, i.e. every compute job of the experiment (the figures, plotted
    from these tables on the CPU, are left out). Reduced: one pretraining epoch, and only epoch
    1's learning-curve evaluation (5 jobs)."""
    import yaml

    exp = yaml.safe_load((ROOT / "config" / "experiments" / "smoke.yaml").read_text())
    if not reduced:
        return exp, [f"results/smoke/tables/{t}.parquet" for t in workflow_tables()], "results/smoke/tables"
    exp["pretrain"]["epochs"] = 1
    # epochs 0 and 1 of the learning curve: with epochs_per_analysis_job 4 (config/config.yaml) and
    # the smoke run's 3 adversarial epochs, one evaluate_epochs job holds epochs 0-3; the reduced run
    # trains only one epoch, so it asks for one epoch per analysis job (epochs_001-001)
    return (exp, ["results/smoke/runs/main/metrics/learning_curve/epochs_001-001.parquet"],
            "results/smoke/runs/main/metrics/learning_curve")


def cmd_smoke(args) -> int:
    import torch

    from advtrace.workdir import copy_workflow, write_exp

    t0, load0 = time.time(), os.getloadavg()[0]
    gpu = "cuda" if torch.cuda.is_available() else "cpu"
    if gpu == "cpu" and not args.reduced:
        say("no CUDA device: part (b) needs a GPU (use --reduced to validate on the CPU)")
        return 2
    exp, targets, tables = smoke_config(args.reduced)
    work = args.work / "smoke"
    cores = max(1, (os.cpu_count() or 2) // 2)
    runs = {}
    for kind, device in (("gpu", gpu), ("cpu", "cpu")):
        wd = copy_workflow(work / kind)
        write_exp(wd, "smoke", exp)
        cmd = snakemake_cmd(cores, targets, ["experiments=[smoke]", f"device={device}"]
                            + (["epochs_per_analysis_job=1"] if args.reduced else []))
        log = work / f"snakemake_{kind}.log"
        say(f"smoke on {device} in {wd}: {shlex.join(cmd)} (log {log})")
        with open(log, "w") as fh:
            proc = subprocess.Popen(cmd, cwd=wd, stdout=fh, stderr=subprocess.STDOUT)
        runs[kind] = (wd, log, proc, time.perf_counter(), device)
    deadline = time.perf_counter() + args.budget_s
    rows, detail = [], {"runs": {}}
    for kind, (wd, log, proc, start, device) in runs.items():
        rc = wait_or_kill(proc, deadline - time.perf_counter())
        secs = time.perf_counter() - start
        detail["runs"][kind] = {"device": device, "rc": rc, "seconds": secs, "log_tail": tail(log) if rc else ""}
        if rc == 124:
            say(f"smoke {kind} run stopped at the step's budget ({args.budget_s:.0f} s): comparing what both finished")
        say(f"smoke {kind} run on {device}: exit {rc} after {secs:.1f} s" + ("" if rc == 0 else f"\n{tail(log)}"))
        rows.append({"section": "timing", "model": "smoke", "name": f"smoke_run [{kind} run, device {device}]",
                     "repeats": 1,
                     "min_s": secs, "median_s": secs, "max_s": secs,
                     "note": ("ok" if rc == 0 else "stopped at the budget" if rc == 124 else f"FAILED (exit {rc})")
                             + f"; {len(targets)} target(s), --cores {cores}, concurrently with the other device's run"})
    ok = all(detail["runs"][k]["rc"] == 0 for k in runs)
    if ok or all(detail["runs"][k]["rc"] in (0, 124) for k in runs):
        cmp = compare_tables(runs["gpu"][0] / tables, runs["cpu"][0] / tables)
        rows += cmp
        worst = max((r["value"] for r in cmp if r["value"] == r["value"]), default=float("nan"))
        import bench_measure as M

        rows.append({"section": "ratio", "model": "smoke", **M.target_row(
            "smoke_gpu_cpu_acc_points", worst,
            note=f"{gpu} vs cpu, {len(cmp)} tables compared" + ("" if ok else "; a run stopped at the budget: partial")
                 + ("; reduced run, both on the CPU" if gpu == "cpu" else ""))})
        detail["tables"] = [dict(r) for r in cmp]
        bad = [r["name"] for r in cmp if r["meets"] is False]
        say(f"compared {len(cmp)} tables; largest accuracy difference {worst:.3g} points"
            + (f"; NOT within tolerance: {bad}" if bad else "; all within a point"))
    table = write_rows([dict(r) for r in rows], "smoke", args, torch.device(gpu), base_options(), t0, load0)
    (args.out / "smoke_compare.json").write_text(json.dumps(detail, indent=1, default=str))
    say(f"wrote {table} and {args.out / 'smoke_compare.json'}")
    return 0 if ok else 1


# --------------------------------------------------------------------------- (c) CIFAR-10-shaped AT epoch

def py2_pickle(d: dict) -> bytes:
    """A protocol-2 dict pickle whose keys are Python-2 ``str`` (SHORT_BINSTRING), as in the official
    CIFAR-10 files (tests/test_datasets.py writes its fixtures the same way)."""
    out = [pickle.PROTO + b"\x02", pickle.EMPTY_DICT, pickle.MARK]
    for key, value in d.items():
        k = key.encode("latin1")
        out.append(pickle.SHORT_BINSTRING + bytes([len(k)]) + k)
        body = pickletools.optimize(pickle.dumps(value, protocol=2))
        out.append(body[2:-1])  # without PROTO and STOP; optimize() dropped the memo puts
    out += [pickle.SETITEMS, pickle.STOP]
    return b"".join(out)


def fabricate_cifar10(root: Path, n_train: int, n_test: int, seed: int = 0) -> Path:
    """cifar-10-batches-py/ under `root` in CIFAR-10's on-disk format (data_batch_1..5, test_batch,
    batches.meta: protocol-2 pickles; "data" N×3072 uint8, R then G then B plane, row-major) with
    fabricated, learnable images: each class a fixed blocky, mirror-symmetric colour pattern (the
    training's random flips keep it; 8×8-pixel blocks,
    amplitude ~16 grey levels, a few times the paper's ε = 4) plus per-image noise (σ = 32), so
    that one epoch of training gives a model that the BI-10 adversary can partly fool: adversarial
    accuracy, and its bf16/fp32 agreement, then mean something."""
    import numpy as np

    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    half = rng.normal(size=(10, 3, 4, 2))
    coarse = np.concatenate([half, half[..., ::-1]], axis=-1)  # mirror-symmetric: flips keep the class
    pattern = np.kron(coarse, np.ones((8, 8))).astype(np.float32)  # 10×3×32×32

    def batch(fname: str, n: int) -> None:
        y = rng.integers(0, 10, n)
        x = 128 + 16 * pattern[y] + rng.normal(0, 32, (n, 3, 32, 32)).astype(np.float32)
        data = np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(n, 3072)
        (d / fname).write_bytes(py2_pickle({"batch_label": f"fabricated {fname}", "labels": [int(v) for v in y],
                                            "data": data, "filenames": [f"img_{i:05d}.png" for i in range(n)]}))

    sizes = [n_train // 5 + (1 if i < n_train % 5 else 0) for i in range(5)]
    for i, n in enumerate(sizes):
        batch(f"data_batch_{i + 1}", n)
    batch("test_batch", n_test)
    (d / "batches.meta").write_bytes(py2_pickle({"label_names": [f"class{j}" for j in range(10)],
                                                 "num_cases_per_batch": sizes[0], "num_vis": 3072}))
    return d


def at_experiment(reduced: bool) -> dict:
    """Part (c)'s experiment: the paper's CIFAR-10 data split, model, pretraining optimiser and
    adversarial-training section (cifar10_preact18.yaml: batch 128, BI ε=4 α=1 10 iterations, crop 4
    + flips, predicted labels), one pretraining epoch; the analysis sections are the smoke
    experiment's (never run here, kept so that the config validates). Reduced: the smoke experiment's
    300/60/200 images, and width 8 (the narrowest width oneDNN runs safely in channels_last on
    AVX2 CPUs)."""
    import yaml

    load = lambda n: yaml.safe_load((ROOT / "config" / "experiments" / f"{n}.yaml").read_text())  # noqa: E731
    smoke, paper = load("smoke"), load("cifar10_preact18")
    exp = copy.deepcopy(smoke)
    exp.update(name=AT_EXP, seed=paper["seed"], dataset=copy.deepcopy(paper["dataset"]),
               model=copy.deepcopy(paper["model"]), pretrain=copy.deepcopy(paper["pretrain"]),
               adv_train=copy.deepcopy(paper["adv_train"]))
    exp["dataset"]["download"] = False
    exp["pretrain"]["epochs"] = 1
    exp["adv_train"]["epochs"] = smoke["adv_train"]["epochs"]  # the analyses name epoch 3; only epoch 1 is built
    if reduced:  # the smoke experiment's split sizes: its sample sets fit them
        exp["dataset"]["splits"] = {k: {"source": "test" if k == "test" else "train", "n": v["n"]}
                                    for k, v in smoke["dataset"]["splits"].items()}
        exp["model"]["width"] = 8
    return exp


# name -> (runtime overrides of config/config.yaml, SGD batch override or None). In priority order:
# when the time budget runs out, the later ones are skipped. None of them changes the science but
# the last (a 4× larger SGD batch is a different optimisation: reference only).
VARIANTS = {
    "as configured": ({}, None),
    "bf16 attack": ({"attack_amp": True}, None),
    "bf16 attack + update": ({"amp": True}, None),
    "bf16 attack + update, compiled, CUDA graphs": ({"amp": True, "compile": True, "compile_mode": "reduce-overhead"},
                                                    None),
    "fp32 NCHW": ({"channels_last": False}, None),
    "bf16 attack, compiled, CUDA graphs": ({"attack_amp": True, "compile": True, "compile_mode": "reduce-overhead"}, None),
    "fp32, compiled, CUDA graphs": ({"compile": True, "compile_mode": "reduce-overhead"}, None),
    "bf16 attack, compiled": ({"attack_amp": True, "compile": True}, None),
    "bf16 attack + update, compiled, CUDA graphs, SGD batch ×4": (
        {"amp": True, "compile": True, "compile_mode": "reduce-overhead"}, 4),
}
CUDA_ONLY = ("amp", "attack_amp")  # no-ops on the CPU: such variants are skipped there


def subset(data: dict, n: int) -> dict:
    return dict(data, train_x=data["train_x"][:n], train_y=data["train_y"][:n])


class EpochLog(logging.Handler):
    """Keeps the elapsed seconds of Progress's last 'adversarial epoch' line (the job log's measure)."""

    def __init__(self):
        super().__init__()
        self.elapsed = float("nan")

    def emit(self, record: logging.LogRecord) -> None:
        a = record.args
        if isinstance(a, tuple) and len(a) == 9 and str(a[0]).startswith("adversarial epoch") and a[1] == a[2]:
            self.elapsed = float(a[7])


def timed_sizes(n_train: int, batch: int, timed: int) -> tuple[int, int]:
    """(warm-up images, timed images): both end in a last batch of the full epoch's size
    (45000 mod batch), so the warm-up meets every batch shape (cuDNN autotuning, compiles, CUDA
    graphs) before the timed run."""
    r = EPOCH_IMAGES % batch if n_train >= EPOCH_IMAGES else n_train % batch
    warm = min(n_train, 2 * batch + r)
    k = max(1, (min(timed, n_train) - r) // batch)
    return warm, min(n_train, k * batch + r)


def bf16_agreement(model, x, y, attack: dict, device) -> dict:
    """BI as adversarial training runs it (predicted labels), fp32 against bf16 autocast: how many
    perturbation signs agree, how many δ elements are equal, how many predicted labels agree, and
    the adversarial accuracy (fp32 model, true labels) under each. On the CPU this is the CPU's
    bf16 autocast, not the GPU's kernels."""
    import torch

    from advtrace import attacks
    from advtrace.config import attack_kwargs

    kw = attack_kwargs(attack)
    out = {}
    for prec in ("fp32", "bf16"):
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if prec == "bf16" else torch.autocast(
            device.type, enabled=False)
        with ctx:
            y_att = attacks.predict(model, x)
            delta = attacks.run_attack(model, x, y_att, **kw)
        with torch.no_grad():
            pred = attacks.predict(model, x + delta)
        out[prec] = (y_att, delta, pred)
    (l32, d32, p32), (l16, d16, p16) = out["fp32"], out["bf16"]
    clean = attacks.predict(model, x)
    return {
        "bf16_sign_agreement": float((d16.sign() == d32.sign()).float().mean()),
        "bf16_delta_equal": float((d16 == d32).float().mean()),
        "bf16_label_agreement": float((l16 == l32).float().mean()),
        "bf16_adv_pred_agreement": float((p16 == p32).float().mean()),
        "clean_acc": float((clean == y).float().mean()),
        "adv_acc_fp32": float((p32 == y).float().mean()),
        "adv_acc_bf16": float((p16 == y).float().mean()),
        "bf16_delta_dtype": str(d16.dtype),
        "max_abs_delta_bf16_over_eps": float(d16.abs().max() / kw["eps"]),
    }


def cmd_at_epoch(args) -> int:
    from dataclasses import asdict

    import pandas as pd
    import torch

    import bench_measure as M
    from advtrace import training
    from advtrace.checkpoints import load_checkpoint
    from advtrace.config import load_schema, validate_experiment
    from advtrace.data import load_dataset, prepare_dataset
    from advtrace.runtime import RuntimeOptions, configure_runtime, setup_job
    from advtrace.workdir import copy_workflow, write_exp

    t0, load0 = time.time(), os.getloadavg()[0]
    start = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu" and not args.reduced:
        say("no CUDA device: part (c) at full size needs a GPU (use --reduced to validate on the CPU)")
        return 2
    base = base_options()
    rows: list[dict] = []
    detail: dict = {"device": str(device), "base_options": asdict(base), "variants": {}}

    def flush() -> None:
        write_rows([dict(r) for r in rows], "at_epoch", args, device, base, t0, load0)
        (args.out / "at_epoch.json").write_text(json.dumps(detail, indent=1, default=str))

    # 1. fabricated CIFAR-10 files -> the real prepare_dataset (torchvision's reader, MD5 check off)
    exp = at_experiment(args.reduced)
    validate_experiment(exp, load_schema(ROOT / "config" / "schema.yaml"), expected_name=AT_EXP)
    wd = copy_workflow(args.work / "at" / "wf")
    write_exp(wd, AT_EXP, exp)
    splits = exp["dataset"]["splits"]
    n_src_train = splits["train"]["n"] + splits["val"]["n"]
    s = time.perf_counter()
    fabricate_cifar10(wd / "resources" / "datasets", n_src_train, splits["test"]["n"])
    from torchvision.datasets import cifar as tv_cifar

    tv_cifar.check_integrity = lambda fpath, md5=None: os.path.isfile(fpath)  # fabricated files: no official MD5
    dataset_pt = wd / "results" / AT_EXP / "data" / "dataset.pt"
    prepare_dataset(exp["dataset"], exp["seed"], dataset_pt, root=wd / "resources" / "datasets")
    detail["fabricate_prepare_s"] = time.perf_counter() - s
    say(f"fabricated {n_src_train} + {splits['test']['n']} CIFAR-10-format images and prepared {dataset_pt} "
        f"in {detail['fabricate_prepare_s']:.1f} s")

    # 2. the real pretrain and adv_train_epoch jobs through Snakemake (runtime switches as configured)
    ckpt = lambda t: wd / "results" / AT_EXP / "runs" / "main" / "checkpoints" / f"epoch_{t:03d}.pt"  # noqa: E731
    cmd = snakemake_cmd(args.threads or os.cpu_count() or 1, [str(ckpt(1).relative_to(wd)), "--allowed-rules", "pretrain",
                        "adv_train_epoch"], [f"experiments=[{AT_EXP}]", *args.job_config])
    log = args.work / "at" / "snakemake.log"
    say(f"real jobs in {wd}: {shlex.join(cmd)}")
    rc, wall = run_logged(cmd, wd, log, timeout=args.job_timeout_s)
    job_log = wd / "results" / AT_EXP / "runs" / "main" / "logs" / "adv_train_epoch" / "001.log"
    m = PROGRESS_END.search(tail(job_log, 100000))
    bench_tsv = wd / "results" / AT_EXP / "runs" / "main" / "benchmarks" / "adv_train_epoch" / "001.tsv"
    job_s = float(pd.read_csv(bench_tsv, sep="\t")["s"].iloc[0]) if bench_tsv.exists() else float("nan")
    n_train = splits["train"]["n"]
    bs = exp["adv_train"]["batch_size"]
    detail["job"] = {"rc": rc, "snakemake_wall_s": wall, "job_s": job_s, "job_log_tail": tail(job_log, 3000),
                     "snakemake_log_tail": tail(log, 3000) if rc else ""}
    if rc != 0 or m is None:
        say(f"the real jobs FAILED (exit {rc}); snakemake log {log}:\n{tail(log)}\njob log:\n{tail(job_log)}")
        rows.append({"section": "at_epoch", "model": "cifar10", "name": "adv_train_epoch job (real, via Snakemake)",
                     "variant": "job", "batch_size": bs, "note": f"FAILED: exit {rc}; see at_epoch.json"})
    else:
        epoch_s = float(m.group(3))
        value = epoch_s * EPOCH_IMAGES / n_train
        rows.append({"section": "at_epoch", "model": "cifar10", "name": "adv_train_epoch job (real, via Snakemake)",
                     "variant": "job", "batch_size": bs, "images": n_train, "repeats": 1, "min_s": epoch_s,
                     "median_s": epoch_s, "max_s": epoch_s, "img_per_s": n_train / epoch_s, "value": value,
                     "warmup_s": job_s - epoch_s if job_s == job_s else float("nan"),
                     "unit": "seconds per 45000-image epoch",
                     "note": f"the job's own Progress line; whole job {job_s:.1f} s (start-up, data, model, checkpoint "
                             f"in the warm-up column); switches as configured {' '.join(args.job_config)}".strip()})
        rows.append({"section": "ratio", "model": "cifar10", **M.target_row(
            "adv_epoch_45k_s", value, batch_size=bs, images=n_train,
            note="real adv_train_epoch job as configured" + ("" if n_train == EPOCH_IMAGES else
                                                            f"; extrapolated from {n_train} images (reduced)"))})
        say(f"real adv_train_epoch job: epoch {epoch_s:.2f} s for {n_train} images (→ {value:.2f} s per 45000), "
            f"job {job_s:.1f} s, snakemake {wall:.1f} s")
    flush()
    job_failed = rc != 0 or m is None
    setup_job(torch.get_num_threads(), device.type, runtime=asdict(base))  # as a job starts (cuDNN autotuning on)
    data = load_dataset(dataset_pt)
    if not ckpt(0).exists():  # e.g. no Snakemake here: the same function the pretrain job calls, in-process
        say("no epoch_000.pt from the pretrain job: falling back to training.pretrain in-process, so that the "
            "in-process settings and the agreement still run")
        training.pretrain(data, exp, device, ckpt(0))

    # 3. bf16 vs fp32 perturbations on the pretrained (and, if there, the adversarially trained) model
    n_agree = min(len(data["test_y"]), 64 if args.reduced else 1024)
    x = data["test_x"][:n_agree].to(device).float().div_(255.0)
    y = data["test_y"][:n_agree].to(device)
    for t in (0, 1):
        if not ckpt(t).exists():
            continue
        try:
            model = load_checkpoint(ckpt(t), device)
            agree = bf16_agreement(model, x, y, exp["adv_train"]["attack"], device)
        except Exception as err:  # noqa: BLE001 - reported, the other steps go on
            say(f"bf16 agreement on epoch {t} FAILED: {type(err).__name__}: {err}")
            detail[f"agreement_epoch_{t}"] = f"FAILED: {type(err).__name__}: {err}"
            continue
        detail[f"agreement_epoch_{t}"] = agree
        say(f"bf16 vs fp32 BI-10 on epoch {t} ({n_agree} test images): {agree}")
        where = "CUDA bf16 autocast" if device.type == "cuda" else "CPU bf16 autocast (not the GPU's kernels)"
        for k, v in agree.items():
            if isinstance(v, float):
                rows.append({"section": "check", "model": "cifar10", "name": f"{k} (epoch {t})", "value": v,
                             "images": n_agree, "note": f"BI-10 as in adversarial training, {n_agree} fabricated "
                                                       f"test images, {where}"})
    flush()

    # 4. the same epoch in-process, once per runtime setting (steady state: warm-up run first)
    epoch_log = EpochLog()
    logging.getLogger("advtrace").addHandler(epoch_log)
    wanted = [v for v in (args.variants or VARIANTS) if v in VARIANTS]
    base_value = float("nan")
    for vname in wanted:
        overrides, batch_factor = VARIANTS[vname]
        note = "changes the science (SGD batch): reference only" if batch_factor else ""
        skip = None
        if device.type == "cpu" and any(overrides.get(k) for k in CUDA_ONLY):
            skip = "bf16 autocast is CUDA-only (a no-op on the CPU)"
        elif device.type == "cpu" and overrides.get("compile") and not args.variants:
            skip = "cold torch.compile is too slow for the CPU validation run (name it in GPU_CHECK_VARIANTS to run it)"
        elif time.perf_counter() - start + (0 if args.reduced else 120 if overrides.get("compile") else 20) > args.budget_s:
            skip = f"time budget ({args.budget_s:.0f} s) spent (a compiled setting needs ~2 min, others ~20 s)"
        if skip:
            say(f"variant {vname!r}: skipped ({skip})")
            detail["variants"][vname] = {"skipped": skip}
            rows.append({"section": "at_epoch", "model": "cifar10", "name": vname, "variant": vname,
                         "note": f"skipped: {skip}"})
            continue
        opts = RuntimeOptions(**{**asdict(base), **overrides})
        vb = bs * (batch_factor or 1)
        exp_v = copy.deepcopy(exp)
        exp_v["adv_train"]["batch_size"] = vb
        n_warm, n_timed = timed_sizes(n_train, vb, args.timed_images)
        try:
            configure_runtime(opts)
            if opts.compile:
                torch._dynamo.reset()
            s = time.perf_counter()
            training.adv_train_epoch(ckpt(0), subset(data, n_warm), exp_v, 1, device, args.work / "at" / "v.pt")
            if device.type == "cuda":
                torch.cuda.synchronize()
            warm_s = time.perf_counter() - s
            epoch_log.elapsed = float("nan")
            s = time.perf_counter()
            training.adv_train_epoch(ckpt(0), subset(data, n_timed), exp_v, 1, device, args.work / "at" / "v.pt")
            if device.type == "cuda":
                torch.cuda.synchronize()
            call_s = time.perf_counter() - s
        except Exception as err:  # noqa: BLE001 - one failing setting must not end the others
            msg = f"{type(err).__name__}: {str(err)[:300]}"
            say(f"variant {vname!r} FAILED: {msg}")
            detail["variants"][vname] = {"failed": msg, "options": asdict(opts)}
            rows.append({"section": "at_epoch", "model": "cifar10", "name": vname, "variant": vname,
                         "batch_size": vb, "note": f"FAILED: {msg}"})
            flush()
            continue
        finally:
            configure_runtime(base)
        epoch_s = epoch_log.elapsed
        value = epoch_s * EPOCH_IMAGES / n_timed
        if vname == "as configured":
            base_value = value
        detail["variants"][vname] = {"options": asdict(opts), "batch": vb, "warmup_images": n_warm,
                                     "warmup_call_s": warm_s, "timed_images": n_timed, "epoch_s": epoch_s,
                                     "call_s": call_s, "epoch_45000_s": value}
        say(f"variant {vname!r}: {epoch_s:.3f} s for {n_timed} images → {value:.2f} s per 45000 "
            f"(warm-up {warm_s:.1f} s, call {call_s:.2f} s){' — ' + note if note else ''}")
        rows.append({"section": "at_epoch", "model": "cifar10", "name": vname, "variant": vname, "batch_size": vb,
                     "images": n_timed, "repeats": 1, "min_s": epoch_s, "median_s": epoch_s, "max_s": epoch_s,
                     "img_per_s": n_timed / epoch_s, "value": value, "warmup_s": warm_s,
                     "unit": "seconds per 45000-image epoch", "note": note})
        flush()
    same_science = [r for r in rows if r["section"] == "at_epoch" and r.get("variant") in VARIANTS
                    and isinstance(r.get("value"), float) and r["value"] == r["value"]
                    and not VARIANTS[r["variant"]][1]]
    if same_science:
        best = min(same_science, key=lambda r: r["value"])
        rows.append({"section": "ratio", "model": "cifar10", **M.target_row(
            "adv_epoch_45k_s", best["value"], batch_size=best["batch_size"], images=best["images"],
            note=f"fastest science-preserving setting: {best['variant']} (in-process, warm)"
                 + (f"; {base_value / best['value']:.2f}× as configured" if base_value == base_value else ""))})
        say(f"fastest science-preserving setting: {best['variant']!r}, {best['value']:.2f} s per 45000-image epoch "
            f"(target ≤ 5 s on one H200)")
    flush()
    say(f"wrote {result_table(args.out, device, args.reduced)} and {args.out / 'at_epoch.json'}")
    if job_failed:
        say("the real adv_train_epoch job FAILED (see above); the in-process results are kept")
    return 1 if job_failed else 0


# --------------------------------------------------------------------------- summary

def cmd_summary(args) -> int:
    """summary.json: every step's status (steps.tsv) and the headline numbers of the result table."""
    import pandas as pd

    steps = []
    if (args.out / "steps.tsv").exists():
        for line in (args.out / "steps.tsv").read_text().splitlines():
            name, status, secs, msg = (line.split("\t") + ["", "", "", ""])[:4]
            steps.append({"step": name, "status": status, "seconds": float(secs or "nan"), "message": msg})
    headline = {}
    for table in sorted((args.out / "results").glob("*.parquet")):
        df = pd.read_parquet(table)
        for _, r in df[df["section"] == "ratio"].iterrows():
            headline[f"{r['model']}/{r['name']}" + (f" ({r['note']})" if r["note"] else "")] = {
                "value": r["value"], "target": f"{r['target_op']} {r['target']}", "meets": r["meets"]}
    summary = {"steps": steps, "headline": headline,
               "results": sorted({"summary.json", *(str(p.relative_to(args.out)) for p in args.out.rglob("*")
                                                    if p.is_file())})}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print("\n=== gpu_check summary ===")
    for s in steps:
        print(f"  {s['step']:<10} {s['status']:<8} {s['seconds']:7.1f} s  {s['message']}")
    for k, v in headline.items():
        verdict = "–" if v["meets"] is pd.NA or v["meets"] is None else ("meets" if v["meets"] else "MISSES")
        print(f"  {k}: {v['value']:.4g} (target {v['target']}: {verdict})")
    print(f"  results in {args.out}: {', '.join(summary['results'])}")
    return 0


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("prepare-wheels", help="download the wheels to carry (CPU machine with PyPI)")
    w.add_argument("--dest", type=Path, default=ROOT / ".whl")
    w.add_argument("--python-version", default="3.12", help="the GPU image's Python (default 3.12)")
    i = sub.add_parser("install-wheels", help="install the carried wheels this Python lacks (offline)")
    i.add_argument("--wheels", type=Path, default=ROOT / ".whl")
    i.add_argument("--target", type=Path, required=True)
    i.add_argument("--all", action="store_true", help="install every carried wheel, also those already present")
    for name in ("smoke", "at-epoch", "summary"):
        s = sub.add_parser(name)
        s.add_argument("--out", type=Path, required=True, help="results folder ($OUT)")
        s.add_argument("--work", type=Path, default=None, help="scratch folder (workflow copies, data)")
        s.add_argument("--reduced", action="store_true", help="tiny sizes (CPU validation, CI)")
        s.add_argument("--note", default="", help="free text stored with the results")
        s.add_argument("--budget-s", type=float, default=240.0, help="time budget of the step (seconds)")
        s.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    a = sub.choices["at-epoch"]
    a.add_argument("--timed-images", type=int, default=12800, help="images per timed in-process epoch (default 12800)")
    a.add_argument("--job-timeout-s", type=float, default=180.0, help="limit of the real jobs' Snakemake run")
    a.add_argument("--job-config", nargs="*", default=[], help="extra --config words for the real job (e.g. amp=true)")
    a.add_argument("--variants", type=lambda v: [x.strip() for x in v.split(",") if x.strip()], default=None,
                   help=f"comma-separated subset of the in-process settings: {', '.join(VARIANTS)}")
    args = p.parse_args(argv)
    if args.cmd == "prepare-wheels":
        return prepare_wheels(args.dest, args.python_version)
    if args.cmd == "install-wheels":
        return install_wheels(args.wheels, args.target, args.all)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.cmd == "summary":
        return cmd_summary(args)
    import torch

    from advtrace.runtime import tune_allocator

    tune_allocator()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.work is None:
        import tempfile

        args.work = Path(tempfile.mkdtemp(prefix="advtrace-gpu-check-"))
    args.work.mkdir(parents=True, exist_ok=True)
    if args.reduced and getattr(args, "timed_images", None) == 12800:
        args.timed_images = 10**9  # reduced: time the whole (tiny) training split
    return {"smoke": cmd_smoke, "at-epoch": cmd_at_epoch}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
