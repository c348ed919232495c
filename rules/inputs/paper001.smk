# Input functions and params of rules/paper001.smk (kept apart from the rules: snakemake --lint).


def p001_section(wildcards):
    return EXPS[wildcards.exp]["paper001"]


def p001_classifier(wildcards):
    return runs.checkpoint_path(EXPS[wildcards.exp], runs.MAIN, 0)


def p001_family_dir(exp, family):
    return f"results/{exp}/paper001/families/{family}"


def p001_common(wildcards):
    exp = EXPS[wildcards.exp]
    sec = exp["paper001"]
    return {
        "seed": exp["seed"],
        "model": exp["model"],
        "chunk_size": sec["chunk_size"],
        "sets": {k: sec[f"{k}_set"] for k in ("train", "val", "test")},
    }


def p001_family_params(wildcards):
    """What the family's adversarial examples and detectors depend on (no figure settings)."""
    sec = p001_section(wildcards)
    if wildcards.family not in sec["families"]:
        raise WorkflowError(
            f"{wildcards.exp}: paper001.families has no {wildcards.family!r}; " f"have {sorted(sec['families'])}"
        )
    return {
        **p001_common(wildcards),
        "family": sec["families"][wildcards.family],
        "target_accuracy": sec["target_accuracy"],
        "positions": sec["positions"],
        "detector": sec["detector"],
        "training": sec["training"],
    }


def p001_transfer_params(wildcards):
    """The attack x attack job: each family at transfer_eps (default: its ε*)."""
    return {**p001_common(wildcards), "transfer_eps": p001_section(wildcards).get("transfer_eps", {})}


def p001_all_families(wildcards):
    return [p001_family_dir(wildcards.exp, f) for f in p001_section(wildcards)["families"]]


def p001_dynamic_family(wildcards):
    """The family job whose static detector the dynamic adversary attacks."""
    return p001_family_dir(wildcards.exp, p001_section(wildcards)["dynamic"]["family"])


def p001_dynamic_params(wildcards):
    sec = p001_section(wildcards)
    return {**p001_common(wildcards), "dynamic": sec["dynamic"]}


def p001_parts(wildcards):
    fams = list(p001_section(wildcards)["families"])
    part = "results/{exp}/metrics/p001/{kind}/{family}.parquet"
    parts = {
        kind: expand(part, exp=wildcards.exp, kind=kind, family=fams)
        for kind in ("adversaries", "depth", "eps_transfer", "training")
    }
    return parts
