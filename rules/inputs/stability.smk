# Input functions and params of rules/stability.smk (kept apart from the rules: snakemake --lint).
# Every function reads the stability section as it analyses the run {run} (analysis_view: the run's T,
# the section's epoch lists mapped onto it; advtrace.studies.p000.plan).


def stability_of(exp, run):
    """(stability section, T) of `exp` as it analyses `run`."""
    view = analysis_view(exp, "stability", run)
    return view["stability"], view["adv_train"]["epochs"]


def stability_run_chunks(exp, run):
    stab, T = stability_of(exp, run)
    return epoch_chunks(exp, _stability.plan_epochs(stab, T))


def stability_chunk_epochs(wildcards):
    """The checkpoint epochs with stability work in the chunk {chunk} of run {run}."""
    stab, T = stability_of(wildcards.exp, wildcards.run)
    return chunk_epochs(wildcards.exp, _stability.plan_epochs(stab, T), wildcards.chunk)


def stability_chunk_plans(wildcards):
    """[[epoch, plan]] the chunk job evaluates: per checkpoint, the sets x source epochs and pairwise tasks."""
    stab, T = stability_of(wildcards.exp, wildcards.run)
    return [[t, _stability.epoch_plan(stab, T, t)] for t in stability_chunk_epochs(wildcards)]


def stability_chunk_checkpoints(wildcards):
    return [checkpoint_input(wildcards.exp, wildcards.run, t) for t in stability_chunk_epochs(wildcards)]


def stability_chunk_checkpoint_files(wildcards):
    return [checkpoint_file(wildcards.exp, wildcards.run, t) for t in stability_chunk_epochs(wildcards)]


def stability_chunk_files(wildcards):
    """[[sample set, source epoch, file]] the chunk job reads (matched by name, not position)."""
    exp, run = wildcards.exp, wildcards.run
    attack = EXPS[exp]["stability"]["attack"]
    needs = sorted(
        {need for t, plan in stability_chunk_plans(wildcards) for need in _stability.perturbation_needs(plan, t)}
    )
    return [[s, t, perturbation_file(exp, run, attack, s, t)] for s, t in needs]


def stability_chunk_size(wildcards):
    return EXPS[wildcards.exp]["stability"]["chunk_size"]


def stability_parts(exp, run, kind):
    return [
        run_path(exp, run, f"metrics/stability/epochs_{chunk_name(c)}/{kind}.parquet")
        for c in stability_run_chunks(exp, run)
    ]


def stability_all_parts(wildcards):
    exp = wildcards.exp
    return [
        p
        for run in analysed_runs(exp, "stability")
        for kind in ("transfer", "pairwise")
        for p in stability_parts(exp, run, kind)
    ]


def stability_aggregate_params(wildcards):
    """Per analysed run, in order: its stability section and number of trained epochs (epoch sets are
    resolved with them) and its parts."""
    exp = wildcards.exp
    out = {}
    for run in analysed_runs(exp, "stability"):
        stab, T = stability_of(exp, run)
        out[run] = {
            "stability": stab,
            "T": T,
            "transfer": stability_parts(exp, run, "transfer"),
            "pairwise": stability_parts(exp, run, "pairwise"),
        }
    return out


def stability_manifest_inputs(wildcards):
    """Every perturbation directory any stability job of {run} reads (the union over its epochs)."""
    exp, run = wildcards.exp, wildcards.run
    stab, T = stability_of(exp, run)
    epochs = set()
    for t in _stability.plan_epochs(stab, T):
        epochs.update(s for _, s in _stability.perturbation_needs(_stability.epoch_plan(stab, T, t), t))
    return perturbation_dirs(exp, run, epochs)
