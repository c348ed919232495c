# Input functions and params of rules/perturb.smk (kept apart from the rules: snakemake --lint).


def perturb_epoch_tasks(wildcards):
    """[(attack label, attack config, sample set)] the job for ({run}, {epoch}) computes."""
    exp = EXPS[wildcards.exp]
    attacks = exp["perturb"]["attacks"]
    tasks = perturbation_needs(wildcards.exp).get((wildcards.run, int(wildcards.epoch)))
    if not tasks:
        raise WorkflowError(
            f"{wildcards.exp}: no analysis needs perturbations of run {wildcards.run!r} at epoch {int(wildcards.epoch)}"
        )
    for attack, _ in tasks:
        if attack not in attacks:
            raise WorkflowError(f"{wildcards.exp}: perturb.attacks has no attack {attack!r}; have {sorted(attacks)}")
    return [[attack, attacks[attack], set_name] for attack, set_name in tasks]


def perturb_checkpoint(wildcards):
    return checkpoint_input(wildcards.exp, wildcards.run, wildcards.epoch)


def perturb_checkpoint_file(wildcards):
    return checkpoint_file(wildcards.exp, wildcards.run, wildcards.epoch)


def perturb_chunk_size(wildcards):
    return EXPS[wildcards.exp]["perturb"]["chunk_size"]


def perturb_seed(wildcards):
    """The run's seed (runs that share an epoch-0 model share their seed)."""
    return run_of(wildcards)["seed"]
