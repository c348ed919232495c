# Learning curves (stage `evaluation`, Fig. 8), for every run of evaluation.runs: one job per chunk
# of consecutive checkpoint epochs of the run (config epochs_per_analysis_job) measures clean / FGSM /
# BI accuracy on fixed train and test sample sets, checkpoint by checkpoint (with
# evaluation.pretrain_epochs, the vanilla epochs too); a table job and the plot (which reads Parquet
# only, so editing it re-runs one cheap job).


include: "inputs/learning_curves.smk"


rule evaluate_epochs:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=learning_curve_checkpoints,
    output:
        table="results/{exp}/runs/{run}/metrics/learning_curve/epochs_{chunk}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/evaluate_epochs/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/evaluate_epochs/{chunk}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        checkpoints=learning_curve_checkpoint_files,
        evaluation=section("evaluation"),
        epochs=learning_curve_epochs,
        phase="adversarial",
        offset=learning_curve_offset,  # paper epoch = t + offset
    script:
        "../workflow/scripts/evaluate_epochs.py"


# The vanilla-training epochs the paper's curve shows (evaluation.pretrain_epochs; GTSRB Figs. 17/22):
# the models the pretrain job kept, chunked the same way ({chunk} = first-last k, completed vanilla
# epochs), with the same attacks and sample sets.
rule evaluate_pretrain_epochs:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints="results/{exp}/runs/{run}/checkpoints/pretrain",
    output:
        table="results/{exp}/runs/{run}/metrics/learning_curve/pretrain_{chunk}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/evaluate_pretrain_epochs/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/evaluate_pretrain_epochs/{chunk}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        evaluation=section("evaluation"),
        chunk=learning_curve_pretrain_params,
        phase="pretrain",
    script:
        "../workflow/scripts/evaluate_epochs.py"


rule learning_curve_table:
    input:
        learning_curve_inputs,
    output:
        table=table("learning_curve"),
    log:
        "results/{exp}/logs/learning_curve_table.log",
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    params:
        name="learning_curve",
        parts=learning_curve_parts,
    script:
        "../workflow/scripts/concat_tables.py"


rule plot_learning_curves:
    input:
        table=table("learning_curve"),
    output:
        pdf=figure("fig08", "pdf"),
        png=report_figure("fig08"),
    log:
        "results/{exp}/logs/plot_learning_curves.log",
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    params:
        run=figure_run("evaluation"),
        attacks=lambda wildcards: EXPS[wildcards.exp]["evaluation"]["attacks"],  # legend: each attack's ε, iterations
    script:
        "../workflow/scripts/plot_learning_curves.py"
