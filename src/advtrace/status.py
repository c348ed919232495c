"""Where a run stands, from its logs: what is done, what runs (with its progress and ETA), what is left.

    python -m advtrace.status [results/<exp> ...] [--workdir DIR] [--log FILE]

Reads the newest Snakemake log of the workflow directory (``.snakemake/log/*.snakemake.log``, the
same for local and SLURM runs; ``--log`` picks another) and, for each job that started and has not
finished, the last progress line of the job's own log (``results/<exp>/logs/...``: every long job
logs ``what: done/total (pct) rate, elapsed, ETA`` every few seconds, training ``epoch k/T``). For a
SLURM job it also names its SLURM job id and log (``.snakemake/slurm_logs/...``) and asks ``squeue``
whether it is pending or running. Whether the run itself is alive is read from the process table
(a Snakemake process in that directory); a run killed without a word (``kill -9``, a lost login
node) shows its unfinished jobs as *interrupted*, and what ``--rerun-incomplete`` will redo.

Arguments ``results/<exp>`` restrict the summary to those experiments. Nothing is written.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^\s*\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]( Group job (\S+))?")
_RULE = re.compile(r"^(\s*)(local)?rule (\w+):\s*$")
_FIELD = re.compile(r"^\s+(jobid|wildcards|log|output): (.*)$")
_SUBMIT = re.compile(r"^Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.*)\)\.\s*$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)")
_STEPS = re.compile(r"^(\d+) of (\d+) steps \((\d+)%\) done")
_GROUP_ERROR = re.compile(r"^\s+message: Error in group (\S+)")
_ERROR = re.compile(r"^Error in rule (\w+):")
_RESTART = re.compile(r"^Trying to restart job (\S+)\.")
# advtrace.runtime.Progress: "desc: done/total unit (pct%) rate unit/s, elapsed Xs, ETA Ys"
PROGRESS = re.compile(r"^(?:\d\d:\d\d:\d\d INFO \S+: )?(?P<desc>.+?): (?P<done>\d+)/(?P<total>\d+) (?P<unit>\S+) "
                      r"\((?P<pct>\d+)%\) (?P<rate>[\d.]+|inf) \S+/s, elapsed (?P<elapsed>[\d.]+)s, "
                      r"ETA (?P<eta>[\d.]+|inf)s")
_EPOCH = re.compile(r"epoch (\d+)/(\d+)")
_JOB_ETA = re.compile(r"adversarial epoch (\d+) done \((\d+)/(\d+) of this job.*: ([\d.]+) s per epoch, job ETA (\d+) s")


@dataclass
class Job:
    jobid: str
    rule: str
    wildcards: dict = field(default_factory=dict)
    log: str | None = None
    outputs: list = field(default_factory=list)
    started: float | None = None
    finished: float | None = None
    failed: bool = False
    group: str | None = None
    slurm_id: str | None = None
    slurm_log: str | None = None
    attempts: int = 1


@dataclass
class Run:
    log: Path
    jobs: dict = field(default_factory=dict)  # jobid -> Job (the latest attempt)
    planned: Counter = field(default_factory=Counter)  # rule -> jobs (the job stats table)
    total: int | None = None
    done_steps: int = 0
    complete: bool = False
    failed_exit: bool = False
    last_line_time: float | None = None
    command: str = ""


def _time(stamp: str) -> float:
    return datetime.strptime(" ".join(stamp.split()), "%a %b %d %H:%M:%S %Y").timestamp()


def parse_log(path: Path) -> Run:
    """The jobs of one Snakemake log: started, finished, failed, submitted to SLURM."""
    run = Run(Path(path))
    now, group, current, in_stats, in_error = None, None, None, False, False
    pending_group: list[str] = []
    lines = Path(path).read_text(errors="replace").splitlines()
    depth, skip_next = 0, False  # failed jobs' logs printed into the main log, between rules of '=' (nested)

    def rule_line(text: str) -> bool:
        t = text.strip()
        return len(t) >= 20 and set(t) == {"="}

    for i, line in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        if line.strip().startswith("Logfile ") and i + 1 < len(lines) and rule_line(lines[i + 1]):
            depth, skip_next = depth + 1, True
            continue
        if depth:
            if rule_line(line):
                depth -= 1
            continue
        if line.startswith("  Command: ") and not run.command:
            run.command = line[len("  Command: "):]
        if line.startswith("Job stats:"):
            in_stats = True
            continue
        if in_stats:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] == "total":
                    run.total, in_stats = int(parts[1]), False
                else:
                    run.planned[parts[0]] = int(parts[1])
            elif parts and not set(parts[0]) <= {"-"} and parts[0] != "job":
                in_stats = False
            continue
        m = _STAMP.match(line)
        if m:
            now = _time(m.group(1))
            if m.group(3):
                group, pending_group = m.group(3), []
            elif not line.startswith(" "):
                group = None
            in_error = False
            current = None
            continue
        m = _GROUP_ERROR.match(line)
        if m:
            in_error = True
            for job in run.jobs.values():
                if job.group == m.group(1) and job.finished is None:
                    job.failed = True
            continue
        if in_error and not line.startswith("Error"):
            continue
        m = _ERROR.match(line)
        if m:
            in_error, current = True, None
            for follow in lines[i + 1:i + 8]:
                f = re.match(r"^\s+jobid: (\d+)", follow)
                if f and f.group(1) in run.jobs:
                    run.jobs[f.group(1)].failed = True
                    break
            continue
        m = _RULE.match(line)
        if m:
            current = Job("", m.group(3), started=now, group=group if m.group(1) else None)
            continue
        m = _FIELD.match(line)
        if m and current is not None:
            key, val = m.groups()
            if key == "jobid":
                current.jobid = val.strip()
                old = run.jobs.get(current.jobid)
                if old is not None:  # a retry or a resubmitted group: the newer attempt counts
                    current.attempts = old.attempts + 1
                run.jobs[current.jobid] = current
                if current.group:
                    pending_group.append(current.jobid)
            elif key == "wildcards":
                current.wildcards = dict(kv.split("=", 1) for kv in val.split(", ") if "=" in kv)
            elif key == "log":
                current.log = val.split(" (check log")[0].split(", ")[0].strip()
            elif key == "output":
                current.outputs = [o.strip() for o in val.split(", ")]
            continue
        m = _SUBMIT.match(line)
        if m:
            ids = pending_group if m.group(1) not in run.jobs else [m.group(1)]
            for jid in ids:
                if jid in run.jobs:
                    run.jobs[jid].slurm_id, run.jobs[jid].slurm_log = m.group(2), m.group(3)
            continue
        m = _FINISHED.match(line)
        if m and m.group(1) in run.jobs:
            run.jobs[m.group(1)].finished = now
            continue
        m = _STEPS.match(line)
        if m:
            run.done_steps, run.total = int(m.group(1)), int(m.group(2))
            continue
        m = _RESTART.match(line)
        if m:
            continue
        if line.startswith("Complete log"):
            run.complete = True
        elif line.startswith("Exiting because a job execution failed") or line.startswith("Shutting down"):
            run.failed_exit = True
    if now is not None:
        run.last_line_time = now
    return run


def latest_log(workdir: Path) -> Path | None:
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    return logs[-1] if logs else None


def snakemake_alive(workdir: Path) -> bool | None:
    """Whether a Snakemake process (not a job inside a cluster allocation) runs in `workdir`
    (None where /proc cannot tell)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    target = workdir.resolve()
    for p in proc.iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
            if not any(b"snakemake" in c for c in cmd) or b"remote" in cmd or b"--target-jobs" in cmd:
                continue
            if Path(os.readlink(p / "cwd")).resolve() == target:
                return True
        except OSError:
            continue
    return False


