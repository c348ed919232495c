"""Classifiers. Every model takes [0,1] images (N×C×H×W) and normalises them inside
(:class:`Normalize`, per-channel mean/std stored as buffers in the state dict), so attacks,
transformations and ε all live in one pixel unit.

* :class:`PreActResNet18` — pre-activation ResNet-18 (He et al., 2016, "Identity Mappings in
  Deep Residual Networks"): a 3×3 stem, four stages of two pre-activation basic blocks with
  ``width·(1,2,4,8)`` channels (width=64 gives the paper's 64-128-256-512), strides 1,2,2,2,
  final BN-ReLU, global average pooling, linear classifier. Works for 8×8 (digits) to 32×32.
* :class:`ResNet20` — the CIFAR ResNet-20 of He et al. (2016) Sec. 4.2 (paper 004 Sec. 6.1 with
  64-128-256 feature maps, ``width=64``): a 3×3 stem, three stages of three post-activation basic
  blocks (conv-BN-ReLU-conv-BN + shortcut, ReLU) with ``width·(1,2,4)`` channels, strides 1,2,2,
  1×1 projection shortcuts where the shape changes, global average pooling, linear classifier.
* :class:`ConvNet` — paper 000 App. I:
  C32-C32-MP-D0.2-C64-C64-MP-D0.2-C128-C128-MP-D0.2-L512-D0.5-L(num_classes), 3×3 convolutions
  with padding 1, ReLU throughout, 2×2 max pooling (``width`` scales 32-64-128).
* :class:`InceptionV3` — Inception v3 (Szegedy et al. 2015, "Rethinking the Inception
  Architecture"; paper 002's model) as torchvision builds it (``torchvision.models.inception_v3``
  without the auxiliary classifier, random initialisation), for 299×299 inputs (at least 75×75).
  ``width`` is the number of filters of its first convolution (Conv2d_1a_3x3; 32 = unchanged
  Inception v3) and scales every convolution by ρ = width / 32, as paper 002 Sec. 4.3 does ("we
  picked a scale factor ρ and multiplied the number of filters in each convolution by ρ").
* :class:`VGG16` — VGG16 (Simonyan & Zisserman 2015; paper 001 Sec. 4.2's classifier) as
  torchvision builds it (``torchvision.models.vgg16``, 1000 ImageNet classes), behind
  torchvision's ImageNet normalisation (the pretrained weights expect it), optionally followed by
  paper 001's class selection ("a layer before the softmax which selects only the 10 relevant
  class entries from the logits vector"). Its ImageNet weights come from a file
  (:func:`load_pretrained`; ``model.weights``), loaded by the pretraining job.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = ("preact_resnet18", "convnet", "resnet20", "resnet32", "inception_v3", "vgg16")
# Non-linearities every model can use in place of ReLU (``model.activation``; paper 002 App. D, Table 7,
# and its transfer model C, "Inception v3 with ELU activations"): relu (the default), relu6 =
# min(relu(x), 6), tanh, elu (α = 1) and relu_decay, ReluDecay_β(x) = relu(x) / (1 + β relu(x)²)
# (``model.relu_decay_beta`` = β).
ACTIVATIONS = ("relu", "relu6", "tanh", "elu", "relu_decay")
PREACT_BLOCKS = (2, 2, 2, 2)  # pre-activation ResNet-18: two basic blocks per stage


class ReluDecay(nn.Module):
    """ReluDecay_β(x) = relu(x) / (1 + β·relu(x)²) (paper 002 App. D): ReLU near 0, rising to its
    maximum 1/(2√β) at x = 1/√β and decaying towards 0 beyond."""

    def __init__(self, beta: float):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"relu_decay needs beta > 0, got {beta!r}")
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = F.relu(x)
        return r / (1.0 + self.beta * r * r)

    def extra_repr(self) -> str:
        return f"beta={self.beta:g}"


def make_activation(name: str = "relu", beta: float | None = None) -> nn.Module:
    """The non-linearity `name` of :data:`ACTIVATIONS` as a module (no parameters, so checkpoints of
    any activation have the same state-dict keys)."""
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "tanh":
        return nn.Tanh()
    if name == "elu":
        return nn.ELU()
    if name == "relu_decay":
        if beta is None:
            raise ValueError("activation relu_decay needs model.relu_decay_beta (paper 002 - 0.1, 0.01, 0.001)")
        return ReluDecay(beta)
    raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")


class Normalize(nn.Module):
    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, act: nn.Module | None = None):
        super().__init__()
        self.act = act if act is not None else nn.ReLU()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(self.act(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """Pre-activation ResNet-18; ``blocks`` (default 2, 2, 2, 2) sets the basic blocks per stage (a
    deeper variant, paper 002 Table 1's "deeper model", adds blocks), ``act`` the non-linearity
    (:func:`make_activation`; ReLU by default)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 64,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 blocks: Sequence[int] = PREACT_BLOCKS, act: nn.Module | None = None):
        super().__init__()
        mean = mean if mean is not None else [0.5] * in_channels
        std = std if std is not None else [0.25] * in_channels
        if len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"preact_resnet18: blocks is four counts >= 1 (one per stage), got {list(blocks)}")
        self.act = act if act is not None else nn.ReLU()
        self.normalize = Normalize(mean, std)
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        layers, in_planes = [], width
        for i, (stride, n) in enumerate(zip((1, 2, 2, 2), blocks)):
            planes = width * 2**i
            layers.append(nn.Sequential(PreActBlock(in_planes, planes, stride, self.act),
                                        *[PreActBlock(planes, planes, 1, self.act) for _ in range(n - 1)]))
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.bn = nn.BatchNorm2d(in_planes)
        self.linear = nn.Linear(in_planes, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after the stem and each stage (for detectors attached at AD(i))."""
        out = self.conv1(self.normalize(x))
        feats = [out]
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            out = layer(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.features(x)[-1]
        out = self.act(self.bn(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


class BasicBlock(nn.Module):
    """He et al. (2016) CIFAR basic block: conv-BN-ReLU-conv-BN plus shortcut, then ReLU; a 1x1
    convolution (with BN) on the shortcut where the resolution or the number of maps changes
    (paper 001 Fig. 1: "the number of feature maps on the residual's shortcut is increased by
    1x1 convolutions")."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, act: nn.Module | None = None):
        super().__init__()
        self.act = act if act is not None else nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + (self.shortcut(x) if self.shortcut is not None else x))


