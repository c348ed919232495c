"""Runtime helpers shared by every job: device choice, CPU threads and allocator, atomic writes,
safe checkpoint loading, progress logging with rate and ETA."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

log = logging.getLogger("advtrace")


def setup_logging(stream=None) -> None:
    """Log lines with timestamps to `stream` (default stderr, which Snakemake scripts point at the log)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def tune_allocator() -> bool:
    """Keep glibc from returning large activation buffers to the OS on every step.

    Measured on this project's CPU machines (shared/PERF.md): 1.3-1.9x faster training.
    M_MMAP_MAX (-4) = 0 and M_TRIM_THRESHOLD (-1) = 2**31-1 (a C int: larger values wrap).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-4, 0)) and bool(libc.mallopt(-1, 2**31 - 1))
    except OSError:
        return False


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' -> CUDA when present, else CPU. 'cuda' without a GPU is an error naming the fix."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available; set device: auto or cpu in config/config.yaml")
    return dev


def setup_job(threads: int = 1, device: str = "auto", log_stream=None) -> torch.device:
    """Common start of every compute job."""
    setup_logging(log_stream)
    tune_allocator()
    torch.set_num_threads(max(1, int(threads)))
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    log.info("device %s, %d CPU threads, torch %s", dev, torch.get_num_threads(), torch.__version__)
    return dev


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target directory; rename onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_torch(obj: Any, path: str | Path) -> None:
    """Atomic torch.save: a killed job never leaves a truncated file behind."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load tensors/state dicts as data only (weights_only=True): a checkpoint is never code."""
    return torch.load(path, map_location=map_location, weights_only=True)


class Progress:
    """Log `desc: done/total (pct) rate/s ETA` at most every `every` seconds, and at the end."""

    def __init__(self, total: int, desc: str, unit: str = "it", every: float = 5.0, logger=None):
        self.total, self.desc, self.unit, self.every = total, desc, unit, every
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.log = logger or log

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed > 0 else float("inf")
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            self.log.info(
                "%s: %d/%d %s (%.0f%%) %.1f %s/s, elapsed %.1fs, ETA %.1fs",
                self.desc, self.done, self.total, self.unit, 100.0 * self.done / max(1, self.total),
                rate, self.unit, elapsed, eta,
            )
