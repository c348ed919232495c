"""SLURM job states as snakemake-executor-plugin-slurm expects them (pure Python, no torch).

The plugin (2.8.0, the newest release) decides a job's fate by comparing the state ``sacct``
prints with fixed names (``check_active_jobs``): ``COMPLETED`` succeeded; ``CANCELLED``,
``TIMEOUT``, ``FAILED``, ``OUT_OF_MEMORY``, ``BOOT_FAIL``, ``DEADLINE`` and (unless its ``requeue``
setting is on) ``NODE_FAIL`` failed; ``PREEMPTED`` is left to SLURM; anything else counts as still
running (the ``else: yield j`` branch). Two gaps make a run wait for ever:

* ``sacct`` prints a cancelled job as ``CANCELLED by <uid>`` (``scancel``, an administrator), which
  is none of those names: the plugin takes it for running, Snakemake never retries it, never
  fails, and ignores SIGTERM while it waits (docs/slurm_plugin_bug_report.md);
* a ``PREEMPTED`` job that SLURM does not requeue (PreemptMode=CANCEL, or a job that may not be
  requeued) stays ``PREEMPTED``; so does, with ``requeue`` on, a ``NODE_FAIL`` job SLURM did not requeue.

:func:`install` wraps the plugin's status query (``query_job_status``, which ``check_active_jobs``
calls by its module-global name) so that every state reaches it normalised (:func:`normalise`):
the first word, without SLURM's ``+`` truncation mark (``CANCELLED by 0`` -> ``CANCELLED``); and a
``PREEMPTED`` or ``NODE_FAIL`` job is looked up in ``squeue``: back in the queue, SLURM has
requeued it (same job id, after SLURM's requeue delay) and the plugin is told it runs; gone, it is
over and the plugin is told it failed, so Snakemake retries it as the profile says (``retries``).
A requeued job is never resubmitted a second time by Snakemake. Once the plugin normalises states
itself the wrapper changes nothing. ``rules/common.smk`` calls :func:`install` when the plugin is
loaded.
"""

from __future__ import annotations

import subprocess
import sys

PLUGIN = "snakemake_executor_plugin_slurm"
# states after which SLURM runs the job no more, and that the plugin knows as failures
FAILED = ("BOOT_FAIL", "CANCELLED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "TIMEOUT")
REQUEUABLE = ("PREEMPTED", "NODE_FAIL")  # SLURM may requeue the job under the same id
_MARK = "_advtrace_normalised"


def normalise(state: str, requeue: bool = False, in_queue: bool | None = None) -> str:
    """The plugin's name for a SLURM state string (sacct or squeue). `requeue`: the plugin's
    requeue setting; `in_queue`: whether squeue still lists the job as pending or running (None:
    unknown, the state is left as SLURM gave it)."""
    word = state.strip().split(" ")[0].rstrip("+") if state.strip() else state
    if word == "SPECIAL_EXIT":  # held after a special exit code: SLURM will not run it again unasked
        return "FAILED"
    if word in REQUEUABLE and in_queue is not None:
        if in_queue:
            return "PREEMPTED" if word == "PREEMPTED" else "REQUEUED"  # the plugin waits for both
        if word == "PREEMPTED":
            return "CANCELLED"  # cancelled by the preemption, not requeued
        return "FAILED" if requeue else "NODE_FAIL"  # with requeue the plugin would wait for NODE_FAIL
    return word


def queued(job_ids) -> set[str] | None:
    """The ids among `job_ids` that squeue lists as pending or running (None if squeue failed)."""
    ids = sorted(set(job_ids))
    if not ids:
        return set()
    try:
        proc = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(ids)], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return set() if "Invalid job id" in proc.stderr else None
    return {line.strip() for line in proc.stdout.splitlines() if line.strip()}


def install(workflow=None) -> bool:
    """Wrap the loaded plugin's status query (idempotent). Returns whether the plugin is loaded."""
    plugin = sys.modules.get(PLUGIN)
    if plugin is None or not hasattr(plugin, "query_job_status"):
        return False
    original = plugin.query_job_status
    if getattr(original, _MARK, False):
        return True

    async def query_job_status(command, logger):
        status, duration = await original(command, logger)
        if status:
            settings = getattr(workflow, "executor_settings", None) if workflow is not None else None
            requeue = bool(getattr(settings, "requeue", False))
            doubtful = [j for j, s in status.items() if s.strip().split(" ")[0].rstrip("+") in REQUEUABLE]
            in_queue = queued(doubtful) if doubtful else set()
            for job, state in list(status.items()):
                fixed = normalise(state, requeue, None if in_queue is None else job in in_queue)
                if fixed != state:
                    if state.split(" ")[0] in REQUEUABLE:
                        logger.warning(f"advtrace: SLURM job {job} is {state}"
                                       + (" and back in the queue: waiting for it" if fixed in ("PREEMPTED", "REQUEUED")
                                          else f" and will not run again: reported as {fixed} so Snakemake retries it"))
                    status[job] = fixed
        return status, duration

    setattr(query_job_status, _MARK, True)
    plugin.query_job_status = query_job_status
    return True
