# Input functions and params of rules/destruction.smk (kept apart from the rules: snakemake --lint).


def destruction_of(exp, run):
    """The experiment as the destruction section analyses `run` (epoch lists mapped onto its T)."""
    return analysis_view(exp, "destruction", run)


def destruction_perturbation_files(wildcards):
    """{attack label: stored perturbations of destruction.sample_set at ({run}, {epoch})} for Figs. 5, 14, 15."""
    tr = EXPS[wildcards.exp]["destruction"]
    return {
        attack: perturbation_file(wildcards.exp, wildcards.run, attack, tr["sample_set"], wildcards.epoch)
        for attack in TRANSFORMS_FIGURES
    }


def destruction_perturbations(wildcards):
    return perturbation_dirs(wildcards.exp, wildcards.run, [wildcards.epoch])


def destruction_checkpoint(wildcards):
    return checkpoint_input(wildcards.exp, wildcards.run, wildcards.epoch)


def destruction_checkpoint_file(wildcards):
    return checkpoint_file(wildcards.exp, wildcards.run, wildcards.epoch)


def destruction_sample_set(wildcards):
    return EXPS[wildcards.exp]["destruction"]["sample_set"]


def destruction_sweep_params(wildcards):
    """What one sweep's numbers depend on (not destruction.epochs, so adding an epoch reruns nothing)."""
    tr = EXPS[wildcards.exp]["destruction"]
    return {k: tr[k] for k in ("chunk_size", "noise_seed", "sweeps")}


def destruction_parts(wildcards):
    """{run: its per-epoch sweep parts} of every run of destruction.runs (epoch 0: its owner's)."""
    exp = wildcards.exp
    return {
        run: [
            owner_path(exp, run, e, f"metrics/destruction/epoch_{e:03d}.parquet")
            for e in p000.destruction_epochs(destruction_of(exp, run))
        ]
        for run in analysed_runs(exp, "destruction")
    }


def destruction_inputs(wildcards):
    return [p for parts in destruction_parts(wildcards).values() for p in parts]


def destruction_figure_outputs():
    outputs = {}
    for attack, number in TRANSFORMS_FIGURES.items():
        outputs[f"{attack}_pdf"] = figure(f"fig{number:02d}", "pdf")
        outputs[f"{attack}_png"] = report_figure(f"fig{number:02d}")
    return outputs
