# Configuration is validated here, at parse time, before any job starts.
import json
import os
import sys

sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

from snakemake.exceptions import WorkflowError

from advtrace.config import ConfigError, load_experiments, load_schema
from advtrace.runtime import RUNTIME_KEYS

# RUN: the experiments `rule all` builds (config/config.yaml `experiments`). EXPS: every
# experiment in experiment_dir, all validated, so paper-figure targets (paper_figNN) can reach
# an experiment that is not in RUN.
RUN = list(config["experiments"])
try:
    EXPS = load_experiments(config, load_schema(ROOT / "config" / "schema.yaml"), ROOT, load_all=True)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# Speed switches (config/config.yaml top level) reach every job through the environment, where
# advtrace.runtime.setup_job reads them; they are not params, so changing one re-runs nothing.
os.environ["ADVTRACE_RUNTIME"] = json.dumps({k: config[k] for k in RUNTIME_KEYS})


wildcard_constraints:
    exp="[A-Za-z0-9_]+",
    attack="[A-Za-z0-9_]+",
    set="[A-Za-z0-9_]+",
    epoch=r"\d{3}",


def epochs_of(exp):
    """All checkpoint epochs 0..T of an experiment."""
    return list(range(EXPS[exp]["adv_train"]["epochs"] + 1))


def section(*keys):
    """Input function returning EXPS[exp][key] (or a dict of several sections)."""

    def get(wildcards):
        exp = EXPS[wildcards.exp]
        if len(keys) == 1:
            return exp[keys[0]]
        return {k: exp[k] for k in keys}

    return get


def adv_train_params(wildcards):
    """What one adversarial-training epoch depends on: everything but the number of epochs,
    so raising adv_train.epochs never re-runs finished epochs."""
    exp = EXPS[wildcards.exp]
    adv = {k: v for k, v in exp["adv_train"].items() if k != "epochs"}
    return {"model": exp["model"], "adv_train": adv}


def perturb_attack(wildcards):
    """Config of the analysis adversary labelled {attack} (experiment's perturb.attacks)."""
    attacks = EXPS[wildcards.exp]["perturb"]["attacks"]
    if wildcards.attack not in attacks:
        raise WorkflowError(
            f"{wildcards.exp}: perturb.attacks has no attack {wildcards.attack!r}; have {sorted(attacks)}"
        )
    return attacks[wildcards.attack]


def perturb_batch_size(wildcards):
    return EXPS[wildcards.exp]["perturb"]["batch_size"]


def perturbation_file(exp, attack, set_name, epoch):
    return f"results/{exp}/perturbations/{attack}/{set_name}/epoch_{int(epoch):03d}.pt"


def previous_checkpoint(wildcards):
    return f"results/{wildcards.exp}/checkpoints/epoch_{int(wildcards.epoch) - 1:03d}.pt"


def adv_train_group(wildcards):
    """Cluster job group of an adversarial-training epoch: epochs 1..K, K+1..2K, ... (K =
    config epochs_per_job) each form one consecutive chain, submitted as one SLURM job.
    Only the sequential chain is grouped: parallel GPU jobs in a group would make the group
    job ask for several GPUs. Groups are ignored in local runs."""
    chunk = (int(wildcards.epoch) - 1) // config["epochs_per_job"]
    return f"adv_train_{wildcards.exp}_{chunk:03d}"


def learning_curve_parts(wildcards):
    return expand(
        "results/{exp}/metrics/learning_curve/epoch_{epoch:03d}.parquet",
        exp=wildcards.exp,
        epoch=epochs_of(wildcards.exp),
    )


# Each stage's rule file registers what `rule all` builds per experiment:
#   FIGURES: figure slugs (results/{exp}/figures/{slug}.pdf/.png)
#   TABLES: aggregated table names (results/{exp}/tables/{name}.parquet)
#   REPORTS: other per-experiment files, as patterns with {exp}
FIGURES = []
TABLES = []
REPORTS = []


def figures_of(exp):
    return expand("results/{exp}/figures/{fig}.{ext}", exp=exp, fig=FIGURES, ext=["pdf", "png"])


def experiment_tables(wildcards):
    """Every aggregated table of an experiment (the claims scorecard reads them all)."""
    return {name: f"results/{wildcards.exp}/tables/{name}.parquet" for name in TABLES}


def all_targets():
    targets = []
    for exp in RUN:
        targets += figures_of(exp)
        targets += expand("results/{exp}/tables/{name}.parquet", exp=exp, name=TABLES)
        targets += [pattern.format(exp=exp) for pattern in REPORTS]
    return targets
