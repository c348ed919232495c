# Input functions and params of rules/cross_method.smk (kept apart from the rules: snakemake --lint).

# paper 000's tables the study reads (one block of rows per analysed run)
X000_INPUT_TABLES = (
    "universal_accuracy",
    "sharedness",
    "sharedness_summary",
    "stability_summary",
    "detectability",
)


def x000_params(wildcards):
    """The cross_method section, and each compared run's number of adversarial-training epochs T."""
    cfg = EXPS[wildcards.exp]
    sec = cfg["cross_method"]
    return {**sec, "T": {run: p000.trained_epochs(cfg, run) for run in sec["methods"].values()}}
