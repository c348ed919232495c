"""Temporal stability, transferability and sharedness of adversarial perturbations
(paper 000 Sec. 3.1 and App. A (Fig. 9), B (Fig. 10), C (Fig. 11); Figs. 1 and 2).

Quantities (θ_t = classifier after t adversarial-training epochs, ξ_{i,t} = perturbation of
input x_i generated against θ_t by the analysis adversary, read from the generic ``perturb``
rule's files, J = cross-entropy with the true label, x + ξ clipped to [0, 1]):

* **Transfer / temporal stability profile** (Sec. 3.1): for a source epoch t1 and target epoch
  t2, P_{t1,t2}(x) = p(y | x + ξ_{t1}; θ_{t2}); rows t1, columns t2.
  ``MaxMin = min_{t1} max_{t2} P`` (small: a *stable* perturbation fools every model) and
  ``MinMax = max_{t2} min_{t1} P`` (large: one model is robust to every perturbation). By the
  minimax inequality MinMax ≤ MaxMin; MaxMin large with MinMax small is an *oscillation*.
* **Error rate** (Fig. 9): fraction of inputs misclassified on x + ξ_{t1} under θ_{t2}; white-box
  ("respective epoch") when t1 = t2, black-box otherwise.
* **Cost change** (Sec. 3.1): J^Δ(ξ, θ, x, y) = J(θ, x + ξ, y) − J(θ, x, y).
  J^Δ_current,train(ξ_{i,0}) = 1/N Σ_j J^Δ(ξ_{i,0}, θ_0, x_j, y_j) over N training inputs
  (sharedness), J^Δ_future,test(ξ_{i,0}) = 1/|𝒯| Σ_{t∈𝒯} J^Δ(ξ_{i,0}, θ_t, x_i, y_i) (stability).
  Their Pearson correlation is computed in the log-log domain, so only inputs where both are
  > 0 enter it; the others are counted and reported (table ``stability_correlation``).
* **Effective** (App. C, Sec. 3.3): a perturbation is effective on an input when it changes the
  prediction from correct to incorrect. **Sharedness** of ξ_{i,e}: the percentage of the other
  inputs on which it is effective under θ_e. Denominator: *all* the other inputs, as the paper
  ("percentage of these inputs"), with its Wilson interval; the percentage of the other inputs
  θ_e classifies correctly clean is kept as context (``pct_effective_of_correct``).

Work layout: one job per checkpoint epoch t (:func:`epoch_plan` says what it evaluates) loads
θ_t once and runs everything forward-only in ``torch.inference_mode()`` on large batches:
transfer rows for every (set, source epoch) that has θ_t as target, and the pairwise
(perturbations × other inputs) evaluations with θ_t (sharedness at t, the training-set cost
change at t = 0). An aggregation step turns the per-epoch parts into the tables.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from . import perturbations
from .data import SampleSet, sample_set, to_float
from .runtime import Progress, log
from .stats import bootstrap_mean, wilson_columns, with_wilson
from .stability_plan import (EXAMPLE_CASES, SHARED_PCT, epoch_plan, future_epochs, perturbation_needs, plan_epochs,  # noqa: F401
                             profile_epochs, sharedness_epochs, transfer_sources)
from .tables import coerce, empty_table



# --------------------------------------------------------------------------------------------
# Profile summaries
# --------------------------------------------------------------------------------------------
def maxmin(P: np.ndarray) -> np.ndarray:
    """min over t1 (rows) of max over t2 (columns); works on (..., T1, T2) arrays."""
    return np.asarray(P).max(axis=-1).min(axis=-1)


def minmax(P: np.ndarray) -> np.ndarray:
    """max over t2 (columns) of min over t1 (rows); works on (..., T1, T2) arrays."""
    return np.asarray(P).min(axis=-2).max(axis=-1)


def effective(y: torch.Tensor, pred_clean: torch.Tensor, pred_adv: torch.Tensor) -> torch.Tensor:
    """Effective = the perturbation changes the prediction from correct to incorrect.
    Inputs already misclassified clean are never counted."""
    return (pred_clean == y) & (pred_adv != y)


# --------------------------------------------------------------------------------------------
# Forward-only evaluation kernels
# --------------------------------------------------------------------------------------------
def _stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(p(y|x), predicted class, J = −log p(y|x)) of one batch (float32 logits)."""
    logp = torch.log_softmax(model(x).float(), dim=1)
    lp = logp.gather(1, y[:, None]).squeeze(1)
    return lp.exp(), logp.argmax(1), -lp


