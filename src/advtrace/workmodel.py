"""How long a job runs and how much memory and disk it needs, from what it computes (pure Python, no torch).

The workflow sizes its cluster jobs with this module (``rules/common.smk`` ``add_resources``), the
cost plan (:mod:`advtrace.plan`) adds its estimates up per rule, study and experiment, and the
benchmark's paper-scale projection (``bench/paper_work.py``) reads the same work counts.

**Work.** A job's work is a list of unit operations on single images, each on one network
(a :class:`Profile`, computed from the model config without torch):

    F   forward pass (inference mode, chunked)
    G   input-gradient pass: forward + backward to the input (one step of an iterative attack)
    C   training step: forward + backward + optimiser update

What each rule's job computes is counted by a function of the experiment config and the job's
wildcards in :mod:`advtrace.work_rules` (the registry :data:`RULES`, keyed by rule name): sample-set
sizes, epochs, the attacks' gradient steps from the attack registry
(:data:`advtrace.specs.ATTACK_SPECS`), the training method's adversary
(:data:`advtrace.specs.METHOD_SPECS`).

**Time** on a device kind (:func:`devices`, the calibration table ``calibration.json``):

    seconds = start-up + dataset load + Σ images × t_op(profile, batch)
    t_op = a_op + b_op · MACs + c_op · activations + e_op · layers / batch   (per image)

``b`` prices the multiply-accumulates, ``c`` the memory traffic of every layer's output
(normalisation, ReLU, copies), ``e`` the fixed cost of each layer's operators per batch
(dispatch, kernel launches: small networks on small batches are dominated by it), ``a`` the rest.
On the CPU all four are measured (``bench/calibrate_workmodel.py``: one thread, the jobs' own
setting, at the chunk and batch sizes jobs use); the start-up term and the memory constants are
measured from a workflow run's benchmark tables (``python -m advtrace.plan --calibrate``). The
GPU kinds are a projection whose assumptions the table states, until ``bench/gpu_check.sh`` has
measured them.

**Memory** (host RSS, what SLURM's ``--mem`` limits, and GPU memory):

    host   = base RSS (Python, torch; + CUDA libraries on a GPU) + training overhead (autograd,
             optimiser; measured) + dataset arrays held in memory + other arrays the job holds
             + on the CPU: parameters, gradients, optimiser state, activations of one mini-batch
    device = CUDA context + parameters, gradients, optimiser state + activations + the training
             split when it is moved to the GPU

Activations of a training step are ``ACTIVATION_COPIES`` saved copies of every convolution's output
per image (convolution, normalisation and ReLU outputs kept for the backward pass), × the batch.

**Disk** is the size of the job's outputs (checkpoints: parameters and optimiser state; stored
perturbations: int8 or float32 per pixel; datasets: uint8 pixels).

**Requests.** ``runtime`` (minutes) = max(min_runtime, margin · seconds / 60) × attempt (a retried
job gets more time); ``mem_mb`` = max(memory_margin · host, host + 256 MB); ``disk_mb`` = outputs.
The margins and the GPU kind are the ``cost`` section of ``config/config.yaml`` (runtime choices:
changing them re-runs nothing).

**Adding a rule** (a new study's job): write a work function in :mod:`advtrace.work_rules` and
register it under the rule's name::

    @register("p005_evaluate", study="005")
    def _p005_evaluate(ctx: Ctx) -> Job:
        job = ctx.job()                                   # the experiment's dataset held, GPU rule
        n = ctx.n(ctx.exp["paper005"]["test_set"])        # a sample set's size
        job.add(ctx.model(), "F", n)                      # n classifier forwards
        job.attack(ctx.model(), ctx.exp["paper005"]["attack"], n)   # an attack on n inputs
        job.out(tables=1)
        return job

A rule that imports no torch (tables, plots, reports) needs only ``light("rule_name", study="005")``.
``tests/test_workmodel.py`` fails for a script rule (and any rule with ``gpu=1``) without an entry.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .specs import ATTACK_SPECS

OPS = ("F", "G", "C")
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# DeepFool's per-step cost beyond its first class gradient: one more backward per candidate class
# through the shared graph, ~2/3 of a forward+backward pass (assumed)
BACKWARD_PER_G = 2.0 / 3.0
ACTIVATION_COPIES = 3  # saved tensors per convolution output in a training step (conv, BN, ReLU)
BYTES = 4  # float32
CUDA_CONTEXT_MB = 600  # GPU memory of the CUDA context and cuDNN/cuBLAS workspaces (assumed)
DEFAULT_COST = {"gpu": "h100", "runtime_margin": 2.0, "min_runtime": 10, "memory_margin": 1.3}

# dataset name -> (channels, classes, lazy: images stay in .npy files, memory-mapped, never all in memory)
DATASETS = {
    "digits": (1, 10, False),
    "fashion_mnist": (1, 10, False),
    "cifar10": (3, 10, False),
    "gtsrb": (3, 43, False),
    "imagenet": (3, 1000, True),
}


def dataset_info(dataset_cfg: Mapping) -> tuple[int, int, bool]:
    """(channels, classes, lazy) of an experiment's ``dataset`` section."""
    name = dataset_cfg["name"]
    if name not in DATASETS:
        raise KeyError(f"advtrace.workmodel.DATASETS has no dataset {name!r}: add (channels, classes, lazy) for it")
    return DATASETS[name]


