# Input functions and params of rules/universal.smk (kept apart from the rules: snakemake --lint).
# The universal section as it analyses the run {run} (analysis_view: epoch lists mapped onto its T).


def universal_of(exp, run):
    return analysis_view(exp, "universal", run)


def universal_generated_epochs(exp, run):
    """Epochs whose universal perturbations are generated: analysed, fixed-source and shown epochs."""
    cfg = universal_of(exp, run)
    u = cfg["universal"]
    return sorted(set(cfg["analysis"]["epochs"]) | set(u["source_epochs"]) | set(u["image_epochs"]))


_UNIVERSAL_CHUNKS = {}


def _universal_chunk_index(exp):
    """owned_epoch_chunks of `exp`'s generation jobs (cached): the epochs each run owns
    (advtrace.runs.epoch_owner) of every analysed run's generated epochs."""
    if exp not in _UNIVERSAL_CHUNKS:
        owned = {}
        for run in analysed_runs(exp, "universal"):
            for e in universal_generated_epochs(exp, run):
                owned.setdefault(runs.epoch_owner(EXPS[exp], run, int(e)), set()).add(int(e))
        _UNIVERSAL_CHUNKS[exp] = owned_epoch_chunks(exp, owned)
    return _UNIVERSAL_CHUNKS[exp]


def universal_chunk_dir(exp, run, epoch):
    """The universal_generate output (a chunk of epochs of the run that owns `epoch`) holding its perturbations."""
    return chunk_job_dir(
        exp,
        _universal_chunk_index(exp),
        run,
        epoch,
        "universal",
        "no universal perturbation of run {owner!r} at epoch {epoch} is generated",
    )


def universal_generate_epochs(wildcards):
    """[[epoch, checkpoint file]] of the ({run}, {chunk}) generation job, in epoch order."""
    exp, run = wildcards.exp, wildcards.run
    epochs = chunk_job_epochs(exp, _universal_chunk_index(exp), run, wildcards.chunk, "universal generation")
    return [[t, checkpoint_file(exp, run, t)] for t in epochs]


def universal_generate_checkpoints(wildcards):
    return list(
        dict.fromkeys(
            checkpoint_input(wildcards.exp, wildcards.run, t) for t, _ in universal_generate_epochs(wildcards)
        )
    )


def universal_generate_params(wildcards):
    """What one generation job depends on (not the evaluation or plotting keys; the model comes from
    the checkpoint)."""
    cfg = universal_of(wildcards.exp, wildcards.run)
    u = cfg["universal"]
    return {
        "seed": cfg["seed"],
        "sets": {source: u[f"{source}_set"] for source in UNIVERSAL_SPLITS},
        "generation": {k: u[k] for k in ("eps", "alpha", "m", "batches", "iterations")},
    }


def universal_evaluate_params(wildcards):
    cfg = universal_of(wildcards.exp, wildcards.run)
    u = cfg["universal"]
    return {
        "seed": cfg["seed"],
        "eps": u["eps"],
        "eval_set": u["eval_set"],
        "chunk_size": u["chunk_size"],
        "random_draws": u["random_draws"],
        "source_epochs": sorted(int(e) for e in u["source_epochs"]),
    }


def universal_file(exp, run, source, epoch):
    return f"{universal_chunk_dir(exp, run, epoch)}/{source}/epoch_{int(epoch):03d}.pt"


def universal_image_file(exp, run, source, epoch):
    return f"{universal_chunk_dir(exp, run, epoch)}/images/{source}/epoch_{int(epoch):03d}.parquet"


def universal_analysed_epochs(exp, run):
    """The run's analysed epochs (analysis.epochs mapped onto it), sorted: one evaluation each."""
    return sorted(universal_of(exp, run)["analysis"]["epochs"])


def universal_run_chunks(exp, run):
    """Chunks of the run's analysed epochs, one evaluation job each (epochs_per_analysis_job)."""
    return epoch_chunks(exp, universal_analysed_epochs(exp, run))


def universal_chunk_epochs(wildcards):
    return chunk_epochs(wildcards.exp, universal_analysed_epochs(wildcards.exp, wildcards.run), wildcards.chunk)


def universal_chunk_checkpoints(wildcards):
    return [checkpoint_input(wildcards.exp, wildcards.run, t) for t in universal_chunk_epochs(wildcards)]


def universal_chunk_checkpoint_files(wildcards):
    """[[epoch, checkpoint file]] of the chunk's models."""
    return [[t, checkpoint_file(wildcards.exp, wildcards.run, t)] for t in universal_chunk_epochs(wildcards)]


def _universal_evaluate_sources(wildcards):
    """(split, epoch) of the perturbations the chunk's models are evaluated on: each its own and the fixed
    source epochs'."""
    epochs = universal_chunk_epochs(wildcards)
    sources = sorted(set(epochs) | set(universal_of(wildcards.exp, wildcards.run)["universal"]["source_epochs"]))
    return [(s, e) for s in UNIVERSAL_SPLITS for e in sources]


def universal_evaluate_files(wildcards):
    return [universal_file(wildcards.exp, wildcards.run, s, e) for s, e in _universal_evaluate_sources(wildcards)]


def universal_evaluate_dirs(wildcards):
    return sorted(
        {universal_chunk_dir(wildcards.exp, wildcards.run, e) for _, e in _universal_evaluate_sources(wildcards)}
    )


def universal_accuracy_parts(wildcards):
    """{run: its evaluation parts (one per chunk of analysed epochs)} of every run of universal.runs, in order."""
    exp = wildcards.exp
    return {
        run: [
            run_path(exp, run, f"metrics/universal_accuracy/epochs_{chunk_name(c)}.parquet")
            for c in universal_run_chunks(exp, run)
        ]
        for run in analysed_runs(exp, "universal")
    }


def universal_accuracy_inputs(wildcards):
    return [p for parts in universal_accuracy_parts(wildcards).values() for p in parts]


def universal_image_parts(wildcards):
    exp = wildcards.exp
    return {
        run: [
            universal_image_file(exp, run, source, e)
            for source in UNIVERSAL_SPLITS
            for e in universal_generated_epochs(exp, run)
        ]
        for run in analysed_runs(exp, "universal")
    }


def universal_image_inputs(wildcards):
    exp = wildcards.exp
    return sorted(
        {
            universal_chunk_dir(exp, run, e)
            for run in analysed_runs(exp, "universal")
            for e in universal_generated_epochs(exp, run)
        }
    )


def universal_accuracy_plot_params(wildcards):
    return {"source_epochs": figure_view("universal")(wildcards)["source_epochs"]}


def universal_images_plot_params(wildcards):
    u = figure_view("universal")(wildcards)
    return {k: u[k] for k in ("image_epochs", "amplify")}
