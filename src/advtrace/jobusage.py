"""A compute job's own benchmark table: what the job used, measured by the job (pure Python, no torch).

Every compute rule declares its benchmark table as an output named ``benchmark``
(``results/{exp}/runs/{run}/benchmarks/<rule>/<epoch or chunk>.tsv``) and its script calls
:func:`record` first; at exit the job writes one row in the columns of a Snakemake ``benchmark:``
table, so everything that reads those tables (``python -m advtrace.plan --check``, ``publish``'s
plan check, paper 004's cost table) reads these alike.

Why not Snakemake's ``benchmark:`` directive: it polls each running job from the Snakemake process,
every second for the job's first 30 s and every 30 s after, with ``psutil.memory_full_info`` — a
walk of every memory mapping of a torch process in the kernel — and a new thread per poll. Measured on
the digits experiment (2 cores, 205 jobs, 986 s): the Snakemake process used 185 CPU-seconds (118 of
them system time), and py-spy put 46 % of its samples in that psutil call and 17 % in starting the
polling threads: CPU taken from the jobs on a 2-core laptop. And a polled CPU time misses what a job
does after its last poll (up to 1 s of a short job, up to 30 s of a long one). The job's own
``getrusage`` is exact and costs nothing.

Columns (as Snakemake's): ``s`` wall seconds since the process started, ``h:m:s`` the same,
``max_rss`` peak resident MB (VmHWM), ``max_vms`` peak virtual MB (VmPeak), ``max_uss`` and
``max_pss`` ``NA`` (not measured: they need the mapping walk above), ``io_in``/``io_out`` MB read /
written from storage, ``mean_load`` CPU seconds per wall second × 100, ``cpu_time`` user + system
CPU seconds of the job and the child processes it waited for.
"""

from __future__ import annotations

import atexit
import os
import resource
import time
from pathlib import Path

COLUMNS = ("s", "h:m:s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out", "mean_load", "cpu_time")
_IMPORTED = time.time()
_registered: set[str] = set()


def _proc_fields(name: str) -> dict[str, str]:
    try:
        with open(f"/proc/self/{name}") as fh:
            return dict(line.split(":", 1) for line in fh if ":" in line)
    except OSError:
        return {}


def process_start() -> float:
    """The process's start time (epoch seconds): /proc/self/stat on Linux, else this module's import."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + int(fields[19]) / ticks  # field 22 of stat: starttime
    except (OSError, IndexError, ValueError):
        return _IMPORTED


def _mb_of_kb(text: str | None) -> float | None:
    try:
        return int(str(text).split()[0]) / 1024
    except (TypeError, ValueError, IndexError):
        return None


def usage() -> dict[str, float | str | None]:
    """This process's row so far (see the module docstring for the columns)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    wall = max(time.time() - process_start(), 1e-6)
    status, io = _proc_fields("status"), _proc_fields("io")
    rss = _mb_of_kb(status.get("VmHWM")) or max(me.ru_maxrss, kids.ru_maxrss) / 1024  # Linux: ru_maxrss in KB
    io_mb = {k: int(io[k]) / 2**20 if k in io else None for k in ("read_bytes", "write_bytes")}
    h, rem = divmod(int(wall), 3600)
    return {"s": wall, "h:m:s": f"{h}:{rem // 60:02d}:{rem % 60:02d}", "max_rss": rss,
            "max_vms": _mb_of_kb(status.get("VmPeak")), "max_uss": None, "max_pss": None,
            "io_in": io_mb["read_bytes"], "io_out": io_mb["write_bytes"], "mean_load": 100 * cpu / wall,
            "cpu_time": cpu}


def _cell(v) -> str:
    if v is None:
        return "NA"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def write(path: str | os.PathLike) -> None:
    """Write the row now (atomically: a reader never sees half a table)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = usage()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\t".join(COLUMNS) + "\n" + "\t".join(_cell(row[c]) for c in COLUMNS) + "\n")
    os.replace(tmp, path)


def record(path: str | os.PathLike | None) -> None:
    """Write the job's benchmark table to `path` when the process exits (nothing when `path` is None:
    a script run outside a rule that declares one). Call it first thing in a job script."""
    if not path or str(path) in _registered:
        return
    _registered.add(str(path))
    atexit.register(write, str(path))
