# Input functions and params of rules/paper002.smk (kept apart from the rules: snakemake --lint).


def p002_checkpoints(wildcards):
    # the file the job that writes each checkpoint declares (the manifest for adv_train.epochs_per_training_job > 1);
    # the study reads the checkpoints at their paths (p002_plan.models' "path")
    exp = EXPS[wildcards.exp]
    return {m["key"].replace("@", "_at_"): runs.job_output(exp, m["run"], m["epoch"]) for m in p002_plan.models(exp)}


def p002_params(wildcards):
    exp = EXPS[wildcards.exp]
    sec = {k: v for k, v in exp["paper002"].items() if k != "runs"}
    return {
        "section": sec,
        "models": p002_plan.models(exp),
        "transfer": p002_plan.transfer_models(exp),
        "seed": exp["seed"],
    }
