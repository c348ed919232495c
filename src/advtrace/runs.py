"""Several adversarial-training runs per experiment (pure Python, no torch).

An experiment has one dataset, one set of sample sets and one pretrained model (epoch 0), and one
or more *runs*: chains of adversarial-training epochs, one job and one full-state checkpoint per
epoch. The run ``main`` is the experiment's own ``adv_train`` section. The optional ``runs``
section adds named runs, each a set of overrides of the experiment's ``seed``, ``model``,
``pretrain`` and ``adv_train`` keys, written as dotted paths::

    runs:
      fgsm_true_labels:                       # one run
        adv_train.attack: {name: fgsm, eps: 32}
        adv_train.attack_label: true
      capacity:                               # a grid: one run per value (product of the lists)
        grid: {model.width: [8, 32], seed: [0, 1]}
        adv_train.epochs: 3

A ``null`` value removes a key, for a run whose training method does not read it (each method
accepts exactly its own keys, :mod:`advtrace.specs`): ``adv_train.sigma: null``. A grid expands at
parse time into readable names, ``capacity_width8_seed0`` … (the last key
segment and the value; ``.`` in a value becomes ``p``). Every run, main included, keeps what it
produces under one directory, :func:`run_dir` ``results/{exp}/runs/{run}/``: its checkpoints
``checkpoints/epoch_NNN.pt`` and what paper 000's analyses compute from them (perturbations,
detectors, universal perturbations, metric parts; advtrace.studies.p000). A run whose seed, model and pretraining
equal the experiment's starts from the shared epoch 0; any other run pretrains its own epoch 0
(shared with the later runs of the same seed, model and pretraining, :func:`pretraining_owner`)
(``pretrain.epochs: 0`` = adversarial training from the random initialisation, as paper 002
trains). Every run keeps the per-epoch contract of the main chain: resumable, atomic,
bit-identical when continued.

A study section may declare the runs it compares in its own ``runs`` mapping (paper 002's and
paper 004's sections do): :func:`declared` collects every section whose ``runs`` is a mapping. (An
analysis section's ``runs`` *list* names runs it analyses; it declares none.) This module imports
nothing else of advtrace, so the registry of stages (advtrace.stages) and the configuration
(advtrace.config) may import it.
"""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

MAIN = "main"
OVERRIDABLE = ("seed", "model", "pretrain", "adv_train")
# the sections every experiment has (a run is a training chain of them; advtrace.stages adds the
# optional analysis stages)
CORE_SECTIONS = ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples")
NAME = re.compile(r"^[A-Za-z0-9_]+$")


def _set(cfg: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = cfg
    for key in parents:
        if not isinstance(node.get(key), dict):
            raise KeyError(dotted)
        node = node[key]
    if value is None:  # null removes a key (e.g. sigma when a run switches to a method without it)
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)


def _label(dotted: str, value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9]", "p", str(value).lower() if isinstance(value, bool) else str(value))
    return f"{dotted.split('.')[-1]}{text}"


def declared(exp: dict) -> list[tuple[str, str, Any]]:
    """(where, name, spec) of every declared run: the experiment's ``runs`` section, then the
    ``runs`` mapping of each other section, in file order (a companion-paper study declares the
    training runs it compares in its own section; an analysis section's ``runs`` list declares none)."""
    out = [("runs", name, spec) for name, spec in (exp.get("runs") or {}).items()]
    for key, section in exp.items():
        if key != "runs" and isinstance(section, dict) and isinstance(section.get("runs"), dict):
            out += [(f"{key}.runs", name, spec) for name, spec in section["runs"].items()]
    return out


def _expanded(exp: dict) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = [(MAIN, {})]
    for _where, name, spec in declared(exp):
        spec = dict(spec or {})
        grid = spec.pop("grid", None) or {}
        if not grid:
            out.append((name, spec))
            continue
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            label = "_".join(_label(k, v) for k, v in zip(keys, values))
            out.append((f"{name}_{label}", {**spec, **dict(zip(keys, values))}))
    return out


_EXPANDED: dict[int, tuple[dict, list, dict]] = {}  # id(exp) -> (exp, its declared runs, expansion)


