# Input functions and params of rules/universal.smk (kept apart from the rules: snakemake --lint).
# The universal section as it analyses the run {run} (analysis_view: epoch lists mapped onto its T).


def universal_of(exp, run):
    return analysis_view(exp, "universal", run)


def universal_generated_epochs(exp, run):
    """Epochs whose universal perturbations are generated: analysed, fixed-source and shown epochs."""
    cfg = universal_of(exp, run)
    u = cfg["universal"]
    return sorted(set(cfg["analysis"]["epochs"]) | set(u["source_epochs"]) | set(u["image_epochs"]))


def universal_checkpoint(wildcards):
    return checkpoint_input(wildcards.exp, wildcards.run, wildcards.epoch)


def universal_checkpoint_file(wildcards):
    return checkpoint_file(wildcards.exp, wildcards.run, wildcards.epoch)


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
    return owner_path(exp, run, epoch, f"universal/{source}/epoch_{int(epoch):03d}.pt")


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


def universal_evaluate_inputs(wildcards):
    """Perturbations the chunk's models are evaluated on: each its own and the fixed source epochs'."""
    epochs = universal_chunk_epochs(wildcards)
    sources = sorted(set(epochs) | set(universal_of(wildcards.exp, wildcards.run)["universal"]["source_epochs"]))
    return [universal_file(wildcards.exp, wildcards.run, s, e) for s in UNIVERSAL_SPLITS for e in sources]


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
            owner_path(exp, run, e, f"metrics/universal_images/{source}/epoch_{e:03d}.parquet")
            for source in UNIVERSAL_SPLITS
            for e in universal_generated_epochs(exp, run)
        ]
        for run in analysed_runs(exp, "universal")
    }


def universal_image_inputs(wildcards):
    return [p for parts in universal_image_parts(wildcards).values() for p in parts]


def universal_accuracy_plot_params(wildcards):
    return {"source_epochs": figure_view("universal")(wildcards)["source_epochs"]}


def universal_images_plot_params(wildcards):
    u = figure_view("universal")(wildcards)
    return {k: u[k] for k in ("image_epochs", "amplify")}