def lazy_dataset(dataset_cfg: Mapping) -> bool:
    """Whether the dataset's images are too large for memory (prepared as memory-mapped .npy files)."""
    return dataset_info(dataset_cfg)[2]


def lazy_experiments(places: Any) -> list[str]:
    """Names of the experiments whose dataset is lazy (read without validating them: the Snakefile asks
    at parse time, before experiments are loaded). `places`: a directory of experiment YAMLs, or the
    places an experiment is looked up in, in order (advtrace.config.Experiments.places: the user's
    experiment_dir, then the workflow's own; the first file of a name wins)."""
    import re

    import yaml

    if isinstance(places, (str, Path)):
        files = sorted(Path(places).glob("*.yaml"))
    else:
        first: dict[str, Path] = {}
        for place in places:
            for name in place.names():
                if name not in first and place.file(name) is not None:
                    first[name] = Path(place.file(name))
        files = [first[n] for n in sorted(first)]
    out = []
    for f in files:
        try:
            text = f.read_text()
            # the usual layout, read without parsing the whole file (parsing all of them costs ~1 s)
            m = re.search(r"^dataset:[^\n]*\n(?:[ \t]+#[^\n]*\n)*[ \t]+name:[ \t]*([A-Za-z0-9_]+)", text, flags=re.M)
            name = m.group(1) if m else ((yaml.safe_load(text) or {}).get("dataset") or {}).get("name")
        except (OSError, yaml.YAMLError, AttributeError):
            continue  # the experiment's own validation reports it when it is used
        if DATASETS.get(name, (0, 0, False))[2]:
            out.append(f.stem)
    return out


# --------------------------------------------------------------------------- network profiles

@dataclass(frozen=True)
class Profile:
    """What one image costs a network: multiply-accumulates of a forward pass, parameters, and the
    elements of every convolution's output (the activations a training step keeps)."""

    name: str
    macs: float
    params: float
    act: float  # convolution/linear output elements per image
    layers: int  # convolution and linear layers

    def __str__(self) -> str:
        return f"{self.name} ({self.macs / 1e6:.3g} MMAC/img, {self.params / 1e6:.3g} M params)"


class _Net:
    """Accumulates a profile layer by layer."""

    def __init__(self) -> None:
        self.macs = self.params = self.act = 0.0
        self.layers = 0

    def conv(self, cin: int, cout: int, k: int, side_out: int, bias: bool = False, bn: bool = True) -> None:
        self.macs += side_out * side_out * cout * cin * k * k
        self.params += cout * cin * k * k + (cout if bias else 0) + (2 * cout if bn else 0)
        self.act += side_out * side_out * cout
        self.layers += 1

    def linear(self, cin: int, cout: int) -> None:
        self.macs += cin * cout
        self.params += cin * cout + cout
        self.act += cout
        self.layers += 1


