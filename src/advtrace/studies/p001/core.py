"""Paper 001's experiments on a frozen classifier: adversary families over ε grids, detectors at
every attachment depth AD(i), ε and attack transfer, the dynamic adversary and the dynamically
trained detector (Metzen et al. 2017, Secs. 3.2-3.3, 4.1).

Reuses :mod:`advtrace.detectors` (the detector network, its Adam training with best-validation
selection, detectability of footnote 3) and :mod:`advtrace.attacks` (the adversaries; the
dynamic adversary is ``bi`` with a :class:`advtrace.attacks.SignMix` objective).
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from ... import attacks, detectors
from ...config import attack_kwargs
from ...data import seed_for
from ...runtime import LossGuard, Progress, load_torch, log, save_torch
from ...specs import ATTACK_SPECS
from ...stats import proportion
from ...tables import coerce

INPUT = detectors.INPUT


# --- attachment positions -----------------------------------------------------------------------

def pools_for(side: int, min_side: int, max_pools: int = 2) -> int:
    """Max-pooling layers kept (paper 001 Fig. 1: both, one or none): the most of ``max_pools`` that
    leave a map of at least ``min_side`` pixels (the paper's 32x32 CIFAR maps keep 8x8: AD(0-2) at
    32x32 keep both, AD(3) at 16x16 one, AD(4) at 8x8 none; its ImageNet detector keeps one
    after pool 4 of VGG16, 14x14 → 7x7)."""
    p = 0
    while p < max_pools and side // 2 ** (p + 1) >= min_side:
        p += 1
    return p


def feature_name(position: str, classifier: nn.Module | None = None) -> str:
    """What the detector reads at ``position``: the input image, or the classifier's feature map
    (a model's own ``feature_names`` when it has them, e.g. VGG16's max-pool k; else a ResNet's)."""
    if position == INPUT:
        return "input image"
    k = int(position)
    names = getattr(classifier, "feature_names", None)
    if names is not None:
        return names[k]
    return "stem convolution" if k == 0 else f"residual stage {k}"


def attachment_positions(classifier: nn.Module, data: dict, positions: Sequence, min_side: int,
                         max_pools: int = 2) -> list[dict]:
    """AD(i) for the i-th entry of ``positions`` (``input`` or a feature-map index of the
    classifier's ``features``): its label, feature map (channels, side) and the kept poolings
    (at most ``max_pools``: 2 for paper 001's three-convolution detector)."""
    out = []
    for i, pos in enumerate(positions):
        pos = str(pos)
        if pos == INPUT:
            ch, side = int(data["in_channels"]), int(data["image_size"])
        else:
            ch, side = detectors.feature_channels(classifier, data["in_channels"], data["image_size"], int(pos))
        out.append({"label": f"AD({i})", "position": pos, "feature": feature_name(pos, classifier), "channels": ch,
                    "side": side, "pools": pools_for(side, min_side, max_pools)})
    return out


def det_cfg(pos: dict, channels: Sequence[int]) -> dict:
    return {"position": INPUT if pos["position"] == INPUT else int(pos["position"]), "channels": list(channels),
            "pools": int(pos["pools"])}


@torch.inference_mode()
def features(classifier: nn.Module, position: str, x: torch.Tensor, chunk_size: int,
             device: torch.device) -> torch.Tensor:
    """The detector's input at ``position`` for images ``x`` (the image itself at ``input``), CPU."""
    if str(position) == INPUT:
        return x.float().cpu()
    classifier.eval()
    k = int(position)
    return torch.cat([classifier.features(x[i:i + chunk_size].to(device))[k].float().cpu()
                      for i in range(0, len(x), chunk_size)])


def inner(det: nn.Module) -> detectors.Detector:
    """The trainable detector network (inside an AttachedDetector, or the detector itself)."""
    return det.detector if isinstance(det, detectors.AttachedDetector) else det


def fit(classifier: nn.Module, data: dict, pos: dict, channels: Sequence[int], train_cfg: dict,
        train_feats: tuple[torch.Tensor, torch.Tensor], val_feats: tuple[torch.Tensor, torch.Tensor],
        seed: int, tag: str, device: torch.device, eval_chunk_size: int) -> tuple[nn.Module, dict, dict]:
    """A static detector at ``pos`` trained on cached (clean, adversarial) feature maps of the
    frozen classifier (paper 001 Sec. 3.2): Adam, cross-entropy, best validation epoch kept.
    Returns (detector reading images, its architecture record, training result)."""
    arch = detectors.architecture(det_cfg(pos, channels), data, classifier)
    torch.manual_seed(seed_for(seed, "p001-detector-init", tag))
    det = detectors.build_detector(arch, classifier).to(device)
    gen = torch.Generator().manual_seed(seed_for(seed, "p001-detector-batches", tag))
    result = detectors.train_detector(inner(det), train_feats, val_feats, train_cfg, device, gen, eval_chunk_size,
                                      desc=f"detector {tag}")
    return det.eval(), arch, result


def save(path, det: nn.Module, arch: dict, meta: dict, result: dict) -> None:
    save_torch({"arch": arch, "detector": inner(det).state_dict(), **meta, "best_epoch": int(result["best_epoch"]),
                "val_accuracy": float(result["val_accuracy"])}, path)


def load(path, classifier: nn.Module, device: torch.device) -> tuple[nn.Module, dict]:
    """(detector reading images, in eval mode, checkpoint) of a checkpoint written by :func:`save`."""
    ckpt = load_torch(path, map_location=device)
    det = detectors.build_detector(ckpt["arch"], classifier).to(device)
    inner(det).load_state_dict(ckpt["detector"])
    return det.eval(), ckpt


def history_rows(result: dict, family: str, eps: float, position: str) -> pd.DataFrame:
    df = pd.DataFrame(result["history"])
    df.insert(0, "position", position)
    df.insert(0, "eps", float(eps))
    df.insert(0, "family", family)
    df["selected"] = df["detector_epoch"] == result["best_epoch"]
    return coerce(df, "p001_detector_training")


# --- adversaries ----------------------------------------------------------------------------------

def family_attack(fam: dict) -> tuple[str, dict]:
    """(attack name, run_attack keywords in [0,1] units) of a ``paper001.families`` entry, less ε."""
    kw = attack_kwargs({k: v for k, v in fam.items() if k != "eps"})
    return kw.pop("name"), kw


def perturb(classifier: nn.Module, x: torch.Tensor, y: torch.Tensor, fam: dict, chunk_size: int) -> dict[float, torch.Tensor]:
    """δ for every ε of the family's grid ([0,255] units), on the true labels (paper 001 Sec. 3.1).

    DeepFool has no ε: its grid is the ℓ∞ bound its result is clipped to (paper 001 Sec. 4.2),
    which does not enter its iterations, so it runs once and every ε clips that result - the
    same δ as one run per bound."""
    name, kw = family_attack(fam)
    spec = ATTACK_SPECS[name]
    if spec.eps_as == "linf_bound":
        d = attacks.attack_batched(classifier, x, None, name, chunk_size, eps=None, **kw)
        return {float(e): d.clamp(-e / 255.0, e / 255.0) for e in fam["eps"]}
    labels = y if spec.labels == "given" else None
    prog = Progress(len(fam["eps"]) * len(x), f"{name} on {len(x)} inputs, {len(fam['eps'])} ε", unit="img")
    out = {}
    for e in fam["eps"]:
        out[float(e)] = attacks.attack_batched(classifier, x, labels, name, chunk_size, eps=e / 255.0, **kw)
        prog.update(len(x))
    return out


def accuracy(classifier: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> tuple[int, int]:
    """(correct, n) of the classifier on images ``x``."""
    return int((_predict(classifier, x, chunk_size) == y.cpu()).sum()), len(y)


def eps_star(acc: dict[float, float], target: float) -> tuple[float, bool]:
    """The smallest ε whose accuracy is below ``target`` (paper 001 Sec. 4.1.1), and whether one
    is; otherwise the largest ε (the strongest setting of the grid)."""
    below = [e for e in sorted(acc) if acc[e] < target]
    return (below[0], True) if below else (max(acc), False)


def rate_cols(k: int, n: int, prefix: str = "") -> dict:
    """{prefix}value with its n and Wilson interval: keys ``{prefix}n``, ``{prefix}ci_low``, ``{prefix}ci_high``."""
    est = proportion(k, n)
    return {f"{prefix}n": int(n), f"{prefix}ci_low": est.low, f"{prefix}ci_high": est.high}


def detect_cols(res: dict) -> dict:
    """Columns of a detectability result (detectors.detectability_from_predictions)."""
    n = int(res["n"])
    k = int(round(res["accuracy"] * n))
    return {"detectability": res["accuracy"], **rate_cols(k, n), "accuracy_clean": res["accuracy_clean"],
            "accuracy_adv": res["accuracy_adv"]}


def flags(det: nn.Module, x: torch.Tensor, chunk_size: int, device: torch.device) -> torch.Tensor:
    """True where the detector (reading ``x``: images, or cached feature maps for an inner
    detector) says "adversarial"."""
    return detectors.predict_p_adv(det, x, chunk_size, device) > 0.5


# --- dynamic adversary (Sec. 3.3) -----------------------------------------------------------------

class Joint(nn.Module):
    """Classifier logits and detector logits side by side (the model the dynamic adversary sees)."""

    def __init__(self, classifier: nn.Module, detector: nn.Module):
        super().__init__()
        self.classifier = classifier
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.classifier(x), self.detector(x)], dim=1)