def expand(exp: dict) -> dict[str, dict[str, Any]]:
    """{run name: {dotted key: value}} for every run, ``main`` (no overrides) first.

    Cached per experiment dict (the rules ask for it thousands of times while a 108-run grid's DAG
    is built); the cache holds a reference to `exp` (so its id is not reused) and a copy of its run
    declarations, and is used only while they are unchanged. Returns a new dict."""
    runs_now = declared(exp)
    hit = _EXPANDED.get(id(exp))
    if hit is None or hit[0] is not exp or hit[1] != runs_now:
        hit = (exp, copy.deepcopy(runs_now), dict(_expanded(exp)))
        _EXPANDED[id(exp)] = hit
    return dict(hit[2])


def run_config(exp: dict, run: str) -> dict:
    """The experiment config as `run` sees it (its overrides applied; a new dict whose seed, model,
    pretrain and adv_train sections are copies and whose other sections are the experiment's own)."""
    runs = expand(exp)
    if run not in runs:
        raise KeyError(f"{exp.get('name', 'experiment')}: no run {run!r}; runs: {', '.join(runs)}")
    # overrides touch only the OVERRIDABLE sections: copy those, share the others
    cfg = {k: (copy.deepcopy(v) if k in OVERRIDABLE else v) for k, v in exp.items()}
    for dotted, value in runs[run].items():
        _set(cfg, dotted, value)
    return cfg


def shares_pretraining(exp: dict, run: str) -> bool:
    """Whether `run` starts from the experiment's own epoch 0 (same seed, model and pretraining)."""
    cfg = run_config(exp, run)
    return all(cfg[k] == exp[k] for k in ("seed", "model", "pretrain"))


def run_dir(exp_name: str, run: str) -> str:
    """Everything `run` produces lives here (main included): ``results/{exp}/runs/{run}``."""
    return f"results/{exp_name}/runs/{run}"


def checkpoint_dir(exp_name: str, run: str) -> str:
    return f"{run_dir(exp_name, run)}/checkpoints"


def pretraining_owner(exp: dict, run: str) -> str:
    """The run whose epoch 0 `run` starts from: ``main`` when it shares the experiment's pretraining,
    else the first run (in declaration order) with the same seed, model and pretraining, so runs
    that differ only in ``adv_train`` (e.g. with and without adversarial training at one model
    width) pretrain once."""
    if run == MAIN or shares_pretraining(exp, run):
        return MAIN
    cfg = run_config(exp, run)
    mine = [cfg[k] for k in ("seed", "model", "pretrain")]
    for other in expand(exp):
        if other == run:
            break
        if other != MAIN and [run_config(exp, other)[k] for k in ("seed", "model", "pretrain")] == mine:
            return other
    return run


def epoch_owner(exp: dict, run: str, epoch: int) -> str:
    """The run whose files hold `run`'s model of `epoch`: its :func:`pretraining_owner` for epoch 0
    (the same model), else `run` itself. What depends on nothing but that model and the analysis
    settings (perturbations, detectors, universal perturbations of epoch 0) is computed once, there."""
    return pretraining_owner(exp, run) if int(epoch) == 0 else run


def checkpoint_path(exp: dict, run: str, epoch: int) -> str:
    """Where `run`'s checkpoint of `epoch` lives (epoch 0 is that of its :func:`pretraining_owner`)."""
    return f"{checkpoint_dir(exp['name'], epoch_owner(exp, run, epoch))}/epoch_{int(epoch):03d}.pt"


def epochs_per_training_job(exp: dict, run: str) -> int:
    """Epochs one training job of `run` trains (``adv_train.epochs_per_training_job``, default 1).

    Scheduling, not science: with k > 1 one job trains epochs (j−1)k+1 .. jk (the last job may be
    shorter), still writing every epoch's full-state checkpoint at :func:`checkpoint_path`, and
    declares a manifest ``job_NNN.json`` (NNN = its last epoch) as its output; a paper-scale grid
    of 108 runs × 65 epochs then plans 540 jobs instead of 7000. Weights are bit-identical to one
    job per epoch. Any run may chain epochs, main included: an analysis of epoch t depends on
    :func:`job_output` and reads the checkpoint at :func:`checkpoint_path`."""
    return int(run_config(exp, run)["adv_train"].get("epochs_per_training_job", 1))