class CifarResNet(nn.Module):
    """The CIFAR ResNets of He et al. (2016): a 3×3 stem convolution with ``width`` maps, three
    stages of ``blocks`` basic blocks with ``width·(1, 2, 4)`` maps (width 16: 16-32-64), strides
    1, 2, 2, global average pooling, a linear layer (1 + 3·blocks·2 + 1 layers: 3 blocks give
    ResNet-20 of paper 004, 5 give ResNet-32 of paper 001). :meth:`features` gives the maps after
    the stem and each stage (paper 001's AD(1)..AD(4); AD(0) is the input)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, blocks: int = 5,
                 act: nn.Module | None = None):
        super().__init__()
        mean = mean if mean is not None else [0.5] * in_channels
        std = std if std is not None else [0.25] * in_channels
        act = act if act is not None else nn.ReLU()
        self.normalize = Normalize(mean, std)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), act)
        stages, in_planes = [], width
        for i, stride in enumerate((1, 2, 2)):
            planes = width * 2**i
            stages.append(nn.Sequential(*[BasicBlock(in_planes if b == 0 else planes, planes, stride if b == 0 else 1,
                                                     act) for b in range(blocks)]))
            in_planes = planes
        self.stage1, self.stage2, self.stage3 = stages
        self.linear = nn.Linear(in_planes, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = self.stem(self.normalize(x))
        feats = [out]
        for stage in (self.stage1, self.stage2, self.stage3):
            out = stage(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(F.adaptive_avg_pool2d(self.features(x)[-1], 1).flatten(1))


class ResNet32(CifarResNet):
    """ResNet-32 (paper 001, Fig. 1 top): five basic blocks per stage."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, act: nn.Module | None = None):
        super().__init__(num_classes, in_channels, width, mean, std, blocks=5, act=act)


