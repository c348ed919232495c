# Input functions and params of rules/detect.smk (kept apart from the rules: snakemake --lint).
# The detect section as it analyses the run {run} (analysis_view: epoch lists mapped onto its T).


def detect_of(exp, run):
    return analysis_view(exp, "detect", run)["detect"]


def detect_cfg(wildcards):
    return detect_of(wildcards.exp, wildcards.run)


def detect_epochs_of_runs(exp, run):
    """detect.epochs of `run` and of every analysed run whose epoch-0 files are `run`'s (the jobs of
    `run` at epoch 0 serve them too)."""
    epochs = set(detect_of(exp, run)["epochs"]) if run in analysed_runs(exp, "detect") else set()
    if any(
        runs.epoch_owner(EXPS[exp], r, 0) == run and 0 in detect_of(exp, r)["epochs"]
        for r in analysed_runs(exp, "detect")
    ):
        epochs.add(0)
    return epochs


def detect_check_epoch(wildcards):
    """The {epoch} wildcard must be one of detect.epochs of {run} (or epoch 0 of a run it serves)."""
    epochs = detect_epochs_of_runs(wildcards.exp, wildcards.run)
    if int(wildcards.epoch) not in epochs:
        raise WorkflowError(
            f"{wildcards.exp}: epoch {int(wildcards.epoch)} not in detect.epochs {sorted(epochs)} of run {wildcards.run!r}"
        )
    return detect_of(wildcards.exp, wildcards.run)


def detect_attached(exp):
    return EXPS[exp]["detect"]["detector"]["position"] != "input"


def detector_dir(exp, run, epoch):
    return owner_path(exp, run, epoch, f"detectors/epoch_{int(epoch):03d}")


def detector_file(exp, run, attack, epoch):
    """A trained detector, inside the directory its epoch's `train_detectors` job writes."""
    return f"{detector_dir(exp, run, epoch)}/{attack}.pt"


def detector_history_file(exp, run, attack, epoch):
    return f"{detector_dir(exp, run, epoch)}/{attack}_training.parquet"


def detect_train_inputs(wildcards):
    detect_check_epoch(wildcards)
    exp, run, epoch = wildcards.exp, wildcards.run, wildcards.epoch
    inputs = {
        "dataset": f"results/{exp}/data/dataset.pt",
        "perturbations": perturbation_dirs(exp, run, [epoch]),
    }
    if detect_attached(exp):
        inputs["checkpoint"] = checkpoint_input(exp, run, epoch)
    return inputs


def detect_train_files(wildcards):
    """{attack: {train, val: perturbation file}} of every detector the epoch job trains, and the
    classifier's checkpoint (a detector attached to its feature maps)."""
    det = detect_check_epoch(wildcards)
    exp, run, epoch = wildcards.exp, wildcards.run, wildcards.epoch
    return {
        "checkpoint": checkpoint_file(exp, run, epoch) if detect_attached(exp) else None,
        "detectors": {
            attack: {key: perturbation_file(exp, run, attack, det[f"{key}_set"], epoch) for key in ("train", "val")}
            for attack in det["attacks"]
        },
    }


def detect_train_params(wildcards):
    """Only what the weights depend on, so figure/epoch-list edits never retrain detectors."""
    cfg = analysis_view(wildcards.exp, "detect", wildcards.run)
    det = cfg["detect"]
    return {
        "seed": cfg["seed"],
        "detector": det["detector"],
        "training": det["training"],
        "chunk_size": det["chunk_size"],
    }


def detect_check_attack(wildcards):
    det = detect_cfg(wildcards)
    if wildcards.attack not in det["attacks"]:
        raise WorkflowError(
            f"{wildcards.exp}: detect.attacks has no attack {wildcards.attack!r}; have {sorted(det['attacks'])}"
        )
    return det


def detect_eval_inputs(wildcards):
    """Every detector of {attack} of {run} and the test perturbations of every detect epoch."""
    det = detect_check_attack(wildcards)
    exp, run = wildcards.exp, wildcards.run
    epochs = sorted(det["epochs"])
    return {
        "dataset": f"results/{exp}/data/dataset.pt",
        "detectors": [detector_dir(exp, run, t) for t in epochs],
        "perturbations": perturbation_dirs(exp, run, epochs),
    }


def detect_eval_files(wildcards):
    det = detect_check_attack(wildcards)
    exp, run, attack = wildcards.exp, wildcards.run, wildcards.attack
    epochs = sorted(det["epochs"])
    return {
        "test": [perturbation_file(exp, run, attack, det["test_set"], t) for t in epochs],
        "detectors": [detector_file(exp, run, attack, t) for t in epochs],
    }


def classifier_model(wildcards):
    """The run's model config, for a detector attached to the classifier's feature maps (its weights are
    in the detector file); None for a detector of the input."""
    return run_of(wildcards)["model"] if detect_attached(wildcards.exp) else None


def detect_eval_params(wildcards):
    det = detect_cfg(wildcards)
    return {
        "chunk_size": det["chunk_size"],
        "mode": det["attacks"][wildcards.attack],
        "model": classifier_model(wildcards),
    }


def detect_max_inputs(wildcards):
    detect_check_epoch(wildcards)
    exp = wildcards.exp
    return {
        "dataset": f"results/{exp}/data/dataset.pt",
        "samples": f"results/{exp}/data/samples.parquet",
        "detectors": detector_dir(exp, wildcards.run, wildcards.epoch),
    }


def detect_max_detector(wildcards):
    det = EXPS[wildcards.exp]["detect"]
    return detector_file(wildcards.exp, wildcards.run, det["maximise"]["attack"], wildcards.epoch)


def detect_max_params(wildcards):
    cfg = analysis_view(wildcards.exp, "detect", wildcards.run)
    det = cfg["detect"]
    return {
        "seed": cfg["seed"],
        "maximise": det["maximise"],
        "train_set": det["train_set"],
        "test_set": det["test_set"],
        "chunk_size": det["chunk_size"],
        "model": classifier_model(wildcards),
    }


def detect_table_parts(wildcards):
    """{table: {run: its parts, in order}} of every run of detect.runs (epoch 0: its owner's files)."""
    exp = wildcards.exp
    out = {"detectability": {}, "detector_training": {}, "detector_max": {}, "detector_max_summary": {}}
    for run in analysed_runs(exp, "detect"):
        det = detect_of(exp, run)
        epochs = sorted(det["epochs"])
        out["detectability"][run] = [run_path(exp, run, f"metrics/detectability/{a}.parquet") for a in det["attacks"]]
        out["detector_training"][run] = [detector_history_file(exp, run, a, t) for a in det["attacks"] for t in epochs]
        if run in p000.maximise_runs(EXPS[exp]):
            for name in ("detector_max", "detector_max_summary"):
                out[name][run] = [owner_path(exp, run, t, f"metrics/{name}/epoch_{t:03d}.parquet") for t in epochs]
    return out


def detect_table_inputs(wildcards):
    """The files the tables are made of (the training histories lie in the detector directories)."""
    exp = wildcards.exp
    parts = detect_table_parts(wildcards)
    dirs = [
        detector_dir(exp, run, t) for run in analysed_runs(exp, "detect") for t in sorted(detect_of(exp, run)["epochs"])
    ]
    return sorted(set(dirs)) + [
        p
        for name in ("detectability", "detector_max", "detector_max_summary")
        for ps in parts[name].values()
        for p in ps
    ]


def detect_plot_params(wildcards):
    det = figure_view("detect")(wildcards)
    return {key: det[key] for key in ("fixed_epochs", "fig06_attacks", "fig16_attacks")}
