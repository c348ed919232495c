"""Intervals and verdicts (advtrace.stats) against independent computations."""

import math

import numpy as np
import pytest

from advtrace.stats import (FAILS, HOLDS, INCONCLUSIVE, Estimate, against, bootstrap_mean, combine, compare,
                            proportion, wilson)


def test_wilson_matches_the_closed_form_and_known_values():
    # Newcombe (1998), Table I: 81 of 263 -> 0.2553 .. 0.3662 (Wilson score)
    lo, hi = wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=5e-4) and hi == pytest.approx(0.3662, abs=5e-4)
    # 0 of 10: lower bound 0, upper z^2/(n+z^2)
    lo, hi = wilson(0, 10)
    z2 = 1.959963984540054 ** 2
    assert lo == 0.0 and hi == pytest.approx(z2 / (10 + z2))
    assert all(math.isnan(v) for v in wilson(0, 0))
    # no float residue at the ends: 0 of n has lower bound exactly 0, n of n upper bound exactly 1
    for n in (7, 500, 547):
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0
        assert against(proportion(0, n), 0.0, ">") == INCONCLUSIVE  # never "holds" on zero successes
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_wilson_covers_about_95_percent():
    rng = np.random.default_rng(0)
    n, p = 60, 0.3
    ks = rng.binomial(n, p, size=4000)
    cover = np.mean([lo <= p <= hi for lo, hi in (wilson(k, n) for k in ks)])
    assert 0.93 <= cover <= 0.97


def test_proportion_and_text():
    e = proportion(50, 200)
    assert e.value == 0.25 and e.n == 200 and e.low < 0.25 < e.high
    assert e.pct().startswith("25.0 % [") and e.pct().endswith("(n = 200)")


def test_bootstrap_mean_brackets_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = bootstrap_mean(rng.normal(1.0, 1.0, 30))
    large = bootstrap_mean(rng.normal(1.0, 1.0, 3000))
    assert small.low < small.value < small.high and large.low < large.value < large.high
    assert (large.high - large.low) < (small.high - small.low) / 5
    # deterministic for a given seed; nan values are ignored
    x = [1.0, 2.0, float("nan"), 3.0]
    assert bootstrap_mean(x) == bootstrap_mean(x) and bootstrap_mean(x).n == 3
    assert bootstrap_mean([]).n == 0


def test_compare_and_against_three_verdicts():
    hi, lo_ = Estimate(0.8, 0.75, 0.85, 100), Estimate(0.5, 0.4, 0.6, 100)
    mid = Estimate(0.7, 0.55, 0.8, 100)
    assert compare(hi, lo_) == HOLDS and compare(lo_, hi) == FAILS and compare(hi, mid) == INCONCLUSIVE
    assert compare(lo_, hi, "<") == HOLDS
    assert against(hi, 0.7) == HOLDS and against(lo_, 0.7) == FAILS and against(mid, 0.7) == INCONCLUSIVE
    assert against(lo_, 0.7, "<") == HOLDS and against(hi, 0.7, "<=") == FAILS
    assert combine([HOLDS, HOLDS]) == HOLDS and combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([HOLDS, FAILS, INCONCLUSIVE]) == FAILS
