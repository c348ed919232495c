"""Paper 004 Sec. 5: robustness as the smallest ℓ∞ bound reaching a misclassification rate δ.

    ε_uni(δ) = min ε s.t. a universal perturbation ξ, ‖ξ‖∞ ≤ ε, misclassifies ≥ δ of held-out inputs
    ε_adv(δ) = min ε s.t. per-input perturbations ξ(x), ‖ξ(x)‖∞ ≤ ε, misclassify ≥ δ of them

Both are upper bounds found by an adversary (Sec. 5.2): a binary search of ``search_steps`` (b)
iterations over ε ∈ [0, 255]; at each ε the adversary runs K iterations with the annealed step
α_k = β ε γ^k / Σ_{j<K} γ^j (:func:`advtrace.universal.annealed_steps`). If the misclassification
rate on the evaluation inputs reaches δ the search continues in the lower half, else in the upper
half; the reported ε is the smallest successful one (NaN when none succeeded: ε > 255). Its
resolution is 255/2^b.

* universal: stochastic PGD (:func:`advtrace.universal.generate` with one mini-batch of m̃
  generation inputs per update, ``batches=1``) on the thresholded loss min(J, κ) (Sec. 4.3),
  generated on a generation set and evaluated on disjoint held-out inputs;
* per-input: PGD with the same schedule and loss on the evaluation inputs themselves;
* random noise (baseline): each input gets its own fixed random ±ε sign pattern.

Start (``evaluation.init``): ``uniform`` (the paper's PGD, Sec. 3.2: "initializes ξ⁽⁰⁾ uniformly at
random in S") draws ξ⁽⁰⁾ ~ U[−ε, ε] per pixel (one pattern for S-PGD, one per input for PGD) from a
generator seeded by the experiment seed and the measure, the same pattern scaled by ε at every ε
tried; ``zero`` starts at ξ = 0.

Interval of an ε (95 %): the binary search itself re-run on each bootstrap resample of the
evaluation inputs. The adversary's perturbation at a given ε is a deterministic function of ε (its
generator is re-seeded for every ε, and the universal one sees only the generation set), so the
resample's search needs only the per-input outcome at each ε it visits; outcomes are computed once
per ε (:class:`Trials`) and shared between resamples, and ε values that only resamples visit are run
then. Each resample thus gets exactly the estimate the paper's procedure would give on those
inputs, at the search's resolution 255/2^b, and the interval is the 2.5 % / 97.5 % points of these
estimates (lower / higher order statistic, so both ends are ε values the search can return; 255
where a resample's search never succeeds). It covers the evaluation-set sampling for a fixed
adversary (generation set, seed); the adversary's own randomness and its gap to the true ε are not
in it. Cost: on top of the b trials of the point estimate, one trial per extra ε the resamples
visit, a few per search level near the estimate (the ``origin`` column of ``p004_search``).

An earlier version bootstrapped only over the ε the point-estimate search had tried: a resample
failing at the last tried values jumped to the next tried success, far away (ERM on digits: 62.8
[55.8, 127.5]).

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
from .plan import EPS_MAX

MEASURES = ("universal", "adversarial", "random")


def thresholded_mean(kappa: float) -> Callable:
    """The universal generator's objective: mean over the mini-batch of min(J, κ)."""
    ce = attacks.thresholded_ce(kappa)

    def objective(model: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ce(model(x).float(), y) / len(y)

    return objective


@torch.no_grad()
def wrong_under(model: nn.Module, x: torch.Tensor, y: torch.Tensor, delta: torch.Tensor | None,
                chunk_size: int) -> torch.Tensor:
    """Per input: misclassified on clip(x + δ) (δ: one C×H×W perturbation, N×C×H×W, or None)."""
    out = []
    with attacks.eval_mode(model):
        for i in range(0, len(y), chunk_size):
            xb = x[i:i + chunk_size]
            if delta is not None:
                d = delta if delta.dim() == xb.dim() - 1 else delta[i:i + chunk_size]
                xb = (xb + d).clamp(0.0, 1.0)
            out.append(model(xb).argmax(1) != y[i:i + chunk_size])
    return torch.cat(out).cpu()


def pgd_annealed(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alphas: list[float],
                 objective: attacks.Objective, chunk_size: int, start: torch.Tensor | None = None) -> torch.Tensor:
    """Per-input ℓ∞ PGD with one step size per iteration (``alphas``, [0,1] units), from
    clip(x + ``start``) (``start``: N×C×H×W in [−ε, ε], on x's device) or from ξ = 0."""
    out = []
    with attacks.eval_mode(model), torch.enable_grad():
        for i in range(0, len(y), chunk_size):
            xb, yb = x[i:i + chunk_size], y[i:i + chunk_size]
            lo, hi = (xb - eps).clamp(min=0.0), (xb + eps).clamp(max=1.0)
            x_adv = xb if start is None else torch.min(torch.max(xb + start[i:i + chunk_size], lo), hi)
            for a in alphas:
                grad = attacks.input_grad(model, x_adv, yb, objective)
                x_adv = torch.add(x_adv, grad.sign_(), alpha=a).clamp_(lo, hi)
            out.append((x_adv - xb).detach())
    return torch.cat(out)


def uniform_start(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """U[−1, 1] per element (float32, CPU); × ε gives the paper's uniform random start in S."""
    return torch.rand(tuple(shape), generator=generator, dtype=torch.float32) * 2 - 1


class Trials:
    """A trial ``ε ↦ per-input misclassification`` (bool, N) computed at most once per ε."""

    def __init__(self, trial: Callable[[float], torch.Tensor]):
        self.trial = trial
        self.outcomes: dict[float, np.ndarray] = {}
        self.order: list[float] = []

    def __call__(self, eps: float) -> np.ndarray:
        eps = float(eps)
        if eps not in self.outcomes:
            self.outcomes[eps] = np.asarray(self.trial(eps).cpu().numpy(), dtype=bool)
            self.order.append(eps)
        return self.outcomes[eps]


def binary_search(trial: Callable[[float], torch.Tensor | np.ndarray], delta: float, steps: int,
                  lo: float = 0.0, hi: float = EPS_MAX, desc: str | None = None
                  ) -> list[tuple[float, torch.Tensor | np.ndarray]]:
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
        if float(np.mean(np.asarray(wrong, dtype=np.float64))) >= delta:
            hi = eps
        else:
            lo = eps
    return tried


def smallest_success(tried: list[tuple[float, torch.Tensor | np.ndarray]], delta: float) -> float:
    ok = [eps for eps, wrong in tried if float(np.mean(np.asarray(wrong, dtype=np.float64))) >= delta]
    return min(ok) if ok else float("nan")


def bootstrap_search(trial: Callable[[float], np.ndarray], delta: float, steps: int, n: int, n_boot: int,
                     seed: int, lo: float = 0.0, hi: float = EPS_MAX) -> np.ndarray:
    """The estimate of :func:`binary_search` on each of `n_boot` bootstrap resamples of the n
    evaluation inputs (seeded): the search re-run on the resample, every resample at once. ``trial``
    should be a :class:`Trials` (each ε computed once). A resample whose search never succeeds
    gives ``hi`` (255: "above the range")."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    los, his = np.full(n_boot, float(lo)), np.full(n_boot, float(hi))
    best = np.full(n_boot, float(hi))
    for _ in range(steps):
        mids = (los + his) / 2  # dyadic fractions of 255: equal midpoints compare exactly
        for m in np.unique(mids):
            sel = np.flatnonzero(mids == m)
            rate = np.asarray(trial(float(m)), dtype=np.float64)[idx[sel]].mean(axis=1)
            ok = rate >= delta
            best[sel[ok]] = np.minimum(best[sel[ok]], m)
            his[sel[ok]] = m
            los[sel[~ok]] = m
    return best


def percentile_interval(estimates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The (1−level)/2 and (1+level)/2 points of bootstrap estimates, as order statistics (lower and
    higher), so both ends are values the estimator can take."""
    a = (1 - level) / 2
    return (float(np.quantile(estimates, a, method="lower")),
            float(np.quantile(estimates, 1 - a, method="higher")))


def search_all(model: nn.Module, gen_x: torch.Tensor, gen_y: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
               cfg: dict, seed: int, device) -> dict:
    """{measure: :class:`Trials`} for the universal, per-input and random-noise measures, each with
    the trials of the point-estimate search and of its bootstrap resamples; ``"searches"``:
    {measure: the point-estimate search's ε in order}; ``"estimates"``: {measure: the resamples'
    estimates}; ``"xi"``: the universal perturbation of the smallest successful ε ([0,1] units) or
    None."""
    kappa, K, bs = cfg["kappa"], cfg["iterations"], cfg["chunk_size"]
    uniform = cfg.get("init", "uniform") == "uniform"
    objective = thresholded_mean(kappa)
    perts: dict[float, torch.Tensor] = {}

    def uni(eps255: float) -> torch.Tensor:
        eps = eps255 / 255.0
        gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "universal"))
        start = uniform_start(tuple(gen_x.shape[1:]), gen) * eps if uniform else None
        xi = universal.generate(model, gen_x, gen_y, eps, eps, cfg["m"], 1, K, gen, device,
                                objective=objective, desc=f"S-PGD eps {eps255:.2f}",
                                alphas=universal.annealed_steps(eps, K, cfg["beta"], cfg["gamma"]), start=start)
        perts[eps255] = xi
        return wrong_under(model, x, y, xi.to(x.device), bs)

    def adv(eps255: float) -> torch.Tensor:
        eps = eps255 / 255.0
        alphas = universal.annealed_steps(eps, cfg["adv_iterations"], cfg["beta"], cfg["gamma_adv"])
        start = None
        if uniform:
            gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "adversarial"))
            start = (uniform_start(tuple(x.shape), gen) * eps).to(x.device)
        d = pgd_annealed(model, x, y, eps, alphas, attacks.thresholded_ce(kappa), bs, start)
        return wrong_under(model, x, y, d, bs)

    gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "random"))
    signs = (torch.randint(0, 2, tuple(x.shape), generator=gen) * 2 - 1).to(torch.float32).to(x.device)

    def rnd(eps255: float) -> torch.Tensor:
        return wrong_under(model, x, y, signs * (eps255 / 255.0), bs)

    out: dict = {"searches": {}, "estimates": {}}
    for name, fn in (("universal", uni), ("adversarial", adv), ("random", rnd)):
        trials = Trials(fn)
        out["searches"][name] = [e for e, _ in binary_search(trials, cfg["delta"], cfg["search_steps"],
                                                                     desc=f"{name} ε search")]
        out["estimates"][name] = bootstrap_search(trials, cfg["delta"], cfg["search_steps"], len(y),
                                                  cfg["bootstrap"], seed)
        out[name] = trials
        log.info("%s: %d ε tried (%d by the search, %d more by its bootstrap resamples)", name, len(trials.order),
                 len(out["searches"][name]), len(trials.order) - len(out["searches"][name]))
    tried = [(e, out["universal"].outcomes[e]) for e in out["searches"]["universal"]]
    out["xi"] = perts.get(smallest_success(tried, cfg["delta"]))
    return out


