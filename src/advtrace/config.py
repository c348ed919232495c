"""Load and validate advtrace configuration before any job runs.

YAML is read by :func:`load_yaml`: a syntax error or a key written twice is one message naming
the file, line and column. Then three layers:

1. JSON schema (``config/schema.yaml``): types (a float is never an integer), enums, required
   keys, ``additionalProperties: false`` so a typo fails loudly.
2. Cross-field checks a schema cannot express (:func:`check_experiment`: the core sections here,
   then each active analysis stage's checks, :mod:`advtrace.stages`): each attack's
   parameters as its entry of the attack registry (:mod:`advtrace.specs`) lists them (α ≤ ε for
   ℓ∞ iterative attacks, iterative attacks have α and iterations), the training method's keys
   and parameters (:func:`advtrace.specs.method_problems`), analysed epochs within the
   trained range, split sizes within their source, sample sizes within their split, sample
   sets only exclude existing sets of the same split, the adversarial-training LR schedule does
   not depend on the number of epochs.
3. Value checks (:func:`value_problems`): finite numbers, seeds within torch's range, ε in
   [0, 255] units (ε < 1 is a units mistake), DeepFool without alpha/iterations, sample-set
   names usable in paths, no circular exclusions.

:class:`Experiments` validates an experiment when it is first used, so files a run does not use
never block it.

All problems are collected and raised together as one :class:`ConfigError` whose message names
each offending key (``digits: adv_train.attack.alpha``) and what is allowed.

Units: configs give ε, α in [0, 255]; :func:`attack_kwargs` converts to [0, 1] once.
"""

from __future__ import annotations

import copy

import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from .specs import ATTACK_SPECS, L2_EPS, PIXEL_KEYS, attack_problems, method_problems

# Sizes of the official source splits, used to reject impossible split sizes before download.
SOURCE_SIZES: dict[str, dict[str, int]] = {
    "digits": {"all": 1797},
    "cifar10": {"train": 50000, "test": 10000},
    "gtsrb": {"train": 39209, "test": 12630},
    "imagenet": {"train": 1281167, "val": 50000},
    "fashion_mnist": {"train": 60000, "test": 10000},
}


class ConfigError(ValueError):
    """A configuration problem; the message lists every offending key and the fix."""


# --- reading YAML: syntax errors as file, line, column; duplicate keys rejected ----------------------

