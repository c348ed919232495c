"""Adversary detectors across adversarial training (paper 000 Sec. 3.4, App. G; paper 001).

**Detector network** (paper 001, Fig. 1 bottom, the CIFAR-10 variant), applied directly to the
classifier's input as paper 000 does (``position: input``, the default)::

    [Normalize]                              per-channel mean/std of the training split
    Conv3x3(C_in → c1, pad 1) - BN - ReLU    c1 = 96
    MaxPool 2x2                              (kept when pools ≥ 1)
    Conv3x3(c1 → c2, pad 1) - BN - ReLU      c2 = 192
    MaxPool 2x2                              (kept when pools ≥ 2)
    Conv3x3(c2 → c3, pad 1) - BN - ReLU      c3 = 192
    Conv1x1(c3 → 2)                          logits of (clean, adversarial); no BN/ReLU
    global average pooling, softmax          p_adv = softmax(·)[1]

Paper 001's caption: all 3×3 convolutions are followed by batch normalisation and ReLU; the
max-pooling layers are optional ("for AD(3), the second pooling layer is skipped, and for
AD(4), both"), hence ``pools`` = how many of the two max-pooling layers are kept. The final 1×1
convolution produces the two class scores that global average pooling and the softmax turn into
p_adv, so it has no BN/ReLU. ``channels`` (default 96-192-192) can be narrowed for small
experiments.

Optionally (``position: k``, an integer) the detector reads feature map k of the frozen
classifier θ_t it was trained for instead of the input (paper 001's AD(i) positions; here
k indexes :meth:`advtrace.models.PreActResNet18.features`: 0 = stem convolution, 1..4 = output
of residual stage 1..4). The classifier is stored inside the detector checkpoint and stays in
eval mode; a detector trained at epoch t always looks through θ_t's features, also when it is
evaluated on adversarial examples generated against another epoch t′.

**Training** (paper 001 Sec. 3.2, 4.1.1): the clean training inputs (label 0) and their
adversarial counterparts generated against θ_t (label 1) form a balanced binary data set; Adam
(lr 1e-4, β1 = 0.99, β2 = 0.999), 20 epochs, cross-entropy; after every epoch the detector is
evaluated on the validation split (clean + adversarial) and the best validation epoch is kept.

**Detectability** (paper 001 footnote 3): the accuracy of the detector on the union of the test
inputs and their adversarial counterparts, each classified independently (eval-mode BatchNorm,
so the shuffling of the union does not change any prediction).

**Detector-maximising perturbation** (paper 000 Fig. 7): App. D's universal-perturbation
iteration (:func:`advtrace.universal.generate`) with the detector's log p_adv as objective
(:func:`_maximise_detector`).
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import seed_for, to_float
from .models import Normalize
from .runtime import LossGuard, Progress, load_torch, log, save_torch
from .stats import with_wilson
from .tables import coerce
from .universal import generate, random_sign

INPUT = "input"
ADV = 1  # class index of "adversarial" in the detector's output
DEFAULT_CHANNELS = (96, 192, 192)


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Detector(nn.Module):
    """Paper 001's detector (Fig. 1 bottom): 3×3 conv-BN-ReLU ×3 with two optional max-pools,
    1×1 conv to 2 maps, global average pooling. ``forward`` returns the two logits (clean,
    adversarial); :func:`p_adv` applies the softmax. ``channels`` may list any number of
    convolutions and ``pools`` puts a 2×2 max-pool after each of the first ``pools`` of them
    (paper 001 Sec. 4.2's ImageNet detector: five 196-map convolutions, one max-pool after the
    first)."""

    def __init__(self, in_channels: int, channels: Sequence[int] = DEFAULT_CHANNELS, pools: int = 2,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None):
        super().__init__()
        if len(channels) < 1:
            raise ValueError(f"detector channels: need at least one width (paper 96-192-192); got {list(channels)}")
        if not 0 <= pools <= len(channels) - 1:
            raise ValueError(f"detector pools: 0..{len(channels) - 1} max-pooling layers (one after each of the first "
                             f"convolutions) for {len(channels)} convolutions; got {pools}")
        widths = [int(in_channels)] + [int(c) for c in channels]
        self.normalize = Normalize(mean, std) if mean is not None else nn.Identity()
        layers: list[nn.Module] = []
        for i in range(len(channels)):
            layers += _conv_bn_relu(widths[i], widths[i + 1])
            if i < pools:
                layers.append(nn.MaxPool2d(2))
        layers.append(nn.Conv2d(widths[-1], 2, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.normalize(x)).mean(dim=(2, 3))


class AttachedDetector(nn.Module):
    """A detector reading feature map ``position`` of a frozen classifier (paper 001's AD(i))."""

    def __init__(self, classifier: nn.Module, position: int, detector: Detector):
        super().__init__()
        if not hasattr(classifier, "features"):
            raise ValueError(
                f"detect.detector.position: {type(classifier).__name__} exposes no feature maps; "
                "use position: input (or the preact_resnet18 model)")
        self.classifier = classifier
        self.position = int(position)
        self.detector = detector
        for p in self.classifier.parameters():
            p.requires_grad_(False)
        self.classifier.eval()

    def train(self, mode: bool = True) -> "AttachedDetector":
        super().train(mode)
        self.classifier.eval()  # the classifier is frozen, BatchNorm statistics included
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.detector(self.classifier.features(x)[self.position])


def feature_channels(classifier: nn.Module, in_channels: int, image_size: int, position: int) -> tuple[int, int]:
    """(channels, side) of the classifier's feature map at ``position``."""
    with torch.inference_mode():
        was = classifier.training
        classifier.eval()
        dev = next(classifier.parameters()).device
        f = classifier.features(torch.zeros(1, in_channels, image_size, image_size, device=dev))[position]
        classifier.train(was)
    return int(f.shape[1]), int(f.shape[-1])


def build_detector(arch: dict, classifier: nn.Module | None = None) -> nn.Module:
    """Detector from its architecture record (see :func:`architecture`)."""
    if arch["position"] == INPUT:
        return Detector(arch["in_channels"], arch["channels"], arch["pools"], arch["mean"], arch["std"])
    if classifier is None:
        raise ValueError("a detector attached to a feature map needs its classifier")
    det = Detector(arch["feature_channels"], arch["channels"], arch["pools"])
    return AttachedDetector(classifier, int(arch["position"]), det)


def architecture(det_cfg: dict, data: dict, classifier: nn.Module | None = None) -> dict:
    """Plain-data description of the detector (stored in its checkpoint)."""
    arch = {"position": det_cfg["position"], "channels": list(det_cfg["channels"]), "pools": int(det_cfg["pools"]),
            "in_channels": int(data["in_channels"]), "mean": list(data["mean"]), "std": list(data["std"])}
    side = int(data["image_size"])
    if det_cfg["position"] != INPUT:
        if classifier is None:
            raise ValueError("detect.detector.position is a feature map: the classifier checkpoint is needed")
        arch["feature_channels"], side = feature_channels(classifier, data["in_channels"], data["image_size"],
                                                          int(det_cfg["position"]))
    if side // 2 ** arch["pools"] < 1:
        raise ValueError(f"detect.detector.pools: {arch['pools']} max-poolings do not fit a {side}x{side} map")
    return arch


def p_adv(detector: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted probability of "adversarial" for a batch of [0,1] images."""
    return F.softmax(detector(x), dim=1)[:, ADV]


@torch.inference_mode()
def predict_p_adv(detector: nn.Module, x: torch.Tensor, chunk_size: int, device: torch.device) -> torch.Tensor:
    """p_adv for every image of `x` (float [0,1], any device), batched, eval mode; returns CPU float32."""
    detector.eval()
    out = [p_adv(detector, x[i:i + chunk_size].to(device)).float().cpu() for i in range(0, len(x), chunk_size)]
    return torch.cat(out) if out else torch.zeros(0)


# --- data ---------------------------------------------------------------------------------------

def paired_images(data: dict, pert: dict, expected_split: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, adversarial) float [0,1] images of a stored perturbation file (advtrace.perturbations.load)."""
    split = pert["split"]
    if expected_split is not None and split != expected_split:
        raise ValueError(
            f"perturbations of sample set {pert.get('set')!r} come from the {split!r} split; "
            f"this role needs the {expected_split!r} split")
    x = to_float(data[f"{split}_x"][pert["index"]])
    if pert["delta"].shape != x.shape:
        raise ValueError(f"perturbation shape {tuple(pert['delta'].shape)} != images {tuple(x.shape)}")
    return x, (x + pert["delta"]).clamp_(0.0, 1.0)


def balanced(x_clean: torch.Tensor, x_adv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Union of clean (label 0) and adversarial (label 1) images."""
    if len(x_clean) != len(x_adv):
        raise ValueError(f"unbalanced detector data: {len(x_clean)} clean vs {len(x_adv)} adversarial")
    x = torch.cat([x_clean, x_adv])
    y = torch.cat([torch.zeros(len(x_clean), dtype=torch.int64), torch.ones(len(x_adv), dtype=torch.int64)])
    return x, y


# --- detectability ------------------------------------------------------------------------------

def detectability_from_predictions(clean_flagged: torch.Tensor, adv_flagged: torch.Tensor) -> dict:
    """Accuracy of a detector on the union of clean and adversarial inputs (paper 001 fn. 3).

    `clean_flagged` / `adv_flagged`: bool per input, True = detector says "adversarial".
    Returns {"accuracy", "accuracy_clean", "accuracy_adv", "n"} with n = size of the union.
    """
    clean_flagged = torch.as_tensor(clean_flagged, dtype=torch.bool)
    adv_flagged = torch.as_tensor(adv_flagged, dtype=torch.bool)
    n_clean, n_adv = len(clean_flagged), len(adv_flagged)
    if n_clean == 0 or n_adv == 0:
        raise ValueError("detectability needs at least one clean and one adversarial input")
    correct_clean = int((~clean_flagged).sum())
    correct_adv = int(adv_flagged.sum())
    return {"accuracy": (correct_clean + correct_adv) / (n_clean + n_adv), "accuracy_clean": correct_clean / n_clean,
            "accuracy_adv": correct_adv / n_adv, "n": n_clean + n_adv}


def detectability(detector: nn.Module, x_clean: torch.Tensor, x_adv: torch.Tensor, chunk_size: int,
                  device: torch.device) -> dict:
    """Detector accuracy on the union of `x_clean` and `x_adv` (each input classified on its own)."""
    return detectability_from_predictions(predict_p_adv(detector, x_clean, chunk_size, device) > 0.5,
                                          predict_p_adv(detector, x_adv, chunk_size, device) > 0.5)


# --- training -----------------------------------------------------------------------------------

def make_optimizer(detector: nn.Module, cfg: dict) -> torch.optim.Optimizer:
    params = [p for p in detector.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]))


def train_detector(detector: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
                   cfg: dict, device: torch.device, generator: torch.Generator, eval_chunk_size: int = 512,
                   desc: str = "detector") -> dict:
    """Train on (clean, adversarial) pairs of the training split; keep the best validation epoch.

    `train`, `val`: (x_clean, x_adv) float [0,1] images. `cfg`: detect.training (epochs,
    batch_size, lr, beta1, beta2). The detector ends with the selected weights,
    in eval mode. Returns {"history": [per-epoch dicts], "best_epoch", "val_accuracy"}.
    """
    x, y = balanced(*train)
    x, y = x.to(device), y.to(device)
    x_val_clean, x_val_adv = val
    detector.to(device)
    opt = make_optimizer(detector, cfg)
    bs, ebs = cfg["batch_size"], eval_chunk_size
    history: list[dict] = []
    best_acc, best_epoch, best_state = -1.0, 0, None
    prog = Progress(cfg["epochs"] * len(y), f"train {desc}", unit="img")
    for epoch in range(1, cfg["epochs"] + 1):
        detector.train()
        perm = torch.randperm(len(y), generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        batches = perm.split(bs)
        guard = LossGuard(f"{desc} training epoch {epoch}/{cfg['epochs']}", len(batches), device)
        for b, idx in enumerate(batches):
            logits = detector(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            guard.check(loss, b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == y[idx]).sum()
            prog.update(len(idx))
        guard.flush()
        val = detectability(detector, x_val_clean, x_val_adv, ebs, device)
        row = {"detector_epoch": epoch, "train_loss": float(loss_sum) / len(y),
               "train_accuracy": int(correct) / len(y), "val_accuracy": val["accuracy"]}
        history.append(row)
        log.info("%s epoch %d/%d: loss %.4f, train acc %.4f, val detectability %.4f", desc, epoch, cfg["epochs"],
                 row["train_loss"], row["train_accuracy"], row["val_accuracy"])
        if val["accuracy"] > best_acc:  # ties keep the earlier epoch
            best_acc, best_epoch = val["accuracy"], epoch
            best_state = copy.deepcopy(detector.state_dict())
    detector.load_state_dict(best_state)
    detector.eval()
    log.info("%s: selected epoch %d (val detectability %.4f)", desc, best_epoch, best_acc)
    return {"history": history, "best_epoch": best_epoch, "val_accuracy": best_acc}


def training_rows(result: dict, attack: str, epoch: int) -> pd.DataFrame:
    """Rows of the detector_training table for one detector."""
    df = pd.DataFrame(result["history"])
    df.insert(0, "epoch", int(epoch))
    df.insert(0, "attack", attack)
    df["selected"] = df["detector_epoch"] == result["best_epoch"]
    return coerce(df, "detector_training")


def save_detector(path, detector: nn.Module, arch: dict, attack: str, epoch: int, result: dict,
                  train_pert: dict, val_pert: dict) -> None:
    """Atomic checkpoint: weights + architecture + which inputs it was trained / selected on."""
    state = detector.detector.state_dict() if isinstance(detector, AttachedDetector) else detector.state_dict()
    ckpt = {"arch": arch, "detector": state, "attack": attack, "epoch": int(epoch),
            "best_epoch": int(result["best_epoch"]), "val_accuracy": float(result["val_accuracy"]),
            "train_set": train_pert["set"], "train_split": train_pert["split"], "train_index": train_pert["index"].clone(),
            "val_set": val_pert["set"], "val_split": val_pert["split"], "val_index": val_pert["index"].clone()}
    if isinstance(detector, AttachedDetector):
        ckpt["classifier"] = detector.classifier.state_dict()
    save_torch(ckpt, path)


def load_detector(path, device: torch.device, classifier_factory=None) -> tuple[nn.Module, dict]:
    """(detector in eval mode on `device`, checkpoint dict). `classifier_factory()` builds an
    empty classifier when the detector is attached to a feature map."""
    ckpt = load_torch(path, map_location=device)
    classifier = None
    if ckpt["arch"]["position"] != INPUT:
        if classifier_factory is None:
            raise ValueError(f"{path}: detector attached to a feature map; pass classifier_factory")
        classifier = classifier_factory().to(device)
        classifier.load_state_dict(ckpt["classifier"])
    det = build_detector(ckpt["arch"], classifier).to(device)
    target = det.detector if isinstance(det, AttachedDetector) else det
    target.load_state_dict(ckpt["detector"])
    return det.eval(), ckpt


def fit(data: dict, train_pert: dict, val_pert: dict, det_cfg: dict, train_cfg: dict, seed: int, attack: str,
        epoch: int, device: torch.device, classifier: nn.Module | None = None,
        eval_chunk_size: int = 512) -> tuple[nn.Module, dict, dict]:
    """Build and train the detector for (attack, epoch) from stored perturbation files.

    Training inputs must come from the train split and validation inputs from the val split:
    a detector never sees test inputs. Returns (detector, architecture, training result).
    """
    train = paired_images(data, train_pert, expected_split="train")
    val = paired_images(data, val_pert, expected_split="val")
    torch.manual_seed(seed_for(seed, "detector-init", attack, epoch))
    if classifier is not None:
        classifier = classifier.to(device).eval()
    arch = architecture(det_cfg, data, classifier)
    det = build_detector(arch, classifier).to(device)
    gen = torch.Generator().manual_seed(seed_for(seed, "detector-batches", attack, epoch))
    result = train_detector(det, train, val, train_cfg, device, gen, eval_chunk_size,
                            desc=f"detector {attack} epoch {epoch}")
    return det, arch, result


def detectability_rows(detector: nn.Module, data: dict, attack: str, train_epoch: int, test_perts: dict[int, dict],
                       chunk_size: int, device: torch.device) -> pd.DataFrame:
    """Rows of the detectability table: the detector of `train_epoch` on the test inputs and their
    adversarial counterparts generated against θ_t′ for every t′ in `test_perts`.

    The clean half is the same for every t′, so it is classified once."""
    rows = []
    clean_flagged = None
    clean_index = None
    for test_epoch in sorted(test_perts):
        pert = test_perts[test_epoch]
        x_clean, x_adv = paired_images(data, pert, expected_split="test")
        if clean_flagged is None or not torch.equal(clean_index, pert["index"]):
            clean_flagged = predict_p_adv(detector, x_clean, chunk_size, device) > 0.5
            clean_index = pert["index"]
        res = detectability_from_predictions(clean_flagged, predict_p_adv(detector, x_adv, chunk_size, device) > 0.5)
        rows.append({"attack": attack, "train_epoch": int(train_epoch), "test_epoch": int(test_epoch), **res})
        log.info("detector %s epoch %d on epoch %d: detectability %.4f (clean %.4f, adversarial %.4f, n=%d)", attack,
                 train_epoch, test_epoch, res["accuracy"], res["accuracy_clean"], res["accuracy_adv"], res["n"])
    return coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "detectability")


def evaluate_detectors(detector_paths: Sequence, test_perts: dict[int, dict], data: dict, attack: str, mode: str,
                       chunk_size: int, device: torch.device, classifier_factory=None) -> pd.DataFrame:
    """Detectability rows of every detector checkpoint of one attack, each loaded once.

    mode "matrix": each detector on the test perturbations of every epoch in `test_perts`;
    "respective": the detector of epoch t on epoch t only (paper 000 App. G, DeepFool)."""
    if mode not in ("matrix", "respective"):
        raise ValueError(f"detect.attacks.{attack}: mode {mode!r}; allowed: 'matrix', 'respective'")
    frames = []
    for path in detector_paths:
        det, ckpt = load_detector(path, device, classifier_factory)
        if ckpt["attack"] != attack:
            raise ValueError(f"{path}: detector for {ckpt['attack']!r}, expected {attack!r}")
        t = int(ckpt["epoch"])
        perts = test_perts if mode == "matrix" else {t: test_perts[t]}
        frames.append(detectability_rows(det, data, attack, t, perts, chunk_size, device))
    return coerce(pd.concat(frames, ignore_index=True), "detectability")


# --- Fig. 7: perturbations that maximise the detector -------------------------------------------

def log_p_adv_objective(detector: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Fig. 7's objective for :func:`advtrace.universal.generate`: the detector's mean log p_adv."""
    return F.log_softmax(detector(x).float(), dim=1)[:, ADV].mean()


def _maximise_detector(detector: nn.Module, x_uint8_pool: torch.Tensor, eps: float, alpha: float, m: int, K: int,
                       iterations: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Universal-style perturbation Ξ maximising the detector's log p_adv on `x_uint8_pool`.

    Paper 000 App. D with the detector's objective (Sec. 3.4, Fig. 7), through the shared
    generator :func:`advtrace.universal.generate`:
        Ξ⁰ = 0,  Ξⁿ⁺¹ = Clip_ε{Ξⁿ + α/K Σ_k sgn(∇^{D(k)}(Ξⁿ))},
    ∇^D(Ξ) = (1/m) Σ_j ∇_x log p_adv(x_j + Ξ) over a mini-batch D of m inputs drawn uniformly
    without replacement from the pool, each gradient taken w.r.t. the input at x_j + Ξ clipped to
    [0, 1] (not through the clip, whose gradient vanishes on the range boundary, e.g. the black
    digit background). `eps`, `alpha` in [0,1] units. Returns Ξ (float32, [0,1] units, C×H×W, CPU).
    """
    if m > len(x_uint8_pool):
        raise ValueError(f"mini-batch size {m} larger than the pool of {len(x_uint8_pool)} inputs")
    return generate(detector, x_uint8_pool, None, eps, alpha, m, K, iterations, generator, device,
                    objective=log_p_adv_objective, desc="maximise detector")


RANDOM_SIGN_DRAWS = 8  # universal random ±ε sign perturbations averaged for Fig. 7's baseline


def random_sign_p_adv(detector: nn.Module, x: torch.Tensor, eps: float, chunk_size: int, device: torch.device,
                      generator: torch.Generator, draws: int = RANDOM_SIGN_DRAWS) -> float:
    """Mean p_adv on `x` (float [0,1]) plus one random ±ε sign image shared by all inputs (as the
    maximising perturbation is), averaged over `draws` draws: how much of Fig. 7's p_adv any
    perturbation of that size earns. `eps` in [0,1] units."""
    vals = []
    for _ in range(draws):
        xi = random_sign(x.shape[1:], eps, generator)
        vals.append(float(predict_p_adv(detector, (x + xi).clamp_(0.0, 1.0), chunk_size, device).mean()))
    return float(np.mean(vals))


def maximise_rows(detector: nn.Module, x_train_uint8: torch.Tensor, x_test_uint8: torch.Tensor, attack: str, epoch: int,
                  cfg: dict, seed: int, device: torch.device, chunk_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 7 rows: the detector-maximising perturbation of `epoch` (generated on training inputs)
    as (detector_max, detector_max_summary) frames; its mean p_adv is measured on test inputs.

    `cfg`: detect.maximise (eps, alpha in [0,255] units; m, batches K, iterations)."""
    gen = torch.Generator().manual_seed(seed_for(seed, "detector-max", attack, epoch))
    xi = _maximise_detector(detector, x_train_uint8, cfg["eps"] / 255.0, cfg["alpha"] / 255.0, cfg["m"],
                            cfg["batches"], cfg["iterations"], gen, device)
    x_test = to_float(x_test_uint8)
    p_with = predict_p_adv(detector, (x_test + xi).clamp_(0.0, 1.0), chunk_size, device)
    p_clean = predict_p_adv(detector, x_test, chunk_size, device)
    p_random = random_sign_p_adv(detector, x_test, cfg["eps"] / 255.0, chunk_size, device,
                                 torch.Generator().manual_seed(seed_for(seed, "detector-max-random", attack, epoch)))
    c, h, w = xi.shape
    grid = np.indices((c, h, w)).reshape(3, -1)
    img = pd.DataFrame({"attack": attack, "epoch": int(epoch), "channel": grid[0], "row": grid[1], "col": grid[2],
                        "value": (xi * 255.0).double().flatten().numpy()})
    summary = pd.DataFrame([{"attack": attack, "epoch": int(epoch), "eps": float(cfg["eps"]),
                             "mean_p_adv": float(p_with.mean()), "mean_p_adv_clean": float(p_clean.mean()),
                             "mean_p_adv_random": p_random, "n": len(x_test)}])
    log.info("detector-maximising perturbation, %s epoch %d: mean p_adv %.4f on %d test inputs "
             "(clean %.4f, random ±ε sign %.4f)", attack, epoch, summary["mean_p_adv"].iloc[0], len(x_test),
             summary["mean_p_adv_clean"].iloc[0], p_random)
    return coerce(img, "detector_max"), coerce(summary, "detector_max_summary")
