# The claims scorecard: built last, from every aggregated table of the experiment.
from advtrace.claims import seed_experiment

REPORTS += ["results/{exp}/claims.md"]


include: "inputs/claims.smk"


rule claims:
    input:
        unpack(experiment_tables),
    output:
        table="results/{exp}/tables/claims.parquet",
        markdown="results/{exp}/claims.md",
        html=report(
            "results/{exp}/claims.html",
            caption="../workflow/report/claims.rst",
            category=report_catalogue.CLAIMS_CATEGORY,
            subcategory="{exp}",
        ),
    log:
        "results/{exp}/logs/claims.log",
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    script:
        "../workflow/scripts/claims.py"


rule claims_seeds_table:
    input:
        unpack(seed_claims),
    output:
        table="results/{exp}/tables/claims_seeds.parquet",
        markdown="results/{exp}/claims_seeds.md",
    log:
        "results/{exp}/logs/claims_seeds.log",
    localrule: True
    script:
        "../workflow/scripts/claims_seeds.py"


rule claims_seeds:
    input:
        expand("results/{exp}/claims_seeds.md", exp=RUN),
