# Input functions and params of rules/universal.smk (kept apart from the rules: snakemake --lint).


def universal_generated_epochs(exp):
    """Epochs whose universal perturbations are generated: analysed, fixed-source and shown epochs."""
    cfg = EXPS[exp]
    u = cfg["universal"]
    return sorted(set(cfg["analysis"]["epochs"]) | set(u["source_epochs"]) | set(u["image_epochs"]))


def universal_generate_params(wildcards):
    """What one generation job depends on (not the evaluation or plotting keys)."""
    exp = EXPS[wildcards.exp]
    u = exp["universal"]
    return {
        "model": exp["model"],
        "seed": exp["seed"],
        "sets": {source: u[f"{source}_set"] for source in UNIVERSAL_SPLITS},
        "generation": {k: u[k] for k in ("eps", "alpha", "m", "batches", "iterations")},
    }


def universal_evaluate_params(wildcards):
    exp = EXPS[wildcards.exp]
    u = exp["universal"]
    return {
        "model": exp["model"],
        "seed": exp["seed"],
        "eps": u["eps"],
        "eval_set": u["eval_set"],
        "chunk_size": u["chunk_size"],
        "random_draws": u["random_draws"],
    }


def universal_file(exp, source, epoch):
    return f"results/{exp}/universal/{source}/epoch_{int(epoch):03d}.pt"


def universal_evaluate_inputs(wildcards):
    """Perturbations the model of {epoch} is evaluated on: its own and the fixed source epochs'."""
    epoch = int(wildcards.epoch)
    sources = sorted({epoch} | set(EXPS[wildcards.exp]["universal"]["source_epochs"]))
    return [universal_file(wildcards.exp, s, e) for s in UNIVERSAL_SPLITS for e in sources]


def universal_accuracy_parts(wildcards):
    return expand(
        "results/{exp}/metrics/universal_accuracy/epoch_{epoch:03d}.parquet",
        exp=wildcards.exp,
        epoch=sorted(EXPS[wildcards.exp]["analysis"]["epochs"]),
    )


def universal_image_parts(wildcards):
    return expand(
        "results/{exp}/metrics/universal_images/{source}/epoch_{epoch:03d}.parquet",
        exp=wildcards.exp,
        source=UNIVERSAL_SPLITS,
        epoch=universal_generated_epochs(wildcards.exp),
    )


def universal_accuracy_plot_params(wildcards):
    return {"source_epochs": EXPS[wildcards.exp]["universal"]["source_epochs"]}


def universal_images_plot_params(wildcards):
    u = EXPS[wildcards.exp]["universal"]
    return {k: u[k] for k in ("image_epochs", "amplify")}
