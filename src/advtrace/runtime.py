"""Runtime helpers shared by every job: device choice, CPU threads and allocator, speed switches
(bf16 autocast, channels_last, torch.compile), atomic writes, safe checkpoint loading, progress
logging with rate and ETA.

Speed switches live at the top level of ``config/config.yaml`` (next to ``device``); they are
runtime, not science (results agree up to float rounding), so they are not rule params: changing
one never re-runs finished jobs. ``rules/common.smk`` exports them as JSON in the environment
variable ``ADVTRACE_RUNTIME`` and :func:`setup_job` applies them process-wide, so every job script
picks them up through :func:`prepare_model` (called by ``training.model_from_data``),
:func:`autocast` (training forward passes) and :func:`adversary_context` (the adversary inside
adversarial training).

Every switch's default is the science-preserving one (fp32 everywhere, eager execution). What each
costs or saves is measured by ``bench/run_bench.py`` (switches part) and, on a GPU, by
``bench/gpu_check.sh`` (one CIFAR-10 adversarial-training epoch per setting, and how far bf16
perturbations agree with fp32 ones); see BENCHMARKS.md.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Iterator, Mapping

if TYPE_CHECKING:  # torch is imported where it is used: plot jobs import atomic_path without paying for torch
    import torch
    import torch.nn as nn

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
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} requested but CUDA is not available; set device: auto or cpu in config/config.yaml")
    return dev


RUNTIME_ENV = "ADVTRACE_RUNTIME"


# torch.compile modes (`compile_mode`); "default" passes no mode. "reduce-overhead" records CUDA
# graphs of the compiled forward and backward (on CPU inductor skips the graphs and compiles as
# "default"), "max-autotune" also benchmarks kernel choices (longer cold compile).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class RuntimeOptions:
    """Speed switches (config/config.yaml top level; defaults = the shipped config)."""

    amp: bool = False  # bf16 autocast of training forward passes on CUDA (ignored on CPU); δ stays fp32
    channels_last: bool | str = "auto"  # NHWC models; auto = on for models with 2-D convolutions that oneDNN runs safely
    compile: bool = False  # torch.compile the model's forward in place (state_dict keys unchanged)
    # bf16 autocast of the adversary only, inside adversarial training, on CUDA (ignored on CPU): the
    # attack's forward/backward passes run in bf16, while δ, the sign steps, the ε-ball and [0, 1]
    # clipping stay fp32 (the attacks cast logits to fp32) and the SGD update keeps `amp`'s precision
    attack_amp: bool = False
    compile_mode: str = "default"  # torch.compile mode when `compile` is on (COMPILE_MODES)


RUNTIME_KEYS = tuple(RuntimeOptions.__dataclass_fields__)  # the top-level config keys rules/common.smk exports

_options = RuntimeOptions()


def configure_runtime(options: Mapping[str, Any] | RuntimeOptions | None = None) -> RuntimeOptions:
    """Set the process-wide speed switches (missing keys keep their defaults); returns them."""
    global _options
    if isinstance(options, RuntimeOptions):
        _options = options
    else:
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(RuntimeOptions.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown runtime options {unknown}; allowed: {', '.join(RUNTIME_KEYS)}")
        if opts.get("channels_last", "auto") not in (True, False, "auto"):
            raise ValueError(f"channels_last must be true, false or auto, got {opts['channels_last']!r}")
        if opts.get("compile_mode", "default") not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be one of {', '.join(COMPILE_MODES)}, got {opts['compile_mode']!r}")
        for key in ("amp", "compile", "attack_amp"):
            if not isinstance(opts.get(key, False), bool):
                raise ValueError(f"{key} must be true or false, got {opts[key]!r}")
        _options = RuntimeOptions(**opts)
    return _options


def runtime_options() -> RuntimeOptions:
    return _options


def runtime_options_from_env() -> dict | None:
    """The switches `rules/common.smk` exported for this job (None outside Snakemake)."""
    raw = os.environ.get(RUNTIME_ENV)
    return json.loads(raw) if raw else None


# oneDNN 3.12 (torch 2.14.1) corrupts the heap in the weight gradient of a 1x1 convolution with
# stride > 1 and fewer than 8 input channels in channels_last (NHWC) layout on CPUs without
# AVX-512 (kernel `jit_1x1:avx2` backward_weights, also on AVX-512 hosts under
# ONEDNN_MAX_CPU_ISA=AVX2): the process aborts ("free(): invalid size"), segfaults, or with 2
# threads hangs. 8 is the AVX2 fp32 vector width; 8 or more input channels, stride 1, 3x3
# kernels and NCHW are all fine (tests/test_runtime.py reproduces it in a subprocess). Only
# models narrower than the ones we ship are affected (a width-4 pre-act ResNet's 4 -> 8
# shortcut), so on CPU such a model stays NCHW; CUDA (cuDNN) is unaffected.
ONEDNN_UNSAFE_MIN_CHANNELS = 8


def channels_last_hazards(model: nn.Module) -> list[str]:
    """Names of the layers whose CPU channels_last backward hits the oneDNN bug described above."""
    import torch.nn as nn

    return [name for name, m in model.named_modules()
            if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.stride != (1, 1)
            and m.in_channels < ONEDNN_UNSAFE_MIN_CHANNELS]


def uses_channels_last(model: nn.Module, options: RuntimeOptions | None = None,
                       device: torch.device | str | None = None) -> bool:
    """Whether `model` should run in channels_last on `device` (None: CPU, the cautious answer).

    ``auto``: on for models with 2-D convolutions, except on CPU for models with a layer that
    oneDNN cannot run safely in that layout (:func:`channels_last_hazards`). An explicit ``true``
    on such a model on CPU is an error naming the layers and the fix, never a process abort.
    """
    import torch
    import torch.nn as nn

    setting = (options or _options).channels_last
    if setting is False:
        return False
    on_cpu = device is None or torch.device(device).type == "cpu"
    hazards = channels_last_hazards(model) if on_cpu else []
    if setting == "auto":
        return not hazards and any(isinstance(m, nn.Conv2d) for m in model.modules())
    if hazards:
        raise ValueError(
            f"channels_last: true is unsafe for this model on CPU: layers {', '.join(hazards)} are 1x1 "
            f"strided convolutions with fewer than {ONEDNN_UNSAFE_MIN_CHANNELS} input channels, whose "
            "channels_last backward crashes oneDNN on AVX2 CPUs. Set channels_last: auto (picks NCHW "
            "here) or false in config/config.yaml, or widen the model (model.width >= 8).")
    return True


def prepare_model(model: nn.Module, options: RuntimeOptions | None = None,
                  device: torch.device | str | None = None) -> nn.Module:
    """Apply the layout and compile switches to a freshly built model meant for `device` (in place;
    returns it; `device` None = CPU, see :func:`uses_channels_last`)."""
    import torch

    options = options or _options
    if uses_channels_last(model, options, device):
        model = model.to(memory_format=torch.channels_last)
    if options.compile:
        model.compile(**({} if options.compile_mode == "default" else {"mode": options.compile_mode}))
    return model


def autocast(device: torch.device, options: RuntimeOptions | None = None) -> ContextManager:
    """bf16 autocast on CUDA when ``amp`` is on; a no-op otherwise (CPU stays fp32)."""
    import torch

    if (options or _options).amp and torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def attack_autocast(device: torch.device, options: RuntimeOptions | None = None) -> ContextManager:
    """bf16 autocast for the adversary on CUDA when ``attack_amp`` (or ``amp``) is on; a no-op otherwise."""
    import torch

    options = options or _options
    if (options.attack_amp or options.amp) and torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@contextmanager
def adversary_context(model: nn.Module, device: torch.device,
                      options: RuntimeOptions | None = None) -> Iterator[None]:
    """Where adversarial training runs its adversary: :func:`attack_autocast`, and the model's
    parameters frozen (``requires_grad`` off, restored afterwards).

    Freezing changes no number: the attacks take gradients with respect to the input only
    (``torch.autograd.grad(loss, x)``), and eager autograd already skips the weight gradients.
    A ``torch.compile``d model, though, compiles one backward for every input that requires a
    gradient, so without the freeze each of BI-10's backward passes would also compute all weight
    gradients and throw them away.
    """
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        with attack_autocast(device, options):
            yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


def setup_job(threads: int = 1, device: str = "auto", log_stream=None,
              runtime: Mapping[str, Any] | None = None) -> torch.device:
    """Common start of every compute job. `runtime`: speed switches (default: from the environment)."""
    import torch

    setup_logging(log_stream)
    tuned = tune_allocator()
    torch.set_num_threads(max(1, int(threads)))
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    opts = configure_runtime(runtime if runtime is not None else runtime_options_from_env())
    log.info("device %s, %d CPU threads, torch %s, allocator tuned: %s, runtime %s", dev,
             torch.get_num_threads(), torch.__version__, tuned, asdict(opts))
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
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load tensors/state dicts as data only (weights_only=True): a checkpoint is never code."""
    import torch

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
