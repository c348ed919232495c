"""Runtime helpers shared by every job: device choice, CPU threads and allocator, speed switches
(bf16 autocast, channels_last, torch.compile), atomic writes (stale temp files removed, a full disk
named), checksummed checkpoints (verified, data-only loading), progress logging with rate and ETA.

The device and the speed switches live at the top level of ``config/config.yaml``; they are
runtime, not science (results agree up to float rounding), so they are not rule params: changing
one never re-runs finished jobs. ``rules/common.smk`` exports them as JSON in the environment
variable ``ADVTRACE_RUNTIME`` and :func:`setup_job` applies them process-wide (the device it
returns; the switches through :func:`prepare_model`, called by ``training.model_from_data``,
:func:`autocast`, training forward passes, and :func:`adversary_context`, the adversary inside
adversarial training).

Every switch's default is the science-preserving one (fp32 everywhere, eager execution). What each
costs or saves is measured by ``bench/run_bench.py`` (switches part) and, on a GPU, by
``bench/gpu_check.sh`` (one CIFAR-10 adversarial-training epoch per setting, and how far bf16
perturbations agree with fp32 ones); see BENCHMARKS.md.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import sys
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


def visible_gpu_count(environ: Mapping[str, str] | None = None, dev_dir: str | Path = "/dev") -> int:
    """How many NVIDIA GPUs this process may use, found without importing torch or starting CUDA.

    The GPUs are the device nodes ``/dev/nvidia0``, ``/dev/nvidia1``, … (one per GPU the driver
    exposes, or the container was given), limited by ``CUDA_VISIBLE_DEVICES`` when it is set
    (CUDA's rule: the list ends at the first invalid entry, so ``""`` and ``"-1"`` hide every GPU).
    0 without an NVIDIA driver. The Snakefile uses it to cap concurrent GPU jobs in local runs;
    whether torch can *use* the GPUs (driver recent enough) is checked in the jobs."""
    env = os.environ if environ is None else environ
    try:
        nodes = [p for p in Path(dev_dir).glob("nvidia*") if p.name[len("nvidia"):].isdigit()]
    except OSError:
        nodes = []
    count = len(nodes)
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is not None:
        listed = 0
        for entry in spec.split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):
                break
            listed += 1
        count = min(count, listed)
    return count


# The pinned torch build (pyproject.toml) targets CUDA 13, which needs this NVIDIA driver branch.
TORCH_CUDA_MIN_DRIVER = 580
# Datasets a CPU trains in minutes to an hour (README: the digits experiment; the opt-in
# Fashion-MNIST experiment, <= 60 min on 2 cores); any other dataset is a paper-scale experiment,
# whose GPU jobs must not quietly fall back to the CPU.
CPU_SCALE_DATASETS = frozenset({"digits", "fashion_mnist"})
_device_request: str | None = None  # what setup_job was asked for (config `device`); None outside jobs
_cpu_fallback_warned = False


def nvidia_driver_version(path: str | Path = "/proc/driver/nvidia/version") -> str | None:
    """The loaded NVIDIA kernel driver's version (e.g. '535.104.05'), None without one (Linux only)."""
    import re

    try:
        text = Path(path).read_text()
    except OSError:
        return None
    m = re.search(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", text)
    return m.group(1) if m else None


def cpu_fallback_message(dataset: str) -> str:
    """Why a GPU job of a paper-scale experiment runs on the CPU, and how to fix it."""
    import torch

    cuda = torch.version.cuda
    driver = nvidia_driver_version()
    gpus = visible_gpu_count()
    lines = [
        f"advtrace: WARNING: GPU job on a paper-scale experiment (dataset {dataset!r}) is running on the CPU: "
        "device 'auto' found no usable CUDA GPU. Training CIFAR-10/GTSRB on a CPU takes weeks.",
        f"  torch {torch.__version__}, " + (f"built for CUDA {cuda}" if cuda else "a CPU-only build (no CUDA)")
        + f"; NVIDIA driver: {driver or 'none loaded'}; visible NVIDIA GPUs: {gpus}"
        + (f" (CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']!r})" if "CUDA_VISIBLE_DEVICES" in os.environ else "")
        + ".",
        "  Fix:",
    ]
    if not cuda or cuda.split(".")[0] == "13":
        from importlib.metadata import version

        try:
            tv = "torchvision==" + version("torchvision").split("+")[0]
        except Exception:  # not installed as a distribution
            tv = "torchvision"
        need = ("this torch is a CPU-only build" if not cuda else
                f"this torch build needs an NVIDIA driver >= {TORCH_CUDA_MIN_DRIVER} (`nvidia-smi` shows "
                "'CUDA Version: 13.0' or higher)")
        lines.append(f"  - {need}; install the torch build for the CUDA version your driver supports "
                     "(docs/gpu.md, 'GPU, driver and torch build'), e.g. `.venv/bin/pip install --force-reinstall "
                     f"--no-deps torch=={torch.__version__.split('+')[0]} {tv} "
                     "--index-url https://download.pytorch.org/whl/cu126`;")
    lines += [
        "  - on a cluster, check that the job got a GPU (profiles/slurm: rules with resources gpu=1 ask for one);",
        "  - set `device: cuda` in config/config.yaml to make such jobs fail instead of falling back, or "
        "`device: cpu` to run on the CPU on purpose (no warning).",
    ]
    return "\n".join(lines)


def check_device_for_dataset(device: torch.device | str, dataset: str | None) -> bool:
    """Warn loudly, once per process, when a job that `setup_job` resolved from ``device: auto``
    runs a paper-scale dataset on the CPU: to the job's log and to the terminal (the process's
    original stderr, which Snakemake shows; job scripts point ``sys.stderr`` at their log).
    Returns whether it warned. Outside `setup_job` (library use, tests) it never warns."""
    global _cpu_fallback_warned
    import torch

    if (_device_request != "auto" or torch.device(device).type != "cpu" or dataset is None
            or dataset in CPU_SCALE_DATASETS or _cpu_fallback_warned):
        return False
    _cpu_fallback_warned = True
    msg = cpu_fallback_message(dataset)
    log.warning("%s", msg)
    terminal = sys.__stderr__
    if terminal is not None and terminal is not sys.stderr:
        print(msg, file=terminal, flush=True)
    return True


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


def runtime_from_env() -> dict | None:
    """What `rules/common.smk` exported for this job: the switches and ``device`` (None outside Snakemake)."""
    raw = os.environ.get(RUNTIME_ENV)
    return json.loads(raw) if raw else None


def runtime_options_from_env() -> dict | None:
    """The speed switches `rules/common.smk` exported for this job (None outside Snakemake)."""
    env = runtime_from_env()
    return None if env is None else {k: v for k, v in env.items() if k != "device"}


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


def setup_job(threads: int = 1, device: str | None = None, log_stream=None,
              runtime: Mapping[str, Any] | None = None) -> torch.device:
    """Common start of every compute job. `device`: default from the environment (config/config.yaml
    ``device``), else auto; `runtime`: speed switches (default: from the environment)."""
    import torch

    global _device_request
    setup_logging(log_stream)
    tuned = tune_allocator()
    torch.set_num_threads(max(1, int(threads)))
    if device is None:
        device = (runtime_from_env() or {}).get("device", "auto")
    dev = resolve_device(device)
    _device_request = device
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    opts = configure_runtime(runtime if runtime is not None else runtime_options_from_env())
    log.info("device %s, %d CPU threads, torch %s, allocator tuned: %s, runtime %s", dev,
             torch.get_num_threads(), torch.__version__, tuned, asdict(opts))
    return dev


def _create_temp_file(directory: Path, name: str) -> Path:
    """Create an empty, uniquely named temp file next to `name`, with mode 0666 & ~umask.

    Not ``tempfile.mkstemp``: that always creates mode 0600, and ``os.replace`` keeps the mode, so
    every result (figures, checkpoints, claims.md) would be unreadable to the rest of a group
    sharing a results directory whatever the user's umask says."""
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no unused temporary name for {directory / name}")


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


def _write_failure(path: Path, err: OSError) -> str:
    """Why writing `path` failed, in words (a full disk says so, with the free space)."""
    cause = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = shutil.disk_usage(path.parent).free
            cause = (f"the disk is full ({'quota exceeded' if err.errno == errno.EDQUOT else 'no space left'}; "
                     f"{free / 2**20:.1f} MiB free on the file system of {path.parent})")
        except OSError:
            cause = "the disk is full"
    elif err.errno == errno.EFBIG:
        cause = "file too large (file-system or process file-size limit)"
    elif err.errno == errno.EROFS:
        cause = "read-only file system"
    return f"could not write {path}: {cause}"


def stale_temp_files(path: str | Path) -> list[Path]:
    """Temp files an earlier, killed write of `path` left behind (``.NAME.XXXXXXXX.tmp``, see
    :func:`atomic_path`); other targets' temp files never match."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[A-Za-z0-9_]+\.tmp$")
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if pattern.match(p.name))


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target directory; rename onto `path` only on success.

    The file gets the mode any new file gets (0666 minus the umask, e.g. 0644), not mkstemp's 0600.
    Temp files of the same target left by a killed earlier write are removed first (Snakemake's
    lock guarantees a single writer per target). A write that fails with an OS error (full disk,
    quota, read-only file system) raises OSError naming the file and the cause.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in stale_temp_files(path):
        log.info("removing %s, left by an interrupted write of %s", stale, path)
        stale.unlink(missing_ok=True)
    tmp_path = _create_temp_file(path.parent, path.name)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as err:
        if err.errno not in _WRITE_ERRNOS:
            raise
        raise OSError(err.errno, _write_failure(path, err)) from err
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


class CheckpointError(RuntimeError):
    """A torch file that cannot be trusted: unreadable, truncated, or changed since it was written."""


CHECKSUM_KEY = "_advtrace_sha256"  # content checksum save_torch adds and load_torch verifies and removes


def _feed(h, obj: Any) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}:".encode())
        for key in sorted(obj, key=repr):
            h.update(f"K{key!r}:".encode())
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}:".encode())
        for item in obj:
            _feed(h, item)
    else:  # int, float, str, bool, None, torch.dtype, ...: repr is exact (floats round-trip)
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def content_checksum(obj: Any) -> str:
    """sha256 over the content of a checkpoint-like object: every tensor's dtype, shape and bytes
    and every other value, in a fixed order (independent of the device the tensors are on)."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def rerun_hint(path: str | Path) -> str:
    return (f"delete it and re-create it with its dependants: snakemake --cores all --forcerun {path} "
            "(with your usual --config / --profile)")


def save_torch(obj: dict, path: str | Path) -> None:
    """Atomic torch.save of a dict with a checksum of its content (verified by :func:`load_torch`):
    a killed job never leaves a truncated file behind, a full disk is reported as such."""
    import torch

    if not isinstance(obj, dict) or CHECKSUM_KEY in obj:
        raise TypeError(f"save_torch writes dicts without a {CHECKSUM_KEY!r} key, got {type(obj).__name__}")
    buf = io.BytesIO()  # serialised in memory, so a failing write reports its errno (torch's writer loses it)
    torch.save({**obj, CHECKSUM_KEY: content_checksum(obj)}, buf)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(buf.getbuffer())


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """Load a file written by :func:`save_torch` as data only (weights_only=True: a checkpoint is
    never code) and verify its content checksum. Any problem raises :class:`CheckpointError` naming
    the file, the cause and the command that re-creates it."""
    return load_torch_checksum(path, map_location)[0]


def load_torch_checksum(path: str | Path, map_location: Any = "cpu") -> tuple[Any, str]:
    """:func:`load_torch`, and the verified content checksum of the file (it identifies the content:
    training records its parent's in each checkpoint, ``advtrace.training.adv_train_epochs``)."""
    import pickle

    import torch

    path = Path(path)
    size = path.stat().st_size  # a missing file: FileNotFoundError, which names it
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch's zip reader: RuntimeError; the unpickler: UnpicklingError, EOFError, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        what = ("corrupted, or not plain tensor data and refused" if isinstance(err, pickle.UnpicklingError)
                else "truncated or corrupted")
        raise CheckpointError(f"{path}: cannot be read ({size} bytes; {what}: {type(err).__name__}: {first}); "
                              f"{rerun_hint(path)}") from None
    if not isinstance(obj, dict) or CHECKSUM_KEY not in obj:
        raise CheckpointError(f"{path}: has no content checksum (written by an older advtrace or another "
                              f"program); {rerun_hint(path)}")
    recorded = obj.pop(CHECKSUM_KEY)
    if content_checksum(obj) != recorded:
        raise CheckpointError(f"{path}: content checksum mismatch: the file was corrupted or changed after "
                              f"it was written; {rerun_hint(path)}")
    return obj, recorded


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite: the job fails before writing a checkpoint."""


class LossGuard:
    """Fails training at the first batch whose loss is not finite, naming the epoch and batch.

    On CPU each batch's loss is checked before its update. On CUDA the finiteness flag is copied
    asynchronously into pinned memory and checked one batch later, so the GPU queue never stalls;
    :meth:`flush` checks the last batch before the epoch's checkpoint is written.
    """

    def __init__(self, desc: str, n_batches: int, device: torch.device | str):
        import torch

        self.desc, self.n_batches = desc, n_batches
        self.cuda = torch.device(device).type == "cuda"
        self.pending: tuple | None = None
        if self.cuda:
            self.flags = torch.ones(2, dtype=torch.bool, pin_memory=True)

    def check(self, loss: torch.Tensor, batch: int) -> None:
        """`batch`: 0-based index of the batch in the epoch."""
        import torch

        loss = loss.detach()
        if not self.cuda:
            if not bool(torch.isfinite(loss)):
                self._fail(batch, loss)
            return
        slot = batch % 2  # the previous batch's flag lives in the other slot, resolved below
        self.flags[slot].copy_(torch.isfinite(loss), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        previous, self.pending = self.pending, (batch, slot, event, loss)
        if previous is not None:
            self._resolve(previous)

    def flush(self) -> None:
        if self.pending is not None:
            previous, self.pending = self.pending, None
            self._resolve(previous)

    def _resolve(self, pending: tuple) -> None:
        batch, slot, event, loss = pending
        event.synchronize()
        if not bool(self.flags[slot]):
            self._fail(batch, loss)

    def _fail(self, batch: int, loss: torch.Tensor) -> None:
        raise NonFiniteLoss(
            f"non-finite training loss ({float(loss)}) in {self.desc}, batch {batch + 1}/{self.n_batches}: "
            "the model diverged (lower the learning rate) or started from a corrupted checkpoint; "
            "no checkpoint was written")


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
