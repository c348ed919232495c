"""advtrace benchmarks: attack and training throughput against the physical limit and against
torchattacks, transfer-evaluation throughput, workflow overheads, and a paper-scale projection.

    python bench/run_bench.py [--device auto|cpu|cuda] [--quick] [--parts attack,train,...]

Writes bench/results/<device>.parquet (rows of the parts measured replace that file's rows of the
same parts) and regenerates BENCHMARKS.md from every table in bench/results/. Prints one line per
measurement. Never run as a test: tests/test_bench.py checks the helpers without timing anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src")]

import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

import bench_measure as M  # noqa: E402
import bench_report as report  # noqa: E402
from advtrace.runtime import (COMPILE_MODES, RuntimeOptions, configure_runtime, resolve_device,  # noqa: E402
                              tune_allocator)

PARTS = ("attack", "train", "transfer", "switches", "workflow")

# Sizes per (device kind, quick). "cifar_batch" is the attack / training batch of the CIFAR-10 model
# (paper: 128); training epochs are measured over `*_train_batches` batches (a full digits epoch is
# 18 batches of 64) and extrapolated to 45000 images in the projection.
SETTINGS = {
    ("cpu", True): dict(warmup=1, repeats=1, cifar_batch=16, digits_train_batches=4, cifar10_train_batches=1,
                        digits_transfer_batch=512, cifar10_transfer_batch=64, wf_warmup=1, wf_repeats=1),
    ("cpu", False): dict(warmup=1, repeats=5, cifar_batch=128, digits_train_batches=18, cifar10_train_batches=2,
                         digits_transfer_batch=1024, cifar10_transfer_batch=256, wf_warmup=1, wf_repeats=3),
    ("cuda", True): dict(warmup=2, repeats=3, cifar_batch=128, digits_train_batches=18, cifar10_train_batches=10,
                         digits_transfer_batch=8192, cifar10_transfer_batch=2048, wf_warmup=1, wf_repeats=1),
    ("cuda", False): dict(warmup=3, repeats=10, cifar_batch=128, digits_train_batches=18, cifar10_train_batches=40,
                          digits_transfer_batch=16384, cifar10_transfer_batch=4096, wf_warmup=1, wf_repeats=3),
}


def parse_args(argv=None) -> argparse.Namespace:
    top = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto = CUDA when present")
    p.add_argument("--quick", action="store_true", help="reduced sizes and repeats (validation, ≤ 2 min on a quiet CPU)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--models", default="digits,cifar10", help="comma-separated subset of digits,cifar10")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: os.cpu_count())")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default per device/mode)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up runs (default per device/mode)")
    p.add_argument("--amp", choices=["true", "false"], default=str(top.get("amp", False)).lower(),
                   help="bf16 autocast in training (CUDA); default from config/config.yaml")
    p.add_argument("--channels-last", choices=["auto", "true", "false"],
                   default=str(top.get("channels_last", "auto")).lower(), help="default from config/config.yaml")
    p.add_argument("--compile", choices=["true", "false"], default=str(top.get("compile", False)).lower(),
                   help="torch.compile the models; default from config/config.yaml")
    p.add_argument("--attack-amp", choices=["true", "false"], default=str(top.get("attack_amp", False)).lower(),
                   help="bf16 autocast of the adversary in adversarial training (CUDA); default from config/config.yaml")
    p.add_argument("--compile-mode", choices=list(COMPILE_MODES), default=top.get("compile_mode", "default"),
                   help="torch.compile mode when --compile true; default from config/config.yaml")
    p.add_argument("--no-compile-variant", action="store_true",
                   help="skip the torch.compile variant of the switches part (saves the cold compiles)")
    p.add_argument("--note", default="", help="free text stored with the results (e.g. 'shared machine, 5 jobs running')")
    p.add_argument("--out", type=Path, default=HERE / "results", help="directory of the result tables")
    p.add_argument("--report-only", action="store_true", help="only regenerate BENCHMARKS.md from bench/results/")
    p.add_argument("--import", dest="import_tables", nargs="+", type=Path, default=[], metavar="TABLE",
                   help="merge result tables measured elsewhere (e.g. on a GPU machine) into --out, by file name, "
                        "then regenerate BENCHMARKS.md")
    args = p.parse_args(argv)
    args.parts = [x for x in args.parts.split(",") if x]
    args.models = [x for x in args.models.split(",") if x]
    bad = sorted(set(args.parts) - set(PARTS)) + sorted(set(args.models) - {"digits", "cifar10"})
    if bad:
        p.error(f"unknown parts/models {bad}; allowed parts: {', '.join(PARTS)}; models: digits, cifar10")
    return args


def _bool(v: str):
    return {"true": True, "false": False}.get(v, v)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def git_commit() -> str:
    """Short commit of the tree (+dirty); ADVTRACE_GIT_COMMIT overrides it (a copy without .git, e.g. on a
    GPU machine that received the working tree only)."""
    if os.environ.get("ADVTRACE_GIT_COMMIT"):
        return os.environ["ADVTRACE_GIT_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "bench/bench_measure.py", "bench/run_bench.py",
                                "rules", "workflow", "config"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def torchattacks_version() -> str:
    try:
        import torchattacks

        return torchattacks.__version__
    except ImportError:
        return "not installed"


def say(model: str, row: dict) -> None:
    """One summary line per measurement."""
    if row.get("section") == "ratio":
        v, op, thr = row["value"], row["target_op"], row["target"]
        verdict = "meets" if row["meets"] else ("n/a" if v != v else "MISSES")
        print(f"[{model:8s}] {row['name']:28s} = {v:.4g}  (target {op} {thr:g}: {verdict})"
              + (f"  {row['note']}" if row.get("note") else ""), flush=True)
    elif row.get("section") == "check":
        print(f"[{model:8s}] {row['name']:28s} = {row['value']:.4g}  ({row['note']})", flush=True)
    elif "median_s" in row:
        ips = row.get("img_per_s", float("nan"))
        extra = f", {ips:,.0f} img/s" if ips == ips else ""
        speed = f", speed-up {row['value']:.3f}" if row.get("section") == "switch" else ""
        print(f"[{model:8s}] {row['name']:28s} median {row['median_s']:.4g} s (min {row['min_s']:.4g}, "
              f"max {row['max_s']:.4g}, n={row['repeats']}, warm-up {row['warmup_s']:.3g} s){extra}{speed}", flush=True)
    else:
        print(f"[{model:8s}] {row['name']}: {row.get('note', '')}", flush=True)


def switch_variants(device: torch.device, skip_compile: bool, quick: bool) -> dict[str, RuntimeOptions]:
    base = RuntimeOptions(amp=False, channels_last=False, compile=False)
    v = {"fp32 NCHW": base, "fp32 channels_last": replace(base, channels_last=True)}
    if device.type == "cuda":
        v["fp32 channels_last, bf16 attack"] = replace(base, channels_last=True, attack_amp=True)
        v["bf16 channels_last"] = replace(base, amp=True, channels_last=True)
        if not (skip_compile or quick):
            v["bf16 channels_last compile"] = replace(base, amp=True, channels_last=True, compile=True)
            v["bf16 channels_last compile reduce-overhead"] = replace(
                base, amp=True, channels_last=True, compile=True, compile_mode="reduce-overhead")
    return v


def run_meta(device: torch.device, name: str, options: RuntimeOptions, threads: int, tuned: bool, quick: bool,
             note: str, command: str) -> dict:
    """The columns every result row carries (report.META): where, with what, and how it was measured."""
    return {
        "device_kind": device.type, "device_name": name, "mode": "quick" if quick else "full",
        "torch": torch.__version__, "torchattacks": torchattacks_version(), "python": platform.python_version(),
        "threads": threads, "allocator_tuned": tuned, "amp": str(options.amp),
        "channels_last": str(options.channels_last), "compile": str(options.compile),
        "attack_amp": str(options.attack_amp), "compile_mode": options.compile_mode, "git_commit": git_commit(),
        "run_note": note, "command": command,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    report_path = report.REPORT if args.out.resolve() == (HERE / "results").resolve() else args.out / "BENCHMARKS.md"
    if args.import_tables:
        args.out.mkdir(parents=True, exist_ok=True)
        for table in args.import_tables:
            print(f"merged {table} into {merge_table(pd.read_parquet(table), args.out / table.name)}")
    if args.report_only or args.import_tables:
        print(f"wrote {report.write_report(args.out, report_path)}")
        return 0
    tuned = tune_allocator()
    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as setup_job does for every job
    options = configure_runtime({"amp": _bool(args.amp), "channels_last": _bool(args.channels_last),
                                 "compile": _bool(args.compile), "attack_amp": _bool(args.attack_amp),
                                 "compile_mode": args.compile_mode})
    st = dict(SETTINGS[(device.type, args.quick)])
    if args.warmup is not None:
        st["warmup"] = st["wf_warmup"] = args.warmup
    if args.repeats is not None:
        st["repeats"] = st["wf_repeats"] = args.repeats
    name = device_name(device)
    print(f"device {device} ({name}), {threads} threads, allocator tuned: {tuned}, runtime {asdict(options)}, "
          f"torch {torch.__version__}, mode {'quick' if args.quick else 'full'}", flush=True)

    base_exp = yaml.safe_load((ROOT / "config" / "experiments" / "digits.yaml").read_text())
    wls = M.workloads(base_exp, cifar_batch=st["cifar_batch"])
    clock = M.Clock(device)
    meta_base = run_meta(device, name, options, threads, tuned, args.quick, args.note,
                         shlex.join(["python", "bench/run_bench.py", *(sys.argv[1:] if argv is None else argv)]))
    written: list[Path] = []

    def run_part(part: str, fn) -> None:
        """Measure one part and write its rows at once (a later failure keeps the earlier parts)."""
        load0 = os.getloadavg()[0]
        date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        t0 = time.perf_counter()
        new = fn()
        load1 = os.getloadavg()[0]
        for r in new:
            r.update(meta_base, part=part, date=date, load_before=load0, load_after=load1)
        written.append(write_results(new, args.out, device, name, args.quick))
        print(f"--- {part}: {time.perf_counter() - t0:.1f} s, wrote {written[-1]}", flush=True)

    def per_model(fn):
        def go() -> list[dict]:
            out = []
            for key in args.models:
                timings, ratios = fn(wls[key])
                for r in timings:
                    r.update(section=r.get("section", "timing"), model=key)
                    say(key, r)
                for r in ratios:
                    r.update(section="ratio", model=key)
                    say(key, r)
                out += timings + ratios
            return out
        return go

    if "attack" in args.parts:
        run_part("attack", per_model(lambda w: M.attack_benchmark(
            w, device, options, clock, w.adv["batch_size"], st["warmup"], st["repeats"])))
    if "train" in args.parts:
        run_part("train", per_model(lambda w: M.train_benchmark(
            w, device, options, clock, st[f"{w.key}_train_batches"], st["warmup"], st["repeats"])))
    if "transfer" in args.parts:
        run_part("transfer", per_model(lambda w: M.transfer_benchmark(
            w, device, options, clock, st[f"{w.key}_transfer_batch"], st["warmup"], st["repeats"])))
    if "switches" in args.parts:
        variants = switch_variants(device, args.no_compile_variant, args.quick)

        def switches(w):
            rows_ = M.switch_benchmark(w, device, clock, w.adv["batch_size"], variants, st["warmup"], st["repeats"])
            for r in rows_:
                r["section"] = "switch"
            return rows_, []

        run_part("switches", per_model(switches))
    if "workflow" in args.parts:
        def workflow() -> list[dict]:
            out = []
            with tempfile.TemporaryDirectory(prefix="advtrace-bench-") as tmp:
                dag_t, dag_r, work = M.dag_benchmark(Path(tmp), st["wf_warmup"], st["wf_repeats"])
                for x in work:
                    x.update(section="work", model="workflow")
                    print(f"[work    ] {x['name']:<58} {x['note']}", flush=True)
                out += work
                for t, r in ((dag_t, dag_r),
                             M.rerender_benchmark(Path(tmp), st["wf_warmup"], st["wf_repeats"], args.quick),
                             (M.job_startup_benchmark(st["wf_warmup"], st["wf_repeats"]), [])):
                    for x in t:
                        x.update(section="timing", model="workflow")
                        say("workflow", x)
                    for x in r:
                        x.update(section="ratio", model="workflow")
                        say("workflow", x)
                    out += t + r
            return out

        run_part("workflow", workflow)

    if not written:
        print("nothing measured")
        return 1
    for p in report.projection(pd.read_parquet(written[-1])):
        print(f"[project ] {p['component']:55s} {report._fmt_s(p['seconds']):>10s}  ({p['basis']})")
    print(f"wrote {report.write_report(args.out, report_path)}")
    return 0


COLUMNS = ["part", "section", "model", "name", "batch_size", "n_batches", "images", "repeats", "min_s", "median_s",
           "max_s", "img_per_s", "warmup_s", "value", "unit", "target", "target_op", "meets", "variant", "note",
           *report.WORK_UNITS.values()] + report.META


def result_path(out_dir: Path, device: torch.device, name: str, quick: bool) -> Path:
    """<out_dir>/<device>.parquet: cuda-<gpu name> or cpu-<threads>t-<cpu name>, -quick for reduced runs."""
    stem = device.type if device.type == "cuda" else f"cpu-{torch.get_num_threads()}t"
    return out_dir / (f"{stem}-{slug(name)}" + ("-quick" if quick else "") + ".parquet")


def write_results(rows: list[dict], out_dir: Path, device: torch.device, name: str, quick: bool) -> Path:
    """Add rows to bench/results/<device>.parquet, replacing its rows of the same (part, model)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return merge_table(pd.DataFrame(rows).reindex(columns=COLUMNS), result_path(out_dir, device, name, quick))


