# Destruction rates of adversarial perturbations under image transformations (paper 000 Sec. 3.3,
# App. F): one cached job per epoch of destruction.epochs loads θ_t once and sweeps brightness,
# contrast, blur and noise over the stored BI, FGSM and DeepFool perturbations of
# destruction.sample_set at t (generic `perturb` rule, shared with the other analyses); then one
# table job and one plot job for Figs. 5, 14, 15. (One job per epoch rather than per (attack,
# epoch): on CPU a job costs ~3 s of imports, ~30x its sweep, and the budget is seconds.)
from advtrace.config import destruction_epochs

TRANSFORMS_FIGURES = {  # perturb.attacks label -> (paper figure number, figure slug)
    "BI": (5, "fig05_destruction_bi"),
    "FGSM": (14, "fig14_destruction_fgsm"),
    "DeepFool": (15, "fig15_destruction_deepfool"),
}


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


rule destruction_sweep:
    input:
        perturbations=destruction_perturbations,
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint="results/{exp}/checkpoints/epoch_{epoch}.pt",
    output:
        table="results/{exp}/metrics/destruction/epoch_{epoch}.parquet",
    params:
        perturbations=destruction_perturbation_files,
        model=section("model"),
        sample_set=destruction_sample_set,
        destruction=destruction_sweep_params,
    threads: 1
    resources:
        gpu=1,
    log:
        "results/{exp}/logs/destruction_sweep/{epoch}.log",
    benchmark:
        "results/{exp}/benchmarks/destruction_sweep/{epoch}.tsv"
    script:
        "../workflow/scripts/destruction_sweep.py"


rule destruction_table:
    input:
        parts=destruction_parts,
    output:
        table="results/{exp}/tables/destruction.parquet",
    params:
        name="destruction",
    log:
        "results/{exp}/logs/destruction_table.log",
    script:
        "../workflow/scripts/concat_tables.py"


rule plot_destruction:
    input:
        table="results/{exp}/tables/destruction.parquet",
    output:
        **destruction_figure_outputs(),
    params:
        figures={attack: number for attack, (number, _) in TRANSFORMS_FIGURES.items()},
    log:
        "results/{exp}/logs/plot_destruction.log",
    script:
        "../workflow/scripts/plot_destruction.py"
