# Input functions and params of rules/paper004.smk (kept apart from the rules: snakemake --lint).


def p004_eval_params(wildcards):
    exp = EXPS[wildcards.exp]
    run = wildcards.run
    sec = exp["paper004"]
    cfg = runs.run_config(exp, run)
    chunks = p004_plan.eval_chunks(exp, run, analysis_epochs_per_job(wildcards.exp))
    if wildcards.chunk not in chunks:
        raise WorkflowError(
            f"{wildcards.exp}: run {run!r} has no paper004 evaluation chunk {wildcards.chunk!r}; "
            f"it has {sorted(chunks)}"
        )
    epochs = chunks[wildcards.chunk]
    last = p004_plan.eval_epochs(exp, run)[-1]
    first_chunk = wildcards.chunk == next(iter(chunks))
    image_epochs = [0] if run == runs.MAIN else ([last] if run == sec["images"]["defended"] else [])
    return {
        "model": cfg["model"],
        "seed": exp["seed"],
        "evaluation": sec["evaluation"],
        "epochs": [
            {
                "epoch": e,
                "checkpoint": runs.checkpoint_path(exp, run, e),
                "info": p004_plan.run_info(exp, run, e),
                "deepfool": e in p004_plan.deepfool_epochs(exp, run),
            }
            for e in epochs
        ],
        "risk": sec["risk"] if sec["risk"]["run"] == run else None,
        "image_epochs": image_epochs,
        "input_rank": sec["images"]["input_rank"] if run == runs.MAIN and first_chunk else None,
    }


def p004_eval_checkpoints(wildcards):
    exp = EXPS[wildcards.exp]
    epochs = p004_plan.eval_chunks(exp, wildcards.run, analysis_epochs_per_job(wildcards.exp)).get(wildcards.chunk, [])
    return sorted({runs.job_output(exp, wildcards.run, e) for e in epochs})


def p004_parts(kind):
    def get(wildcards):
        return [
            f"results/{wildcards.exp}/metrics/p004/{run}/{chunk}/{kind}.parquet"
            for run in p004_plan.evaluated_runs(EXPS[wildcards.exp])
            for chunk in p004_plan.eval_chunks(EXPS[wildcards.exp], run, analysis_epochs_per_job(wildcards.exp))
        ]

    return get


def p004_cost_runs(exp):
    """The training runs of the cost table (Sec. 6.1): every paper004 run, and main's epochs up to
    the last one the study evaluates (none at paper scale, where main is not trained)."""
    out = {}
    for run in p004_plan.evaluated_runs(exp):
        jobs = p004_plan.training_jobs(exp, run)
        if run == runs.MAIN:
            jobs = [j for j in jobs if j[1] <= max(exp["paper004"]["main_epochs"])]
        if not jobs:
            continue
        chained = runs.epochs_per_training_job(exp, run) > 1
        out[run] = {
            "info": p004_plan.run_info(exp, run, jobs[-1][1]),
            "epochs": jobs[-1][1],
            "benchmarks": [p004_plan.benchmark_path(exp, run, j) for j in jobs],
            "manifests": [runs.manifest_path(exp["name"], run, j[1]) for j in jobs] if chained else [],
        }
    return out


def p004_cost_files(kind):
    def get(wildcards):
        return [f for r in p004_cost_runs(EXPS[wildcards.exp]).values() for f in r[kind]]

    return get


def p004_tables_params(wildcards):
    exp = EXPS[wildcards.exp]
    sec = exp["paper004"]
    return {
        "reference_accuracy": sec["front"]["reference_accuracy"],
        "delta": sec["evaluation"]["delta"],
        "cost_runs": p004_cost_runs(exp),
    }


def p004_plot_params(wildcards):
    sec = EXPS[wildcards.exp]["paper004"]
    return {
        "experiment": wildcards.exp,
        "delta": sec["evaluation"]["delta"],
        "curve_runs": sec["curve_runs"],
        "defended": sec["images"]["defended"],
        "deepfool_eps": sec["evaluation"]["deepfool"]["eps"],
    }
