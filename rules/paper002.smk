# Paper 002 study (advtrace.studies.p002; config section `paper002`). Its runs train through the
# shared rules of rules/train.smk (pretrain, adv_train_epoch, adv_train_chained). Two jobs here: one evaluates
# every model the study reads (each run's final and epoch-0 checkpoints) under every attack and ε
# and writes the four tables; one renders the paper's tables (Markdown/HTML) and figures from them.
from advtrace.studies.p002 import plan as p002_plan


include: "inputs/paper002.smk"


rule p002_evaluate:
    input:
        unpack(p002_checkpoints),
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
    output:
        accuracy=table("p002_accuracy"),
        leaking=table("p002_label_leaking"),
        transfer=table("p002_transfer"),
        capacity=table("p002_capacity"),
        benchmark="results/{exp}/benchmarks/p002_evaluate.tsv",
    log:
        "results/{exp}/logs/p002_evaluate.log",
    threads: 1
    resources:
        gpu=1,
    params:
        study=p002_params,
    script:
        "../workflow/scripts/p002_evaluate.py"


rule p002_report:
    input:
        accuracy=table("p002_accuracy"),
        leaking=table("p002_label_leaking"),
        transfer=table("p002_transfer"),
        capacity=table("p002_capacity"),
    output:
        pdf=[figure(f, "pdf") for f in stages.STAGES["paper002"].figures],
        png=[report_figure(f) for f in stages.STAGES["paper002"].figures],
        markdown=[f"results/{{exp}}/{r}" for r in stages.STAGES["paper002"].reports if r.endswith(".md")],
        html=[  # each table's rendering (in the HTML report), then Tables 1-8 on one page
            report_file(f"results/{{exp}}/{report_catalogue.html_rendering(r)}")
            for r in stages.STAGES["paper002"].reports
            if r.endswith(".md")
        ],
        tables_html="results/{exp}/reports/p002_tables.html",
        benchmark="results/{exp}/benchmarks/p002_report.tsv",
    log:
        "results/{exp}/logs/p002_report.log",
    localrule: True  # tables only (no torch): cheap
    params:
        section=lambda wc: {k: v for k, v in EXPS[wc.exp]["paper002"].items() if k != "runs"},
    script:
        "../workflow/scripts/p002_report.py"