def _j_cls(cls_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(cls_logits, y, reduction="sum")


def _j_det(det_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(det_logits, torch.full_like(y, detectors.ADV), reduction="sum")


class JointSignMix(attacks.SignMix):
    """:class:`advtrace.attacks.SignMix` of J_cls and J_det whose terms read :class:`Joint` logits,
    with a direction that takes each input gradient through its own network only: through the
    concatenated logits, ∇ₓJ_det would also back-propagate zeros through the whole classifier
    (and ∇ₓJ_cls zeros through the detector), ~1.7x the work for the same gradients. A term whose
    weight is 0 for every input is skipped (0·sgn = 0)."""

    def direction(self, model: nn.Module, x_in: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not isinstance(model, Joint):
            return super().direction(model, x_in, target)
        out = torch.zeros_like(x_in)
        for (weight, _), part, j in zip(self.terms, (model.classifier, model.detector), (_j_cls, _j_det)):
            if not isinstance(weight, torch.Tensor) and weight == 0:
                continue
            if isinstance(weight, torch.Tensor) and not bool((weight != 0).any()):
                continue
            xi = x_in.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(j(part(xi).float(), target), xi)
            if isinstance(weight, torch.Tensor):
                weight = weight.to(device=x_in.device, dtype=torch.float32).view(-1, *([1] * (x_in.dim() - 1)))
            out += weight * grad.sign()
        return out


def dynamic_objective(sigma: float | torch.Tensor) -> JointSignMix:
    """(1 − σ) sgn ∇J_cls(x, y) + σ sgn ∇J_det(x, adversarial) on :class:`Joint` logits (the last two
    columns are the detector's): ascending J_det(·, adversarial) lowers p_adv."""

    def j_cls(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _j_cls(logits[:, :-2], y)

    def j_det(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _j_det(logits[:, -2:], y)

    return JointSignMix((1.0 - sigma, j_cls), (sigma, j_det))


def dynamic_attack(classifier: nn.Module, detector: nn.Module, x: torch.Tensor, y: torch.Tensor, dyn: dict,
                   sigma: float | torch.Tensor, chunk_size: int) -> torch.Tensor:
    """Paper 001's dynamic adversary: ξ ← Clip_ε{ξ + α[(1 − σ) sgn ∇J_cls + σ sgn ∇J_det(·, 1)]}
    (``dyn``: eps, alpha in [0,255] units, iterations). ``sigma``: a number or one per input."""
    joint = Joint(classifier, detector)
    dev = next(classifier.parameters()).device
    out = []
    for i in range(0, len(x), chunk_size):
        s = sigma[i:i + chunk_size] if isinstance(sigma, torch.Tensor) else sigma
        out.append(attacks.bi(joint, x[i:i + chunk_size].to(dev), y[i:i + chunk_size].to(dev), dyn["eps"] / 255.0,
                              dyn["alpha"] / 255.0, int(dyn["iterations"]), objective=dynamic_objective(s)).cpu())
    return torch.cat(out) if out else torch.zeros_like(x)


def _predict(classifier: nn.Module, x: torch.Tensor, chunk_size: int) -> torch.Tensor:
    dev = next(classifier.parameters()).device
    return torch.cat([attacks.predict(classifier, x[i:i + chunk_size].to(dev)).cpu() for i in range(0, len(x), chunk_size)])


def successful(pred_clean: torch.Tensor, pred_adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The inputs whose adversarial example counts for the dynamic adversary's detectability
    (paper 001 Sec. 4.1.2: "we ignore adversarial examples that do not cause a misclassification"):
    classified correctly clean and wrongly adversarial. An input the classifier already gets
    wrong clean is no misclassification the adversary caused, so it never counts."""
    y = y.cpu()
    return (pred_clean.cpu() == y) & (pred_adv.cpu() != y)


def _dynamic_val(classifier, det, x_val, y_val, dyn, sigma_val, chunk_size, device, pred_clean) -> dict:
    """The detector against its own dynamic adversary on the validation inputs (σ per input):
    ``all``: detectability on the clean inputs vs all their adversarial examples (the training
    task, held out); ``successful``: on the :func:`successful` ones only, as Fig. 5 counts (0.5
    when none; ``pred_clean``: the classifier's predictions on the clean inputs), ``n_successful``."""
    adv = (x_val + dynamic_attack(classifier, det, x_val, y_val, dyn, sigma_val, chunk_size)).clamp_(0, 1)
    clean_flag = flags(det, x_val, chunk_size, device)
    adv_flag = flags(det, adv, chunk_size, device)
    ok = successful(pred_clean, _predict(classifier, adv, chunk_size), y_val)
    out = {"all": detectors.detectability_from_predictions(clean_flag, adv_flag)["accuracy"],
           "n_successful": int(ok.sum()), "successful": 0.5}
    if ok.any():
        out["successful"] = detectors.detectability_from_predictions(clean_flag[ok], adv_flag[ok])["accuracy"]
    return out


def train_dynamic(classifier: nn.Module, det: nn.Module, x: torch.Tensor, y: torch.Tensor, x_val: torch.Tensor,
                  y_val: torch.Tensor, dyn: dict, cfg: dict, device: torch.device, seed: int,
                  chunk_size: int) -> dict:
    """Dynamic adversary training of a detector (paper 001 Sec. 3.3), a training method of the
    detector: every mini-batch, each input is replaced with probability ``cfg['p_adv']`` (paper
    0.5) by the dynamic adversary's example against the *current* detector, with σ drawn
    uniformly from [0, 1] per input; the detector learns clean (0) vs perturbed (1). Adam as
    the static detector. After every epoch the detector meets its own dynamic adversary on the
    validation inputs (σ per input from a seeded U[0, 1]; :func:`_dynamic_val`); the epoch with the
    best ``cfg['select']`` detectability (``all`` or ``successful``) is kept (epoch 0 = the
    initial weights, whose values are the result's ``val0``). ``cfg['batchnorm']``: ``running``
    (default) trains with the detector's BatchNorm in evaluation mode - its running statistics
    stay as they are - so the network trained is the one the adversary attacks (attacks run in
    eval mode); ``batch`` trains with batch statistics, where a mini-batch of clean and
    adversarial inputs lets the detector separate them through the batch statistics, which the
    evaluation-mode detector cannot use. ``x``, ``x_val``: float images on the CPU. Returns the training result like :func:`advtrace.detectors.train_detector`, whose
    history rows also hold ``val_all``, ``val_successful`` and ``val_n_successful``."""
    import copy

    gen = torch.Generator().manual_seed(seed_for(seed, "p001-dynamic-batches"))
    sigma_val = torch.rand(len(x_val), generator=torch.Generator().manual_seed(seed_for(seed, "p001-dynamic-val")))
    select = cfg.get("select", "all")
    net = inner(det)
    opt = detectors.make_optimizer(net, cfg)
    history = []
    det.eval()
    pred_clean = _predict(classifier, x_val, chunk_size)
    val0 = _dynamic_val(classifier, det, x_val, y_val, dyn, sigma_val, chunk_size, device, pred_clean)
    best = (val0[select], 0, copy.deepcopy(net.state_dict()))
    log.info("dynamic detector before training: val detectability vs its dynamic adversary (σ~U[0,1]) %.4f on all, "
             "%.4f on %d successful", val0["all"], val0["successful"], val0["n_successful"])
    prog = Progress(cfg["epochs"] * len(x), "train dynamic detector", unit="img")
    for epoch in range(1, cfg["epochs"] + 1):
        det.train(cfg.get("batchnorm", "running") == "batch")  # running: eval-mode BN (see the docstring)
        perm = torch.randperm(len(x), generator=gen)
        batches = perm.split(cfg["batch_size"])
        guard = LossGuard(f"dynamic detector epoch {epoch}/{cfg['epochs']}", len(batches), device)
        loss_sum, correct = 0.0, 0
        for b, idx in enumerate(batches):
            xb, yb = x[idx].clone(), y[idx]
            hit = torch.rand(len(idx), generator=gen) < cfg["p_adv"]
            sigma = torch.rand(len(idx), generator=gen)
            if hit.any():
                xb[hit] = (xb[hit] + dynamic_attack(classifier, det, xb[hit], yb[hit], dyn, sigma[hit],
                                                    chunk_size)).clamp_(0, 1)
            logits = det(xb.to(device))
            target = hit.long().to(device)
            loss = F.cross_entropy(logits, target)
            guard.check(loss, b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == target).sum())
            prog.update(len(idx))
        guard.flush()
        det.eval()
        val = _dynamic_val(classifier, det, x_val, y_val, dyn, sigma_val, chunk_size, device, pred_clean)
        history.append({"detector_epoch": epoch, "train_loss": loss_sum / len(x), "train_accuracy": correct / len(x),
                        "val_accuracy": val[select], "val_all": val["all"], "val_successful": val["successful"],
                        "val_n_successful": val["n_successful"]})
        log.info("dynamic detector epoch %d/%d: loss %.4f, train acc %.4f, val detectability vs its dynamic adversary "
                 "%.4f on all, %.4f on %d successful", epoch, cfg["epochs"], history[-1]["train_loss"],
                 history[-1]["train_accuracy"], val["all"], val["successful"], val["n_successful"])
        if val[select] > best[0]:
            best = (val[select], epoch, copy.deepcopy(net.state_dict()))
    net.load_state_dict(best[2])
    det.eval()
    return {"history": history, "best_epoch": best[1], "val_accuracy": best[0], "val0": val0}


def dynamic_training_rows(result: dict, n_val: int, init: str, criterion: str) -> pd.DataFrame:
    """The p001_dynamic_training table of a :func:`train_dynamic` result: epoch 0 (the initial
    weights, ``result['val0']``) and every training epoch, with Wilson intervals."""
    def row(epoch: int, val: dict, loss=math.nan, acc=math.nan) -> dict:
        n = 2 * n_val
        k_all = round(val["all"] * n)
        n_ok = int(val["n_successful"])
        r = {"detector_epoch": epoch, "init": init, "criterion": criterion, "train_loss": loss, "train_accuracy": acc,
             "val_all": val["all"], "val_n": n, **{f"val_all_{k}": v for k, v in rate_cols(k_all, n).items()
                                                  if k != "n"},
             "val_n_successful": n_ok}
        if n_ok:
            r["val_successful"] = val["successful"]
            r.update({f"val_successful_{k}": v for k, v in rate_cols(round(val["successful"] * 2 * n_ok), 2 * n_ok).items()
                      if k != "n"})
        else:
            r.update({"val_successful": math.nan, "val_successful_ci_low": math.nan, "val_successful_ci_high": math.nan})
        r["selected"] = epoch == result["best_epoch"]
        return r

    rows = [row(0, result["val0"])]
    rows += [row(h["detector_epoch"], {"all": h["val_all"], "successful": h["val_successful"],
                                       "n_successful": h["val_n_successful"]}, h["train_loss"], h["train_accuracy"])
             for h in result["history"]]
    return coerce(pd.DataFrame(rows), "p001_dynamic_training")


def at_bound(x: torch.Tensor, delta: torch.Tensor, eps: float) -> float:
    """Of the pixels the perturbation moved (δ ≠ 0) and whose value range allows a move of ε in
    that direction (x ± ε inside [0, 1]), the fraction that reached the bound |δ| = ε (NaN when
    none moved). Paper 001's σ-mixed sign step moves a pixel where the two gradient signs
    disagree by only |1 − 2σ|·α per iteration, so too few iterations leave such pixels short."""
    d = delta.flatten(1)
    xs = x.flatten(1).to(d.device)
    tol = 1e-3 / 255.0  # float32 sums of fractional steps land within a few ulps of the bound
    room = torch.where(d > 0, xs + eps <= 1 + tol, xs - eps >= -tol)
    moved = (d != 0) & room
    if not moved.any():
        return math.nan
    return float(((d.abs() >= eps - tol) & moved).sum()) / float(moved.sum())


def same_function(a: nn.Module, b: nn.Module) -> bool:
    """Whether two detectors compute the same function: the same classes, mode and attachment position,
    and every parameter and buffer equal (a classifier they read is compared by its weights too)."""
    if type(a) is not type(b) or a.training != b.training or getattr(a, "position", None) != getattr(b, "position", None):
        return False
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k]) for k in sa)


def dynamic_rows(classifier: nn.Module, dets: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor, dyn: dict,
                 chunk_size: int, device: torch.device, epochs: dict[str, int] | None = None) -> pd.DataFrame:
    """Fig. 5 rows: for each detector (static, dynamic) and σ of ``dyn['sigmas']``, the classifier's
    accuracy on the dynamic adversary's test examples (all inputs) and the detectability on the
    clean inputs vs their *successful* adversarial examples (:func:`successful`: correct clean,
    misclassified adversarial; paper 001 Sec. 4.1.2: an adversary with σ near 1 may leave inputs
    unchanged, which no detector can flag, and an input misclassified before the attack is no
    success of the adversary). ``delta_linf`` / ``at_bound``: how far the perturbation went (mean
    ‖δ‖∞ over the inputs, [0,255] units; :func:`at_bound`). ``epochs``: each detector's selected
    training epoch (``detector_epoch``; -1 when not given). A detector that computes the same function
    as one before it (:func:`same_function`) meets the same adversary: its rows are that detector's,
    renamed, not recomputed."""
    rows = []
    y = y.cpu()
    pred_clean = _predict(classifier, x, chunk_size)
    n = len(y)
    done: dict[str, nn.Module] = {}
    for name, det in dets.items():
        twin = next((other for other, d in done.items() if same_function(d, det)), None)
        done[name] = det
        if twin is not None:
            # the same network, weights and mode as `twin`'s detector (the dynamic detector that kept its
            # initial weights, the static ones): the adversary and the flags are the same, so are the rows
            copies = [{**r, "detector": name, "detector_epoch": int((epochs or {}).get(name, -1))}
                      for r in rows if r["detector"] == twin]
            rows += copies
            log.info("%s detector: the %s detector's weights, its %d rows reused", name, twin, len(copies))
            continue
        clean_flag = flags(det, x, chunk_size, device)
        for sigma in dyn["sigmas"]:
            delta = dynamic_attack(classifier, det, x, y, dyn, float(sigma), chunk_size)
            adv = (x + delta).clamp_(0, 1)
            pred_adv = _predict(classifier, adv, chunk_size)
            ok = successful(pred_clean, pred_adv, y)
            k = int(ok.sum())
            correct = int((pred_adv == y).sum())
            row = {"detector": name, "detector_epoch": int((epochs or {}).get(name, -1)), "sigma": float(sigma),
                   "accuracy": correct / n, **rate_cols(correct, n, "accuracy_"),
                   "n_clean_correct": int((pred_clean == y).sum()), "n_successful": k,
                   "delta_linf": 255.0 * float(delta.flatten(1).abs().amax(1).mean()) if n else math.nan,
                   "at_bound": at_bound(x, delta, dyn["eps"] / 255.0)}
            if k:
                res = detectors.detectability_from_predictions(clean_flag[ok], flags(det, adv[ok], chunk_size, device))
                row.update(detect_cols(res))
            else:
                row.update({"detectability": math.nan, "n": 0, "ci_low": math.nan, "ci_high": math.nan,
                            "accuracy_clean": math.nan, "accuracy_adv": math.nan})
            rows.append(row)
            log.info("dynamic adversary σ=%.1f vs %s detector: accuracy %.3f, detectability %.3f on %d successful "
                     "(correct clean, wrong adversarial), ‖δ‖∞ %.1f, %.0f %% of free pixels at ±ε", sigma, name,
                     row["accuracy"], row["detectability"], k, row["delta_linf"], 100 * row["at_bound"])
    return coerce(pd.DataFrame(rows), "p001_dynamic")
