# Beyond the papers (advtrace.studies.x000; config section `cross_method`): paper 000's stability,
# sharedness, universal accuracy and detectability of three training methods, compared. Nothing is
# computed on a model here: paper 000's stages analyse each run (stability.runs, universal.runs,
# detect.runs); one job reads their tables and writes the study's measures and comparisons (Holm over
# the family), and one job draws its figures.


include: "inputs/cross_method.smk"


rule x000_tables:
    input:
        **{name: table(name) for name in X000_INPUT_TABLES},
    output:
        **{name: table(name) for name in stages.STAGES["cross_method"].tables},
    log:
        "results/{exp}/logs/x000_tables.log",
    localrule: True  # tables only (no torch): cheap
    params:
        cfg=x000_params,
    script:
        "../workflow/scripts/x000_tables.py"


rule x000_figures:
    input:
        metrics=table("x000_metrics"),
    output:
        **{
            f"{slug}_{ext}": report_figure(slug) if ext == "png" else figure(slug, ext)
            for slug in stages.STAGES["cross_method"].figures
            for ext in ("pdf", "png")
        },
    log:
        "results/{exp}/logs/x000_figures.log",
    localrule: True  # tables only (no torch): cheap
    params:
        min_epochs=lambda wildcards: EXPS[wildcards.exp]["cross_method"]["min_epochs"],
    script:
        "../workflow/scripts/x000_figures.py"