def _down(side: int, stride: int) -> int:
    """Output side of a 3×3 (padding 1) or 1×1 convolution with `stride`."""
    return (side - 1) // stride + 1


@lru_cache(maxsize=None)
def _classifier(name: str, width: int, channels: int, side: int, classes: int) -> Profile:
    net = _Net()
    if name == "preact_resnet18":
        net.conv(channels, width, 3, side, bn=False)
        cin = width
        for i, stride in enumerate((1, 2, 2, 2)):
            planes = width * 2 ** i
            for b in range(2):
                s = stride if b == 0 else 1
                out = _down(side, s)
                net.params += 2 * cin  # bn1
                net.conv(cin, planes, 3, out, bn=False)
                if s != 1 or cin != planes:
                    net.conv(cin, planes, 1, out, bn=False)
                net.params += 2 * planes  # bn2
                net.conv(planes, planes, 3, out, bn=False)
                side, cin = out, planes
        net.params += 2 * cin
        net.linear(cin, classes)
    elif name in ("resnet20", "resnet32"):
        blocks = 3 if name == "resnet20" else 5
        net.conv(channels, width, 3, side)
        cin = width
        for i, stride in enumerate((1, 2, 2)):
            planes = width * 2 ** i
            for b in range(blocks):
                s = stride if b == 0 else 1
                out = _down(side, s)
                net.conv(cin, planes, 3, out)
                net.conv(planes, planes, 3, out)
                if s != 1 or cin != planes:
                    net.conv(cin, planes, 1, out)
                side, cin = out, planes
        net.linear(cin, classes)
    elif name == "convnet":
        cin = channels
        for cout in (width, 2 * width, 4 * width):
            net.conv(cin, cout, 3, side, bias=True, bn=False)
            net.conv(cout, cout, 3, side, bias=True, bn=False)
            side, cin = side // 2, cout
        net.linear(cin * side * side, 512)
        net.linear(512, classes)
    elif name == "vgg16":
        # torchvision's VGG16 (configuration D): 13 3×3 convolutions with bias in five blocks, each
        # closed by a 2×2 max-pooling, adaptive average pooling to 7×7, 4096-4096-1000 dense layers
        # (ImageNet's 1000 logits; a class subset is selected after them); width 64 = unchanged
        rho = width / 64.0
        cin = channels
        for block in ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)):
            for c in block:
                cout = int(round(c * rho))
                net.conv(cin, cout, 3, side, bias=True, bn=False)
                cin = cout
            side //= 2
        net.linear(cin * 7 * 7, 4096)
        net.linear(4096, 4096)
        net.linear(4096, 1000)
    elif name == "inception_v3":
        # torchvision's Inception v3 (no auxiliary classifier) at 299×299, counted with torch once
        # (tests/test_workmodel.py recounts it): every convolution scales by ρ = width/32 on both
        # sides (ρ²; the stem's 3 input channels by ρ), the spatial work by (side/299)².
        rho, area = width / 32.0, (side / 299.0) ** 2
        net.macs = INCEPTION_V3["macs"] * rho * rho * area
        net.params = INCEPTION_V3["params"] * rho * rho + (2048 * rho + 1) * classes
        net.act = INCEPTION_V3["act"] * rho * area
        net.layers = INCEPTION_V3["layers"]
    else:
        raise KeyError(f"advtrace.workmodel has no profile for model {name!r}: add it to _classifier")
    return Profile(f"{name}/{width}@{side}x{side}x{channels}", net.macs, net.params, net.act, net.layers)


# torchvision Inception v3 at 299×299×3, no aux classifier, without its fc layer (counted with torch)
INCEPTION_V3 = {"macs": 5.713e9, "params": 21.77e6, "act": 8.968e6, "layers": 95}