def last_progress(log: Path) -> dict | None:
    """The last progress line of a job's log, with the job's ETA where the log tells it."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 20000))
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    out, chain, order = None, None, 0
    for line in lines:
        m = PROGRESS.search(line)
        if m:
            out = m.groupdict()
            out["line"], out["at"] = line, order
        j = _JOB_ETA.search(line)
        if j:  # a chained training job between its epochs: (done in job, epochs in job, s per epoch, job ETA)
            chain = (int(j.group(2)), int(j.group(3)), float(j.group(4)), float(j.group(5)), order)
        order += 1
    if out is None:
        return {"line": lines[-1].strip() if lines else ""} if lines else None
    eta = float(out["eta"]) if out["eta"] != "inf" else float("inf")
    e = _EPOCH.search(out["desc"])
    if e:  # pretraining "epoch k/T": the epochs after this one take as long as this one
        k, total = int(e.group(1)), int(e.group(2))
        epoch_s = float(out["elapsed"]) + eta
        eta += (total - k) * epoch_s
    if chain is not None:
        done, n, per_epoch, job_eta, at = chain
        # an epoch in progress after the last finished one: its ETA plus the epochs after it
        eta = eta + max(0, n - done - 1) * per_epoch if out["at"] > at else job_eta
    out["job_eta"] = eta
    out["age_s"] = time.time() - os.path.getmtime(log)
    return out


def squeue_states(ids) -> dict[str, str]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    try:
        proc = subprocess.run(["squeue", "-h", "-o", "%i|%T", "-j", ",".join(ids)], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("|", 1) for line in proc.stdout.splitlines() if "|" in line)


def _fmt_s(s: float) -> str:
    if s != s or s == float("inf"):
        return "?"
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _wc(job: Job) -> str:
    return " ".join(f"{k}={v}" for k, v in job.wildcards.items() if k != "exp") or "-"


def summarise(workdir: Path, log: Path | None = None, experiments: list[str] | None = None) -> str:
    workdir = Path(workdir)
    log = log or latest_log(workdir)
    if log is None:
        return f"no Snakemake log under {workdir / '.snakemake' / 'log'}: nothing has run here yet"
    run = parse_log(log)
    jobs = [j for j in run.jobs.values() if j.rule != "all"]
    if experiments:
        jobs = [j for j in jobs if j.wildcards.get("exp") in experiments]
    alive = snakemake_alive(workdir) if not (run.complete or run.failed_exit) else False
    done = [j for j in jobs if j.finished is not None]
    failed = [j for j in jobs if j.failed and j.finished is None]
    open_ = [j for j in jobs if j.finished is None and not j.failed]
    slurm = squeue_states({j.slurm_id for j in open_ if j.slurm_id}) if any(j.slurm_id for j in open_) else {}
    state = ("finished" if run.complete else "stopped after a failure" if run.failed_exit
             else "running" if alive else "not running (interrupted: killed, or its login session ended)"
             if alive is False else "unknown (no process table)")
    age = time.time() - (run.last_line_time or os.path.getmtime(log))
    lines = [f"Run: {state}; log {log} (last entry {_fmt_s(age)} ago)"]
    if run.command:
        lines.append(f"  {run.command}")
    planned = dict(run.planned)
    planned.pop("all", None)
    total = sum(planned.values()) if not experiments else None
    lines.append(f"Done: {len(done)} jobs" + (f" of {total}" if total else "") + f"; running or started: {len(open_)}; "
                 f"failed: {len(failed)}")
    retried = Counter(j.rule for j in done if j.attempts > 1)
    if retried:
        lines.append("Retried and finished: " + ", ".join(f"{r} × {n}" for r, n in retried.items()))
    if open_:
        lines.append("\nStarted, not finished:")
        for j in sorted(open_, key=lambda j: j.started or 0):
            where = f"SLURM {j.slurm_id} {slurm.get(j.slurm_id, 'not in squeue')}" if j.slurm_id else "local"
            status = where if alive or j.slurm_id else "interrupted"
            prog = last_progress(workdir / j.log) if j.log else None
            since = f", started {_fmt_s(time.time() - j.started)} ago" if j.started else ""
            retry = f", attempt {j.attempts}" if j.attempts > 1 else ""
            lines.append(f"  {j.rule} {_wc(j)} [{status}{since}{retry}]")
            if prog and "job_eta" in prog:
                lines.append(f"      {prog['desc']}: {prog['done']}/{prog['total']} {prog['unit']} ({prog['pct']}%), "
                             f"{prog['rate']} {prog['unit']}/s; job ETA {_fmt_s(prog['job_eta'])}"
                             + (f" (log silent for {_fmt_s(prog['age_s'])})" if prog["age_s"] > 60 else ""))
            elif prog:
                lines.append(f"      last log line: {prog['line'][:150]}")
            if j.log:
                lines.append(f"      log: {j.log}" + (f"; SLURM log: {j.slurm_log}" if j.slurm_log else ""))
    if failed:
        lines.append("\nFailed:")
        for j in failed:
            lines.append(f"  {j.rule} {_wc(j)}: log {j.log}" + (f", SLURM log {j.slurm_log}" if j.slurm_log else ""))
    if planned and not experiments:
        started = Counter(j.rule for j in jobs if j.finished is not None or not j.failed)
        left = {r: n - started.get(r, 0) for r, n in planned.items() if n - started.get(r, 0) > 0}
        durations: dict[str, list[float]] = {}
        for j in done:
            if j.started is not None:
                durations.setdefault(j.rule, []).append(j.finished - j.started)
        if left:
            lines.append(f"\nLeft ({sum(left.values())} jobs not started):")
            for r, n in sorted(left.items(), key=lambda kv: -kv[1]):
                d = durations.get(r)
                pace = f", ~{_fmt_s(sum(d) / len(d))} each so far" if d else ""
                lines.append(f"  {r} × {n}{pace}")
        else:
            lines.append("\nLeft: nothing" + ("" if run.complete else " (every job has started)"))
    locks = workdir / ".snakemake" / "locks"
    if alive is False and locks.is_dir() and any(locks.iterdir()):
        lines.append("\nSnakemake was killed and its lock stays (.snakemake/locks): run the same command once with "
                     "`--unlock` added.")
    if alive is False and not run.complete and open_:
        lines.append("\nRestart with the same command; `--rerun-incomplete` (in the profiles) redoes the "
                     "interrupted jobs, finished training epochs are kept.")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m advtrace.status", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("results", nargs="*", help="results/<exp> directories to restrict the summary to")
    p.add_argument("--workdir", type=Path, default=Path.cwd(), help="the workflow directory (default: here)")
    p.add_argument("--log", type=Path, help="a Snakemake log (default: the newest in .snakemake/log)")
    args = p.parse_args(argv)
    exps = [Path(r).name for r in args.results] or None
    print(summarise(args.workdir, args.log, exps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
