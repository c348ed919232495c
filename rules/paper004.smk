# Paper 004 (Mummadi et al. 2019, shared adversarial training) as a study (advtrace.studies.p004).
# The grid of fine-tuning runs is declared in the `paper004` section and trained by the run rules
# (rules/train.smk). Evaluation jobs measure clean accuracy, ε_uni(δ), ε_adv(δ) and the random-noise ε
# of the (run, epoch)s a run evaluates (its last epoch; every epoch for curve_runs; main: main_epochs,
# epoch 0 = ERM), `epochs_per_analysis_job` of them per job ({chunk} = first-last epoch): 1 = one
# cached job per (run, epoch), as the paper-scale config; digits takes a whole run per job, because a
# job's 3-4 s Python + torch start-up is longer than one digits evaluation. One job aggregates the tables.
# The baselines of Fig. 3 (DeepFool UAD, FictitiousPlay) are runs with their own training methods
# (advtrace.methods.uap_round); each run's last epoch (and main's) also gets Fig. 3 right's DeepFool
# universal perturbation.
from advtrace.studies.p004 import plan as p004_plan


include: "inputs/paper004.smk"


rule p004_evaluate:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=p004_eval_checkpoints,
    output:
        robustness="results/{exp}/metrics/p004/{run}/{chunk}/robustness.parquet",
        search="results/{exp}/metrics/p004/{run}/{chunk}/search.parquet",
        risk="results/{exp}/metrics/p004/{run}/{chunk}/risk.parquet",
        images="results/{exp}/metrics/p004/{run}/{chunk}/images.parquet",
        benchmark="results/{exp}/benchmarks/p004_evaluate/{run}/{chunk}.tsv",
    log:
        "results/{exp}/logs/p004_evaluate/{run}/{chunk}.log",
    wildcard_constraints:
        chunk=r"\d{3}-\d{3}",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=p004_eval_params,
    script:
        "../workflow/scripts/p004_evaluate.py"


# p004_tables also reads the training jobs' benchmarks and manifests (per-epoch CPU time): the cost
# comparison of Sec. 6.1 (reports/p004_cost.md).
rule p004_tables:
    input:
        robustness=p004_parts("robustness"),
        search=p004_parts("search"),
        risk=p004_parts("risk"),
        images=p004_parts("images"),
        benchmarks=p004_cost_files("benchmarks"),
        manifests=p004_cost_files("manifests"),
    output:
        robustness=table("p004_robustness"),
        search=table("p004_search"),
        risk=table("p004_risk"),
        images=table("p004_images"),
        front=table("p004_front"),
        cost=table("p004_cost"),
        table_a1="results/{exp}/reports/p004_table_a1.md",
        table_a1_html=report_file("results/{exp}/reports/p004_table_a1.html"),
        cost_report="results/{exp}/reports/p004_cost.md",
        cost_html=report_file("results/{exp}/reports/p004_cost.html"),
    log:
        "results/{exp}/logs/p004_tables.log",
    params:
        cfg=p004_tables_params,
    script:
        "../workflow/scripts/p004_tables.py"


rule plot_p004_fig03_pareto_front:
    input:
        p004_robustness=table("p004_robustness"),
        p004_front=table("p004_front"),
    output:
        pdf=figure("p004_fig03_pareto_front", "pdf"),
        png=report_figure("p004_fig03_pareto_front"),
    log:
        "results/{exp}/logs/plot_p004_fig03_pareto_front.log",
    params:
        cfg=p004_plot_params,
    script:
        "../workflow/scripts/p004_plot_pareto.py"


rule plot_p004_fig03_deepfool_front:
    input:
        p004_robustness=table("p004_robustness"),
    output:
        pdf=figure("p004_fig03_deepfool_front", "pdf"),
        png=report_figure("p004_fig03_deepfool_front"),
    log:
        "results/{exp}/logs/plot_p004_fig03_deepfool_front.log",
    params:
        cfg=p004_plot_params,
    script:
        "../workflow/scripts/p004_plot_deepfool.py"


rule plot_p004_fig05_learning_curves:
    input:
        p004_robustness=table("p004_robustness"),
    output:
        pdf=figure("p004_fig05", "pdf"),
        png=report_figure("p004_fig05"),
    log:
        "results/{exp}/logs/plot_p004_fig05_learning_curves.log",
    params:
        cfg=p004_plot_params,
    script:
        "../workflow/scripts/p004_plot_curves.py"


rule plot_p004_risk_ordering:
    input:
        p004_risk=table("p004_risk"),
    output:
        pdf=figure("p004_risk_ordering", "pdf"),
        png=report_figure("p004_risk_ordering"),
    log:
        "results/{exp}/logs/plot_p004_risk_ordering.log",
    params:
        cfg=p004_plot_params,
    script:
        "../workflow/scripts/p004_plot_risk.py"


rule plot_p004_fig01_perturbations:
    input:
        p004_images=table("p004_images"),
        p004_robustness=table("p004_robustness"),
    output:
        pdf=figure("p004_fig01", "pdf"),
        png=report_figure("p004_fig01"),
    log:
        "results/{exp}/logs/plot_p004_fig01_perturbations.log",
    params:
        cfg=p004_plot_params,
    script:
        "../workflow/scripts/p004_plot_images.py"
