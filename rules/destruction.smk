# Destruction rates of adversarial perturbations under image transformations (paper 000 Sec. 3.3,
# App. F), for every run of destruction.runs: one cached job per (run, epoch) of destruction.epochs
# (epoch 0 of a run starting from another run's pretrained model: that run's job) loads θ_t once and sweeps brightness,
# contrast, blur and noise over the stored BI, FGSM and DeepFool perturbations of
# destruction.sample_set at t (generic `perturb` rule, shared with the other analyses); then one
# table job and one plot job for Figs. 5, 14, 15. (One job per epoch rather than per (attack,
# epoch): on CPU a job costs ~3 s of imports, ~30x its sweep, and the budget is seconds.)

TRANSFORMS_FIGURES = {"BI": 5, "FGSM": 14, "DeepFool": 15}  # perturb.attacks label -> paper figure number


include: "inputs/destruction.smk"


rule destruction_sweep:
    input:
        perturbations=destruction_perturbations,
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint=destruction_checkpoint,
    output:
        table="results/{exp}/runs/{run}/metrics/destruction/epoch_{epoch}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/destruction_sweep/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/destruction_sweep/{epoch}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        checkpoint=destruction_checkpoint_file,
        perturbations=destruction_perturbation_files,
        sample_set=destruction_sample_set,
        destruction=destruction_sweep_params,
    script:
        "../workflow/scripts/destruction_sweep.py"


rule destruction_table:
    input:
        destruction_inputs,
    output:
        table=table("destruction"),
    log:
        "results/{exp}/logs/destruction_table.log",
    params:
        name="destruction",
        parts=destruction_parts,
    script:
        "../workflow/scripts/concat_tables.py"


rule plot_destruction:
    input:
        table=table("destruction"),
    output:
        **destruction_figure_outputs(),
    log:
        "results/{exp}/logs/plot_destruction.log",
    params:
        run=figure_run("destruction"),
        figures=TRANSFORMS_FIGURES,
    script:
        "../workflow/scripts/plot_destruction.py"