class ResNet20(CifarResNet):
    """ResNet-20 (paper 004; He et al. 2016: 0.27 M parameters at width 16): three basic blocks per stage."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, act: nn.Module | None = None):
        super().__init__(num_classes, in_channels, width, mean, std, blocks=3, act=act)


class ConvNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32, image_size: int = 32,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None, act: nn.Module | None = None):
        super().__init__()
        mean = mean if mean is not None else [0.5] * in_channels
        std = std if std is not None else [0.25] * in_channels
        act = act if act is not None else nn.ReLU()
        self.normalize = Normalize(mean, std)

        def stage(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), act,
                nn.Conv2d(cout, cout, 3, padding=1), act,
                nn.MaxPool2d(2), nn.Dropout(0.2),
            )

        w = width
        self.stages = nn.Sequential(stage(in_channels, w), stage(w, 2 * w), stage(2 * w, 4 * w))
        side = image_size // 8
        if side < 1:
            raise ValueError(f"ConvNet needs images of at least 8x8 pixels (three 2x2 poolings); got {image_size}")
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(4 * w * side * side, 512), act, nn.Dropout(0.5),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.stages(self.normalize(x)))


INCEPTION_BASE_WIDTH = 32  # filters of Inception v3's first convolution (Conv2d_1a_3x3): ρ = 1


def _scaled_inception3(num_classes: int, rho: float, act: nn.Module | None = None) -> nn.Module:
    """torchvision's Inception3 with the filters of every convolution multiplied by `rho` (the
    image's 3 input channels excepted); every channel count must stay an integer. `act` replaces the
    ReLU of every conv-BN unit (torchvision's BasicConv2d; Inception v3 has no other non-linearity)."""
    from functools import partial

    from torchvision.models import inception as tvi

    class ActConv2d(tvi.BasicConv2d):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.act = act

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.bn(self.conv(x)))

    unit = tvi.BasicConv2d if act is None else ActConv2d

    def scale(c: int) -> int:
        v = c * rho
        if abs(v - round(v)) > 1e-9 or round(v) < 1:
            raise ValueError(f"inception_v3: width {rho * INCEPTION_BASE_WIDTH:g} scales a {c}-channel layer to "
                             f"{v:g} channels; choose a width that keeps every layer whole (any even width: every layer has a multiple of 16 filters)")
        return int(round(v))

    def conv(in_channels: int, out_channels: int, **kwargs) -> nn.Module:
        # in_channels 3 only at the stem (the RGB image); Inception v3 has no other 3-channel layer
        return unit(in_channels if in_channels == 3 else scale(in_channels), scale(out_channels), **kwargs)


    blocks = [conv] + [partial(b, conv_block=conv) for b in
                       (tvi.InceptionA, tvi.InceptionB, tvi.InceptionC, tvi.InceptionD, tvi.InceptionE, tvi.InceptionAux)]
    net = tvi.Inception3(num_classes=num_classes, aux_logits=False, init_weights=True, inception_blocks=blocks)
    net.fc = nn.Linear(scale(2048), num_classes)  # Inception3 hard-codes 2048 inputs
    torch.nn.init.trunc_normal_(net.fc.weight, mean=0.0, std=0.1, a=-2, b=2)  # as Inception3's init_weights
    return net