def _depth(eps: float, steps: int) -> int:
    """The search iteration (0-based) at which the binary search over [0, 255] can try `eps`."""
    k = round(eps / EPS_MAX * 2 ** steps)
    return steps - 1 - ((k & -k).bit_length() - 1)


def deepfool_row(model: nn.Module, gen_x: torch.Tensor, x: torch.Tensor, y: torch.Tensor, df: dict, seed: int,
                 device, chunk: int) -> dict:
    """Fig. 3 right: accuracy on (x, y) ([0,1] images) under the DeepFool universal perturbation
    (:func:`advtrace.universal.deepfool_universal`) of ε = ``df["eps"]`` generated on ``gen_x``."""
    gen = torch.Generator().manual_seed(universal.seed_for(seed, "p004", "deepfool"))
    history: list[float] = []
    v = universal.deepfool_universal(model, gen_x, df["eps"] / 255.0, gen, df["fooling_rate"], df["max_passes"],
                                     df["overshoot"], df["max_iter"], 10, df["chunk_size"], device, history)
    wrong = wrong_under(model, x, y, v.to(x.device), chunk)
    acc = proportion(len(y) - int(wrong.sum()), len(y))
    log.info("DeepFool universal perturbation ε %g: fooling rate per pass %s; accuracy %s", df["eps"],
             [round(h, 3) for h in history], acc.pct())
    return {"deepfool_eps": float(df["eps"]), "deepfool_accuracy": acc.value, "deepfool_ci_low": acc.low,
            "deepfool_ci_high": acc.high, "deepfool_fooling": history[-1]}


