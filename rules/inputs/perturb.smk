# Input functions and params of rules/perturb.smk (kept apart from the rules: snakemake --lint).


def _perturb_tasks(exp_name, run, epoch):
    """[(attack label, attack config, sample set)] of (run, epoch)."""
    exp = EXPS[exp_name]
    attacks = exp["perturb"]["attacks"]
    tasks = perturbation_needs(exp_name).get((run, int(epoch)))
    if not tasks:
        raise WorkflowError(f"{exp_name}: no analysis needs perturbations of run {run!r} at epoch {int(epoch)}")
    for attack, _ in tasks:
        if attack not in attacks:
            raise WorkflowError(f"{exp_name}: perturb.attacks has no attack {attack!r}; have {sorted(attacks)}")
    return [[attack, attacks[attack], set_name] for attack, set_name in tasks]


def perturb_epochs_params(wildcards):
    """[[epoch, checkpoint file, tasks]] of the ({run}, {chunk}) job, in epoch order."""
    exp, run = wildcards.exp, wildcards.run
    return [
        [t, checkpoint_file(exp, run, t), _perturb_tasks(exp, run, t)]
        for t in perturb_chunk_epochs(exp, run, wildcards.chunk)
    ]


def perturb_checkpoints(wildcards):
    exp, run = wildcards.exp, wildcards.run
    return list(dict.fromkeys(checkpoint_input(exp, run, t) for t in perturb_chunk_epochs(exp, run, wildcards.chunk)))


def perturb_chunk_size(wildcards):
    return EXPS[wildcards.exp]["perturb"]["chunk_size"]


def perturb_seed(wildcards):
    """The run's seed (runs that share an epoch-0 model share their seed)."""
    return run_of(wildcards)["seed"]
