"""Confidence intervals and three-way verdicts (numpy only, no torch).

Every rate the workflow reports carries its n and a 95 % interval:

* a proportion (accuracy, destruction rate, detectability, transfer rate, a share of inputs):
  the Wilson score interval, :func:`wilson` / :func:`proportion`;
* a mean of per-input quantities (sharedness, a cost change, a per-input ε): a percentile
  bootstrap over inputs, :func:`bootstrap_mean`.

A family of several comparisons is corrected with :func:`holm`.

A claim that compares two numbers has three verdicts (:func:`compare`): ``holds`` when the
intervals are disjoint in the paper's direction, ``does not hold`` when they are disjoint the
other way, ``inconclusive`` when they overlap. A claim with a threshold uses :func:`against`:
the whole interval on the paper's side of the threshold holds, the whole interval on the other
side does not, an interval containing the threshold is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 % normal quantile

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
# a claim's answer where the run cannot decide it (e.g. every model at chance): no verdict
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Estimate:
    """A rate or mean with its sample size and 95 % interval."""

    value: float
    low: float
    high: float
    n: int

    def pct(self, digits: int = 1) -> str:
        """``62.0 % [57.1, 66.7] (n = 500)``."""
        if not math.isfinite(self.value):
            return f"n/a (n = {self.n})"
        return (f"{100 * self.value:.{digits}f} % [{100 * self.low:.{digits}f}, "
                f"{100 * self.high:.{digits}f}] (n = {self.n})")

    def num(self, digits: int = 3) -> str:
        if not math.isfinite(self.value):
            return f"n/a (n = {self.n})"
        return f"{self.value:.{digits}g} [{self.low:.{digits}g}, {self.high:.{digits}g}] (n = {self.n})"


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials; (nan, nan) for n = 0."""
    n = int(n)
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ValueError(f"wilson: k = {k} is not within 0..n = {n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exactly 0 (1) for k = 0 (k = n): the closed form leaves float residue of ~1e-17 there, which
    # would let a claim "rate > 0" hold on zero successes
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


def proportion(k: float, n: int) -> Estimate:
    """k of n as an :class:`Estimate` with its Wilson interval."""
    lo, hi = wilson(k, n)
    return Estimate(k / n if n else float("nan"), lo, hi, int(n))


def bootstrap_mean(values, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean of per-input values with a percentile-bootstrap interval over inputs (seeded, so a
    table is a pure function of its inputs)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if n == 1:
        return Estimate(float(x[0]), float(x[0]), float(x[0]), 1)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return Estimate(float(x.mean()), float(lo), float(hi), n)


def compare(a: Estimate, b: Estimate, direction: str = ">") -> str:
    """Verdict of the claim ``a > b`` (or ``a < b``): holds / does not hold / inconclusive."""
    if direction not in (">", "<"):
        raise ValueError(f"compare: direction is '>' or '<', not {direction!r}")
    if direction == "<":
        a, b = b, a
    if any(math.isnan(v) for v in (a.low, a.high, b.low, b.high)):
        return INCONCLUSIVE
    if a.low > b.high:
        return HOLDS
    if a.high < b.low:
        return FAILS
    return INCONCLUSIVE


def against(a: Estimate, threshold: float, direction: str = ">=") -> str:
    """Verdict of the claim ``a >= threshold`` (``>``, ``<=``, ``<`` alike) given a's interval."""
    if direction not in (">", ">=", "<", "<="):
        raise ValueError(f"against: direction is one of > >= < <=, not {direction!r}")
    if math.isnan(a.low) or math.isnan(a.high):
        return INCONCLUSIVE
    above = direction.startswith(">")
    lo_ok = a.low > threshold if direction in (">", "<=") else a.low >= threshold
    hi_ok = a.high < threshold if direction in ("<", ">=") else a.high <= threshold
    if above:
        return HOLDS if lo_ok else (FAILS if hi_ok else INCONCLUSIVE)
    return HOLDS if hi_ok else (FAILS if lo_ok else INCONCLUSIVE)


def combine(verdicts) -> str:
    """All of several verdicts: fails if any fails, holds if all hold, else inconclusive."""
    verdicts = list(verdicts)
    if any(v == FAILS for v in verdicts):
        return FAILS
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE


def wilson_columns(k, n) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise Wilson 95 % intervals of k successes in n trials (arrays; NaN where n = 0).

    ``k`` may be fractional (a rate times n, e.g. a mean over draws); it is clipped to [0, n]."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip(k / n, 0.0, 1.0)
        z2 = Z95 * Z95
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        lo = np.where(n > 0, np.maximum(0.0, centre - half), np.nan)
        hi = np.where(n > 0, np.minimum(1.0, centre + half), np.nan)
    return lo, hi


def with_wilson(df, rate: str, n: str = "n", low: str = "ci_low", high: str = "ci_high"):
    """``df`` (a DataFrame) with Wilson 95 % interval columns of the proportion ``df[rate]`` over ``df[n]``."""
    df = df.copy()
    df[low], df[high] = wilson_columns(df[rate].to_numpy(np.float64) * df[n].to_numpy(np.float64), df[n])
    return df


def pooled(k, n) -> Estimate:
    """Σk of Σn as an :class:`Estimate` (a rate pooled over several cells)."""
    k, n = float(np.sum(k)), int(np.sum(n))
    return proportion(k, n) if n else Estimate(float("nan"), float("nan"), float("nan"), 0)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (Holm 1979): the i-th smallest becomes
    max over j <= i of min(1, (m - j + 1) p_(j)). Rejecting where the adjusted value is below α keeps
    the family-wise error rate at α, so one lucky comparison among many is not a finding. NaN entries
    (comparisons not made) are left out of the family and stay NaN."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