def merge_table(df: pd.DataFrame, path: Path) -> Path:
    """Write `df` into the table at `path`, replacing the rows of the same (part, model) there."""
    if path.exists():
        old = pd.read_parquet(path)
        fresh = set(zip(df["part"], df["model"]))
        keep = [(pt, m) not in fresh for pt, m in zip(old["part"], old["model"])]
        df = pd.concat([old[keep], df], ignore_index=True)
    coerce(df.reindex(columns=COLUMNS)).to_parquet(path, index=False)
    return path


def coerce(df: pd.DataFrame) -> pd.DataFrame:
    ints = ["batch_size", "n_batches", "images", "repeats", "threads"]
    floats = ["min_s", "median_s", "max_s", "img_per_s", "warmup_s", "value", "target", "load_before", "load_after",
              *report.WORK_UNITS.values()]
    for c in ints:
        df[c] = pd.to_numeric(df[c]).astype("Int64")
    for c in floats:
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["meets"] = df["meets"].astype("boolean")
    df["allocator_tuned"] = df["allocator_tuned"].astype("boolean")
    for c in set(COLUMNS) - set(ints) - set(floats) - {"meets", "allocator_tuned"}:
        df[c] = df[c].astype("string").fillna("")
    return df


if __name__ == "__main__":
    sys.exit(main())
