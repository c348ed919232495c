"""Which stored perturbation sets the active stages need at which (run, epoch) (pure Python, no torch).

Every study whose stages read per-epoch perturbations of fixed sample sets (``perturb.attacks``
labels × ``samples`` names; paper 000's stability, destruction and detect stages) lists them in its
package's ``plan.perturbation_needs(exp)`` as ``(run, attack label, sample set, epoch)``; this
module only collects them (advtrace.stages). The workflow runs one ``perturb_epochs`` job per
chunk of a run's needed epochs (``epochs_per_analysis_job`` of them) that computes the union at each
(``rules/perturb.smk``); epoch 0 of a run that starts from
another run's pretrained model is that run's job (:func:`advtrace.runs.epoch_owner`: the same
model). The benchmark's work projection (``bench/paper_work.py``) counts the same tasks.
"""

from __future__ import annotations

import importlib

from . import runs, stages


def perturbation_needs(exp: dict) -> dict[tuple[str, int], list[tuple[str, str]]]:
    """{(run, epoch): sorted [(attack label, sample set)]} over the experiment's active stages."""
    needs: dict[tuple[str, int], set[tuple[str, str]]] = {}
    modules = dict.fromkeys(s.module for s in stages.active(exp) if s.module is not None)
    for module in modules:
        try:
            plan = importlib.import_module(f"{module}.plan")
        except ModuleNotFoundError:
            continue
        for run, attack, set_name, epoch in getattr(plan, "perturbation_needs", lambda _exp: ())(exp):
            needs.setdefault((runs.epoch_owner(exp, run, epoch), int(epoch)), set()).add((attack, set_name))
    return {k: sorted(v) for k, v in sorted(needs.items())}


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