class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` entries may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: construct_mapping reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first.line + 1}); the last one would "
                    "silently win: keep one", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _yaml_error(path: Path, err: yaml.YAMLError) -> ConfigError:
    """A YAML problem as `FILE, line L, column C: what` plus the line itself (no PyYAML traceback)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    what = getattr(err, "problem", None) or str(err)
    context, cmark = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context:
        where = f" (line {cmark.line + 1}, column {cmark.column + 1})" if cmark is not None and cmark != mark else ""
        what = f"{context}{where}: {what}"
    if mark is None:
        return ConfigError(f"{path}: invalid YAML: {what}")
    lines = path.read_text(errors="replace").splitlines()
    shown = ""
    if 0 <= mark.line < len(lines):
        shown = f"\n    {lines[mark.line]}\n    {' ' * mark.column}^"
    return ConfigError(f"{path}, line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {what}{shown}")


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely; a syntax error or a duplicate key raises ConfigError naming the file,
    line and column."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path) as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise _yaml_error(path, err) from None


def load_schema(path: str | Path) -> dict:
    return load_yaml(path)


def _path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


# keys renamed by issue 26 (one name per thing): an old config names its new key in the error
RENAMED = {
    "job_epochs": "adv_train.epochs_per_training_job (epochs trained per training job)",
    "epochs_per_job": "epochs_per_cluster_job in config/config.yaml (SLURM groups), or epochs_per_analysis_job "
                      "(paper 004's evaluation chunks: an experiment's top-level key)",
}


def _describe(error) -> str:
    key = _path(error)
    v = error.validator
    if v == "enum":
        return f"{key}: {error.instance!r} is not allowed; allowed values: {', '.join(map(repr, error.validator_value))}"
    if v == "additionalProperties":
        renamed = [f"{old!r} is now {new}" for old, new in RENAMED.items() if f"'{old}'" in error.message]
        hint = f"; renamed: {'; '.join(renamed)}" if renamed else ""
        return f"{key}: {error.message} (check the spelling; allowed keys are listed in config/schema.yaml{hint})"
    if v == "required":
        return f"{key}: {error.message}"
    if v == "type":
        if error.validator_value == "integer" and isinstance(error.instance, float):
            fix = f"write {int(error.instance)}" if error.instance.is_integer() else "use a whole number"
            return f"{key}: {error.instance!r} is not an integer; {fix}"
        return f"{key}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    if v in ("exclusiveMinimum", "minimum", "maximum", "exclusiveMaximum"):
        op = {"exclusiveMinimum": ">", "minimum": ">=", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return f"{key}: {error.instance!r} is out of range; must be {op} {error.validator_value}"
    if v in ("oneOf", "anyOf"):
        return f"{key}: {error.instance!r} is not allowed; expected {' or '.join(_alternative(s) for s in error.validator_value)}"
    if v == "pattern":
        return f"{key}: {error.instance!r} does not match the pattern {error.validator_value!r}"
    return f"{key}: {error.message}"


def _alternative(sub: dict) -> str:
    """Plain-words description of one branch of a oneOf/anyOf (for error messages)."""
    if "const" in sub:
        return repr(sub["const"])
    if sub.get("type") == "array":
        items = sub.get("items", {})
        what = f"{items.get('type', 'value')}s" + (f" >= {items['minimum']}" if "minimum" in items else "")
        return f"a {'non-empty ' if sub.get('minItems') else ''}list of {what}"
    return sub.get("type", "a value matching the schema")


def schema_errors(instance: Any, schema: dict, defs_root: dict | None = None) -> list[str]:
    """Human-readable schema violations, sorted by key path."""
    if defs_root is not None and "$defs" not in schema:
        schema = {**schema, "$defs": defs_root["$defs"]}
    validator = _validator_class()(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [_describe(e) for e in errors]


def _validator_class():
    """Draft 2020-12, except that a float is never an integer: JSON Schema counts 3.0 as one, which
    let `epochs: 3.0` or `batch_size: 64.0` through to fail in a job."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, inst: isinstance(inst, int) and not isinstance(inst, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def experiment_schema(schema: dict) -> dict:
    """The experiment part of config/schema.yaml, with each study's section fragment (its package's
    ``schemas.CONFIG``, advtrace.stages; paper 000's sections are written in schema.yaml itself)
    added as an optional property."""
    import importlib

    from . import stages

    defs = copy.deepcopy(schema["$defs"])
    props = defs["experiment"]["properties"]
    for stage in stages.all_stages():
        part = getattr(importlib.import_module(f"{stage.module}.schemas"), "CONFIG", None)
        if part is not None:
            if stage.name in props:
                raise ConfigError(f"config/schema.yaml already has a section {stage.name!r}; the study "
                                  f"{stage.module} defines it in its schemas.CONFIG")
            props[stage.name] = part
    return {"$defs": defs, "$ref": "#/$defs/experiment"}


def check_experiment(exp: dict) -> list[str]:
    """Cross-field checks on a schema-valid experiment. Returns problem strings (empty = OK)."""
    problems: list[str] = []

    problems += method_problems(exp["adv_train"])
    if "attack" in exp["adv_train"]:
        problems += attack_problems("adv_train.attack", exp["adv_train"]["attack"])

    sched = exp["adv_train"]["schedule"]
    if sched["name"] == "cosine":
        problems.append(
            "adv_train.schedule.name: 'cosine' depends on the total number of epochs, so raising "
            "adv_train.epochs would change finished epochs; use 'constant' or 'multistep'"
        )
    for section in ("pretrain", "adv_train"):
        s = exp[section]["schedule"]
        if s["name"] == "multistep" and not s["milestones"]:
            problems.append(f"{section}.schedule.milestones: 'multistep' needs at least one milestone")

    ds = exp["dataset"]
    sources = SOURCE_SIZES[ds["name"]]
    used: dict[str, int] = {}
    for split, spec in ds["splits"].items():
        if spec["source"] not in sources:
            problems.append(
                f"dataset.splits.{split}.source: {spec['source']!r} does not exist for {ds['name']}; "
                f"allowed: {sorted(sources)}"
            )
            continue
        used[spec["source"]] = used.get(spec["source"], 0) + spec["n"]
    for source, n in used.items():
        if n > sources[source]:
            problems.append(
                f"dataset.splits: {n} images drawn from {ds['name']}'s {source!r} source, which has "
                f"only {sources[source]}; reduce dataset.splits.*.n"
            )
    if ds["name"] == "digits" and ds["image_size"] != 8:
        problems.append("dataset.image_size: digits images are 8x8; allowed: 8")
    if ds["name"] == "cifar10" and ds["image_size"] != 32:
        problems.append("dataset.image_size: CIFAR-10 images are 32x32; allowed: 32")
    if ds["name"] == "fashion_mnist" and ds["image_size"] != 28:
        problems.append("dataset.image_size: Fashion-MNIST images are 28x28; allowed: 28")
    if exp["model"]["name"] == "inception_v3":
        if IMAGE_CHANNELS[ds["name"]] != 3:
            problems.append(f"model.name: inception_v3 takes RGB images; {ds['name']} is grey")
        if ds["image_size"] < 75:
            problems.append(f"dataset.image_size: inception_v3 needs images of at least 75x75 pixels "
                            f"(299 in paper 002), got {ds['image_size']}")
    model = exp["model"]
    if (model.get("activation") == "relu_decay") != ("relu_decay_beta" in model):
        problems.append("model.relu_decay_beta: required with activation relu_decay and read by no other activation "
                        f"(activation: {model.get('activation', 'relu')!r}); set both or neither")
    if "blocks" in model and model["name"] != "preact_resnet18":
        problems.append(f"model.blocks: only preact_resnet18 takes blocks per stage, not {model['name']!r}; remove it")
    if model["name"] == "vgg16":  # torchvision's VGG16 (paper 001 Sec. 4.2)
        if IMAGE_CHANNELS[ds["name"]] != 3:
            problems.append(f"model.name: vgg16 takes RGB images; {ds['name']} is grey")
        if ds["image_size"] < 32:
            problems.append(f"dataset.image_size: vgg16 needs images of at least 32x32 pixels (five 2x2 max-poolings; "
                            f"224 for its ImageNet weights), got {ds['image_size']}")
        if model["width"] != 64:
            problems.append(f"model.width: vgg16 has 64 channels in its first convolution (the only width its "
                            f"ImageNet weights fit), got {model['width']}")
        if ds["name"] != "imagenet":
            problems.append(f"model.name: vgg16 has ImageNet's 1000 outputs; use it on imagenet (a class subset via "
                            f"dataset.classes), not {ds['name']}")
    if model.get("weights") and model["name"] != "vgg16":
        problems.append(f"model.weights: pretrained weights are supported for vgg16 only, not {model['name']}")
    if ds.get("classes") is not None and ds["name"] != "imagenet":
        problems.append(f"dataset.classes: a class subset is supported for imagenet only, not {ds['name']}")
    if ds.get("classes") is not None and len(set(ds["classes"])) != len(ds["classes"]):
        problems.append(f"dataset.classes: {ds['classes']} repeats a class")
    if ds["splits"]["train"]["n"] < 1 or ds["splits"]["test"]["n"] < 1:
        problems.append("dataset.splits: train and test must each have at least one image")

    sizes = {k: v["n"] for k, v in ds["splits"].items()}
    samples = exp["samples"]
    for name, s in samples.items():
        if s["n"] > sizes[s["split"]]:
            problems.append(
                f"samples.{name}.n: {s['n']} is larger than the {s['split']} split "
                f"({sizes[s['split']]} images, dataset.splits.{s['split']}.n)"
            )
        total = s["n"]
        for other in s["exclude"]:
            if other not in samples:
                problems.append(f"samples.{name}.exclude: unknown sample set {other!r}; allowed: {sorted(samples)}")
            elif samples[other]["split"] != s["split"]:
                problems.append(f"samples.{name}.exclude: {other!r} is drawn from another split")
            else:
                total += samples[other]["n"]
        if total > sizes[s["split"]] and all(o in samples for o in s["exclude"]):
            problems.append(
                f"samples.{name}: {s['n']} inputs disjoint from {s['exclude']} need {total} > "
                f"{sizes[s['split']]} images of the {s['split']} split"
            )
    from .stages import stage_problems

    return problems + stage_problems(exp)


# --- value checks the schema cannot make: finiteness, seed range, ε units, attack parameters, ----------
# --- sample-set names and exclusion cycles (apart from the per-stage cross-field checks) ------------

SEED_MAX = 2**63 - 1  # torch seeds are 64-bit; job seeds add small offsets (seed + epoch)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")  # names that become parts of file paths (= the wildcard constraints)
IMAGE_CHANNELS = {"digits": 1, "cifar10": 3, "gtsrb": 3, "imagenet": 3, "fashion_mnist": 1}
DEEPFOOL = {"deepfool_l2", "deepfool_linf"}


def value_problems(exp: dict) -> list[str]:
    """Checks of single values on a schema-valid experiment. Returns problem strings."""
    return finite_problems(exp) + seed_problems(exp) + eps_problems(exp) + sample_set_problems(exp)


def finite_problems(obj: Any, key: str = "") -> list[str]:
    """Every number must be finite (YAML's .inf / .nan pass a JSON schema's bounds)."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in finite_problems(v, f"{key}.{k}" if key else str(k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in finite_problems(v, f"{key}[{i}]")]
    if isinstance(obj, float) and not math.isfinite(obj):
        hint = " (ε and α are in [0, 255] pixel units: at most 255)" if key.rsplit(".", 1)[-1] in ("eps", "alpha") else ""
        return [f"{key}: {obj!r} is not a finite number{hint}"]
    return []


def _study_values(exp: dict, what: str) -> list:
    """What the active stages' study packages list for the value checks (advtrace.stages): their
    ``checks.SEEDS(exp)`` (key, seed) or ``checks.EPS_SPECS(exp)`` (key prefix, spec with eps, ℓ2?)."""
    import importlib

    from . import stages

    out: list = []
    for module in stages.study_modules(stages.active(exp)):
        out += getattr(importlib.import_module(f"{module}.checks"), what, lambda _exp: [])(exp)
    return out


def seed_problems(exp: dict) -> list[str]:
    problems = []
    seeds = [("seed", exp["seed"])] + _study_values(exp, "SEEDS")
    for key, value in seeds:
        if value > SEED_MAX:
            problems.append(f"{key}: {value} is too large for a torch seed; allowed 0..2**63-1 ({SEED_MAX})")
    return problems


def eps_problems(exp: dict) -> list[str]:
    """ε in [0, 255] pixel units: ε < 1 is almost certainly given in [0, 1] units by mistake; an ℓ∞ ε
    above 255 exceeds the pixel range. DeepFool takes overshoot/max_iter, not alpha/iterations."""
    ds = exp["dataset"]
    l2_max = 255.0 * math.sqrt(IMAGE_CHANNELS[ds["name"]] * ds["image_size"] ** 2)
    # the training adversary (methods without one have none), then the studies' (their checks.EPS_SPECS)
    bounds = [("adv_train.attack", exp["adv_train"]["attack"], exp["adv_train"]["attack"]["name"] in L2_EPS)
              ] if "attack" in exp["adv_train"] else []
    bounds += _study_values(exp, "EPS_SPECS")
    problems = []
    for prefix, spec, l2 in bounds:
        if "eps" not in spec:
            continue  # DeepFool without an ℓ∞ bound
        eps = spec["eps"]
        if not math.isfinite(eps):
            continue  # finite_problems
        if eps < 1:
            fix = f"eps: {eps * 255:g}" + (f", alpha: {spec['alpha'] * 255:g}" if "alpha" in spec else "")
            problems.append(
                f"{prefix}.eps: {eps:g} is below 1 in [0, 255] pixel units, almost certainly a units mistake "
                f"(ε given in [0, 1] units?); write ε and α in pixel units, e.g. {fix}")
        elif not l2 and eps > 255:
            problems.append(f"{prefix}.eps: {eps:g} exceeds 255, the whole pixel range; ε is an ℓ∞ bound in "
                            "[0, 255] pixel units (allowed: 1..255)")
        elif l2 and eps > l2_max:
            problems.append(f"{prefix}.eps: {eps:g} exceeds {l2_max:.0f}, the ℓ2 norm of the largest possible "
                            f"perturbation of a {ds['image_size']}x{ds['image_size']} {ds['name']} image "
                            "([0, 255] units)")
        if spec.get("name") in DEEPFOOL and ("alpha" in spec or "iterations" in spec):
            extra = [k for k in ("alpha", "iterations") if k in spec]
            problems.append(f"{prefix}: {spec['name']!r} does not use {'/'.join(extra)} (it would be silently "
                            "ignored); remove it - DeepFool takes overshoot and max_iter (its iteration cap)")
    return problems


def sample_set_problems(exp: dict) -> list[str]:
    """Sample-set names are parts of file paths; exclusions must not form a cycle (each set is drawn
    after the sets it excludes)."""
    samples = exp["samples"]
    problems = [f"samples.{name}: the set name {name!r} may only contain letters, digits and _ (it is part "
                "of file paths); rename it" for name in samples if not NAME_PATTERN.match(name)]
    reported: set[frozenset] = set()
    for start in sorted(samples):
        path = [start]  # depth-first along exclude edges, looking for a way back to `start`
        stack = [iter(samples[start]["exclude"])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
            elif nxt == start:
                cycle = frozenset(path)
                if cycle not in reported:
                    reported.add(cycle)
                    chain = " -> ".join(path + [start])
                    problems.append(f"samples.{start}.exclude: circular exclusion {chain}; a set is drawn after "
                                    "the sets it excludes, so exclusions must not form a cycle: remove one")
            elif nxt in samples and nxt not in path and len(path) < len(samples):
                path.append(nxt)
                stack.append(iter(samples[nxt]["exclude"]))
    return problems


def validate_experiment(exp: Any, schema: dict, expected_name: str | None = None) -> None:
    """Raise ConfigError listing every problem of one experiment config."""
    label = expected_name or (exp.get("name") if isinstance(exp, dict) else None) or "experiment"
    problems = schema_errors(exp, experiment_schema(schema))
    if not problems:
        problems = check_experiment(exp) + value_problems(exp)
        if expected_name is not None and exp["name"] != expected_name:
            problems.append(f"name: {exp['name']!r} must equal the file name {expected_name!r}")
    if not problems:  # each run's config (its overrides applied) must be valid too
        from .runs import problems as run_problems

        def run_config_problems(cfg: dict) -> list[str]:
            return schema_errors(cfg, experiment_schema(schema)) or check_experiment(cfg)

        problems = run_problems(exp, run_config_problems)
    if problems:
        raise ConfigError(
            f"invalid experiment config {label!r}:\n  - "
            + "\n  - ".join(f"{label}: {p}" for p in problems)
        )


def experiment_names(value: Any) -> list[str]:
    """The top-level ``experiments`` as a list of names. Besides a YAML list
    (``--config experiments='[smoke]'``), a bare name or comma-separated names
    (``--config experiments=smoke`` or ``experiments=smoke,digits``) are accepted."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        names = [n.strip() for n in value.strip().strip("[]").split(",") if n.strip()]
        if names:
            return names
    raise ConfigError(
        f"experiments: {value!r} is not a list of experiment names; write e.g. "
        "--config experiments='[smoke]' (with the quotes, so the shell leaves the brackets alone), "
        "or a bare name: --config experiments=smoke"
    )


SEED_SUFFIX = "_seed"


def seed_variant(name: str) -> tuple[str, int] | None:
    """``digits_seed2`` -> (``digits``, 2): the experiment ``digits`` with ``seed: 2`` (data split,
    sample sets, initialisation, batch order, universal and detector seeds all follow ``seed``),
    written under results/digits_seed2/. None for a name without the suffix. A file
    ``<name>.yaml`` of that name wins over the variant."""
    base, sep, k = name.rpartition(SEED_SUFFIX)
    if not sep or not base or not k.isdigit():
        return None
    return base, int(k)


class ExperimentDir:
    """A local directory of experiment YAMLs (``<name>.yaml``), one place :class:`Experiments` looks in."""

    def __init__(self, path: str | Path, label: str = ""):
        self.path, self.label = Path(path), label

    def file(self, name: str) -> Path | None:
        path = self.path / f"{name}.yaml"
        return path if path.is_file() else None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.path.glob("*.yaml"))

    def key(self) -> str:
        """Identity of the place: two spellings of one directory are one place."""
        return str(self.path.resolve())

    def __str__(self) -> str:
        return f"{self.path.absolute()}{f' ({self.label})' if self.label else ''}"


def _place(where: Any) -> Any:
    """A place to look for experiments: an object with file(name), names(), key() (ExperimentDir, or
    advtrace.workflow_setup's source-cache directory of a git-hosted workflow), or a directory path."""
    return where if hasattr(where, "file") else ExperimentDir(where)


def shift_run_seeds(exp: dict, shift: int) -> None:
    """Add `shift` to every run's own ``seed`` override, in place: under a seed variant a run that
    asks for "another seed" (paper 002's transfer model B) stays another seed than the experiment's,
    instead of coinciding with it (seed 1 under ``<name>_seed1``). Grid seeds are left alone: they
    name the runs (``…_seed0``) that other keys refer to."""
    from .runs import declared

    for _where, _name, spec in declared(exp):
        if isinstance(spec, dict) and isinstance(spec.get("seed"), int) and not isinstance(spec["seed"], bool):
            spec["seed"] += shift


class Experiments(Mapping):
    """Experiment configs by name, each loaded and validated when first used.

    `exp_dirs` is a directory or a list of places looked in, in order (the user's ``experiment_dir``
    first, then the workflow's own ``config/experiments``: :func:`experiments`). The first place
    holding ``<name>.yaml`` wins; a seed variant ``<name>_seed<k>`` without a file of its own is
    ``<name>.yaml`` (first place holding it) under seed k.

    A run validates what it uses: the experiments it names up front (:func:`experiments`), any other
    one (say, that of a requested ``paper_figNN`` target) when a job of the DAG first needs it. A
    stray or broken file in a place (a backup copy, a draft) therefore blocks nothing; its
    problems are reported when it is asked for.
    """

    def __init__(self, exp_dirs: Any, schema: dict):
        places = [_place(p) for p in (exp_dirs if isinstance(exp_dirs, (list, tuple)) else [exp_dirs])]
        seen: set[str] = set()
        self.places = [p for p in places if not (p.key() in seen or seen.add(p.key()))]
        self.schema = schema
        self._loaded: dict[str, dict] = {}
        self._files: dict[str, Path] = {}

    def find(self, name: str) -> Path | None:
        """The file ``<name>.yaml`` of the first place holding one (None if none does)."""
        for place in self.places:
            path = place.file(name)
            if path is not None:
                return path
        return None

    def file_of(self, name: str) -> Path:
        """The file experiment `name` was read from (a seed variant's: its base experiment's file)."""
        self[name]
        return self._files[name]

    def available(self) -> list[str]:
        return sorted({n for place in self.places for n in place.names()})

    def _unknown(self, name: str) -> ConfigError:
        looked = "".join(f"\n    {i}. {place}" for i, place in enumerate(self.places, 1))
        return ConfigError(f"experiments: unknown experiment {name!r}; allowed: {', '.join(self.available())} (and "
                           f"<name>{SEED_SUFFIX}<k>: an experiment under seed k). Looked for {name}.yaml in these "
                           f"places, in this order (the first file of a name wins):{looked}\n  Add an experiment "
                           "of your own as <experiment_dir>/<name>.yaml (config/README.md, 'Where experiments are "
                           "found').")

    def __getitem__(self, name: str) -> dict:
        if name not in self._loaded:
            path = self.find(name)
            variant = seed_variant(name)
            base = self.find(variant[0]) if path is None and variant is not None else None
            if base is not None:
                exp = load_yaml(base)
                shift_run_seeds(exp, variant[1] - exp["seed"])
                exp["name"], exp["seed"] = name, variant[1]  # the whole experiment under another seed
                path = base
            elif path is None:
                raise self._unknown(name)
            else:
                exp = load_yaml(path)
            validate_experiment(exp, self.schema, expected_name=name)
            self._loaded[name], self._files[name] = exp, path
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        variant = seed_variant(name)
        return self.find(name) is not None or (variant is not None and self.find(variant[0]) is not None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def __len__(self) -> int:
        return len(self.available())


def experiments(config: dict, schema: dict, base_dir: str | Path = ".", defaults: Any = None) -> Experiments:
    """Validate the top-level config and the experiments it names; others load on first use.

    Experiments are looked up in the user's ``experiment_dir`` (relative to `base_dir`, the working
    directory of a run) first, then in `defaults`, the workflow's own experiment directory (a path,
    or a place object: :class:`Experiments`), when given."""
    top = {k: v for k, v in config.items()}
    problems = schema_errors(top, {k: v for k, v in schema.items() if k != "$defs"}, schema)
    if problems:
        raise ConfigError("invalid config/config.yaml:\n  - " + "\n  - ".join(problems))
    places = [ExperimentDir(Path(base_dir) / config["experiment_dir"], "your experiment_dir")]
    if defaults is not None:
        places.append(_place(defaults))
    exps = Experiments(places, schema)
    for name in config["experiments"]:
        exps[name]
    return exps


def load_experiments(config: dict, schema: dict, base_dir: str | Path = ".", load_all: bool = False,
                     defaults: Any = None) -> dict[str, dict]:
    """Validate the top-level config and load + validate every experiment it names
    (with `load_all`, also every other experiment file of the places looked in)."""
    exps = experiments(config, schema, base_dir, defaults)
    names = list(config["experiments"])
    if load_all:
        names += [n for n in exps.available() if n not in names]
    return {name: exps[name] for name in names}


def attack_kwargs(att: dict) -> dict:
    """Config attack spec ([0,255] units) -> keyword arguments for advtrace.attacks.run_attack ([0,1]).

    Keys in :data:`advtrace.specs.PIXEL_KEYS` (ε, α) are divided by 255, the others copied."""
    if att.get("name") not in ATTACK_SPECS:
        raise ConfigError(f"unknown attack {att.get('name')!r}; allowed: {', '.join(ATTACK_SPECS)}")
    kw: dict[str, Any] = {"name": att["name"]}
    for key, value in att.items():
        if key != "name":
            kw[key] = value / 255.0 if key in PIXEL_KEYS else value
    return kw
