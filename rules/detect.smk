# Detectors across adversarial training (paper 000 Sec. 3.4, App. G; detector of paper 001), for
# every run of detect.runs (its files under results/{exp}/runs/{run}/; epoch 0 of a run starting
# from another run's pretrained model: that run's detectors and Fig. 7 job).
# One detector per (attack, epoch t) from detect.epochs, trained on the detect train set and its
# adversarial counterparts against θ_t (generic `perturb` rule), selected on the val set; one
# training job per epoch t trains the detectors of every attack (a job's start-up costs about
# as much as one digits detector; each detector is its own file in the job's directory
# runs/{run}/detectors/epoch_{t}/, so adding an attack retrains that epoch's job); one
# evaluation job per attack that loads each of its detectors once and evaluates it on the test
# perturbations of every epoch t′ (matrix attacks) or of t only (respective attacks) - forward
# passes only, so one job instead of one per detector saves the ~3 s start-up of each job; one
# Fig. 7 job per epoch. Figures read the aggregated tables only.


include: "inputs/detect.smk"


rule train_detectors:
    input:
        unpack(detect_train_inputs),
    output:
        detectors=directory("results/{exp}/runs/{run}/detectors/epoch_{epoch}"),
        benchmark="results/{exp}/runs/{run}/benchmarks/train_detectors/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/train_detectors/{epoch}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=detect_train_params,
        files=detect_train_files,
    script:
        "../workflow/scripts/train_detector.py"


rule evaluate_detectors:
    input:
        unpack(detect_eval_inputs),
    output:
        table="results/{exp}/runs/{run}/metrics/detectability/{attack}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/evaluate_detectors/{attack}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/evaluate_detectors/{attack}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=detect_eval_params,
        files=detect_eval_files,
    script:
        "../workflow/scripts/evaluate_detectors.py"


rule maximise_detector:
    input:
        unpack(detect_max_inputs),
    output:
        image="results/{exp}/runs/{run}/metrics/detector_max/epoch_{epoch}.parquet",
        summary="results/{exp}/runs/{run}/metrics/detector_max_summary/epoch_{epoch}.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/maximise_detector/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/maximise_detector/{epoch}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=detect_max_params,
        detector=detect_max_detector,
    script:
        "../workflow/scripts/maximise_detector.py"


rule detect_tables:
    input:
        detect_table_inputs,
    output:
        **{name: table(name) for name in stages.STAGES["detect"].tables},
    log:
        "results/{exp}/logs/detect_tables.log",
    params:
        parts=detect_table_parts,
    script:
        "../workflow/scripts/detect_tables.py"


rule plot_detectability:
    input:
        table=table("detectability"),
    output:
        fig06_pdf=figure("fig06", "pdf"),
        fig06_png=report_figure("fig06"),
        fig16_pdf=figure("fig16", "pdf"),
        fig16_png=report_figure("fig16"),
    log:
        "results/{exp}/logs/plot_detectability.log",
    params:
        run=figure_run("detect"),
        cfg=detect_plot_params,
    script:
        "../workflow/scripts/plot_detectability.py"


rule plot_detector_max:
    input:
        image=table("detector_max"),
        summary=table("detector_max_summary"),
    output:
        pdf=figure("fig07", "pdf"),
        png=report_figure("fig07"),
    log:
        "results/{exp}/logs/plot_detector_max.log",
    params:
        run=figure_run("detect"),
    script:
        "../workflow/scripts/plot_detector_max.py"