def classifier(model_cfg: Mapping, dataset_cfg: Mapping) -> Profile:
    channels, classes, _ = dataset_info(dataset_cfg)
    return _classifier(model_cfg["name"], int(model_cfg["width"]), channels, int(dataset_cfg["image_size"]), classes)


@lru_cache(maxsize=None)
def detector(channels_in: int, side: int, widths: tuple[int, ...], pools: int) -> Profile:
    """Paper 001's detector (advtrace.detectors.Detector) on a channels_in × side × side input:
    3×3 conv-BN-ReLU per width, a 2×2 max-pool after each of the first `pools` of them, a 1×1
    convolution to the two logits."""
    net = _Net()
    cin = channels_in
    for i, c in enumerate(widths):
        net.conv(cin, int(c), 3, side)
        cin = int(c)
        if i < pools:
            side //= 2
    net.conv(cin, 2, 1, side, bias=True, bn=False)
    return Profile(f"detector{list(widths)}@{side}x{side}x{channels_in}", net.macs, net.params, net.act, net.layers)


def feature_shape(model_cfg: Mapping, dataset_cfg: Mapping, position) -> tuple[int, int]:
    """(channels, side) of the classifier's feature map `position` (``input``: the image;
    k: the output of the stem (0) or residual stage k, ``features()`` of the pre-act/CIFAR ResNets)."""
    channels, _, _ = dataset_info(dataset_cfg)
    side = int(dataset_cfg["image_size"])
    if str(position) == "input":
        return channels, side
    k, w = int(position), int(model_cfg["width"])
    if model_cfg["name"] == "vgg16":  # after the (k+1)-th max-pooling
        return int(round((64, 128, 256, 512, 512)[k] * w / 64.0)), side // 2 ** (k + 1)
    strides = (1, 2, 2, 2) if model_cfg["name"] == "preact_resnet18" else (1, 2, 2)
    for s in strides[:k]:
        side = _down(side, s)
    return (w if k == 0 else w * 2 ** (k - 1)), side


# --------------------------------------------------------------------------- calibration

@lru_cache(maxsize=1)
def calibration() -> dict:
    """The calibration table (``calibration.json``): per device kind, per-image op costs, start-up,
    base memory, and where each number comes from."""
    return json.loads(CALIBRATION_FILE.read_text())


def devices() -> list[str]:
    return [k for k in calibration() if not k.startswith("_")]


def device(kind: str) -> dict:
    table = calibration()
    if kind not in table or kind.startswith("_"):
        raise KeyError(f"no calibration for device kind {kind!r}; allowed: {', '.join(devices())} "
                       f"(advtrace/calibration.json)")
    return table[kind]


def op_seconds(kind: str, op: str, profile: Profile, batch: int) -> float:
    """Seconds per image of `op` on `profile` in batches of `batch` images, on one thread / one GPU
    of device `kind`."""
    a, b, c, e = device(kind)["ops"][op]
    return a + b * profile.macs + c * profile.act + e * profile.layers / max(1, int(batch))


# --------------------------------------------------------------------------- a job's work