def manifest_path(exp_name: str, run: str, epoch: int) -> str:
    """Output of the chained job of `run` whose last epoch is `epoch` (epochs_per_training_job > 1)."""
    return f"{checkpoint_dir(exp_name, run)}/job_{int(epoch):03d}.json"


def job_span(exp: dict, run: str, epoch: int) -> tuple[int, int]:
    """(first, last) epoch of the training job that writes `run`'s checkpoint of `epoch` (≥ 1)."""
    k = epochs_per_training_job(exp, run)
    total = int(run_config(exp, run)["adv_train"]["epochs"])
    epoch = int(epoch)
    first = (epoch - 1) // k * k + 1
    return first, min(first + k - 1, max(total, epoch))


def job_output(exp: dict, run: str, epoch: int) -> str:
    """The file a consumer of `run`'s checkpoint of `epoch` depends on: the checkpoint itself, or,
    for a run that chains epochs (:func:`epochs_per_training_job` > 1), the manifest of the job that writes it
    (the checkpoint is then read from :func:`checkpoint_path`)."""
    if int(epoch) == 0 or epochs_per_training_job(exp, run) == 1:
        return checkpoint_path(exp, run, epoch)
    return manifest_path(exp["name"], run, job_span(exp, run, epoch)[1])


def chunk_name(chunk: list[int]) -> str:
    """The ``{chunk}`` wildcard of an analysis job over several epochs: first and last, ``004-007``."""
    return f"{chunk[0]:03d}-{chunk[-1]:03d}"


def chunk_range(name: str) -> tuple[int, int]:
    """(first, last) epoch of a ``{chunk}`` wildcard (:func:`chunk_name`'s inverse on its ends)."""
    first, last = (int(x) for x in name.split("-"))
    return first, last


def in_chunk(epochs, name: str) -> list[int]:
    """The epochs of ``epochs`` that the chunk ``name`` spans, in order."""
    first, last = chunk_range(name)
    return [int(t) for t in epochs if first <= int(t) <= last]


def epoch_chunks(epochs, k: int) -> dict[str, list[int]]:
    """Analysis jobs that take ``k`` epochs each: chunk name -> its epochs, consecutive groups of the
    sorted ``epochs`` (``epochs_per_analysis_job`` for paper 000's stages; a study's own setting)."""
    epochs = sorted(int(e) for e in epochs)
    return {chunk_name(g): g for g in (epochs[i:i + k] for i in range(0, len(epochs), k))}


def problems(exp: dict, validate) -> list[str]:
    """Run names, override keys, grids, and each run's effective config (`validate(cfg)` -> problems)."""
    out: list[str] = []
    for where, name, spec in declared(exp):
        if not NAME.match(name) or name == MAIN:
            out.append(f"{where}.{name}: a run name is letters, digits and _ (and not {MAIN!r})")
        if spec is not None and not isinstance(spec, dict):
            out.append(f"{where}.{name}: a run is a mapping of dotted keys to values")
            continue
        for key, value in (spec or {}).items():
            keys = value if key == "grid" else {key: value}
            if key == "grid" and (not isinstance(value, dict) or not value or
                                  not all(isinstance(v, list) and v for v in value.values())):
                out.append(f"{where}.{name}.grid: a mapping of dotted keys to non-empty lists of values")
                continue
            for dotted in keys:
                if dotted.split(".")[0] not in OVERRIDABLE:
                    out.append(f"{where}.{name}.{dotted}: a run overrides only {', '.join(OVERRIDABLE)} "
                               "(dotted paths such as adv_train.attack.eps)")
    if out:
        return out
    names = [name for name, _ in _expanded(exp)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        return [f"runs: run names {dup} occur twice after expanding the grids; rename a run"]
    for run in names[1:]:  # a run is a training chain: its core sections are checked
        try:
            cfg = run_config(exp, run)
        except KeyError as err:
            out.append(f"runs.{run}: {err.args[0]} is not a key of the experiment config")
            continue
        out += [f"runs.{run}: {p}" for p in validate({k: cfg[k] for k in CORE_SECTIONS})]
    return out
