"""The cost of a run before it starts, and how far that estimate was from a measured run.

    python -m advtrace.plan [--config experiments='[cifar10_preact18]'] [--gpu h100] [--remaining]
    python -m advtrace.plan --check results/digits [--gpu cpu] [--column s|cpu_time]
    python -m advtrace.plan --calibrate results/digits

**Plan.** Plans the workflow's DAG with a dry run (``snakemake -n --forceall``, every job of the
targets; ``--remaining``: only the jobs a run would still do) and prices every job with the work
model (:mod:`advtrace.workmodel`): per experiment, per study and per rule the jobs, GPU-hours on
the named GPU kind (the rules that declare ``gpu=1``), CPU-hours (the others, on the CPU kind),
the disk their outputs take, the largest host and GPU memory of one job, and the critical path:
the longest chain of dependent jobs, i.e. the wall time of the run on unlimited devices with no
queue wait.

**Check.** ``--check DIR`` compares the estimates with the benchmark tables a run wrote
(``DIR/benchmarks/**.tsv``, ``DIR`` = ``results/<experiment>`` of a finished or interrupted run;
the dry run of the same ``--config`` names each job's table), per rule: total estimated vs measured
seconds (column ``s``, wall, or ``cpu_time`` on a host shared with other work) and largest
estimated vs measured memory (``max_rss``). A rule whose jobs took ≥ 10 s in total and whose
estimate is off by more than 2× is flagged, and the exit status is 1. Compare on the device kind
the run used (``--gpu cpu`` for a CPU-only run).

**Calibrate.** ``--calibrate DIR`` fits the CPU entry's start-up term and memory constants to a
run's benchmark tables (see ``calibration.json``; the op costs come from
``bench/calibrate_workmodel.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import workmodel as W

ROOT = Path(__file__).resolve().parents[2]
FLAG_MIN_S = 10.0  # rules whose measured jobs total less are not flagged (start-up noise)
FLAG_RATIO = 2.0


# --------------------------------------------------------------------------- the dry run

@dataclass
class PlannedJob:
    rule: str
    jobid: int
    wildcards: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    benchmark: str | None = None
    resources: dict = field(default_factory=dict)
    local: bool = False

    @property
    def gpu(self) -> bool:
        return str(self.resources.get("gpu", "0")) not in ("0", "")


_RULE = re.compile(r"^\s*(local)?rule (\w+):\s*$")
_FIELD = re.compile(r"^\s+(input|output|wildcards|jobid|benchmark|resources|log): (.*)$")


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(", ") if p.strip()]


def parse_dry_run(stdout: str) -> list[PlannedJob]:
    """Every job block `snakemake -n` printed (rule, wildcards, inputs, outputs, benchmark, resources)."""
    jobs: list[PlannedJob] = []
    for line in stdout.splitlines():
        m = _RULE.match(line)
        if m:
            jobs.append(PlannedJob(m.group(2), -1, local=bool(m.group(1))))
            continue
        m = _FIELD.match(line)
        if not m or not jobs:
            continue
        key, val = m.groups()
        job = jobs[-1]
        if key == "input":
            job.inputs = _split_list(val)
        elif key == "output":
            job.outputs = _split_list(val)
            # a job's own benchmark table is an output (advtrace.jobusage); a `benchmark:` field wins
            job.benchmark = job.benchmark or next(
                (o for o in job.outputs if "/benchmarks/" in o and o.endswith(".tsv")), None)
        elif key == "wildcards":
            job.wildcards = dict(kv.split("=", 1) for kv in _split_list(val) if "=" in kv)
        elif key == "jobid":
            job.jobid = int(val)
        elif key == "benchmark":
            job.benchmark = val.strip()
        elif key == "resources":
            job.resources = dict(kv.split("=", 1) for kv in _split_list(val) if "=" in kv)
    return jobs


def dry_run(config_args: list[str], targets: list[str], remaining: bool = False, workdir: Path = ROOT,
            timeout: int = 900, profile: str | None = None) -> list[PlannedJob]:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", *targets]
    if profile:
        cmd += ["--profile", str(profile)]
    if not remaining:
        cmd.append("--forceall")
    if config_args:
        cmd += ["--config", *config_args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake dry run failed ({' '.join(cmd)}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return parse_dry_run(proc.stdout)


def load_config(config_args: list[str], workdir: Path = ROOT) -> dict:
    """config/config.yaml with the --config overrides, as the Snakefile sees it."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from .config import load_yaml

    cfg = load_yaml(workdir / "config" / "config.yaml")
    update_config(cfg, parse_config(config_args))
    return cfg