@dataclass
class Job:
    """What one job computes and holds. Built by a rule's work function (advtrace.work_rules)."""

    gpu: bool = True  # a GPU rule (resources: gpu=1): runs on the GPU kind, else on the CPU
    torch: bool = True  # imports torch (start-up), else a light table/plot job
    threads: int = 1
    ops: Counter = field(default_factory=Counter)  # (profile, op, batch) -> images
    data_bytes: float = 0.0  # dataset arrays loaded into host memory
    device_data_bytes: float = 0.0  # of those, moved to the GPU (training split)
    array_bytes: float = 0.0  # other arrays held in host memory (sample sets, perturbations, features)
    compute_bytes: float = 0.0  # arrays held where the job computes (GPU memory on a GPU, else host)
    models: list = field(default_factory=list)  # (profile, optimiser slots) held with gradients
    batch: list = field(default_factory=list)  # (profile, images per pass, training)
    out_bytes: float = 0.0
    extra_s: float = 0.0  # seconds of work outside the unit operations (measured or assumed rates)
    notes: list = field(default_factory=list)

    def add(self, profile: Profile, op: str, images: float, batch: int) -> "Job":
        """`images` single-image `op`s on `profile`, run in batches (chunks) of `batch` images."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; allowed: {', '.join(OPS)}")
        if images > 0:
            self.ops[(profile, op, int(batch))] += float(images)
        return self

    def attack(self, profile: Profile, att: Mapping, images: float, batch: int, classes: int = 10) -> "Job":
        """`images` inputs perturbed by the config attack `att` in batches of `batch` (its gradient
        steps per input from the attack registry; DeepFool: one gradient per candidate class per step)."""
        for op, k in attack_ops(att, classes).items():
            self.add(profile, op, k * images, batch)
        return self

    def train(self, profile: Profile, batch: int, slots: int = 1) -> "Job":
        """The job trains `profile` (parameters, gradients and `slots` optimiser tensors per
        parameter held; activations of a `batch`)."""
        self.models.append((profile, 2 + slots))
        self.batch.append((profile, batch, True))
        return self

    def holds(self, profile: Profile, chunk: int) -> "Job":
        """The job evaluates `profile` on chunks of `chunk` images (parameters + one chunk's activations)."""
        self.models.append((profile, 1))
        self.batch.append((profile, chunk, False))
        return self

    def out(self, nbytes: float) -> "Job":
        self.out_bytes += float(nbytes)
        return self

    def totals(self) -> Counter:
        """Images per op, summed over networks."""
        c: Counter = Counter()
        for (_, op, _), n in self.ops.items():
            c[op] += n
        return c


def attack_ops(att: Mapping, classes: int = 10) -> Counter:
    """Unit operations to perturb one input with the config attack `att` (predictions around it not
    included): one input-gradient pass per gradient step of the attack registry; DeepFool's step
    takes a gradient for every candidate class (the first a full pass, each further one a backward
    through the shared graph) and a forward to check the label."""
    spec = ATTACK_SPECS.get(att["name"])
    if spec is None:
        raise ValueError(f"no cost model for attack {att['name']!r}; allowed: {', '.join(ATTACK_SPECS)}")
    steps = spec.gradient_steps(att)
    if spec.class_gradients:
        return Counter(G=steps * (1 + (classes - 2) * BACKWARD_PER_G), F=steps)
    return Counter(G=steps)


# --------------------------------------------------------------------------- estimates

@dataclass(frozen=True)
class Estimate:
    """One job's estimate on one device kind."""

    rule: str
    kind: str  # device kind it runs on
    gpu: bool
    seconds: float  # wall seconds (start-up included)
    work_s: float  # of which, the unit operations and extra work
    host_mb: float
    device_mb: float
    disk_mb: float
    threads: int
    ops: Mapping[str, float]
    trains: bool = False  # holds a network with gradients and optimiser state

    @property
    def gpu_hours(self) -> float:
        return self.seconds / 3600.0 if self.gpu else 0.0

    @property
    def cpu_hours(self) -> float:
        return 0.0 if self.gpu else self.seconds * self.threads / 3600.0


def estimate_job(rule: str, job: Job, kind: str, cpu_kind: str = "cpu") -> Estimate:
    """Seconds, memory and disk of `job` with its GPU work on `kind` (its CPU work on `cpu_kind`)."""
    on = kind if job.gpu else cpu_kind
    dev = device(on)
    gpu = job.gpu and dev.get("gpu", False)
    start = dev["startup_s"]["torch" if job.torch else "plain"]
    if any(training for _, _, training in job.batch):
        start += dev.get("train_startup_s", 0.0)  # building the optimiser, loading and writing checkpoints
    work = job.extra_s
    for (profile, op, batch), n in job.ops.items():
        work += n * op_seconds(on, op, profile, batch)
    if not gpu and job.threads > 1:
        work /= job.threads ** dev.get("thread_scaling", 0.7)
    load = job.data_bytes / (dev.get("read_mb_s", 500.0) * 1e6)
    host = dev["base_rss_mb"]["torch" if job.torch else "plain"] + (job.data_bytes + job.array_bytes) / 1e6
    states = sum(p.params * k * BYTES for p, k in job.models) / 1e6
    acts = max((p.act * n * BYTES * (ACTIVATION_COPIES if training else 1) for p, n, training in job.batch),
               default=0.0) / 1e6
    trains = any(training for _, _, training in job.batch)
    if trains:
        host += dev.get("train_rss_mb", 0.0)
    if gpu:
        device_mb = CUDA_CONTEXT_MB + states + acts + (job.device_data_bytes + job.compute_bytes) / 1e6
    else:
        device_mb = 0.0
        host += states + acts + job.compute_bytes / 1e6
    return Estimate(rule, on, gpu, start + load + work, work, host, device_mb, job.out_bytes / 1e6, job.threads,
                    dict(job.totals()), trains)


def cost_settings(config: Mapping | None) -> dict:
    """The ``cost`` section of config/config.yaml with its defaults (values given on the command
    line arrive as strings)."""
    cost = {**DEFAULT_COST, **((config or {}).get("cost") or {})}
    return {"gpu": str(cost["gpu"]), "runtime_margin": float(cost["runtime_margin"]),
            "min_runtime": float(cost["min_runtime"]), "memory_margin": float(cost["memory_margin"])}


def runtime_minutes(seconds: float, attempt: int, cost: Mapping) -> int:
    """SLURM ``--time`` in minutes: margin × estimate, at least ``min_runtime``, × attempt."""
    base = max(float(cost["min_runtime"]), cost["runtime_margin"] * seconds / 60.0)
    return int(math.ceil(base)) * max(1, int(attempt))


def memory_mb(host_mb: float, cost: Mapping) -> int:
    """SLURM ``--mem`` in MB: the estimate with the margin (at least 256 MB more), in 100 MB steps."""
    want = max(cost["memory_margin"] * host_mb, host_mb + 256.0)
    return int(math.ceil(want / 100.0)) * 100


def disk_mb(estimate: Estimate) -> int:
    return max(1, int(math.ceil(estimate.disk_mb)))


# --------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class RuleWork:
    """A rule's entry: its study (``core``, or a paper number) and its work function (None = a
    light job that imports no torch: start-up only)."""

    name: str
    study: str
    work: Callable[["Ctx"], Job] | None
    torch: bool = True


RULES: dict[str, RuleWork] = {}


def register(*names: str, study: str) -> Callable:
    """Decorator: ``fn(ctx) -> Job`` is the work of every rule in `names`."""

    def deco(fn: Callable[["Ctx"], Job]) -> Callable[["Ctx"], Job]:
        for name in names:
            if name in RULES:
                raise ValueError(f"rule {name!r} is registered twice in the work model")
            RULES[name] = RuleWork(name, study, fn)
        return fn

    return deco


def light(*names: str, study: str) -> None:
    """Rules whose jobs import no torch and read/write only tables and figures (start-up only)."""
    for name in names:
        if name in RULES:
            raise ValueError(f"rule {name!r} is registered twice in the work model")
        RULES[name] = RuleWork(name, study, None, torch=False)


def rules() -> dict[str, RuleWork]:
    from . import work_rules  # noqa: F401  (registers the entries)

    return RULES


class Ctx:
    """What a work function sees: the experiment config, the job's wildcards, the workflow config."""

    def __init__(self, exp: Mapping, wildcards: Mapping[str, str], config: Mapping | None = None):
        self.exp = exp
        self.wc = dict(wildcards)
        self.config = config or {}

    def n(self, sample_set: str) -> int:
        return int(self.exp["samples"][sample_set]["n"])

    def split(self, name: str) -> int:
        return int(self.exp["dataset"]["splits"][name]["n"])

    @property
    def image_bytes(self) -> int:
        c, _, _ = dataset_info(self.exp["dataset"])
        s = int(self.exp["dataset"]["image_size"])
        return c * s * s

    @property
    def classes(self) -> int:
        return dataset_info(self.exp["dataset"])[1]

    def run(self, run: str | None = None) -> Mapping:
        """The experiment config as `run` (default: the job's {run} wildcard, else main) sees it
        (read only: cached per experiment and run, the DAG asks once per job)."""
        from . import runs

        run = run or self.wc.get("run", runs.MAIN)
        key = (id(self.exp), run)
        hit = _RUNS.get(key)
        if hit is None or hit[0] is not self.exp:
            hit = _RUNS[key] = (self.exp, runs.run_config(self.exp, run))
        return hit[1]

    def model(self, run: str | None = None) -> Profile:
        cfg = self.exp if run is None and "run" not in self.wc else self.run(run)
        return classifier(cfg["model"], self.exp["dataset"])

    def job(self, gpu: bool = True, dataset: bool = True, train_on_device: bool = False) -> Job:
        """A new job; `dataset`: it loads the experiment's dataset (every split, unless lazy)."""
        job = Job(gpu=gpu)
        if dataset and not lazy_dataset(self.exp["dataset"]):
            splits = sum(self.split(s) for s in self.exp["dataset"]["splits"])
            job.data_bytes = splits * self.image_bytes
            if train_on_device:
                job.device_data_bytes = self.split("train") * self.image_bytes
        return job

    def checkpoint_bytes(self, profile: Profile, slots: int = 1) -> float:
        """A full-state checkpoint: parameters + optimiser state (+ BN buffers, RNG: small)."""
        return profile.params * BYTES * (1 + slots)


_CACHE: dict = {}
_RUNS: dict = {}


def job_estimate(rule: str, exp: Mapping, wildcards: Mapping[str, str], config: Mapping | None, kind: str,
                 gpu: bool | None = None, cpu_kind: str = "cpu") -> Estimate | None:
    """The estimate of one job of `rule` (None when the rule has no work-model entry), cached per
    job and device kind. `gpu`: whether the rule declares ``gpu=1`` (default: the entry's job says)."""
    entry = rules().get(rule)
    if entry is None:
        return None
    key = (rule, exp.get("name"), id(exp), tuple(sorted(wildcards.items())), kind, cpu_kind, gpu,
           (config or {}).get("epochs_per_analysis_job"))
    hit = _CACHE.get(key)
    if hit is None:
        if entry.work is None:
            job = Job(gpu=False, torch=False)
        else:
            job = entry.work(Ctx(exp, wildcards, config))
        if gpu is not None:
            job.gpu = bool(gpu)
        hit = _CACHE[key] = estimate_job(rule, job, kind, cpu_kind)
    return hit


def study_of(rule: str) -> str | None:
    entry = rules().get(rule)
    return None if entry is None else entry.study


def work_counts(rule: str, exp: Mapping, wildcards: Mapping[str, str], config: Mapping | None = None) -> Counter:
    """Images per unit op of one job (all networks), for the benchmark's projection."""
    entry = rules().get(rule)
    if entry is None or entry.work is None:
        return Counter()
    return entry.work(Ctx(exp, wildcards, config)).totals()


def summarise(estimates: Iterable[Estimate]) -> dict[str, Any]:
    ests = list(estimates)
    return {
        "jobs": len(ests),
        "gpu_hours": sum(e.gpu_hours for e in ests),
        "cpu_hours": sum(e.cpu_hours for e in ests),
        "disk_gb": sum(e.disk_mb for e in ests) / 1e3,
        "longest_h": max((e.seconds for e in ests), default=0.0) / 3600.0,
        "peak_host_gb": max((e.host_mb for e in ests), default=0.0) / 1e3,
        "peak_device_gb": max((e.device_mb for e in ests), default=0.0) / 1e3,
    }


__all__ = ["Ctx", "Estimate", "Job", "Profile", "RULES", "RuleWork", "attack_ops", "calibration", "classifier",
           "cost_settings", "detector", "devices", "estimate_job", "job_estimate", "light", "memory_mb", "register",
           "rules", "runtime_minutes"]
