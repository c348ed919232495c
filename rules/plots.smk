# Plot rules read Parquet tables only, so editing a plot re-runs one cheap job.


rule plot_learning_curves:
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    input:
        table="results/{exp}/tables/learning_curve.parquet",
    output:
        pdf="results/{exp}/figures/fig08_learning_curves.pdf",
        png=report(
            "results/{exp}/figures/fig08_learning_curves.png",
            caption="../workflow/report/fig08.rst",
            category="{exp}",
            subcategory="Fig. 08",
        ),
    log:
        "results/{exp}/logs/plot_learning_curves.log",
    script:
        "../workflow/scripts/plot_learning_curves.py"