def experiments(cfg: dict, workdir: Path = ROOT):
    from .config import experiments as load, load_schema

    return load(cfg, load_schema(workdir / "config" / "schema.yaml"), workdir)


# --------------------------------------------------------------------------- pricing a plan

@dataclass
class Priced:
    job: PlannedJob
    est: W.Estimate | None
    exp: str
    study: str


def price(jobs: list[PlannedJob], cfg: dict, exps, gpu_kind: str, cpu_kind: str = "cpu") -> list[Priced]:
    out = []
    for j in jobs:
        exp = j.wildcards.get("exp", "")
        est = None
        if exp and W.rules().get(j.rule) is not None:
            est = W.job_estimate(j.rule, exps[exp], j.wildcards, cfg, gpu_kind if j.gpu else cpu_kind, gpu=j.gpu,
                                 cpu_kind=cpu_kind)
        study = W.study_of(j.rule) or "-"
        out.append(Priced(j, est, exp or "-", study))
    return out


def _dependencies(priced: list[Priced]) -> list[set[int]]:
    """For each job, the indices of the planned jobs that produce its inputs."""
    producer = {o: i for i, p in enumerate(priced) for o in p.job.outputs}
    return [{producer[f] for f in p.job.inputs if f in producer and producer[f] != i} for i, p in enumerate(priced)]


def critical_path(priced: list[Priced]) -> tuple[float, list[Priced]]:
    """The longest chain of dependent jobs by estimated seconds: (seconds, its jobs in order)."""
    deps = [sorted(d) for d in _dependencies(priced)]
    best: dict[int, tuple[float, int]] = {}

    def length(i: int) -> float:
        stack = [(i, False)]
        while stack:
            node, done = stack.pop()
            if node in best:
                continue
            if not done:
                stack.append((node, True))
                stack.extend((d, False) for d in deps[node] if d not in best)
                continue
            own = priced[node].est.seconds if priced[node].est is not None else 0.0
            prev = max(((best[d][0], d) for d in deps[node]), default=(0.0, -1))
            best[node] = (own + prev[0], prev[1])
        return best[i][0]

    if not priced:
        return 0.0, []
    end = max(range(len(priced)), key=length)
    chain, node = [], end
    while node != -1:
        chain.append(priced[node])
        node = best[node][1]
    return best[end][0], chain[::-1]


