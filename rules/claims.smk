# The claims scorecard: built last, from every aggregated table of the experiment.
REPORTS += ["results/{exp}/claims.md"]


rule claims:
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    input:
        unpack(experiment_tables),
    output:
        table="results/{exp}/tables/claims.parquet",
        markdown="results/{exp}/claims.md",
        html=report(
            "results/{exp}/claims.html",
            caption="../workflow/report/claims.rst",
            category="{exp}",
            subcategory="Claims scorecard",
        ),
    log:
        "results/{exp}/logs/claims.log",
    script:
        "../workflow/scripts/claims.py"