class InceptionV3(nn.Module):
    """Inception v3 (torchvision) behind the project's input normalisation; see the module doc."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = INCEPTION_BASE_WIDTH,
                 image_size: int = 299, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 act: nn.Module | None = None):
        super().__init__()
        if in_channels != 3:
            raise ValueError(f"inception_v3 takes RGB images (3 channels), got {in_channels}")
        if image_size < 75:
            raise ValueError(f"inception_v3 needs images of at least 75x75 pixels (299 in the paper); got {image_size}")
        mean = mean if mean is not None else [0.5] * in_channels
        std = std if std is not None else [0.25] * in_channels
        self.normalize = Normalize(mean, std)
        if width == INCEPTION_BASE_WIDTH and act is None:
            from torchvision.models import inception_v3

            self.net = inception_v3(weights=None, aux_logits=False, init_weights=True, num_classes=num_classes)
        else:
            self.net = _scaled_inception3(num_classes, width / INCEPTION_BASE_WIDTH, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))


VGG16_WIDTH = 64  # channels of VGG16's first convolution: the only width its ImageNet weights fit
VGG16_MIN_SIZE = 32  # five 2x2 max-poolings
IMAGENET_CLASSES = 1000


class SelectClasses(nn.Module):
    """Keeps the logits of the given classes, in that order (paper 001 Sec. 4.2: "add a layer
    before the softmax which selects only the 10 relevant class entries from the logits vector")."""

    def __init__(self, index: Sequence[int]):
        super().__init__()
        self.register_buffer("index", torch.tensor([int(i) for i in index], dtype=torch.long))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.index_select(1, self.index)


def _vgg16_weights():
    from torchvision.models import VGG16_Weights

    return VGG16_Weights.IMAGENET1K_V1


def vgg16_normalisation() -> tuple[list[float], list[float]]:
    """The per-channel mean and std torchvision's ImageNet VGG16 weights were trained with."""
    t = _vgg16_weights().transforms()
    return list(t.mean), list(t.std)


class VGG16(nn.Module):
    """torchvision's VGG16 (13 3x3 convolutions in 5 blocks, each closed by a 2x2 max-pooling,
    then 4096-4096-1000 dense layers with dropout) on [0,1] images, normalised with torchvision's
    ImageNet mean/std (fixed: the pretrained weights expect them, whatever the data's own
    statistics). ``class_index``: the ImageNet classes (indices into its 1000 logits) that are
    this model's classes, in label order (paper 001's 10-class selection); None keeps all 1000.
    :meth:`features` gives the maps after each of the five max-poolings (paper 001 attaches its
    detector after the fourth: index 3)."""

    feature_names = ("max-pool 1", "max-pool 2", "max-pool 3", "max-pool 4", "max-pool 5")

    def __init__(self, num_classes: int, in_channels: int = 3, image_size: int = 224,
                 class_index: Sequence[int] | None = None):
        super().__init__()
        if in_channels != 3:
            raise ValueError(f"vgg16 takes RGB images (3 channels), got {in_channels}")
        if image_size < VGG16_MIN_SIZE:
            raise ValueError(f"vgg16 needs images of at least {VGG16_MIN_SIZE}x{VGG16_MIN_SIZE} pixels (five 2x2 "
                             f"max-poolings; 224 for its ImageNet weights); got {image_size}")
        from torchvision.models import vgg16

        mean, std = vgg16_normalisation()
        self.normalize = Normalize(mean, std)
        self.net = vgg16(weights=None, num_classes=IMAGENET_CLASSES)
        if class_index is None:
            if num_classes != IMAGENET_CLASSES:
                raise ValueError(f"vgg16 has ImageNet's {IMAGENET_CLASSES} classes; a dataset of {num_classes} "
                                 "classes needs their ImageNet indices (dataset.classes on imagenet)")
            self.select = nn.Identity()
        else:
            if len(class_index) != num_classes or not all(0 <= int(i) < IMAGENET_CLASSES for i in class_index):
                raise ValueError(f"vgg16: class_index {list(class_index)} must name {num_classes} ImageNet classes "
                                 f"(indices 0..{IMAGENET_CLASSES - 1})")
            self.select = SelectClasses(class_index)
        pools = [i for i, m in enumerate(self.net.features) if isinstance(m, nn.MaxPool2d)]
        self._blocks = [(a + 1 if k else 0, b + 1) for k, (a, b) in enumerate(zip([-1] + pools[:-1], pools))]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each of the five max-poolings (for detectors attached at AD(i))."""
        out = self.normalize(x)
        feats = []
        for a, b in self._blocks:
            out = self.net.features[a:b](out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.select(self.net(self.normalize(x)))


class PretrainedWeightsMissing(FileNotFoundError):
    """A model's pretrained-weights file is not where the config says."""


def _sha256_prefix(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_pretrained(model: nn.Module, model_cfg: dict, root=None) -> nn.Module:
    """Load ``model_cfg['weights']`` (a path, relative to ``root``) into a :class:`VGG16`: the state
    dict of ``torchvision.models.vgg16`` with its 1000 ImageNet classes, read with
    ``torch.load(weights_only=True)``. A file named as torchvision names its downloads
    (``<name>-<first 8 hex digits of its SHA-256>.pth``, e.g. vgg16-397923af.pth) is checked against
    that digest, as ``torch.hub`` does. A missing file raises :class:`PretrainedWeightsMissing`
    naming the file, where it goes and how to get it (nothing is downloaded)."""
    import re
    from pathlib import Path

    if not isinstance(model, VGG16):
        raise ValueError(f"model.weights: pretrained weights are supported for vgg16 only, not {type(model).__name__}")
    path = Path(model_cfg["weights"])
    if root is not None and not path.is_absolute():
        path = Path(root) / path
    path = path.resolve()
    w = _vgg16_weights()
    name = w.url.rsplit("/", 1)[-1]
    if not path.is_file():
        raise PretrainedWeightsMissing(
            f"model.weights: {path} does not exist. It must hold VGG16's ImageNet weights, torchvision's "
            f"VGG16_Weights.IMAGENET1K_V1 ({w.meta['num_params']:,} parameters, top-1 "
            f"{w.meta['_metrics']['ImageNet-1K']['acc@1']} %), the file {name} from {w.url}. Nothing is downloaded "
            f"here: on a machine with internet access run `curl -L -o {name} {w.url}` (or "
            f"`python -c \"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\"`, which saves "
            f"it as ~/.cache/torch/hub/checkpoints/{name}), then copy it to {path}.")
    match = re.search(r"-([a-f0-9]{8,})\.", path.name)
    if match and not _sha256_prefix(path).startswith(match.group(1)):
        raise ValueError(f"model.weights: {path} is damaged or not the published file: its SHA-256 does not start "
                         f"with {match.group(1)} (the digest its name promises); download {w.url} again")
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.net.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"model.weights: {path} is not a torchvision vgg16 state dict ({err})") from None
    return model


def build_model(model_cfg: dict, num_classes: int, in_channels: int, image_size: int,
                mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                class_index: Sequence[int] | None = None) -> nn.Module:
    """Model from the experiment's ``model`` section (``activation``, ``relu_decay_beta`` and, for
    preact_resnet18, ``blocks`` are optional: ReLU and two blocks per stage by default;
    ``class_index``: the source dataset's class indices of a class subset, read by vgg16)."""
    name = model_cfg["name"]
    act_name = model_cfg.get("activation", "relu")
    act = None if act_name == "relu" else make_activation(act_name, model_cfg.get("relu_decay_beta"))
    if "blocks" in model_cfg and name != "preact_resnet18":
        raise ValueError(f"model.blocks: only preact_resnet18 takes blocks per stage, not {name!r}")
    if name == "vgg16":
        if act is not None:
            raise ValueError(f"model.activation: vgg16 keeps torchvision's ReLUs (its ImageNet weights), not {act_name!r}")
        if model_cfg["width"] != VGG16_WIDTH:
            raise ValueError(f"model.width: vgg16 has {VGG16_WIDTH} channels in its first convolution; got "
                             f"{model_cfg['width']}")
        return VGG16(num_classes, in_channels, image_size, class_index)
    if name == "preact_resnet18":
        return PreActResNet18(num_classes, in_channels, model_cfg["width"], mean, std,
                              tuple(model_cfg.get("blocks", PREACT_BLOCKS)), act)
    if name == "resnet32":
        return ResNet32(num_classes, in_channels, model_cfg["width"], mean, std, act)
    if name == "resnet20":
        return ResNet20(num_classes, in_channels, model_cfg["width"], mean, std, act)
    if name == "convnet":
        return ConvNet(num_classes, in_channels, model_cfg["width"], image_size, mean, std, act)
    if name == "inception_v3":
        return InceptionV3(num_classes, in_channels, model_cfg["width"], image_size, mean, std, act)
    raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
