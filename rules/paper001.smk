# Paper 001 study (Metzen et al. 2017, On Detecting Adversarial Perturbations; package
# advtrace.studies.p001). The classifier is the experiment's pretrained model (epoch 0 of the main
# run), frozen. Granularity (each job pays ~3-4 s of Python + torch start-up): one job per
# adversary family (its ε grid's adversarial examples, a detector per attachment position at ε*
# and per ε at the selected position, each a checkpoint file, and its ε_fit x ε_test matrix), one
# attack x attack job, one dynamic-adversary job (trains the dynamic detector - its per-epoch
# validation curve is the table p001_dynamic_training - and evaluates both detectors per σ), one
# table job and one plot job.


wildcard_constraints:
    family="[A-Za-z0-9_]+",


include: "inputs/paper001.smk"


rule p001_family:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint=p001_classifier,
    output:
        detectors=directory("results/{exp}/paper001/families/{family}"),
        adversaries="results/{exp}/metrics/p001/adversaries/{family}.parquet",
        depth="results/{exp}/metrics/p001/depth/{family}.parquet",
        eps_transfer="results/{exp}/metrics/p001/eps_transfer/{family}.parquet",
        training="results/{exp}/metrics/p001/training/{family}.parquet",
        benchmark="results/{exp}/benchmarks/p001_family/{family}.tsv",
    log:
        "results/{exp}/logs/p001_family/{family}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=p001_family_params,
    script:
        "../workflow/scripts/p001_family.py"


rule p001_attack_transfer:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint=p001_classifier,
        families=p001_all_families,
    output:
        table=table("p001_attack_transfer"),
        benchmark="results/{exp}/benchmarks/p001_attack_transfer.tsv",
    log:
        "results/{exp}/logs/p001_attack_transfer.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=p001_transfer_params,
    script:
        "../workflow/scripts/p001_attack_transfer.py"


rule p001_dynamic:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint=p001_classifier,
        family=p001_dynamic_family,
    output:
        detector="results/{exp}/paper001/dynamic/detector.pt",
        table=table("p001_dynamic"),
        training=table("p001_dynamic_training"),
        benchmark="results/{exp}/benchmarks/p001_dynamic.tsv",
    log:
        "results/{exp}/logs/p001_dynamic.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=p001_dynamic_params,
    script:
        "../workflow/scripts/p001_dynamic.py"


rule p001_tables:
    input:
        unpack(p001_parts),
    output:
        adversaries=table("p001_adversaries"),
        depth=table("p001_depth"),
        eps_transfer=table("p001_eps_transfer"),
        training=table("p001_detector_training"),
    log:
        "results/{exp}/logs/p001_tables.log",
    script:
        "../workflow/scripts/p001_tables.py"


rule p001_plots:
    input:
        adversaries=table("p001_adversaries"),
        depth=table("p001_depth"),
        eps_transfer=table("p001_eps_transfer"),
        attack_transfer=table("p001_attack_transfer"),
        dynamic=table("p001_dynamic"),
        dynamic_training=table("p001_dynamic_training"),
    output:
        fig02_pdf=figure("p001_fig02", "pdf"),
        fig02_png=report_figure("p001_fig02"),
        fig03_pdf=figure("p001_fig03", "pdf"),
        fig03_png=report_figure("p001_fig03"),
        fig04_pdf=figure("p001_fig04", "pdf"),
        fig04_png=report_figure("p001_fig04"),
        fig05_pdf=figure("p001_fig05", "pdf"),
        fig05_png=report_figure("p001_fig05"),
        dynamic_training_pdf=figure("p001_dynamic_training_curve", "pdf"),
        dynamic_training_png=report_figure("p001_dynamic_training_curve"),
        report="results/{exp}/reports/p001_tables.md",
        report_html=report_file("results/{exp}/reports/p001_tables.html"),
    log:
        "results/{exp}/logs/p001_plots.log",
    script:
        "../workflow/scripts/p001_plots.py"