NO_DEEPFOOL = {"deepfool_eps": float("nan"), "deepfool_accuracy": float("nan"), "deepfool_ci_low": float("nan"),
               "deepfool_ci_high": float("nan"), "deepfool_fooling": float("nan")}


def evaluate_model(model: nn.Module, gen_x: torch.Tensor, gen_y: torch.Tensor, x_uint8: torch.Tensor,
                   y: torch.Tensor, cfg: dict, seed: int, device, info: dict, epoch: int,
                   deepfool: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, torch.Tensor | None]:
    """Rows of ``p004_robustness`` (one) and ``p004_search`` (every ε tried) for one (run, epoch),
    and the universal perturbation at ε_uni. `info`: run, family, heap_size, eps_train, adv_weight.
    With `deepfool`, also Fig. 3 right's accuracy under the DeepFool universal perturbation
    (``cfg["deepfool"]``)."""
    x = to_float(x_uint8.to(device))
    y = y.to(device)
    clean_wrong = wrong_under(model, x, y, None, cfg["chunk_size"])
    n = len(y)
    acc = proportion(n - int(clean_wrong.sum()), n)
    found = search_all(model, gen_x, gen_y, x, y, cfg, seed, device)
    row = {**info, "epoch": int(epoch), "accuracy": acc.value, "n": n, "ci_low": acc.low, "ci_high": acc.high,
           **(deepfool_row(model, gen_x, x, y, cfg["deepfool"], seed, device, cfg["chunk_size"]) if deepfool
              else NO_DEEPFOOL)}
    search = []
    for m in MEASURES:
        trials, order = found[m], found["searches"][m]
        best = smallest_success([(e, trials.outcomes[e]) for e in order], cfg["delta"])
        lo, hi = percentile_interval(found["estimates"][m])
        key = {"universal": "eps_uni", "adversarial": "eps_adv", "random": "eps_random"}[m]
        row.update({key: best, f"{key}_low": lo, f"{key}_high": hi})
        extra = sorted(e for e in trials.order if e not in order)
        for step, (eps, origin) in enumerate([(e, "search") for e in order] + [(e, "bootstrap") for e in extra]):
            r = proportion(int(trials.outcomes[eps].sum()), n)
            search.append({"run": info["run"], "epoch": int(epoch), "measure": m,
                           "step": step if origin == "search" else _depth(eps, cfg["search_steps"]), "eps": eps,
                           "origin": origin, "rate": r.value, "n": n, "ci_low": r.low, "ci_high": r.high,
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
    start = uniform_start(tuple(gen_x.shape[1:]), gen) * eps if cfg.get("init", "uniform") == "uniform" else None
    xi = universal.generate(model, gen_x, gen_y, eps, eps, cfg["m"], 1, K, gen, device,
                            objective=thresholded_mean(kappa), desc="S-PGD (risk)",
                            alphas=universal.annealed_steps(eps, K, cfg["beta"], cfg["gamma"]), start=start)
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
