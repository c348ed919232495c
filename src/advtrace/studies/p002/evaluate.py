"""Paper 002's evaluation (torch): every model of :func:`.plan.models` on clean test inputs and under
each attack and ε, label leaking, transfer between models and the capacity ratios, as the four
tables of :mod:`.schemas`.

Definitions (paper 002):
* accuracy: top-1 (and top-5) accuracy on the attacked test inputs; the attacks are those of
  :mod:`advtrace.attacks`: FGSM with the true label (Eq. 1), FGSM with the model's predicted label
  ("fast with predicted class", App. A), step l.l. and step rnd. (Eq. 2), App. A's fast entropy,
  fast grad. L2 / L∞ (true label) and the two random perturbations (on the reference, Fig. 3),
  iter. l.l. and basic iterative (Sec. 2.2; α and int(min(ε+4, 1.25ε)) iterations in paper units,
  ε/α here); the random draws (step rnd.'s targets, the random perturbations) are seeded per
  (model, attack, ε);
* label leaking (Sec. 4.2): an input's label is leaked when the model classifies the FGSM example
  made with the true label correctly but the one made without it (predicted label) wrongly;
* transfer rate (Sec. 4.4): among the candidates whose clean version the source classifies
  correctly and whose adversarial version it misclassifies ("prefiltered"), the fraction the
  target misclassifies; the diagonal is 100 % by construction. App. C's error rate (all
  candidates, no prefilter) is kept as ``target_errors``/``candidates``;
* capacity (Sec. 4.3): adversarial accuracy / clean accuracy per width ρ, with a percentile
  bootstrap over inputs (paired: both accuracies are resampled together).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ... import attacks
from ...checkpoints import load_checkpoint
from ...data import seed_for
from ...runtime import Progress
from ...stats import proportion
from ...tables import coerce
from .plan import APP_A, ITERATIVE, NOISE, ONE_STEP, RANDOM, TRANSFER_ATTACKS, TRUE_LABEL, eval_points

TOPS = (1, 5)
# Inputs attacked at a time (rounded down to a multiple of chunk_size): the float inputs, δ and x + δ
# of one block live at once (3 × 5000 × 3×299×299 floats ≈ 16 GB for ImageNet), not of the whole test
# set (50,000 ImageNet images: 54 GB each). A multiple of chunk_size keeps step rnd.'s random draws
# (one per chunk, in order) and so every table identical to attacking the whole set at once.
BLOCK_INPUTS = 5000


def _blocks(n: int, chunk_size: int) -> list[slice]:
    size = max(chunk_size, BLOCK_INPUTS // chunk_size * chunk_size)
    return [slice(i, i + size) for i in range(0, n, size)]


def _block(x: torch.Tensor, sl: slice, device) -> torch.Tensor:
    """Inputs `sl` as float [0, 1] on `device` (x may be the uint8 images, e.g. on the CPU)."""
    xb = x[sl]
    return (xb.float().div_(255.0) if xb.dtype == torch.uint8 else xb).to(device)


def _topk_correct(logits: torch.Tensor, y: torch.Tensor, k: int) -> np.ndarray:
    k = min(k, logits.shape[1])
    return (logits.topk(k, dim=1).indices == y[:, None]).any(dim=1).cpu().numpy()


@torch.no_grad()
def _logits(model, x: torch.Tensor, chunk_size: int) -> torch.Tensor:
    with attacks.eval_mode(model):
        return torch.cat([model(x[i:i + chunk_size]).float() for i in range(0, len(x), chunk_size)])


def _delta(model, x, y, attack: str, eps: float, alpha: float, iterations: int, chunk_size: int,
           generator: torch.Generator | None) -> torch.Tensor:
    """δ of `attack` at ε ([0,255] units of the experiment) for every input."""
    kw = {"eps": eps / 255.0}
    if attack == "fgsm_pred":
        return attacks.attack_batched(model, x, attacks.predict(model, x, chunk_size), "fgsm", chunk_size, **kw)
    if attack in ITERATIVE:
        kw.update(alpha=alpha / 255.0, iterations=iterations)
    if attack in RANDOM:
        kw["generator"] = generator
    return attacks.attack_batched(model, x, y if attack in TRUE_LABEL else None, attack, chunk_size, **kw)


def _rate_row(k: int, n: int) -> dict:
    e = proportion(k, n)
    return {"n": n, "ci_low": e.low if n else float("nan"), "ci_high": e.high if n else float("nan")}


def evaluate_models(models: list[dict], sec: dict, x: torch.Tensor, y: torch.Tensor, device, seed: int):
    """The p002_accuracy, p002_label_leaking and p002_capacity tables, and the per-input correctness
    {(key, attack, eps, top): bool array} they come from. `x`: float [0, 1] or uint8 images, on any
    device (attacked in blocks of :data:`BLOCK_INPUTS` moved to `device`)."""
    points = eval_points(sec)
    bs = sec["chunk_size"]
    blocks = _blocks(len(y), bs)
    correct: dict[tuple, np.ndarray] = {}
    acc_rows, leak_rows = [], []
    def attacks_of(m: dict) -> tuple[str, ...]:
        return ONE_STEP + (APP_A if m.get("app_a") else ()) + (ITERATIVE if m["iterative"] else ())

    prog = Progress(sum(len(attacks_of(m)) for m in models) * len(points), f"p002 evaluation of {len(models)} models",
                    unit="attack")
    for m in models:
        model = load_checkpoint(m["path"], device)
        info = {k: m[k] for k in ("run", "epoch", "model", "training", "epochs_total")} | {"roles": ",".join(m["roles"])}
        logits = torch.cat([_logits(model, _block(x, b, device), bs) for b in blocks])
        info["classes"] = int(logits.shape[1])
        for top in TOPS:
            c = _topk_correct(logits, y, top)
            correct[(m["key"], "clean", 0.0, top)] = c
            acc_rows.append({**info, "attack": "clean", "eps": 0.0, "eps_paper": 0.0, "iterations": 0, "top": top,
                             "correct": int(c.sum()), "accuracy": float(c.mean()), **_rate_row(int(c.sum()), len(c))})
        for attack in attacks_of(m):
            for eps, eps_paper, its in points:
                gen = torch.Generator().manual_seed(seed_for(seed, "p002", m["key"], attack, eps))
                adv_logits = []
                for b in blocks:
                    xb = _block(x, b, device)
                    xb = xb + _delta(model, xb, y[b], attack, eps, sec["alpha"], its, bs, gen)
                    adv_logits.append(_logits(model, xb, bs))
                adv_logits = torch.cat(adv_logits)
                prog.update()
                for top in TOPS:
                    c = _topk_correct(adv_logits, y, top)
                    correct[(m["key"], attack, eps, top)] = c
                    acc_rows.append({**info, "attack": attack, "eps": eps, "eps_paper": eps_paper,
                                     "iterations": its if attack in ITERATIVE else int(attack not in NOISE), "top": top,
                                     "correct": int(c.sum()), "accuracy": float(c.mean()),
                                     **_rate_row(int(c.sum()), len(c))})
        for eps, eps_paper, _ in points:
            leaked = correct[(m["key"], "fgsm", eps, 1)] & ~correct[(m["key"], "fgsm_pred", eps, 1)]
            n = len(leaked)
            leak_rows.append({**info, "eps": eps, "eps_paper": eps_paper, "leaked": int(leaked.sum()),
                              "rate": float(leaked.mean()), **_rate_row(int(leaked.sum()), n)})
        del model
    return (coerce(pd.DataFrame(acc_rows), "p002_accuracy"), coerce(pd.DataFrame(leak_rows), "p002_label_leaking"),
            correct)


def capacity_table(models: list[dict], sec: dict, correct: dict, n_boot: int = 1000) -> pd.DataFrame:
    """Adversarial / clean accuracy per width ρ (models with the ``capacity`` role), bootstrap intervals."""
    rows = []
    rng = np.random.default_rng(0)
    for m in models:
        if "capacity" not in m["roles"]:
            continue
        for attack in ("step_ll", *ITERATIVE):
            for eps, eps_paper, _ in eval_points(sec):
                for top in TOPS:
                    clean = correct[(m["key"], "clean", 0.0, top)].astype(np.float64)
                    adv = correct[(m["key"], attack, eps, top)].astype(np.float64)
                    n = len(clean)
                    idx = rng.integers(0, n, size=(n_boot, n))
                    with np.errstate(divide="ignore", invalid="ignore"):
                        boots = adv[idx].mean(axis=1) / clean[idx].mean(axis=1)
                    boots = boots[np.isfinite(boots)]
                    lo, hi = np.quantile(boots, [0.025, 0.975]) if boots.size else (np.nan, np.nan)
                    ca, aa = clean.mean(), adv.mean()
                    rows.append({"rho": m["width"] / sec["capacity"]["base_width"], "width": m["width"], "run": m["run"],
                                 "epoch": m["epoch"], "adv_trained": m["training"] != "none", "attack": attack, "eps": eps,
                                 "eps_paper": eps_paper, "top": top, "clean_accuracy": ca, "adv_accuracy": aa,
                                 "ratio": aa / ca if ca > 0 else float("nan"), "n": n, "ci_low": float(lo),
                                 "ci_high": float(hi)})
    return coerce(pd.DataFrame(rows), "p002_capacity")


def transfer_table(models: list[dict], transfer: list[tuple[str, str]], sec: dict, x: torch.Tensor, y: torch.Tensor,
                   device) -> pd.DataFrame:
    """Transfer rates between the transfer models (every source to every target, every attack and ε)."""
    by_key = {m["key"]: m for m in models}
    nets = {letter: load_checkpoint(by_key[key]["path"], device) for letter, key in transfer}
    names = {letter: f"{letter} ({key})" for letter, key in transfer}
    bs = sec["chunk_size"]
    blocks = _blocks(len(y), bs)
    clean_logits = {t: torch.cat([_logits(net, _block(x, b, device), bs) for b in blocks]) for t, net in nets.items()}
    classes = int(next(iter(clean_logits.values())).shape[1])
    clean = {(t, top): _topk_correct(lg, y, top) for t, lg in clean_logits.items() for top in TOPS}
    rows = []
    prog = Progress(len(nets) * len(TRANSFER_ATTACKS) * len(eval_points(sec)), "p002 transfer", unit="attack")
    for s, src in nets.items():
        for attack in TRANSFER_ATTACKS:
            for eps, eps_paper, its in eval_points(sec):
                adv_logits = {t: [] for t in nets}
                for b in blocks:
                    xb = _block(x, b, device)
                    xa = xb + _delta(src, xb, y[b], attack, eps, sec["alpha"], its, bs, None)
                    for t, net in nets.items():
                        adv_logits[t].append(_logits(net, xa, bs))
                adv_logits = {t: torch.cat(lg) for t, lg in adv_logits.items()}
                prog.update()
                for top in TOPS:
                    wrong = {t: ~_topk_correct(lg, y, top) for t, lg in adv_logits.items()}
                    pre = clean[(s, top)] & wrong[s]
                    for t in nets:
                        k = int((pre & wrong[t]).sum())
                        n = int(pre.sum())
                        rows.append({"source": names[s], "target": names[t], "attack": attack, "eps": eps,
                                     "eps_paper": eps_paper, "top": top, "transferred": k,
                                     "rate": k / n if n else float("nan"), **_rate_row(k, n),
                                     "candidates": len(y), "target_errors": int(wrong[t].sum()), "classes": classes})
    return coerce(pd.DataFrame(rows), "p002_transfer")
