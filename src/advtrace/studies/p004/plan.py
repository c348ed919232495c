"""Which runs and epochs paper 004's study evaluates (pure Python, no torch: read by the rules)."""

from __future__ import annotations

from ... import runs

# the largest ε in [0, 255] units: a search that never succeeds reports it (no torch here, so the figure
# and claim modules that read it stay importable without torch)
EPS_MAX = 255.0

SECTION = "paper004"
BASELINES = ("deepfool_uad", "fictitious_play")  # adv_train.method of paper 004's baseline defences (Fig. 3)


def study_runs(exp: dict) -> list[str]:
    """The expanded names of the runs declared in the ``paper004`` section, in order."""
    return list(runs.expand({"runs": exp[SECTION].get("runs") or {}}))[1:]


def last_epoch(exp: dict, run: str) -> int:
    return int(runs.run_config(exp, run)["adv_train"]["epochs"])


def eval_epochs(exp: dict, run: str) -> list[int]:
    """main: ``main_epochs``; a curve run: every ``curve_step``-th epoch of 1..T (default 1: every epoch),
    T always included; any other run: its last epoch."""
    sec = exp[SECTION]
    if run == runs.MAIN:
        return sorted(set(sec["main_epochs"]))
    if run in sec["curve_runs"]:
        T, step = last_epoch(exp, run), int(sec.get("curve_step", 1))
        return sorted(set(range(step, T + 1, step)) | {T})
    return [last_epoch(exp, run)]


def eval_chunks(exp: dict, run: str, epochs_per_job: int) -> dict[str, list[int]]:
    """The run's evaluation jobs: chunk name ``NNN-NNN`` (first and last epoch) -> its epochs, groups of
    `epochs_per_job` consecutive evaluated epochs (``epochs_per_analysis_job``, as every analysis that
    takes a run's epochs in chunks; 1 = one cached job per (run, epoch))."""
    return runs.epoch_chunks(eval_epochs(exp, run), int(epochs_per_job))


def deepfool_epochs(exp: dict, run: str) -> list[int]:
    """The epochs of `run` whose evaluation also measures Fig. 3 right (the DeepFool universal
    perturbation): main's ``main_epochs`` (epoch 0 = ERM), any other run's last epoch."""
    return eval_epochs(exp, run) if run == runs.MAIN else [last_epoch(exp, run)]


def training_jobs(exp: dict, run: str) -> list[tuple[int, int]]:
    """(first, last) epoch of each training job of `run` (``adv_train.epochs_per_training_job`` epochs each)."""
    T = last_epoch(exp, run)
    k = runs.epochs_per_training_job(exp, run)
    return [(a, min(a + k - 1, T)) for a in range(1, T + 1, k)]


def benchmark_path(exp: dict, run: str, job: tuple[int, int]) -> str:
    """The benchmark TSV of the training job `job` of `run` (rules/train.smk; every run's files under
    results/{exp}/runs/{run}/, main included)."""
    rule = "adv_train_epoch" if runs.epochs_per_training_job(exp, run) == 1 else "adv_train_chained"
    return f"{runs.run_dir(exp['name'], run)}/benchmarks/{rule}/{job[1]:03d}.tsv"


def evaluated_runs(exp: dict) -> list[str]:
    return [runs.MAIN] + study_runs(exp)


def run_info(exp: dict, run: str, epoch: int) -> dict:
    """The columns that describe a (run, epoch) in the tables: family, s, ε and loss weight."""
    adv = runs.run_config(exp, run)["adv_train"]
    if int(epoch) == 0:
        return {"run": run, "family": "erm", "heap_size": 0, "eps_train": 0.0, "adv_weight": 0.0}
    if adv["method"] == "shared":
        sh = adv["shared"]
        return {"run": run, "family": "shared", "heap_size": int(sh["heap_size"]), "eps_train": float(sh["eps"]),
                "adv_weight": float(sh["adv_weight"])}
    if adv["method"] in BASELINES:  # paper 004's baselines: ε of their universal perturbations, p_adv
        u = adv["uap"]
        return {"run": run, "family": adv["method"], "heap_size": 0, "eps_train": float(u["eps"]),
                "adv_weight": float(u["p_adv"])}
    att = adv.get("attack") or {}
    return {"run": run, "family": "paper000" if run == runs.MAIN else adv["method"], "heap_size": 0,
            "eps_train": float(att.get("eps", 0.0)), "adv_weight": 1.0 - float(adv.get("sigma", 1.0))}
