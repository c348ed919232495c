# Input functions and params of rules/stability.smk (kept apart from the rules: snakemake --lint).


def stability_T(exp):
    return EXPS[exp]["adv_train"]["epochs"]


def stability_chunk_epochs(wildcards):
    """The checkpoint epochs with stability work in the chunk {chunk}."""
    exp = wildcards.exp
    return chunk_epochs(_stability.plan_epochs(EXPS[exp]["stability"], stability_T(exp)), wildcards.chunk)


def stability_chunk_plans(wildcards):
    """[[epoch, plan]] the chunk job evaluates: per checkpoint, the sets x source epochs and pairwise tasks."""
    exp = wildcards.exp
    cfg, T = EXPS[exp]["stability"], stability_T(exp)
    return [[t, _stability.epoch_plan(cfg, T, t)] for t in stability_chunk_epochs(wildcards)]


def stability_chunk_checkpoints(wildcards):
    return [runs.checkpoint_path(EXPS[wildcards.exp], runs.MAIN, t) for t in stability_chunk_epochs(wildcards)]


def stability_chunk_files(wildcards):
    """[[sample set, source epoch, file]] the chunk job reads (matched by name, not position)."""
    exp, attack = wildcards.exp, EXPS[wildcards.exp]["stability"]["attack"]
    needs = sorted(
        {need for t, plan in stability_chunk_plans(wildcards) for need in _stability.perturbation_needs(plan, t)}
    )
    return [[s, t, perturbation_file(exp, attack, s, t)] for s, t in needs]


def stability_chunk_size(wildcards):
    return EXPS[wildcards.exp]["stability"]["chunk_size"]


def stability_parts(kind):
    def parts(wildcards):
        exp = wildcards.exp
        chunks = epoch_chunks(_stability.plan_epochs(EXPS[exp]["stability"], stability_T(exp)))
        return [f"results/{exp}/metrics/stability/epochs_{chunk_name(c)}/{kind}.parquet" for c in chunks]

    return parts


def stability_aggregate_params(wildcards):
    """The stability section plus the number of trained epochs (epoch sets are resolved with it)."""
    exp = wildcards.exp
    return {"stability": EXPS[exp]["stability"], "T": stability_T(exp)}


def stability_manifest_inputs(wildcards):
    """Every perturbation directory any stability job reads (the union over its epochs)."""
    exp = wildcards.exp
    cfg, T = EXPS[exp]["stability"], stability_T(exp)
    epochs = set()
    for t in _stability.plan_epochs(cfg, T):
        epochs.update(s for _, s in _stability.perturbation_needs(_stability.epoch_plan(cfg, T, t), t))
    return perturbation_dirs(exp, epochs)
