"""Parse-time helpers of the Snakefile (called from ``rules/common.smk``), torch-free so that
building the DAG stays fast.

* :func:`cap_local_gpu_jobs` — GPU safety of the plain ``snakemake --cores all``: every
  GPU-capable rule declares ``resources: gpu=1``; without a global limit on ``gpu`` Snakemake
  would start as many of them at once as cores allow, all on the same GPU.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .runtime import visible_gpu_count


def cap_local_gpu_jobs(workflow: Any, stream: TextIO | None = None, gpus: int | None = None) -> int | None:
    """Limit the global resource ``gpu`` of a local run to the number of visible GPUs (at least 1).

    Left alone (returns None) when the user set a limit (``--resources gpu=N``, a profile's
    ``resources:``), for cluster and cloud runs (an executor plugin with ``--jobs N``: Snakemake
    then submits every job with its own resources, and its scheduler does not restrict local
    cores either, which is the criterion used here), and in Snakemake's job subprocesses.
    Also left alone on a machine with no visible GPU: every job then runs on the CPU (``device:
    auto``) and ``--cores`` alone bounds them; a cap of 1 would serialise the CPU jobs for nothing
    (the digits run would use one of a laptop's cores). A GPU that no ``/dev/nvidia*`` node shows is
    one torch cannot use either. Returns the limit it set and says so on `stream` (default stderr).
    `gpus` overrides the count (tests).
    """
    resources = workflow.global_resources
    if "gpu" in resources:
        return None  # the user's limit stands
    if resources["_nodes"].value is not None:
        return None  # cluster/cloud submission: each job asks its executor for its own GPU
    if not workflow.is_main_process:
        return None
    visible = visible_gpu_count() if gpus is None else gpus
    if visible < 1:
        return None  # CPU only: nothing to protect, --cores bounds the jobs
    cap = visible
    resources["gpu"] = cap
    print(
        f"advtrace: local run: at most {cap} GPU job{'s' if cap > 1 else ''} (rules with resources gpu=1) "
        f"at a time ({visible} visible NVIDIA GPU{'' if visible == 1 else 's'}); "
        "change with --resources gpu=N",
        file=stream or sys.stderr,
    )
    return cap
