# Input functions and params of rules/paper002.smk (kept apart from the rules: snakemake --lint).


def p002_checkpoints(wildcards):
    return {m["key"].replace("@", "_at_"): m["path"] for m in p002_plan.models(EXPS[wildcards.exp])}


def p002_params(wildcards):
    exp = EXPS[wildcards.exp]
    sec = {k: v for k, v in exp["paper002"].items() if k != "runs"}
    return {
        "section": sec,
        "models": p002_plan.models(exp),
        "transfer": p002_plan.transfer_models(exp),
        "seed": exp["seed"],
    }
