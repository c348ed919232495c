# Configuration is validated here, at parse time, before any job starts.
import json
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.io import is_flagged, strip_wildcard_constraints

# The advtrace library: a local workflow's jobs import it from its src/; a git-hosted module's is installed.
_SRC = [str(ROOT / "src")] if ROOT is not None else []
sys.path[:0] = _SRC
os.environ["PYTHONPATH"] = os.pathsep.join(_SRC + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
try:
    from advtrace.workflow_setup import WorkflowFiles
except ModuleNotFoundError:
    if ROOT is not None:
        raise
    raise WorkflowError(
        f"the workflow at {HERE} needs its advtrace library installed (README, 'Use it in your own project')"
    )

# The workflow's own files (schema, catalogue, ...); the user's are relative to the working directory.
WF = WorkflowFiles(HERE, workflow.sourcecache)

from advtrace import report_catalogue, runs, stages
from advtrace.stages import chunk_name
from advtrace.config import (
    ConfigError,
    experiment_names,
    experiments,
    load_schema,
    load_yaml,
)
from advtrace.dataset_files import dataset_notes
from advtrace.perturb_plan import perturbation_needs as _perturbation_needs
from advtrace.runtime import RUNTIME_KEYS
from advtrace.studies.p000 import plan as p000

# RUN: the experiments `rule all` builds (config/config.yaml `experiments`; a bare
# `--config experiments=smoke` is accepted too), validated here. EXPS: every experiment by name, from
# the user's experiment_dir (relative to the working directory) first, then the workflow's own
# config/experiments; one outside RUN (a paper_figNN target's) is loaded and validated when a job of
# the DAG first needs it, so a stray or draft file blocks nothing and is reported only when asked for.
try:
    WF.fill_defaults(config)  # keys a deployment's older config copy lacks
    config["experiments"] = experiment_names(config.get("experiments"))
    RUN = list(config["experiments"])
    for _configfile in workflow.configfiles:  # Snakemake's own reading lets a duplicate key win silently
        load_yaml(_configfile)
    WF.check_library()
    EXPS = experiments(config, load_schema(WF.path("config/schema.yaml")), ".", WF.experiments)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# A CIFAR-10/GTSRB experiment whose files are not under resources/datasets yet: say so now (also
# in a dry run), with the files to put there, not only later in logs/prepare_data.log.
for _note in dataset_notes(EXPS, RUN):
    print(_note, file=sys.stderr)

# GPU safety: a plain `snakemake --cores all` runs at most as many `gpu=1` jobs at once as there
# are visible GPUs (at least 1); --resources gpu=N, a profile's limit and cluster runs are kept.
from advtrace.workflow_setup import cap_local_gpu_jobs

cap_local_gpu_jobs(workflow)

# SLURM: job states as the executor plugin expects them, so that a cancelled or preempted job is
# failed and retried instead of waited for (advtrace.slurm_status; no-op unless the plugin is loaded)
from advtrace import slurm_status

slurm_status.install(workflow)

# The device and the speed switches (config/config.yaml top level) reach every job through the
# environment, where advtrace.runtime.setup_job reads them; they are not params, so changing one
# re-runs nothing.
os.environ["ADVTRACE_RUNTIME"] = json.dumps({k: config[k] for k in ("device", *RUNTIME_KEYS)})


# Both are set above; declaring them passes them on to jobs of distributed (cluster) runs.
envvars:
    "PYTHONPATH",
    "ADVTRACE_RUNTIME",


wildcard_constraints:
    exp="[A-Za-z0-9_]+",
    run="[A-Za-z0-9_]+",
    attack="[A-Za-z0-9_]+",
    set="[A-Za-z0-9_]+",
    epoch=r"\d{3}",
    chunk=r"\d{3}-\d{3}",


def epochs_of(cfg):
    """All checkpoint epochs 0..T of an experiment config (a run's config: the run's T)."""
    return list(range(cfg["adv_train"]["epochs"] + 1))


def analysis_epochs_per_job(exp):
    """Epochs of a run per analysis job (learning curves, stability, paper 004's evaluation): the
    experiment's epochs_per_analysis_job, else config/config.yaml's."""
    return int(EXPS[exp].get("epochs_per_analysis_job", config["epochs_per_analysis_job"]))


def epoch_chunks(exp, epochs):
    """Consecutive chunks of analysis_epochs_per_job epochs (of a sorted list), for the forward-only
    analyses that take several checkpoints per job."""
    return list(stages.epoch_chunks(epochs, analysis_epochs_per_job(exp)).values())


def chunk_epochs(exp, epochs, name):
    """The epochs of the chunk named {chunk} (e.g. 004-007) among `epochs`; an error if it is not one."""
    chunks = stages.epoch_chunks(epochs, analysis_epochs_per_job(exp))
    if name not in chunks:
        raise WorkflowError(f"no analysis chunk {name}; chunks: {list(chunks)}")
    return chunks[name]


def section(*keys):
    """Input function returning EXPS[exp][key] (or a dict of several sections)."""

    def get(wildcards):
        exp = EXPS[wildcards.exp]
        if len(keys) == 1:
            return exp[keys[0]]
        return {k: exp[k] for k in keys}

    return get


def run_of(wildcards):
    """The experiment config as the run {run} sees it (main when the rule has no run wildcard)."""
    run = wildcards.get("run", runs.MAIN)
    try:
        return runs.run_config(EXPS[wildcards.exp], run)
    except KeyError as err:
        raise WorkflowError(err.args[0]) from None


# --- paper 000's analyses of a run (advtrace.studies.p000.plan): every path of a run lies under
# --- results/{exp}/runs/{run}/ (runs.run_dir); the run's model comes from its checkpoints' own
# --- description, its epochs from its own T (each section's runs and run_epochs)
_VIEWS = {}


def analysis_view(exp, section_name, run):
    """The experiment as paper-000 section `section_name` analyses `run` (p000.run_view: the run's
    config with the section's epoch lists mapped onto its T), cached per (experiment, section, run)."""
    key = (exp, section_name, run)
    if key not in _VIEWS:
        cfg = EXPS[exp]
        if run not in runs.expand(cfg):
            raise WorkflowError(f"{exp}: no run {run!r}; runs: {', '.join(runs.expand(cfg))}")
        _VIEWS[key] = p000.run_view(cfg, section_name, run)
    return _VIEWS[key]


def figure_run(section_name):
    """Params: the run paper 000's figures of `section_name` draw (the first of its runs)."""

    def get(wildcards):
        return p000.figure_run(EXPS[wildcards.exp], section_name)

    return get


def figure_view(section_name):
    """The section as it analyses the figure's run (its epoch lists mapped onto that run)."""

    def get(wildcards):
        exp = wildcards.exp
        return analysis_view(exp, section_name, p000.figure_run(EXPS[exp], section_name))[section_name]

    return get


def analysed_runs(exp, section_name):
    return p000.section_runs(EXPS[exp], section_name)


def run_path(exp, run, path=""):
    """results/{exp}/runs/{run}/<path>."""
    return f"{runs.run_dir(exp, run)}/{path}" if path else runs.run_dir(exp, run)


def owner_path(exp, run, epoch, path):
    """A per-epoch file of `run` that depends on nothing but the model of `epoch` and the analysis
    settings: epoch 0's lies with the run whose pretrained model it is (runs.epoch_owner)."""
    return run_path(exp, runs.epoch_owner(EXPS[exp], run, int(epoch)), path)


def checkpoint_input(exp, run, epoch):
    """What a consumer of `run`'s checkpoint of `epoch` depends on (the checkpoint, or the manifest of
    the chained training job that writes it); the consumer reads checkpoint_file."""
    return runs.job_output(EXPS[exp], run, int(epoch))


def checkpoint_file(exp, run, epoch):
    return runs.checkpoint_path(EXPS[exp], run, int(epoch))


def adv_train_params(wildcards):
    """What one adversarial-training epoch depends on: everything but the number of epochs,
    so raising adv_train.epochs never re-runs finished epochs."""
    exp = run_of(wildcards)
    adv = {k: v for k, v in exp["adv_train"].items() if k not in ("epochs", "epochs_per_training_job")}
    return {"model": exp["model"], "adv_train": adv}


def run_pretrain_params(wildcards):
    exp = run_of(wildcards)
    return {k: exp[k] for k in ("seed", "model", "pretrain")}


def pretrain_keep_epochs(wildcards):
    """The vanilla epochs k whose models the pretrain job of {run} keeps for the learning curve
    (evaluation.pretrain_epochs, when the learning curve of a run starting from this pretraining is
    drawn; [] for most experiments)."""
    cfg = EXPS[wildcards.exp]
    if "evaluation" not in cfg:
        return []
    if not any(runs.epoch_owner(cfg, r, 0) == wildcards.run for r in p000.section_runs(cfg, "evaluation")):
        return []
    return p000.pretrain_eval_epochs(run_of(wildcards))


def run_final_checkpoints(exp):
    """The last checkpoint of every declared run (rule all trains each to its end); main's epochs are
    trained as far as something reads them (a paper-scale study may read only its epoch 0)."""
    cfg = EXPS[exp]
    return [
        runs.job_output(cfg, run, runs.run_config(cfg, run)["adv_train"]["epochs"])
        for run in list(runs.expand(cfg))[1:]
    ]


# Per-epoch perturbations (rules/perturb.smk): what each stage needs at which (run, epoch) is listed
# by the study packages (advtrace.perturb_plan); one `perturb_epochs` job per chunk of a run's needed
# epochs (epochs_per_analysis_job of them) computes the union (epoch 0 of a run that starts from
# another run's pretrained model: that run's job).
_NEEDS_CACHE = {}
_PERTURB_CHUNKS = {}


def perturbation_needs(exp):
    """{(run, epoch): sorted [(attack, set), ...]} of every stage of `exp` (cached per experiment)."""
    if exp not in _NEEDS_CACHE:
        _NEEDS_CACHE[exp] = _perturbation_needs(EXPS[exp])
    return _NEEDS_CACHE[exp]


def owned_epoch_chunks(exp, owned):
    """Chunked per-epoch jobs: `owned` {run: the epochs it owns (advtrace.runs.epoch_owner)} ->
    ({run: {chunk: epochs}}, {(run, epoch): chunk}), each run's epochs in consecutive chunks of
    analysis_epochs_per_job (perturb_epochs, universal_generate)."""
    chunks = {run: stages.epoch_chunks(sorted(set(e)), analysis_epochs_per_job(exp)) for run, e in owned.items()}
    where = {(run, t): name for run, cs in chunks.items() for name, ts in cs.items() for t in ts}
    return chunks, where


def chunk_job_epochs(exp, index, run, chunk, what):
    """The epochs of `run`'s {chunk} job in an owned_epoch_chunks index; `what` names the job in the error."""
    epochs = index[0].get(run, {}).get(chunk)
    if not epochs:
        raise WorkflowError(
            f"{exp}: no {what} job {chunk} of run {run!r}; its chunks: {sorted(index[0].get(run, {})) or 'none'}"
        )
    return epochs


def chunk_job_dir(exp, index, run, epoch, folder, missing):
    """results/{exp}/runs/<owner>/<folder>/epochs_<chunk>: the output of the chunk job holding `epoch` of the run
    that owns it; `missing` is the error's text, formatted with owner and epoch."""
    owner = runs.epoch_owner(EXPS[exp], run, int(epoch))
    chunk = index[1].get((owner, int(epoch)))
    if chunk is None:
        raise WorkflowError(f"{exp}: {missing.format(owner=owner, epoch=int(epoch))}")
    return run_path(exp, owner, f"{folder}/epochs_{chunk}")


def _perturb_chunk_index(exp):
    """owned_epoch_chunks of `exp`'s perturbation jobs (cached): each run's needed epochs (it owns them)."""
    if exp not in _PERTURB_CHUNKS:
        per_run = {}
        for run, epoch in perturbation_needs(exp):
            per_run.setdefault(run, []).append(epoch)
        _PERTURB_CHUNKS[exp] = owned_epoch_chunks(exp, per_run)
    return _PERTURB_CHUNKS[exp]


def perturb_chunk_epochs(exp, run, chunk):
    return chunk_job_epochs(exp, _perturb_chunk_index(exp), run, chunk, "perturbation")


def perturbation_dir(exp, run, epoch):
    """The `perturb_epochs` output (a chunk of epochs of the run that owns `epoch`) holding its perturbations."""
    return chunk_job_dir(
        exp,
        _perturb_chunk_index(exp),
        run,
        epoch,
        "perturbations",
        "no analysis needs perturbations of run {owner!r} at epoch {epoch}",
    )


def perturbation_file(exp, run, attack, set_name, epoch):
    """One stored perturbation set, inside the directory its epoch's `perturb_epochs` job writes."""
    return f"{perturbation_dir(exp, run, epoch)}/epoch_{int(epoch):03d}/{attack}/{set_name}.pt"


def perturbation_dirs(exp, run, epochs):
    """The `perturb_epochs` outputs (inputs of a consumer) holding the perturbations of `epochs`.
    Consumers read the files themselves from paths passed as params (perturbation_file)."""
    return sorted({perturbation_dir(exp, run, t) for t in epochs})


def previous_checkpoint(wildcards):
    return runs.checkpoint_path(EXPS[wildcards.exp], wildcards.run, int(wildcards.epoch) - 1)


def chained_job_params(wildcards):
    """A chained training job (adv_train.epochs_per_training_job > 1): its epochs and checkpoint paths."""
    cfg = EXPS[wildcards.exp]
    first, last = runs.job_span(cfg, wildcards.run, int(wildcards.epoch))
    if last != int(wildcards.epoch):
        raise WorkflowError(
            f"{wildcards.exp}/{wildcards.run}: epoch {wildcards.epoch} is not the last epoch of a "
            f"training job (epochs_per_training_job chains epochs {first}..{last}); depend on runs.job_output"
        )
    return {
        "first": first,
        "last": last,
        "previous": runs.checkpoint_path(cfg, wildcards.run, first - 1),
        "checkpoints": [runs.checkpoint_path(cfg, wildcards.run, e) for e in range(first, last + 1)],
    }


def chained_previous(wildcards):
    cfg = EXPS[wildcards.exp]
    first, _ = runs.job_span(cfg, wildcards.run, int(wildcards.epoch))
    return runs.job_output(cfg, wildcards.run, first - 1)


def adv_train_group(wildcards):
    """Cluster job group of an adversarial-training epoch: epochs 1..K, K+1..2K, ... (K =
    config epochs_per_cluster_job) each form one consecutive chain, submitted as one SLURM job.
    Only the sequential chain is grouped: parallel GPU jobs in a group would make the group
    job ask for several GPUs. Groups are ignored in local runs."""
    chunk = (int(wildcards.epoch) - 1) // config["epochs_per_cluster_job"]
    run = wildcards.get("run", runs.MAIN)
    return (
        f"adv_train_{wildcards.exp}_{chunk:03d}" if run == runs.MAIN else f"adv_train_{wildcards.exp}_{run}_{chunk:03d}"
    )


# Table and figure names are declared once, in the stage registry (advtrace.stages: each study's
# registry.py); the rules derive their output paths from it with table() and figure(), which refuse
# a name the registry does not declare.
REGISTERED_TABLES = {name for s in stages.all_stages() for name in s.tables}
# a figure is named by its slug, or by its key (figNN, pNNN_figNN) where one slug has that key (paper
# 004's Fig. 3 has two panels, p004_fig03_pareto_front and p004_fig03_deepfool_front: slugs only)
_SLUGS = [slug for s in stages.all_stages() for slug in s.figures]
_KEYS = [stages.figure_key(slug) for slug in _SLUGS]
FIGURE_SLUGS = {slug: slug for slug in _SLUGS} | {k: sl for k, sl in zip(_KEYS, _SLUGS) if _KEYS.count(k) == 1}


def table(name):
    """results/{exp}/tables/<name>.parquet of a registered table (a rule's output or input pattern)."""
    if name not in REGISTERED_TABLES:
        raise WorkflowError(f"table {name!r} is not declared by any stage (advtrace.studies.*.registry)")
    return f"results/{{exp}}/tables/{name}.parquet"


def figure(key, ext):
    """results/{exp}/figures/<slug>.<ext> of the registered figure `key` (a slug, or figNN / pNNN_figNN
    where one figure has that key)."""
    if key not in FIGURE_SLUGS:
        raise WorkflowError(
            f"figure {key!r} is not declared by any stage, or names several (use the slug); "
            f"declared: {', '.join(sorted(FIGURE_SLUGS))}"
        )
    return f"results/{{exp}}/figures/{FIGURE_SLUGS[key]}.{ext}"


# The HTML report (snakemake --report): every catalogued figure and table, grouped by paper
# (advtrace.report_catalogue: category its paper, subcategory the experiment, label the paper's figure or
# table, caption workflow/report/<name>.rst).
try:
    CATALOGUE = load_yaml(WF.path("config/figures.yaml"))
    REPORT_ENTRIES = {e.file: e for e in report_catalogue.entries(CATALOGUE)}
except (ConfigError, ValueError) as err:
    raise WorkflowError(str(err)) from None


def report_file(path):
    """`path` (results/{exp}/<file> of a catalogued figure PNG or table rendering) flagged for the report."""
    rel = path.removeprefix("results/{exp}/")
    if rel not in REPORT_ENTRIES:
        raise WorkflowError(
            f"{path}: not a report entry (advtrace.report_catalogue); entries: {', '.join(REPORT_ENTRIES)}"
        )
    entry = REPORT_ENTRIES[rel]
    if not WF.exists(entry.caption):
        raise WorkflowError(f"{entry.caption}: the caption of {rel} ({entry.item}, {entry.category}) is missing")
    return report(
        path,
        caption=f"../{entry.caption}",  # relative to rules/, the directory of every rules file
        category=entry.category,
        subcategory="{exp}",
        labels={report_catalogue.LABEL: entry.item},
    )


def report_figure(key):
    """The PNG of the registered figure `key` (a slug, or figNN / pNNN_figNN), flagged for the report."""
    return report_file(figure(key, "png"))


def check_report_flags():
    """Refuses, when the workflow is parsed, a rule that writes a report entry (a catalogued figure or
    table) without its report flag (report_file), so nothing catalogued is left out of the report.
    Called once every rule exists."""
    problems = report_catalogue.missing_renderings()
    for _r in workflow.rules:
        if not WF.owns(_r):
            continue
        for f in _r.output:
            path = strip_wildcard_constraints(str(f))
            if path.removeprefix("results/{exp}/") in REPORT_ENTRIES and not is_flagged(f, "report"):
                problems.append(f"{path} (rule {_r.name})")
    if problems:
        raise WorkflowError(
            "outputs that belong in the HTML report are not flagged for it (wrap them in report_file(), "
            "rules/common.smk): " + "; ".join(problems)
        )


# What the default target `all` builds per experiment: the tables and figures of its active stages
# (advtrace.stages: an experiment runs the stages whose config sections it has), plus REPORTS,
# other per-experiment files given as patterns with {exp} by the rule files.
REPORTS = []


def figures_of(exp):
    return expand("results/{exp}/figures/{fig}.{ext}", exp=exp, fig=stages.figures(EXPS[exp]), ext=["pdf", "png"])


def experiment_tables(wildcards):
    """Every aggregated table of an experiment's active stages (the claims scorecard reads them all)."""
    return {name: f"results/{wildcards.exp}/tables/{name}.parquet" for name in stages.tables(EXPS[wildcards.exp])}


def all_targets():
    targets = []
    for exp in RUN:
        targets += figures_of(exp)
        targets += expand("results/{exp}/tables/{name}.parquet", exp=exp, name=stages.tables(EXPS[exp]))
        targets += [pattern.format(exp=exp) for pattern in REPORTS]
        targets += [f"results/{exp}/{path}" for path in stages.reports(EXPS[exp])]
        targets += run_final_checkpoints(exp)
    return targets


SOFTWARE_ENV = WF.file("workflow/envs/advtrace.yaml")


def add_code_fingerprints():
    """Give each rule that runs a script a `code` param, the fingerprint of the advtrace code its script can
    reach (advtrace.codehash: normalised syntax trees, docstrings and comments left out). A change
    to that code changes the param, so Snakemake re-runs the rule's jobs and what depends on them;
    `snakemake -n` lists them beforehand ("Params have changed"). Each of them also gets the one
    software environment, workflow/envs/advtrace.yaml, as its conda environment (used with
    `--software-deployment-method conda`). Called once every rule exists."""
    from advtrace.codehash import script_fingerprint

    fingerprints = {}
    for _r in workflow.rules:
        if _r.script is not None and WF.owns(_r):  # not the rules of a user's Snakefile using this as a module
            _r.conda_env = SOFTWARE_ENV
            script = WF.script(_r)
            if script not in fingerprints:
                fingerprints[script] = script_fingerprint(script, WF.library_dir())
            _r.set_params(code=fingerprints[script])


def add_resources():
    """Give every rule the work model knows (advtrace.workmodel, entries in advtrace.work_rules) a
    `runtime`, `mem_mb` and `disk_mb` computed per job from what the job computes: its unit
    operations priced for the device kind it runs on (config `cost.gpu` for rules declaring
    gpu=1, the CPU otherwise), a start-up term, its memory model and output size; `runtime` grows
    with `attempt` (a retried job gets more time). A profile's or the command line's
    --set-resources for a rule still wins. Called once every rule exists (like
    add_code_fingerprints), so rule files need no resource lines."""
    from snakemake.resources import Resources

    from advtrace import workmodel

    cost = workmodel.cost_settings(config)
    overrides = getattr(workflow.resource_settings, "_parsed_overwrite_resources", {}) or {}
    entries = workmodel.rules()
    for _r in workflow.rules:
        if _r.name not in entries:
            continue
        gpu = "gpu" in _r.resources and bool(_r.resources["gpu"].value)

        def estimate(wildcards, name=_r.name, gpu=gpu):
            return workmodel.job_estimate(
                name, EXPS[wildcards.exp], dict(wildcards.items()), config, cost["gpu"] if gpu else "cpu", gpu=gpu
            )

        computed = {
            "runtime": lambda wildcards, attempt, est=estimate: workmodel.runtime_minutes(
                est(wildcards).seconds, attempt, cost
            ),
            "mem_mb": lambda wildcards, est=estimate: workmodel.memory_mb(est(wildcards).host_mb, cost),
            "disk_mb": lambda wildcards, est=estimate: workmodel.disk_mb(est(wildcards)),
        }
        keep = overrides.get(_r.name, {})
        _r.resources.update(Resources.from_mapping({k: v for k, v in computed.items() if k not in keep}))
