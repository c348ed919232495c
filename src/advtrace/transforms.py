"""Image transformations of the destruction-rate sweeps (paper 000 Sec. 3.3, App. F; Kurakin et
al. 2017, "Adversarial examples in the physical world").

Every function takes a float batch ``x`` (N×C×H×W) in **[0, 255] pixel units** and returns a new
tensor in the same units, clipped to the valid range [0, 255]:

* :func:`brightness` — additive brightness change ``x + δ`` (δ in pixel units, may be negative);
* :func:`contrast` — multiplicative contrast change ``x · μ`` (μ > 0; μ < 1 lowers contrast);
* :func:`blur` — Gaussian blur with standard deviation σ (pixels): a separable kernel of
  ``2·ceil(3σ) + 1`` taps normalised to sum 1, applied per channel with replicate padding at the
  border (so a constant image is unchanged); σ = 0 is the identity;
* :func:`noise` — additive Gaussian noise with standard deviation σ (pixel units), drawn from a
  seeded generator (:func:`standard_noise`) so every run, device and batch size sees the same
  noise.

At the identity strength (δ = 0, μ = 1, σ = 0) every transformation returns its input unchanged
(bit for bit, no clipping or rounding), so the destruction rate there is exactly 0. Images are not
re-quantised to integers after the transformation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

TRANSFORMS = ("brightness", "contrast", "blur", "noise")
IDENTITY = {"brightness": 0.0, "contrast": 1.0, "blur": 0.0, "noise": 0.0}
UNITS = {
    "brightness": "additive change δ (pixel units, [0,255] scale)",
    "contrast": "multiplicative factor μ",
    "blur": "Gaussian blur σ (pixels)",
    "noise": "Gaussian noise σ (pixel units, [0,255] scale)",
}
TRUNCATE = 3.0  # the blur kernel reaches ceil(TRUNCATE·σ) pixels either side of its centre
MAX = 255.0


def brightness(x: torch.Tensor, delta: float) -> torch.Tensor:
    """x + δ, clipped to [0, 255]."""
    if delta == 0:
        return x.clone()
    return (x + float(delta)).clamp_(0.0, MAX)


def contrast(x: torch.Tensor, mu: float) -> torch.Tensor:
    """x · μ, clipped to [0, 255]."""
    if mu <= 0:
        raise ValueError(f"contrast factor μ must be > 0, got {mu}")
    if mu == 1:
        return x.clone()
    return (x * float(mu)).clamp_(0.0, MAX)


def gaussian_kernel1d(sigma: float, dtype: torch.dtype = torch.float32,
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """Normalised 1-D Gaussian of 2·ceil(3σ)+1 taps (σ = 0 gives the identity kernel [1])."""
    if sigma < 0:
        raise ValueError(f"blur σ must be >= 0, got {sigma}")
    if sigma == 0:
        return torch.ones(1, dtype=dtype, device=device)
    radius = max(1, math.ceil(TRUNCATE * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur per channel (replicate padding), clipped to [0, 255]."""
    if sigma == 0:
        return x.clone()
    k = gaussian_kernel1d(sigma, x.dtype, x.device)
    r = (k.numel() - 1) // 2
    c = x.shape[1]
    out = F.pad(x, (r, r, r, r), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along the width
    out = F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along the height
    return out.clamp_(0.0, MAX)


def standard_noise(shape: tuple[int, ...] | torch.Size, seed: int) -> torch.Tensor:
    """Standard-normal draws of `shape` from a CPU generator seeded with `seed` (float32, CPU).

    Drawn once for a whole sample set on the CPU, so the noise of an input does not depend on the
    device, the batch size or the other strengths of the sweep; σ only scales it (common random
    numbers across strengths, epochs and attacks).
    """
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(tuple(shape), generator=g, dtype=torch.float32)


def noise(x: torch.Tensor, sigma: float, z: torch.Tensor) -> torch.Tensor:
    """x + σ·z (z standard normal, same shape as x), clipped to [0, 255]."""
    if sigma < 0:
        raise ValueError(f"noise σ must be >= 0, got {sigma}")
    if z.shape != x.shape:
        raise ValueError(f"noise draws have shape {tuple(z.shape)}, images {tuple(x.shape)}")
    if sigma == 0:
        return x.clone()
    return (x + float(sigma) * z.to(device=x.device, dtype=x.dtype)).clamp_(0.0, MAX)


def apply(name: str, x: torch.Tensor, strength: float, z: torch.Tensor | None = None) -> torch.Tensor:
    """Apply the transformation `name` at `strength` ([0,255] images); `z` is needed for noise."""
    if name == "brightness":
        return brightness(x, strength)
    if name == "contrast":
        return contrast(x, strength)
    if name == "blur":
        return blur(x, strength)
    if name == "noise":
        if z is None:
            raise ValueError("the noise transformation needs standard-normal draws z (standard_noise)")
        return noise(x, strength, z)
    raise ValueError(f"unknown transformation {name!r}; allowed: {', '.join(TRANSFORMS)}")
