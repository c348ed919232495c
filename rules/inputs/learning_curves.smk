# Input functions and params of rules/learning_curves.smk (kept apart from the rules: snakemake --lint).


def learning_curve_run_parts(exp, run):
    """In training order: the vanilla epochs the curve shows (pretrain_{chunk}: k completed vanilla
    epochs, of the run whose pretraining `run` starts from; evaluation.pretrain_epochs, Figs. 17/22),
    then the run's adversarial chain (epochs_{chunk}: t)."""
    cfg = analysis_view(exp, "evaluation", run)
    owner = runs.epoch_owner(EXPS[exp], run, 0)
    return [
        run_path(exp, owner, f"metrics/learning_curve/pretrain_{chunk_name(c)}.parquet")
        for c in epoch_chunks(exp, p000.pretrain_eval_epochs(cfg))
    ] + [
        run_path(exp, run, f"metrics/learning_curve/epochs_{chunk_name(c)}.parquet")
        for c in epoch_chunks(exp, epochs_of(cfg))
    ]


def learning_curve_parts(wildcards):
    return {run: learning_curve_run_parts(wildcards.exp, run) for run in analysed_runs(wildcards.exp, "evaluation")}


def learning_curve_inputs(wildcards):
    return [p for parts in learning_curve_parts(wildcards).values() for p in parts]


def learning_curve_epochs(wildcards):
    return chunk_epochs(
        wildcards.exp, epochs_of(analysis_view(wildcards.exp, "evaluation", wildcards.run)), wildcards.chunk
    )


def learning_curve_checkpoints(wildcards):
    return [checkpoint_input(wildcards.exp, wildcards.run, t) for t in learning_curve_epochs(wildcards)]


def learning_curve_checkpoint_files(wildcards):
    return [checkpoint_file(wildcards.exp, wildcards.run, t) for t in learning_curve_epochs(wildcards)]


def learning_curve_pretrain_params(wildcards):
    """A pretraining chunk of the learning curve of the run {run} (that owns the pretraining): the
    vanilla epochs k, their checkpoint files (in the pretrain job's directory output) and the table's
    epoch (k - pretrain.epochs) and paper epoch (k)."""
    cfg = analysis_view(wildcards.exp, "evaluation", wildcards.run)
    ks = chunk_epochs(wildcards.exp, p000.pretrain_eval_epochs(cfg), wildcards.chunk)
    P = cfg["pretrain"]["epochs"]
    return {
        "epochs": [k - P for k in ks],
        "paper_epochs": [k - P + p000.paper_epoch_offset(cfg) for k in ks],
        "checkpoints": [run_path(wildcards.exp, wildcards.run, f"checkpoints/pretrain/epoch_{k:03d}.pt") for k in ks],
    }


def learning_curve_offset(wildcards):
    """Paper epoch of t = 0 (paper epoch = t + offset; evaluation.paper_epoch_offset, Figs. 17/22)."""
    return p000.paper_epoch_offset(analysis_view(wildcards.exp, "evaluation", wildcards.run))