@torch.inference_mode()
def clean_stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int):
    """_stats over a whole set (x float on the model's device), batched."""
    parts = [_stats(model, x[i:i + chunk_size], y[i:i + chunk_size]) for i in range(0, len(y), chunk_size)]
    return tuple(torch.cat(p) for p in zip(*parts))


def cost_change(model: nn.Module, x: torch.Tensor, delta: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """J^Δ(ξ, θ, x, y) = J(θ, clip(x + ξ), y) − J(θ, x, y) per input (float images in [0,1])."""
    with torch.inference_mode():
        _, _, c_adv = _stats(model, (x + delta).clamp(0, 1), y)
        _, _, c = _stats(model, x, y)
    return c_adv - c


@torch.inference_mode()
def evaluate_transfer(model: nn.Module, x_uint8: torch.Tensor, y: torch.Tensor,
                      deltas: Iterable[tuple[int, torch.Tensor]], chunk_size: int, device: torch.device,
                      progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Evaluate x + ξ_s under `model` for every (source s, ξ_s) of `deltas` (ξ_s: N×C×H×W, float32 in
    [0,1] units or int8 pixel units as :func:`advtrace.perturbations.load_compact` returns them;
    decoded on the device).

    Sources are streamed (only about `chunk_size` perturbed images are in memory at once) and
    stacked so each forward pass sees ``chunk_size`` images whatever N is. Returns flat arrays in
    (source, input) order: ``source``, ``row`` (position in the set), ``p_true``, ``pred``,
    ``cost_adv``, and per input ``clean_p``, ``clean_pred``, ``clean_cost``.
    """
    x = to_float(x_uint8).to(device)
    y = y.to(device)
    n = len(y)
    c_p, c_pred, c_cost = clean_stats(model, x, y, chunk_size)
    per_chunk = max(1, chunk_size // max(1, n))
    out: dict[str, list] = {"source": [], "p_true": [], "pred": [], "cost_adv": []}

    def flush(buf: list[tuple[int, torch.Tensor]]) -> None:
        ds = [b[1] for b in buf]
        if len({t.dtype for t in ds}) == 1:  # one host-to-device copy per chunk, decoded there
            d = perturbations.to_unit(torch.stack(ds), device)  # k×N×C×H×W
        else:
            d = torch.stack([perturbations.to_unit(t, device) for t in ds])
        xa = (x.unsqueeze(0) + d).clamp_(0.0, 1.0).flatten(0, 1)
        ya = y.repeat(len(buf))
        for i in range(0, len(ya), chunk_size):
            p, pred, cost = _stats(model, xa[i:i + chunk_size], ya[i:i + chunk_size])
            out["p_true"].append(p)
            out["pred"].append(pred)
            out["cost_adv"].append(cost)
        out["source"] += [torch.full((n,), s, dtype=torch.int64) for s, _ in buf]
        if progress is not None:
            progress.update(len(ya))

    buf: list[tuple[int, torch.Tensor]] = []
    for s, d in deltas:
        if d.shape != x.shape:
            raise ValueError(f"perturbations of source epoch {s} have shape {tuple(d.shape)}, inputs {tuple(x.shape)}")
        buf.append((int(s), d))
        if len(buf) == per_chunk:
            flush(buf)
            buf = []
    if buf:
        flush(buf)
    k = len(out["source"])
    res = {key: (torch.cat(v).cpu().numpy() if v else np.zeros(0)) for key, v in out.items()}
    res["row"] = np.tile(np.arange(n), k)
    res.update(clean_p=c_p.cpu().numpy(), clean_pred=c_pred.cpu().numpy(), clean_cost=c_cost.cpu().numpy())
    return res


@torch.inference_mode()
def evaluate_pairwise(model: nn.Module, x_uint8: torch.Tensor, y: torch.Tensor, deltas: torch.Tensor,
                      chunk_size: int, device: torch.device, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Apply each of P perturbations (P×C×H×W, [0,1] units or int8 pixel units) to each of N inputs
    and evaluate under `model`.

    Each forward pass holds ``k`` perturbations × all N inputs (k = chunk_size // N), or slices
    of the inputs when N > chunk_size. Returns per perturbation: ``n_effective`` (correct clean →
    wrong perturbed), ``n_changed`` (prediction changed), ``mean_cost_change`` (mean J^Δ over the
    N inputs), and per input ``clean_correct``.
    """
    x = to_float(x_uint8).to(device)
    y = y.to(device)
    n, n_p = len(y), len(deltas)
    _, c_pred, c_cost = clean_stats(model, x, y, chunk_size)
    c_correct = c_pred == y
    k = max(1, chunk_size // max(1, n))
    in_slice = max(1, min(n, chunk_size))
    n_eff = torch.zeros(n_p, dtype=torch.int64, device=device)
    n_chg = torch.zeros(n_p, dtype=torch.int64, device=device)
    cost_sum = torch.zeros(n_p, dtype=torch.float64, device=device)
    for p0 in range(0, n_p, k):
        d = perturbations.to_unit(deltas[p0:p0 + k], device)  # k×C×H×W
        kk = len(d)
        for j0 in range(0, n, in_slice):
            xs, ys = x[j0:j0 + in_slice], y[j0:j0 + in_slice]
            m = len(ys)
            xa = (xs.unsqueeze(0) + d.unsqueeze(1)).clamp_(0.0, 1.0).flatten(0, 1)  # (kk·m)×C×H×W
            _, pred, cost = _stats(model, xa, ys.repeat(kk))
            pred, cost = pred.view(kk, m), cost.view(kk, m)
            n_eff[p0:p0 + kk] += effective(ys[None], c_pred[None, j0:j0 + m], pred).sum(1)
            n_chg[p0:p0 + kk] += (pred != c_pred[None, j0:j0 + m]).sum(1)
            cost_sum[p0:p0 + kk] += (cost - c_cost[None, j0:j0 + m]).double().sum(1)
            if progress is not None:
                progress.update(kk * m)
    return {
        "n_effective": n_eff.cpu().numpy(), "n_changed": n_chg.cpu().numpy(),
        "mean_cost_change": (cost_sum / max(1, n)).cpu().numpy(), "clean_correct": c_correct.cpu().numpy(),
    }


# --------------------------------------------------------------------------------------------
# The per-epoch job
# --------------------------------------------------------------------------------------------
def _load_checked(path: str | Path, s: SampleSet, epoch: int) -> dict:
    stored = perturbations.load_compact(path)
    if stored["set"] != s.name or int(stored["epoch"]) != int(epoch) or not torch.equal(stored["index"], s.index):
        raise ValueError(f"{path}: holds set {stored['set']!r} epoch {stored['epoch']}, expected {s.name!r} "
                         f"epoch {epoch} with the same inputs (regenerate it)")
    return stored


def run_epoch(model: nn.Module, data: dict, samples: pd.DataFrame, plan: dict, epoch: int,
              files: dict[tuple[str, int], str], chunk_size: int, device: torch.device
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything θ_epoch is needed for: (transfer rows, pairwise rows) of this epoch."""
    sets = {name: sample_set(data, samples, name) for name in plan["transfer"]}
    for task in plan["pairwise"]:
        for key in ("perturbations", "inputs"):
            sets.setdefault(task[key], sample_set(data, samples, task[key]))
    total = sum(len(sets[n].y) * len(src) for n, src in plan["transfer"].items())
    total += sum(len(sets[t["perturbations"]].y) * len(sets[t["inputs"]].y) for t in plan["pairwise"])
    prog = Progress(total, f"stability forwards under epoch {epoch}", unit="img")
    t0 = time.perf_counter()

    frames = []
    for name, sources in plan["transfer"].items():
        s = sets[name]

        def stream(name=name, s=s, sources=sources) -> Iterator[tuple[int, torch.Tensor]]:
            for src in sources:
                yield src, _load_checked(files[(name, src)], s, src)["delta"]

        r = evaluate_transfer(model, s.x, s.y, stream(), chunk_size, device, prog)
        rows = r["row"]
        lab = s.y.numpy()[rows]
        frames.append(pd.DataFrame({
            "set": name, "split": s.split, "input_id": s.index.numpy()[rows], "label": lab,
            "source_epoch": r["source"], "target_epoch": epoch, "p_true": r["p_true"], "pred": r["pred"],
            "correct": r["pred"] == lab, "cost_adv": r["cost_adv"], "cost_clean": r["clean_cost"][rows],
            "cost_change": r["cost_adv"] - r["clean_cost"][rows], "clean_correct": r["clean_pred"][rows] == lab,
        }))
    transfer = coerce(pd.concat(frames, ignore_index=True) if frames else empty_table("transfer"), "transfer")

    prows = []
    for task in plan["pairwise"]:
        sp, si = sets[task["perturbations"]], sets[task["inputs"]]
        stored = _load_checked(files[(sp.name, epoch)], sp, epoch)
        r = evaluate_pairwise(model, si.x, si.y, stored["delta"], chunk_size, device, prog)
        n_correct = int(r["clean_correct"].sum())
        lab = sp.y.numpy()
        prows.append(pd.DataFrame({
            "task": task["task"], "epoch": epoch, "perturbation_set": sp.name, "input_set": si.name,
            "input_id": sp.index.numpy(), "label": lab,
            "own_clean_correct": stored["pred_clean"].numpy() == lab,
            "own_fooled": stored["pred_adv"].numpy() != lab,
            "n_inputs": len(si.y), "n_inputs_correct": n_correct, "n_effective": r["n_effective"],
            "n_changed": r["n_changed"], "mean_cost_change": r["mean_cost_change"],
        }))
    pairwise = coerce(pd.concat(prows, ignore_index=True) if prows else empty_table("pairwise_transfer"),
                      "pairwise_transfer")
    dt = time.perf_counter() - t0
    log.info("epoch %d: %d forwards in %.2fs (%.0f img/s incl. loading)", epoch, total, dt, total / max(dt, 1e-9))
    return transfer, pairwise


# --------------------------------------------------------------------------------------------
# Aggregation: per-epoch parts → tables
# --------------------------------------------------------------------------------------------
def profile_matrices(transfer: pd.DataFrame, set_name: str, epochs: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input ids, labels, P) with P[i, a, b] = p_true of source epochs[a] under target epochs[b]."""
    d = transfer[(transfer["set"] == set_name) & transfer["source_epoch"].isin(epochs)
                 & transfer["target_epoch"].isin(epochs)]
    ids = np.sort(d["input_id"].unique())
    pos = {e: k for k, e in enumerate(epochs)}
    P = np.full((len(ids), len(epochs), len(epochs)), np.nan)
    ii = np.searchsorted(ids, d["input_id"].to_numpy())
    P[ii, d["source_epoch"].map(pos).to_numpy(), d["target_epoch"].map(pos).to_numpy()] = d["p_true"].to_numpy()
    if np.isnan(P).any():
        raise ValueError(f"profile of set {set_name!r} is incomplete over epochs {epochs}")
    labels = d.drop_duplicates("input_id").set_index("input_id").loc[ids, "label"].to_numpy()
    return ids, labels, P


def choose_examples(summary: pd.DataFrame) -> dict[str, int]:
    """Three distinct inputs showing the three cases of Sec. 3.1 (input ids).

    robust: largest MinMax (one model robust to every perturbation), preferring inputs the
    first profile epoch's white-box attack fooled (so adversarial training made the difference);
    stable: smallest MaxMin (one perturbation fools every model);
    oscillation: largest MaxMin − MinMax (every perturbation fails sometime, none at once).
    Ties are broken by the mean of the profile. Chosen greedily in that order, without repeats,
    among the inputs every profile epoch's model classifies correctly clean (column
    ``clean_correct_all`` when present; an input misclassified clean would be "fooled" without
    any perturbation).
    """
    chosen: dict[str, int] = {}
    d = summary.copy()
    if "clean_correct_all" in d:
        d = d[d["clean_correct_all"].astype(bool)]
    d["gap"] = d["maxmin"] - d["minmax"]
    keys = {
        "robust": (["initially_fooled", "minmax", "mean_p"], [False, False, False]),
        "stable": (["maxmin", "mean_p"], [True, True]),
        "oscillation": (["gap", "maxmin"], [False, False]),
    }
    d["initially_fooled"] = d["first_whitebox_p"] < 0.5
    for case in EXAMPLE_CASES:
        rest = d[~d["input_id"].isin(chosen.values())]
        if rest.empty:
            break
        by, asc = keys[case]
        chosen[case] = int(rest.sort_values(by + ["input_id"], ascending=asc + [True]).iloc[0]["input_id"])
    return chosen


def stability_profile(transfer: pd.DataFrame, set_name: str, epochs: list[int]) -> pd.DataFrame:
    """The profile-set rows of `transfer` over profile epochs × profile epochs."""
    d = transfer[(transfer["set"] == set_name) & transfer["source_epoch"].isin(epochs)
                 & transfer["target_epoch"].isin(epochs)]
    d = d.sort_values(["input_id", "source_epoch", "target_epoch"], kind="stable")
    return coerce(d, "stability_profile")


def stability_summary(transfer: pd.DataFrame, set_name: str, epochs: list[int]) -> pd.DataFrame:
    """One row per profile input: MaxMin, MinMax, where they are attained, and the Fig. 1 case."""
    ids, labels, P = profile_matrices(transfer, set_name, epochs)
    ep = np.asarray(epochs)
    row_max = P.max(axis=2)   # over t2, per t1
    col_min = P.min(axis=1)   # over t1, per t2
    df = pd.DataFrame({
        "set": set_name, "input_id": ids, "label": labels, "n_epochs": len(epochs),
        "maxmin": maxmin(P), "minmax": minmax(P),
        "maxmin_source_epoch": ep[row_max.argmin(axis=1)], "minmax_target_epoch": ep[col_min.argmax(axis=1)],
        "mean_p": P.mean(axis=(1, 2)), "first_whitebox_p": P[:, 0, 0], "example": "",
    })
    d = transfer[(transfer["set"] == set_name) & transfer["target_epoch"].isin(epochs)]
    clean_ok = d.groupby("input_id")["clean_correct"].all()
    df["clean_correct_all"] = clean_ok.reindex(ids).fillna(False).to_numpy(bool)
    for case, i in choose_examples(df).items():
        df.loc[df["input_id"] == i, "example"] = case
    return coerce(df, "stability_summary")


def transfer_error(transfer: pd.DataFrame, sets: dict[str, str], sources: list[int], targets: list[int]) -> pd.DataFrame:
    """Fig. 9: BI error rate for the white-box ('respective epoch') and each black-box source, per target."""
    rows = []
    for role, name in sets.items():
        d = transfer[(transfer["set"] == name) & transfer["target_epoch"].isin(targets)]
        split = str(d["split"].iloc[0]) if len(d) else role
        white = d[d["source_epoch"] == d["target_epoch"]]
        for t, g in white.groupby("target_epoch"):
            rows.append({"set": name, "split": split, "source": "respective epoch", "source_epoch": t,
                         "target_epoch": t, "error_rate": 1 - g["correct"].mean(), "n": len(g)})
        for s in sources:
            for t, g in d[d["source_epoch"] == s].groupby("target_epoch"):
                rows.append({"set": name, "split": split, "source": f"epoch {s}", "source_epoch": s,
                             "target_epoch": t, "error_rate": 1 - g["correct"].mean(), "n": len(g)})
    return coerce(with_wilson(pd.DataFrame(rows), "error_rate"), "transfer_error")


def sharedness_vs_stability(pairwise: pd.DataFrame, transfer: pd.DataFrame, test_set: str,
                            future: list[int]) -> pd.DataFrame:
    """Fig. 2 per input: J^Δ_current,train of ξ_{i,0} and J^Δ_future,test over 𝒯 = `future`."""
    cur = pairwise[(pairwise["task"] == "current_train") & (pairwise["epoch"] == 0)]
    fut = transfer[(transfer["set"] == test_set) & (transfer["source_epoch"] == 0)
                   & transfer["target_epoch"].isin(future)]
    got = sorted(fut["target_epoch"].unique())
    if got != sorted(future):
        raise ValueError(f"transfer table lacks target epochs {sorted(set(future) - set(got))} for set {test_set!r}")
    jf = fut.groupby("input_id").agg(j_future_test=("cost_change", lambda v: float(np.mean(v.astype("float64")))),
                                     n_future=("cost_change", "size"))
    df = cur.set_index("input_id").join(jf, how="inner").reset_index()
    if len(df) != len(cur):
        raise ValueError("inputs of the current-train and future-test cost changes differ")
    df = df.rename(columns={"mean_cost_change": "j_current_train", "n_inputs": "n_train"})
    df["used"] = (df["j_current_train"] > 0) & (df["j_future_test"] > 0)
    return coerce(df, "sharedness_vs_stability")


def correlation(svs: pd.DataFrame, future: list[int]) -> pd.DataFrame:
    """Pearson r (and p) of log10 J^Δ_current,train vs log10 J^Δ_future,test over inputs where both
    are > 0 (the others cannot be logged: they are excluded and counted); Spearman on all inputs."""
    from scipy import stats

    used = svs[svs["used"]]
    if len(used) >= 3:
        r, p = stats.pearsonr(np.log10(used["j_current_train"]), np.log10(used["j_future_test"]))
    else:
        r, p = np.nan, np.nan
    if len(svs) >= 3:
        rs, ps = stats.spearmanr(svs["j_current_train"], svs["j_future_test"])
    else:
        rs, ps = np.nan, np.nan
    return coerce(pd.DataFrame([{
        "source_epoch": 0, "future_epochs": ",".join(map(str, future)), "n_inputs": len(svs), "n_used": len(used),
        "n_nonpositive_current": int((svs["j_current_train"] <= 0).sum()),
        "n_nonpositive_future": int((svs["j_future_test"] <= 0).sum()),
        "pearson_r_loglog": float(r), "pearson_p_loglog": float(p), "spearman_r": float(rs), "spearman_p": float(ps),
    }]), "stability_correlation")


def sharedness_table(pairwise: pd.DataFrame, epochs: list[int]) -> pd.DataFrame:
    """Fig. 11 per perturbation: % of the other inputs it is effective on, under θ of its epoch."""
    d = pairwise[(pairwise["task"] == "sharedness") & pairwise["epoch"].isin(epochs)].copy()
    d["pct_effective"] = 100.0 * d["n_effective"] / d["n_inputs"].clip(lower=1)
    lo, hi = wilson_columns(d["n_effective"], d["n_inputs"])
    d["pct_ci_low"], d["pct_ci_high"] = 100.0 * lo, 100.0 * hi
    d["pct_effective_of_correct"] = 100.0 * d["n_effective"] / d["n_inputs_correct"].clip(lower=1)
    d = d.rename(columns={"n_inputs": "n_other", "n_inputs_correct": "n_other_correct"})
    return coerce(d.sort_values(["epoch", "input_id"]), "sharedness")


def sharedness_summary(sh: pd.DataFrame) -> pd.DataFrame:
    g = sh.groupby("epoch")
    df = pd.DataFrame({
        "n_perturbations": g.size(), "n_other": g["n_other"].first(), "n_other_correct": g["n_other_correct"].first(),
        "mean_pct": g["pct_effective"].mean(),
        "mean_ci_low": g["pct_effective"].apply(lambda v: bootstrap_mean(v).low),
        "mean_ci_high": g["pct_effective"].apply(lambda v: bootstrap_mean(v).high),
        "median_pct": g["pct_effective"].median(),
        "min_pct": g["pct_effective"].min(), "max_pct": g["pct_effective"].max(),
        "mean_pct_of_correct": g["pct_effective_of_correct"].mean(),
        "min_pct_of_correct": g["pct_effective_of_correct"].min(),
        "max_pct_of_correct": g["pct_effective_of_correct"].max(),
        "frac_shared": g["pct_effective"].apply(lambda v: float((v >= SHARED_PCT).mean())),
    }).reset_index()
    return coerce(df, "sharedness_summary")


def aggregate(transfer_parts: list[pd.DataFrame], pairwise_parts: list[pd.DataFrame], stab: dict, T: int
              ) -> dict[str, pd.DataFrame]:
    """All tables of this stage from the per-epoch parts."""
    transfer = coerce(pd.concat(transfer_parts, ignore_index=True), "transfer")
    transfer = transfer.sort_values(["set", "source_epoch", "target_epoch", "input_id"], kind="stable")
    transfer = transfer.reset_index(drop=True)
    pairwise = pd.concat(pairwise_parts, ignore_index=True)
    prof = profile_epochs(stab, T)
    sources = transfer_sources(stab, T)
    if sources != sorted({int(s) for s in stab["transfer"]["sources"]}):
        log.info("transfer.sources %s clipped to the trained range 0..%d: %s", stab["transfer"]["sources"], T, sources)
    future = future_epochs(stab, T)
    if stab["cost_change"].get("skip"):  # a run without Fig. 2's cost change (stability.cost_change.runs)
        svs, corr = empty_table("sharedness_vs_stability"), empty_table("stability_correlation")
    else:
        svs = sharedness_vs_stability(pairwise, transfer, stab["cost_change"]["test_set"], future)
        corr = correlation(svs, future)
    if stab["transfer"].get("skip"):  # a run without Fig. 9's transfer (stability.transfer.runs)
        terr = empty_table("transfer_error")
    else:
        terr = transfer_error(
            transfer, {"train": stab["transfer"]["train_set"], "test": stab["transfer"]["test_set"]}, sources, prof)
    sh = sharedness_table(pairwise, sharedness_epochs(stab, T))
    return {
        "transfer": transfer,
        "stability_profile": stability_profile(transfer, stab["profiles"]["set"], prof),
        "stability_summary": stability_summary(transfer, stab["profiles"]["set"], prof),
        "transfer_error": terr,
        "sharedness_vs_stability": svs,
        "stability_correlation": corr,
        "sharedness": sh,
        "sharedness_summary": sharedness_summary(sh),
    }


# --------------------------------------------------------------------------------------------
# Throughput measurement (reported in the issue note, not asserted anywhere)
# --------------------------------------------------------------------------------------------
def measure_throughput(model: nn.Module, x_uint8: torch.Tensor, y: torch.Tensor, n_sources: int,
                       chunk_size: int, device: torch.device, repeats: int = 3,
                       make_delta: Callable[[int], torch.Tensor] | None = None) -> dict[str, float]:
    """Forward throughput of :func:`evaluate_transfer` over `n_sources` perturbation sets of x vs plain
    ``model(x)`` on the same perturbed batches (same batch size, inference mode), best of `repeats`.

    ``ratio`` counts every forward pass of the transfer evaluation ((n_sources + 1)·N: the clean
    pass J(θ, x, y) is part of the work); ``ratio_adv_only`` counts only the n_sources·N perturbed
    images (i.e. charges the clean pass as overhead)."""
    gen = torch.Generator().manual_seed(0)
    if make_delta is None:  # as BI with integer ε, α is stored: int8 pixel units
        def make_delta(s: int) -> torch.Tensor:
            return torch.randint(-4, 5, x_uint8.shape, generator=gen).to(torch.int8)
    deltas = [(s, make_delta(s)) for s in range(n_sources)]
    n_img = n_sources * len(y)
    xa_all = [(to_float(x_uint8) + perturbations.to_unit(d)).clamp_(0, 1) for _, d in deltas]
    plain_batches = [b.to(device) for b in torch.cat(xa_all).split(chunk_size)]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def plain() -> None:
        with torch.inference_mode():
            for b in plain_batches:
                model(b)

    def transfer() -> None:
        evaluate_transfer(model, x_uint8, y, iter(deltas), chunk_size, device)

    res = {}
    for name, fn in (("plain", plain), ("transfer", transfer)):
        fn()  # warm-up
        sync()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - t0)
        res[f"{name}_img_per_s"] = n_img / best
    res["ratio_adv_only"] = res["transfer_img_per_s"] / res["plain_img_per_s"]
    res["transfer_forward_per_s"] = res["transfer_img_per_s"] * (n_sources + 1) / n_sources
    res["ratio"] = res["transfer_forward_per_s"] / res["plain_img_per_s"]
    res["n_images"] = float(n_img)
    return res


def _benchmark_cli(argv: list[str] | None = None) -> dict[str, float]:
    """``python -m advtrace.stability``: transfer-evaluation vs plain-inference throughput of a
    randomly initialised model on random uint8 inputs (numbers for the issue note)."""
    import argparse
    import json

    from .models import build_model
    from .runtime import resolve_device, tune_allocator

    ap = argparse.ArgumentParser(description=_benchmark_cli.__doc__)
    ap.add_argument("--model", default="preact_resnet18")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--image-size", type=int, default=8)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--inputs", type=int, default=256)
    ap.add_argument("--sources", type=int, default=11)
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args(argv)
    tune_allocator()
    torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    torch.manual_seed(0)
    model = build_model({"name": a.model, "width": a.width}, a.classes, a.channels, a.image_size).to(device).eval()
    x = torch.randint(0, 256, (a.inputs, a.channels, a.image_size, a.image_size), dtype=torch.uint8)
    y = torch.randint(0, a.classes, (a.inputs,))
    res = {**vars(a), "device": str(device),
           **measure_throughput(model, x, y, a.sources, a.chunk_size, device)}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    _benchmark_cli()
