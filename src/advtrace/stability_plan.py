"""Which epochs and sample sets the stability analyses use, and what each per-epoch job does.

Pure Python (no torch), so the Snakemake rules can import it at parse time. See
:mod:`advtrace.stability` for the quantities.
"""

from __future__ import annotations

from typing import Iterable

EXAMPLE_CASES = ("robust", "stable", "oscillation")  # the three profiles of Fig. 1, in order
CASE_TEXT = {"robust": "robust to all perturbations", "stable": "stable perturbation", "oscillation": "oscillation"}
SHARED_PCT = 2.0  # paper 000 Sec. 3.1: shared = effective on at least 2 % of the other inputs

# --------------------------------------------------------------------------------------------
# Epoch sets and the per-epoch work plan
# --------------------------------------------------------------------------------------------
def epoch_list(spec, T: int, first: int = 0) -> list[int]:
    """``'all'`` → first..T, else the sorted distinct entries of the list."""
    if spec == "all":
        return list(range(first, T + 1))
    return sorted({int(e) for e in spec})


def profile_epochs(stab: dict, T: int) -> list[int]:
    """Epochs of the T×T profile; also the target epochs of Fig. 9."""
    return epoch_list(stab["profiles"]["epochs"], T)


def transfer_sources(stab: dict, T: int) -> list[int]:
    """Fig. 9 black-box source epochs, clipped to the trained range 0..T (paper: 0, 5, 15, 51, 251)."""
    return sorted({min(int(s), T) for s in stab["transfer"]["sources"]})


def future_epochs(stab: dict, T: int) -> list[int]:
    """𝒯 of Fig. 2: the adversarial-training epochs J^Δ_future,test averages over (``all`` = 1..T)."""
    return epoch_list(stab["cost_change"]["future_epochs"], T, first=1)


def sharedness_epochs(stab: dict, T: int) -> list[int]:
    return epoch_list(stab["sharedness"]["epochs"], T)


def epoch_plan(stab: dict, T: int, epoch: int) -> dict:
    """What the job for checkpoint θ_epoch evaluates.

    ``{"transfer": {set: [source epochs]}, "pairwise": [{"task", "perturbations", "inputs"}]}``:
    transfer rows (θ_epoch as target) for the profile set (every profile epoch as source) and the
    Fig. 9 train/test sets (black-box sources and the white-box source = epoch) when epoch is a
    profile epoch, and for the Fig. 2 test set (source 0) when epoch ∈ 𝒯; pairwise evaluations
    of Fig. 2's training-set cost change (epoch 0) and Fig. 11's sharedness (sharedness epochs).
    A part marked ``skip`` (Fig. 9's ``transfer``, Fig. 2's ``cost_change``: a run not in its
    ``runs``, :func:`advtrace.studies.p000.plan.run_view`) plans nothing.
    """
    transfer: dict[str, set[int]] = {}

    def add(name: str, sources: Iterable[int]) -> None:
        transfer.setdefault(name, set()).update(int(s) for s in sources)

    prof = profile_epochs(stab, T)
    transfer_on, cost_on = not stab["transfer"].get("skip"), not stab["cost_change"].get("skip")
    if epoch in prof:
        add(stab["profiles"]["set"], prof)
        if transfer_on:
            for key in ("train_set", "test_set"):
                add(stab["transfer"][key], transfer_sources(stab, T) + [epoch])
    if cost_on and epoch in future_epochs(stab, T):
        add(stab["cost_change"]["test_set"], [0])
    pairwise = []
    if cost_on and epoch == 0:
        cc = stab["cost_change"]
        pairwise.append({"task": "current_train", "perturbations": cc["test_set"], "inputs": cc["train_set"]})
    if epoch in sharedness_epochs(stab, T):
        sh = stab["sharedness"]
        pairwise.append({"task": "sharedness", "perturbations": sh["set"], "inputs": sh["other_set"]})
    return {"transfer": {k: sorted(v) for k, v in sorted(transfer.items())}, "pairwise": pairwise}


def plan_epochs(stab: dict, T: int) -> list[int]:
    """Every checkpoint epoch that has work (one job each)."""
    return [t for t in range(T + 1) if _nonempty(epoch_plan(stab, T, t))]


def _nonempty(plan: dict) -> bool:
    return bool(plan["transfer"]) or bool(plan["pairwise"])


def perturbation_needs(plan: dict, epoch: int) -> list[tuple[str, int]]:
    """(sample set, epoch) of every perturbation file a plan reads, in a fixed order."""
    needs: list[tuple[str, int]] = []
    for name, sources in plan["transfer"].items():
        needs += [(name, s) for s in sources]
    for task in plan["pairwise"]:
        needs.append((task["perturbations"], epoch))
    out: list[tuple[str, int]] = []
    for n in needs:
        if n not in out:
            out.append(n)
    return out
