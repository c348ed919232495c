# Input functions and params of rules/destruction.smk (kept apart from the rules: snakemake --lint).


def destruction_perturbation_files(wildcards):
    """{attack label: stored perturbations of destruction.sample_set at {epoch}} for Figs. 5, 14, 15."""
    tr = EXPS[wildcards.exp]["destruction"]
    return {
        attack: perturbation_file(wildcards.exp, attack, tr["sample_set"], wildcards.epoch)
        for attack in TRANSFORMS_FIGURES
    }


def destruction_perturbations(wildcards):
    return perturbation_dirs(wildcards.exp, [wildcards.epoch])


def destruction_sample_set(wildcards):
    return EXPS[wildcards.exp]["destruction"]["sample_set"]


def destruction_sweep_params(wildcards):
    """What one sweep's numbers depend on (not destruction.epochs, so adding an epoch reruns nothing)."""
    tr = EXPS[wildcards.exp]["destruction"]
    return {k: tr[k] for k in ("chunk_size", "noise_seed", "sweeps")}


def destruction_parts(wildcards):
    return expand(
        "results/{exp}/metrics/destruction/epoch_{epoch:03d}.parquet",
        exp=wildcards.exp,
        epoch=destruction_epochs(EXPS[wildcards.exp]),
    )


def destruction_figure_outputs():
    outputs = {}
    for attack, (number, slug) in TRANSFORMS_FIGURES.items():
        outputs[f"{attack}_pdf"] = f"results/{{exp}}/figures/{slug}.pdf"
        outputs[f"{attack}_png"] = report(
            f"results/{{exp}}/figures/{slug}.png",
            caption=f"../workflow/report/fig{number:02d}.rst",
            category="{exp}",
            subcategory=f"Fig. {number:02d}",
        )
    return outputs
