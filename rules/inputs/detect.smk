# Input functions and params of rules/detect.smk (kept apart from the rules: snakemake --lint).


def detect_cfg(wildcards):
    return EXPS[wildcards.exp]["detect"]


def detect_check_epoch(wildcards):
    """The {epoch} wildcard must be one of detect.epochs."""
    det = detect_cfg(wildcards)
    if int(wildcards.epoch) not in det["epochs"]:
        raise WorkflowError(f"{wildcards.exp}: epoch {int(wildcards.epoch)} not in detect.epochs {det['epochs']}")
    return det


def detect_attached(exp):
    return EXPS[exp]["detect"]["detector"]["position"] != "input"


def detector_dir(exp, epoch):
    return f"results/{exp}/detectors/epoch_{int(epoch):03d}"


def detector_file(exp, attack, epoch):
    """A trained detector, inside the directory its epoch's `train_detectors` job writes."""
    return f"{detector_dir(exp, epoch)}/{attack}.pt"


def detector_history_file(exp, attack, epoch):
    return f"{detector_dir(exp, epoch)}/{attack}_training.parquet"


def detect_train_inputs(wildcards):
    detect_check_epoch(wildcards)
    exp, epoch = wildcards.exp, wildcards.epoch
    inputs = {
        "dataset": f"results/{exp}/data/dataset.pt",
        "perturbations": perturbation_dirs(exp, [epoch]),
    }
    if detect_attached(exp):
        inputs["checkpoint"] = f"results/{exp}/checkpoints/epoch_{epoch}.pt"
    return inputs


def detect_train_files(wildcards):
    """{attack: {train, val: perturbation file}} of every detector the epoch job trains."""
    det = detect_check_epoch(wildcards)
    exp, epoch = wildcards.exp, wildcards.epoch
    return {
        attack: {key: perturbation_file(exp, attack, det[f"{key}_set"], epoch) for key in ("train", "val")}
        for attack in det["attacks"]
    }


def detect_train_params(wildcards):
    """Only what the weights depend on, so figure/epoch-list edits never retrain detectors."""
    exp = EXPS[wildcards.exp]
    det = exp["detect"]
    params = {
        "seed": exp["seed"],
        "detector": det["detector"],
        "training": det["training"],
        "chunk_size": det["chunk_size"],
    }
    if detect_attached(wildcards.exp):
        params["model"] = exp["model"]
    return params


def detect_check_attack(wildcards):
    det = detect_cfg(wildcards)
    if wildcards.attack not in det["attacks"]:
        raise WorkflowError(
            f"{wildcards.exp}: detect.attacks has no attack {wildcards.attack!r}; have {sorted(det['attacks'])}"
        )
    return det


def detect_eval_inputs(wildcards):
    """Every detector of {attack} and the test perturbations of every detect epoch."""
    det = detect_check_attack(wildcards)
    exp = wildcards.exp
    epochs = sorted(det["epochs"])
    return {
        "dataset": f"results/{exp}/data/dataset.pt",
        "detectors": [detector_dir(exp, t) for t in epochs],
        "perturbations": perturbation_dirs(exp, epochs),
    }


def detect_eval_files(wildcards):
    det = detect_check_attack(wildcards)
    exp, attack = wildcards.exp, wildcards.attack
    epochs = sorted(det["epochs"])
    return {
        "test": [perturbation_file(exp, attack, det["test_set"], t) for t in epochs],
        "detectors": [detector_file(exp, attack, t) for t in epochs],
    }


def detect_eval_params(wildcards):
    exp = EXPS[wildcards.exp]
    det = exp["detect"]
    return {
        "chunk_size": det["chunk_size"],
        "mode": det["attacks"][wildcards.attack],
        "model": exp["model"] if detect_attached(wildcards.exp) else None,
    }


def detect_max_inputs(wildcards):
    detect_check_epoch(wildcards)
    exp = wildcards.exp
    return {
        "dataset": f"results/{exp}/data/dataset.pt",
        "samples": f"results/{exp}/data/samples.parquet",
        "detectors": detector_dir(exp, wildcards.epoch),
    }


def detect_max_detector(wildcards):
    det = EXPS[wildcards.exp]["detect"]
    return detector_file(wildcards.exp, det["maximise"]["attack"], wildcards.epoch)


def detect_max_params(wildcards):
    exp = EXPS[wildcards.exp]
    det = exp["detect"]
    return {
        "seed": exp["seed"],
        "maximise": det["maximise"],
        "train_set": det["train_set"],
        "test_set": det["test_set"],
        "chunk_size": det["chunk_size"],
        "model": exp["model"] if detect_attached(wildcards.exp) else None,
    }


def detect_table_parts(wildcards):
    exp = wildcards.exp
    det = EXPS[exp]["detect"]
    return {
        "detectability": [f"results/{exp}/metrics/detectability/{a}.parquet" for a in det["attacks"]],
        "detector_training": [detector_dir(exp, t) for t in sorted(det["epochs"])],
        "detector_max": expand(
            "results/{exp}/metrics/detector_max/epoch_{t:03d}.parquet", exp=exp, t=sorted(det["epochs"])
        ),
        "detector_max_summary": expand(
            "results/{exp}/metrics/detector_max_summary/epoch_{t:03d}.parquet", exp=exp, t=sorted(det["epochs"])
        ),
    }


def detect_history_files(wildcards):
    det = EXPS[wildcards.exp]["detect"]
    return [detector_history_file(wildcards.exp, a, t) for a in det["attacks"] for t in sorted(det["epochs"])]


def detect_plot_params(wildcards):
    det = EXPS[wildcards.exp]["detect"]
    return {key: det[key] for key in ("fixed_epochs", "fig06_attacks", "fig16_attacks")}
