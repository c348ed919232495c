# Universal perturbations across adversarial training (paper 000 Sec. 3.2, App. D/E), for every run
# of universal.runs. One cached generation job per chunk of a run's epochs (epochs_per_analysis_job of
# them, both generation splits: a job's start-up costs more than one digits generation) over every epoch
# in analysis.epochs, universal.source_epochs and universal.image_epochs (epoch 0 of a run starting from
# another run's pretrained model: that run's job); one evaluation job per chunk of a run's analysed epochs (epochs_per_analysis_job of them, as
# the other forward-only analyses: each model under its own and the fixed source epochs'
# perturbations, train- and test-generated, plus clean / random-sign rows).

UNIVERSAL_SPLITS = ["train", "test"]


include: "inputs/universal.smk"


rule universal_generate:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=universal_generate_checkpoints,
    output:
        # {split}/epoch_NNN.pt (the perturbation) and images/{split}/epoch_NNN.parquet of each epoch of the chunk
        universal=directory("results/{exp}/runs/{run}/universal/epochs_{chunk}"),
        benchmark="results/{exp}/runs/{run}/benchmarks/universal_generate/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/universal_generate/{chunk}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        epochs=universal_generate_epochs,
        cfg=universal_generate_params,
    script:
        "../workflow/scripts/universal_generate.py"


rule universal_evaluate:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=universal_chunk_checkpoints,
        perturbations=universal_evaluate_dirs,
    output:
        table="results/{exp}/runs/{run}/metrics/universal_accuracy/epochs_{chunk}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/universal_evaluate/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/universal_evaluate/{chunk}.log",
    wildcard_constraints:
        chunk=r"\d{3}-\d{3}",
    threads: 1
    resources:
        gpu=1,
    params:
        checkpoints=universal_chunk_checkpoint_files,
        perturbations=universal_evaluate_files,
        cfg=universal_evaluate_params,
    script:
        "../workflow/scripts/universal_evaluate.py"


rule universal_accuracy_table:
    input:
        universal_accuracy_inputs,
    output:
        table=table("universal_accuracy"),
    log:
        "results/{exp}/logs/universal_accuracy_table.log",
    params:
        name="universal_accuracy",
        parts=universal_accuracy_parts,
    script:
        "../workflow/scripts/concat_tables.py"


rule universal_images_table:
    input:
        universal_image_inputs,
    output:
        table=table("universal_images"),
    log:
        "results/{exp}/logs/universal_images_table.log",
    params:
        name="universal_images",
        parts=universal_image_parts,
    script:
        "../workflow/scripts/concat_tables.py"


rule plot_universal_accuracy:
    input:
        table=table("universal_accuracy"),
    output:
        fig03_pdf=figure("fig03", "pdf"),
        fig03_png=report_figure("fig03"),
        fig12_pdf=figure("fig12", "pdf"),
        fig12_png=report_figure("fig12"),
    log:
        "results/{exp}/logs/plot_universal_accuracy.log",
    params:
        run=figure_run("universal"),
        plot=universal_accuracy_plot_params,
    script:
        "../workflow/scripts/plot_universal_accuracy.py"


rule plot_universal_images:
    input:
        table=table("universal_images"),
    output:
        fig04_pdf=figure("fig04", "pdf"),
        fig04_png=report_figure("fig04"),
        fig13_pdf=figure("fig13", "pdf"),
        fig13_png=report_figure("fig13"),
    log:
        "results/{exp}/logs/plot_universal_images.log",
    params:
        run=figure_run("universal"),
        plot=universal_images_plot_params,
    script:
        "../workflow/scripts/plot_universal_images.py"
