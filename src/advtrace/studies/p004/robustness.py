"""Paper 004 Sec. 5: robustness as the smallest ℓ∞ bound reaching a misclassification rate δ.

    ε_uni(δ) = min ε s.t. a universal perturbation ξ, ‖ξ‖∞ ≤ ε, misclassifies ≥ δ of held-out inputs
    ε_adv(δ) = min ε s.t. per-input perturbations ξ(x), ‖ξ(x)‖∞ ≤ ε, misclassify ≥ δ of them

Both are upper bounds found by an adversary (Sec. 5.2): a binary search of ``search_steps`` (b)
iterations over ε ∈ [0, 255]; at each ε the adversary runs K iterations with the annealed step
α_k = β ε γ^k / Σ_{j<K} γ^j (:func:`advtrace.universal.annealed_steps`). If the misclassification
rate on the evaluation inputs reaches δ the search continues in the lower half, else in the upper
half; the reported ε is the smallest successful one (NaN when none succeeded: ε > 255).

* universal: stochastic PGD (:func:`advtrace.universal.generate` with one mini-batch of m̃
  generation inputs per update, ``batches=1``) on the thresholded loss min(J, κ) (Sec. 4.3),
  generated on a generation set and evaluated on disjoint held-out inputs;
* per-input: PGD with the same schedule and loss on the evaluation inputs themselves (from ξ = 0);
* random noise (baseline): each input gets its own fixed random ±ε sign pattern.

Interval of an ε: a percentile bootstrap over the evaluation inputs with the perturbations held
fixed: each resample recomputes the rate of every ε the search tried and takes the smallest ε whose
rate reaches δ (255 when none does). It covers the evaluation-set sampling, not the adversary's
randomness nor the ε the search did not try.

Also :func:`risk_rows`: the risk ordering ρ_adv = ρ_heap(1) ≥ ρ_heap(2) ≥ … ≥ ρ_heap(d) ≥ ρ_uni
(Sec. 4.2) measured on one model with :func:`advtrace.methods.heap_pgd`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from ... import attacks, universal
from ...data import to_float
from ...methods import heap_pgd
from ...runtime import Progress, log
from ...stats import bootstrap_mean, proportion
from ...tables import coerce

EPS_MAX = 255.0
MEASURES = ("universal", "adversarial", "random")


def thresholded_mean(kappa: float) -> Callable:
    """The universal generator's objective: mean over the mini-batch of min(J, κ)."""
    ce = attacks.thresholded_ce(kappa)

    def objective(model: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ce(model(x).float(), y) / len(y)

    return objective


@torch.no_grad()
def wrong_under(model: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: torch.Tensor | None,
                batch_size: int) -> torch.Tensor:
    """Per input: misclassified on clip(x + δ) (δ: one C×H×W perturbation, N×C×H×W, or None)."""
    out = []
    with attacks.eval_mode(model):
        for i in range(0, len(y), batch_size):
            xb = x[i:i + batch_size]
            if delta is not None:
                d = delta if delta.dim() == xb.dim() - 1 else delta[i:i + batch_size]
                xb = (xb + d).clamp(0.0, 1.0)
            out.append(model(xb).argmax(1) != y[i:i + batch_size])
    return torch.cat(out).cpu()


def pgd_annealed(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alphas: list[float],
                 objective: attacks.Objective, batch_size: int) -> torch.Tensor:
    """Per-input ℓ∞ PGD from ξ = 0 with one step size per iteration (``alphas``, [0,1] units)."""
    out = []
    with attacks.eval_mode(model), torch.enable_grad():
        for i in range(0, len(y), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            lo, hi = (xb - eps).clamp(min=0.0), (xb + eps).clamp(max=1.0)
            x_adv = xb
            for a in alphas:
                grad = attacks.input_grad(model, x_adv, yb, objective)
                x_adv = torch.add(x_adv, grad.sign_(), alpha=a).clamp_(lo, hi)
            out.append((x_adv - xb).detach())
    return torch.cat(out)


def binary_search(trial: Callable[[float], torch.Tensor], delta: float, steps: int,
                  lo: float = 0.0, hi: float = EPS_MAX, desc: str | None = None) -> list[tuple[float, torch.Tensor]]:
    """Sec. 5.2's search: `steps` midpoints of [lo, hi]; ``trial(ε)`` returns the per-input
    misclassification (bool) at ε. Returns every (ε, wrong) tried, in order. With `desc`, each
    step is logged with the search's rate and ETA."""
    tried = []
    prog = Progress(steps, desc, unit="step", every=0.0) if desc else None
    for _ in range(steps):
        eps = (lo + hi) / 2
        wrong = trial(eps)
        tried.append((eps, wrong))
        if prog is not None:
            prog.update()
        if float(wrong.float().mean()) >= delta:
            hi = eps
        else:
            lo = eps
    return tried


def smallest_success(tried: list[tuple[float, torch.Tensor]], delta: float) -> float:
    ok = [eps for eps, wrong in tried if float(wrong.float().mean()) >= delta]
    return min(ok) if ok else float("nan")


def bootstrap_eps(tried: list[tuple[float, torch.Tensor]], delta: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile-bootstrap 95 % interval of the smallest successful ε over evaluation inputs
    (perturbations fixed; a resample where no tried ε succeeds counts as 255)."""
    eps = np.array([e for e, _ in tried])
    wrong = torch.stack([w for _, w in tried]).numpy().astype(np.float64)  # trials × n
    n = wrong.shape[1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    rates = np.stack([wrong[:, i].mean(axis=1) for i in idx])  # n_boot × trials
    best = np.where(rates >= delta, eps[None, :], EPS_MAX).min(axis=1)
    lo, hi = np.quantile(best, [0.025, 0.975])
    return float(lo), float(hi)


def search_all(model: nn.Module, gen_x: torch.Tensor, gen_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
               cfg: dict, seed: int, device) -> dict:
    """{measure: [(ε, wrong), ...]} for the universal, per-input and random-noise searches, and the
    universal perturbation of the smallest successful ε (``"xi"``, [0,1] units, or None)."""
    kappa, K, bs = cfg["kappa"], cfg["iterations"], cfg["chunk_size"]
    objective = thresholded_mean(kappa)
    perts: dict[float, torch.Tensor] = {}

    def uni(eps255: float) -> torch.Tensor:
        eps = eps255 / 255.0
        gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "universal"))
        xi = universal.generate(model, gen_x, gen_y, eps, eps, cfg["m"], 1, K, gen, device,
                                objective=objective, desc=f"S-PGD eps {eps255:.2f}",
                                alphas=universal.annealed_steps(eps, K, cfg["beta"], cfg["gamma"]))
        perts[eps255] = xi
        return wrong_under(model, x, y, xi.to(x.device), bs)

    def adv(eps255: float) -> torch.Tensor:
        eps = eps255 / 255.0
        alphas = universal.annealed_steps(eps, cfg["adv_iterations"], cfg["beta"], cfg["gamma_adv"])
        d = pgd_annealed(model, x, y, eps, alphas, attacks.thresholded_ce(kappa), bs)
        return wrong_under(model, x, y, d, bs)

    gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "random"))
    signs = (torch.randint(0, 2, tuple(x.shape), generator=gen) * 2 - 1).to(torch.float32).to(x.device)

    def rnd(eps255: float) -> torch.Tensor:
        return wrong_under(model, x, y, signs * (eps255 / 255.0), bs)

    out = {}
    for name, fn in (("universal", uni), ("adversarial", adv), ("random", rnd)):
        out[name] = binary_search(fn, cfg["delta"], cfg["search_steps"], desc=f"{name} ε search")
    best = smallest_success(out["universal"], cfg["delta"])
    out["xi"] = perts.get(best)
    return out


def evaluate_model(model: nn.Module, gen_x: torch.Tensor, gen_y: torch.Tensor, x_uint8: torch.Tensor,
                   y: torch.Tensor, cfg: dict, seed: int, device, info: dict, epoch: int) -> tuple[pd.DataFrame, pd.DataFrame, torch.Tensor | None]:
    """Rows of ``p004_robustness`` (one) and ``p004_search`` (every ε tried) for one (run, epoch),
    and the universal perturbation at ε_uni. `info`: run, family, heap_size, eps_train, adv_weight."""
    x = to_float(x_uint8.to(device))
    y = y.to(device)
    clean_wrong = wrong_under(model, x, y, None, cfg["chunk_size"])
    n = len(y)
    acc = proportion(n - int(clean_wrong.sum()), n)
    found = search_all(model, gen_x, gen_y, x, y, cfg, seed, device)
    row = {**info, "epoch": int(epoch), "accuracy": acc.value, "n": n, "ci_low": acc.low, "ci_high": acc.high}
    search = []
    for m in MEASURES:
        tried = found[m]
        best = smallest_success(tried, cfg["delta"])
        lo, hi = bootstrap_eps(tried, cfg["delta"], cfg["bootstrap"], seed)
        key = {"universal": "eps_uni", "adversarial": "eps_adv", "random": "eps_random"}[m]
        row.update({key: best, f"{key}_low": lo, f"{key}_high": hi})
        for step, (eps, wrong) in enumerate(tried):
            r = proportion(int(wrong.sum()), n)
            search.append({"run": info["run"], "epoch": int(epoch), "measure": m, "step": step, "eps": eps,
                           "rate": r.value, "n": n, "ci_low": r.low, "ci_high": r.high,
                           "success": bool(r.value >= cfg["delta"])})
        log.info("%s epoch %d: %s = %.2f [%.2f, %.2f]", info["run"], epoch, key, best, lo, hi)
    log.info("%s epoch %d: clean accuracy %s", info["run"], epoch, acc.pct())
    return (coerce(pd.DataFrame([row]), "p004_robustness"), coerce(pd.DataFrame(search), "p004_search"),
            found["xi"])


def risk_rows(model: nn.Module, gen_x: torch.Tensor, gen_y: torch.Tensor, x_uint8: torch.Tensor, y: torch.Tensor,
              risk: dict, cfg: dict, seed: int, device, run: str, epoch: int) -> pd.DataFrame:
    """ρ_exp (clean), ρ_heap(s) for every s of ``risk.heap_sizes`` (s = 1 is ρ_adv) and ρ_uni (an
    S-PGD universal perturbation from the generation set, evaluated on the same inputs), all at
    ε = ``risk.eps`` with the thresholded loss the heap adversary ascends; per input the loss
    L = min(J, κ) and the 0-1 loss."""
    x = to_float(x_uint8.to(device))
    y = y.to(device)
    eps, alpha, kappa = risk["eps"] / 255.0, risk["alpha"] / 255.0, cfg["kappa"]
    n = len(y)
    deltas: list[tuple[str, int, torch.Tensor | None]] = [("clean", 0, None)]
    for s in risk["heap_sizes"]:
        gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "heap", s))
        deltas.append(("heap", int(min(s, n)), heap_pgd(model, x, y, eps, alpha, risk["iterations"], int(min(s, n)),
                                                         gen, attacks.thresholded_ce(kappa))))
    gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "universal"))
    K = cfg["iterations"]
    xi = universal.generate(model, gen_x, gen_y, eps, eps, cfg["m"], 1, K, gen, device,
                            objective=thresholded_mean(kappa), desc="S-PGD (risk)",
                            alphas=universal.annealed_steps(eps, K, cfg["beta"], cfg["gamma"]))
    deltas.append(("universal", 0, xi.to(device)))
    rows = []
    with torch.no_grad(), attacks.eval_mode(model):
        for kind, s, d in deltas:
            xb = x if d is None else (x + d).clamp(0.0, 1.0)
            logits = torch.cat([model(xb[i:i + cfg["chunk_size"]]) for i in range(0, n, cfg["chunk_size"])]).float()
            loss = F.cross_entropy(logits, y, reduction="none").clamp(max=kappa).cpu().numpy()
            wrong = int((logits.argmax(1) != y).sum())
            L = bootstrap_mean(loss, n_boot=cfg["bootstrap"], seed=seed)
            r = proportion(wrong, n)
            rows.append({"run": run, "epoch": int(epoch), "eps": risk["eps"], "kind": kind, "heap_size": s,
                         "loss": L.value, "loss_low": L.low, "loss_high": L.high,
                         "rate": r.value, "n": n, "ci_low": r.low, "ci_high": r.high})
            log.info("risk %s s=%d: loss %s, misclassified %s", kind, s, L.num(), r.pct())
    return coerce(pd.DataFrame(rows), "p004_risk")


def image_rows(run: str, epoch: int, kind: str, eps: float, arr: torch.Tensor) -> pd.DataFrame:
    """Pixels (C×H×W, [0,1] units) as rows of ``p004_images`` in [0,255] units."""
    c, h, w = arr.shape
    grid = np.indices((c, h, w)).reshape(3, -1)
    return coerce(pd.DataFrame({"run": run, "epoch": int(epoch), "kind": kind, "eps": float(eps),
                                "channel": grid[0], "row": grid[1], "col": grid[2],
                                "value": (arr.detach().cpu().double() * 255.0).flatten().numpy()}), "p004_images")
