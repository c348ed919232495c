"""Which stored perturbation sets each stage needs at which epoch (pure Python, no torch).

Every stage that reads per-epoch perturbations of fixed sample sets (``perturb.attacks`` labels ×
``samples`` names) lists them here as ``(attack label, sample set, epoch)``; the workflow runs one
``perturb_epoch`` job per epoch that computes the union of what the active stages need
(``rules/perturb.smk``), and the benchmark's work projection (``bench/paper_work.py``) counts the
same tasks.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from . import stability_plan

Need = tuple[str, str, int]


def stability_needs(exp: dict) -> Iterator[Need]:
    """Figs. 1, 2, 9, 10, 11: every perturbation set a stability_epochs job reads."""
    stab, T = exp["stability"], exp["adv_train"]["epochs"]
    for epoch in stability_plan.plan_epochs(stab, T):
        for s, t in stability_plan.perturbation_needs(stability_plan.epoch_plan(stab, T, epoch), epoch):
            yield stab["attack"], s, t


def destruction_needs(exp: dict) -> Iterator[Need]:
    """Figs. 5, 14, 15: BI, FGSM and DeepFool on destruction.sample_set at every sweep epoch."""
    from .config import DESTRUCTION_ATTACKS, destruction_epochs

    for epoch in destruction_epochs(exp):
        for attack in DESTRUCTION_ATTACKS:
            yield attack, exp["destruction"]["sample_set"], epoch


def detect_needs(exp: dict) -> Iterator[Need]:
    """Figs. 6, 7, 16: train/val perturbations of each detector, test ones of every detect epoch."""
    det = exp["detect"]
    for attack in det["attacks"]:
        for t in det["epochs"]:
            for key in ("train_set", "val_set", "test_set"):
                yield attack, det[key], t


# stage section -> its needs; a stage whose section an experiment lacks needs nothing
STAGE_NEEDS: dict[str, Callable[[dict], Iterable[Need]]] = {
    "stability": stability_needs,
    "destruction": destruction_needs,
    "detect": detect_needs,
}


def needs_by_epoch(exp: dict) -> dict[int, list[tuple[str, str]]]:
    """{epoch: sorted [(attack label, sample set)]} over the experiment's stages."""
    needs: dict[int, set[tuple[str, str]]] = {}
    for section, stage_needs in STAGE_NEEDS.items():
        if section in exp:
            for attack, set_name, epoch in stage_needs(exp):
                needs.setdefault(int(epoch), set()).add((attack, set_name))
    return {t: sorted(v) for t, v in sorted(needs.items())}


def write_manifest(directories, path, log_path) -> None:
    """A JSON list of every perturbation file under `directories` with its size and mtime: the
    single input of the stability jobs (rules/stability.smk), rewritten whenever a directory is."""
    import json
    from pathlib import Path

    from .runtime import atomic_path

    entries = []
    for d in directories:
        for f in sorted(Path(d).rglob("*.pt")):
            st = f.stat()
            entries.append({"file": str(f), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns})
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(entries, indent=1) + "\n")
    Path(log_path).write_text(f"{len(entries)} perturbation files in {len(list(directories))} directories\n")