def list_schedule(priced: list[Priced], seconds: list[float], cores: int) -> float:
    """Makespan of the jobs on `cores` one-thread slots, each job `seconds[i]` long, started as soon as
    its inputs exist, the job with the longest remaining chain first (a list schedule): what a quiet
    host with that many cores takes for those job times."""
    import heapq  # noqa: PLC0415

    deps = _dependencies(priced)
    children: list[list[int]] = [[] for _ in priced]
    for i, ds in enumerate(deps):
        for d in ds:
            children[d].append(i)
    tail = [0.0] * len(priced)  # longest chain from a job to the end, itself included
    order, seen = [], [False] * len(priced)
    for start in range(len(priced)):  # iterative post-order over children
        stack = [(start, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if seen[node]:
                continue
            seen[node] = True
            stack.append((node, True))
            stack.extend((c, False) for c in children[node] if not seen[c])
    for node in order:
        tail[node] = seconds[node] + max((tail[c] for c in children[node]), default=0.0)
    waiting = [len(ds) for ds in deps]
    ready = [(-tail[i], i) for i in range(len(priced)) if waiting[i] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    now, free = 0.0, cores
    while ready or running:
        while ready and free:
            _, i = heapq.heappop(ready)
            heapq.heappush(running, (now + seconds[i], i))
            free -= 1
        now, i = heapq.heappop(running)
        free += 1
        for c in children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (-tail[c], c))
    return now


def _row(items: list[Priced]) -> dict:
    ests = [p.est for p in items if p.est is not None]
    s = W.summarise(ests)
    s["jobs"] = len(items)
    s["unpriced"] = len(items) - len(ests)
    return s


def _hours(h: float) -> str:
    if h == 0:
        return "0"
    if h < 0.1:
        return f"{h * 60:.1f} min"
    return f"{h:.1f} h" if h < 100 else f"{h:,.0f} h"


def _gb(gb: float) -> str:
    return "0" if gb == 0 else (f"{gb * 1e3:.0f} MB" if gb < 1 else f"{gb:.1f} GB")


def tables(priced: list[Priced], gpu_kind: str, cpu_kind: str = "cpu") -> str:
    """Markdown: per experiment a summary line, per study and per rule tables, the critical path."""
    lines = []
    by_exp: dict[str, list[Priced]] = defaultdict(list)
    for p in priced:
        if p.job.rule == "all" and not p.job.wildcards:
            continue
        by_exp[p.exp].append(p)
    head = (f"| {{}} | jobs | GPU-hours ({gpu_kind}) | CPU-hours ({cpu_kind}) | longest job | disk | peak host memory "
            "| peak GPU memory |\n|---|---:|---:|---:|---:|---:|---:|---:|")

    def line(name: str, r: dict) -> str:
        un = f" ({r['unpriced']} not priced)" if r["unpriced"] else ""
        return (f"| {name} | {r['jobs']}{un} | {_hours(r['gpu_hours'])} | {_hours(r['cpu_hours'])} | "
                f"{_hours(r['longest_h'])} | {_gb(r['disk_gb'])} | {_gb(r['peak_host_gb'])} | "
                f"{_gb(r['peak_device_gb'])} |")

    for exp in sorted(by_exp):
        items = by_exp[exp]
        total = _row(items)
        cp_s, chain = critical_path(items)
        lines.append(f"### {exp}\n")
        lines.append(head.format("study"))
        by_study: dict[str, list[Priced]] = defaultdict(list)
        for p in items:
            by_study[p.study].append(p)
        for study in sorted(by_study, key=lambda s: (s not in ("core",), s)):
            lines.append(line(study if study in ("core", "claims", "-") else f"paper {study}", _row(by_study[study])))
        lines.append(line("**total**", total))
        cap = W.device(gpu_kind).get("memory_gb")
        if cap and total["peak_device_gb"] > cap:
            lines.append(f"\n**Warning:** the largest job needs {_gb(total['peak_device_gb'])} of GPU memory, more than "
                         f"the {cap} GB of one {gpu_kind}: lower its chunk_size or batch_size.")
        counts: dict[str, int] = defaultdict(int)
        for p in chain:
            counts[p.job.rule] += 1
        path = ", ".join(f"{r} × {n}" if n > 1 else r for r, n in counts.items())
        lines.append(f"\nCritical path (unlimited devices, no queue wait): **{_hours(cp_s / 3600)}**: {path}.\n")
        lines.append(head.format("rule"))
        by_rule: dict[str, list[Priced]] = defaultdict(list)
        for p in items:
            by_rule[p.job.rule].append(p)
        for rule in sorted(by_rule, key=lambda r: -sum(p.est.seconds for p in by_rule[r] if p.est)):
            lines.append(line(rule, _row(by_rule[rule])))
        lines.append("")
    return "\n".join(lines)


def assumptions(gpu_kind: str, cpu_kind: str = "cpu") -> str:
    """Where the constants of the two device kinds come from (calibration.json)."""
    out = []
    for kind in dict.fromkeys([gpu_kind, cpu_kind]):
        d = W.device(kind)
        src = d.get("source", "?")
        what = d.get("measured", {}).get("what") if src == "measured" else d.get("assumptions")
        out.append(f"- **{kind}** ({src}): {what}")
        if d.get("measured", {}).get("host"):
            m = d["measured"]
            out.append(f"  measured on {m['host']}, {m['date']}, commit {m['commit']}, load average "
                       f"{m['load_average']}" + (f"; {m['note']}" if m.get("note") else ""))
        for key, note in (d.get("notes") or {}).items():
            out.append(f"  - {key}: {note}")
    return "\n".join(out)


# --------------------------------------------------------------------------- measured runs

def read_benchmark(path: Path) -> dict | None:
    """The last row of a benchmark TSV (Snakemake's columns: s, max_rss, cpu_time, ...; advtrace.jobusage) as
    floats (``NA`` cells left out)."""
    try:
        with open(path) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except OSError:
        return None
    if not rows:
        return None
    out = {}
    for k, v in rows[-1].items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def measured(priced: list[Priced], root: Path) -> list[tuple[Priced, dict]]:
    """(priced job, benchmark row) of every planned job whose table exists under `root`."""
    out = []
    for p in priced:
        if p.job.benchmark:
            row = read_benchmark(root / p.job.benchmark)
            if row is not None:
                out.append((p, row))
    return out


def check(pairs: list[tuple[Priced, dict]], column: str = "s") -> tuple[str, list[str]]:
    """Per rule: estimated vs measured seconds and memory; the rules flagged (≥ 10 s, > 2× off)."""
    by_rule: dict[str, list[tuple[Priced, dict]]] = defaultdict(list)
    for p, row in pairs:
        if p.est is not None:
            by_rule[p.job.rule].append((p, row))
    lines = [f"| rule | jobs | estimated s | measured s ({column}) | ratio | estimated peak memory | measured max_rss "
             "| ratio | flag |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    flagged = []
    for rule in sorted(by_rule, key=lambda r: -sum(row.get(column, 0) for _, row in by_rule[r])):
        items = by_rule[rule]
        est = sum(p.est.seconds for p, _ in items)
        meas = sum(row.get(column, 0.0) for _, row in items)
        ratio = est / meas if meas > 0 else math.inf
        mem_est = max(p.est.host_mb for p, _ in items)
        mem_meas = max(row.get("max_rss", 0.0) for _, row in items)
        mem_ratio = mem_est / mem_meas if mem_meas > 0 else math.inf
        flag = meas >= FLAG_MIN_S and not (1 / FLAG_RATIO <= ratio <= FLAG_RATIO)
        if flag:
            flagged.append(rule)
        lines.append(f"| {rule} | {len(items)} | {est:.1f} | {meas:.1f} | {ratio:.2f} | {mem_est:.0f} MB | "
                     f"{mem_meas:.0f} MB | {mem_ratio:.2f} | {'**off > 2×**' if flag else ''} |")
    tot_e = sum(p.est.seconds for p, _ in pairs if p.est is not None)
    tot_m = sum(row.get(column, 0.0) for p, row in pairs if p.est is not None)
    lines.append(f"| **all** | {sum(len(v) for v in by_rule.values())} | {tot_e:.1f} | {tot_m:.1f} | "
                 f"{tot_e / tot_m if tot_m else math.inf:.2f} | | | | |")
    return "\n".join(lines), flagged


def calibrate_startup(pairs: list[tuple[Priced, dict]], column: str = "cpu_time") -> dict:
    """Start-up seconds and memory constants of the CPU kind from a run's benchmark tables.

    start-up: median over torch jobs of (measured − estimated work − dataset load); base RSS:
    median max_rss of the jobs that train nothing, less what the memory model puts on top of the
    base; training overhead: median of the same excess over the jobs that train."""
    startup, train_startup, base, train = [], [], [], []
    d = W.device("cpu")
    for p, row in pairs:
        est = p.est
        if est is None or est.kind != "cpu" or W.rules()[p.job.rule].work is None:
            continue
        on_top = est.host_mb - d["base_rss_mb"]["torch"] - (d.get("train_rss_mb", 0.0) if est.trains else 0.0)
        fixed = d["startup_s"]["torch"] + (d.get("train_startup_s", 0.0) if est.trains else 0.0)
        (train_startup if est.trains else startup).append(row[column] - (est.seconds - fixed))
        (train if est.trains else base).append(row["max_rss"] - on_top)
    if not startup:
        raise SystemExit("no benchmark table of a priced CPU job that trains nothing found")
    base_rss = statistics.median(base)
    start = statistics.median(startup)
    return {"startup_torch_s": start, "train_startup_s": max(0.0, statistics.median(train_startup) - start)
            if train_startup else 0.0, "base_rss_torch_mb": base_rss,
            "train_rss_mb": (statistics.median(train) - base_rss) if train else 0.0, "jobs": len(startup) + len(train)}


def plain_job(repeats: int = 3) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of a light (table/plot) job's interpreter: Python with pandas,
    pyarrow, matplotlib and advtrace's tables and plotting (what those scripts import), drawing
    and saving one figure."""
    code = ("import advtrace.tables, advtrace.plotting, advtrace.runtime, io\n"
            "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(); ax.plot([0, 1]); fig.savefig(io.BytesIO(), format='png')\n"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg")
    times, rss = [], []
    for _ in range(repeats):
        before = os.times()
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
        after = os.times()
        times.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
        rss.append(float(out.split()[-1]) / 1024.0)  # VmHWM in kB (ru_maxrss would count the forked parent)
    return statistics.median(times), statistics.median(rss)


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m advtrace.plan", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("targets", nargs="*", help="Snakemake targets (default: the default target, all)")
    p.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE", help="as snakemake --config")
    p.add_argument("--gpu", help="GPU kind the gpu=1 rules are priced on (default: config cost.gpu); "
                                 "'cpu' prices them on the CPU, as a CPU-only run")
    p.add_argument("--remaining", action="store_true", help="only the jobs a run would still do")
    p.add_argument("--profile", help="a Snakemake profile for the dry run (e.g. profiles/slurm: the jobs and "
                                     "resources as that profile submits them)")
    p.add_argument("--check", metavar="DIR", type=Path,
                   help="compare with the benchmark tables under DIR (results/<exp>, or a directory holding results/)")
    p.add_argument("--column", default="s", choices=["s", "cpu_time"],
                   help="measured time column for --check and --calibrate (s: wall; cpu_time on a shared host)")
    p.add_argument("--calibrate", metavar="DIR", type=Path, help="fit the CPU start-up and memory constants to DIR")
    p.add_argument("--json", type=Path, help="also write every priced job as JSON here")
    p.add_argument("--workdir", type=Path, default=ROOT, help="the workflow (default: this repository)")
    p.add_argument("--docs", type=Path, metavar="FILE",
                   help="write the plan of every config in config/experiments to FILE (Markdown) and exit")
    args = p.parse_args(argv)
    if args.docs:
        write_docs(args.docs, args.workdir, args.gpu)
        print(f"wrote {args.docs}")
        return 0

    cfg = load_config(args.config, args.workdir)
    cost = W.cost_settings(cfg)
    gpu_kind = args.gpu or cost["gpu"]
    t0 = time.monotonic()
    jobs = dry_run(args.config, args.targets, args.remaining, args.workdir, profile=args.profile)
    plan_s = time.monotonic() - t0
    exps = experiments(cfg, args.workdir)
    priced = price(jobs, cfg, exps, gpu_kind)

    if args.check or args.calibrate:
        root = args.check or args.calibrate
        base = _results_root(root)
        pairs = measured(priced, base)
        if not pairs:
            print(f"no benchmark tables of the planned jobs under {base}", file=sys.stderr)
            return 2
        if args.calibrate:
            fit = calibrate_startup(pairs, args.column)
            fit["column"] = args.column
            fit["startup_plain_s"], fit["base_rss_plain_mb"] = plain_job()
            _write_startup(fit, base)
            print(json.dumps(fit, indent=1))
            return 0
        text, flagged = check(pairs, args.column)
        print(f"Estimates ({gpu_kind} for gpu=1 rules) vs the benchmark tables under {base} "
              f"({len(pairs)} jobs measured):\n")
        print(text)
        if flagged:
            print(f"\nflagged (≥ {FLAG_MIN_S:g} s measured, estimate off by more than {FLAG_RATIO:g}×): "
                  f"{', '.join(flagged)}")
            return 1
        print(f"\nevery rule with ≥ {FLAG_MIN_S:g} s measured is within {FLAG_RATIO:g}×")
        return 0

    print(f"Cost plan: {' '.join(args.config) or 'config/config.yaml'}; GPU rules on {gpu_kind}, the others on "
          f"one CPU core each; {len(jobs)} jobs ({'remaining' if args.remaining else 'all, --forceall'}); "
          f"planned in {plan_s:.1f} s.\n")
    print(tables(priced, gpu_kind))
    print("Constants:\n" + assumptions(gpu_kind))
    if args.json:
        args.json.write_text(json.dumps([_job_json(pr) for pr in priced], indent=1))
    return 0


def write_docs(path: Path, workdir: Path = ROOT, gpu_kind: str | None = None) -> None:
    """The plan of every config in config/experiments, as one generated Markdown page."""
    import subprocess as sp

    names = sorted(p.stem for p in (workdir / "config" / "experiments").glob("*.yaml"))
    try:
        commit = sp.run(["git", "rev-parse", "--short", "HEAD"], cwd=workdir, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    base = load_config([], workdir)
    kind = gpu_kind or W.cost_settings(base)["gpu"]
    out = [f"# Cost plans of every config ({kind})", "",
           f"Generated by `python -m advtrace.plan --docs {path}` (commit {commit or 'unknown'}, "
           f"{datetime.now(timezone.utc):%Y-%m-%d}); do not edit by hand. Every job of each config's DAG "
           f"(`snakemake -n --forceall`) priced by the work model: GPU rules on one {kind}, the other rules on "
           "one CPU core. How to read it and what the numbers assume: docs/cluster.md.", ""]
    for name in names:
        args = [f"experiments=[{name}]"]
        cfg = load_config(args, workdir)
        priced = price(dry_run(args, [], workdir=workdir), cfg, experiments(cfg, workdir), kind)
        out.append(tables(priced, kind).replace(f"### {name}", f"## {name}", 1))
    out += ["## Constants", "", assumptions(kind), ""]
    Path(path).write_text("\n".join(out))


def _results_root(path: Path) -> Path:
    """The directory the dry run's relative paths (results/<exp>/...) are relative to."""
    path = path.resolve()
    if (path / "results").is_dir():
        return path
    if path.parent.name == "results":
        return path.parent.parent
    return path


def _job_json(p: Priced) -> dict:
    e = p.est
    return {"rule": p.job.rule, "wildcards": p.job.wildcards, "experiment": p.exp, "study": p.study,
            "gpu": p.job.gpu, "resources": p.job.resources, **({} if e is None else {"device": e.kind, "seconds": e.seconds, "host_mb": e.host_mb,
                                                       "device_mb": e.device_mb, "disk_mb": e.disk_mb, "ops": e.ops})}


def _write_startup(fit: dict, base: Path) -> None:
    table = json.loads(W.CALIBRATION_FILE.read_text())
    cpu = table["cpu"]
    cpu["startup_s"] = {"torch": round(fit["startup_torch_s"], 3), "plain": round(fit["startup_plain_s"], 3)}
    cpu["base_rss_mb"] = {"torch": round(fit["base_rss_torch_mb"], 1), "plain": round(fit["base_rss_plain_mb"], 1)}
    cpu["train_rss_mb"] = round(max(0.0, fit["train_rss_mb"]), 1)
    cpu["train_startup_s"] = round(fit["train_startup_s"], 3)
    notes = cpu.setdefault("notes", {})
    notes.pop("startup_s, base_rss_mb, train_rss_mb", None)
    notes["startup_s, train_startup_s, base_rss_mb, train_rss_mb"] = (
        f"fitted by `python -m advtrace.plan --calibrate` to {fit['jobs']} jobs' benchmark tables under {base} "
        f"({datetime.now(timezone.utc):%Y-%m-%d}; column {fit['column']}): torch start-up = median(measured − estimated "
        "work) of the jobs that train nothing, training start-up (checkpoints, optimiser) = median of the rest for "
        "those that train; base RSS = "
        "median max_rss of the jobs that train nothing; training overhead = median extra max_rss of those that "
        "train; plain start-up and RSS measured by starting Python with pandas, pyarrow, matplotlib and saving a "
        "figure (CPU seconds, VmHWM)")
    W.CALIBRATION_FILE.write_text(json.dumps(table, indent=1) + "\n")
    W.calibration.cache_clear()


if __name__ == "__main__":
    sys.exit(main())
