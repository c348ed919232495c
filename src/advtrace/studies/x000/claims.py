"""The cross-method study's claims: one per comparison of :mod:`.analysis` (table x000_comparisons).

No paper states them: they are the questions paper 000's analyses can ask of papers 002's and
004's training methods. Each claim's verdict is its comparison's, after the Holm correction over
the study's whole family; a run too short, at chance or not matched in clean accuracy gives
``not measured`` with the reason.
"""

from __future__ import annotations

import math

import pandas as pd

from ...claims import Claim
from .analysis import COMPARISONS, NOT_MEASURED, ROLE_TEXT

_FAMILY = (f"Holm-adjusted p < cross_method.alpha over the study's {len(COMPARISONS)} comparisons "
           "(the family: one lucky interval is not a finding)")
_ACCURACY = "runs matched by equal clean accuracy (each run's last epoch; within cross_method.accuracy_tolerance)"

_TEXT = {  # claim -> (statement, criterion)
    "x000_shared_lowers_sharedness": (
        "Shared adversarial training lowers sharedness more than standard (BI) adversarial training",
        f"mean sharedness of the last epoch, shared < BI (paired t over the perturbations of the same inputs); "
        f"{_ACCURACY}; {_FAMILY}"),
    "x000_one_step_keeps_sharedness": (
        "One-step k-of-m training lowers sharedness less than BI adversarial training",
        f"mean sharedness of the last epoch, one-step > BI (paired t); {_ACCURACY}; {_FAMILY}"),
    "x000_shared_raises_universal_accuracy": (
        "Shared adversarial training leaves a model more accurate under its own universal perturbation than BI "
        "adversarial training",
        f"accuracy under the train-generated universal perturbation of the last epoch, shared > BI (two-proportion "
        f"z); {_ACCURACY}; {_FAMILY}"),
    "x000_one_step_lowers_universal_accuracy": (
        "One-step k-of-m training leaves a model less accurate under its own universal perturbation than BI "
        "adversarial training",
        f"universal accuracy of the last epoch, one-step < BI (two-proportion z); {_ACCURACY}; {_FAMILY}"),
    "x000_one_step_as_detectable": (
        "One-step training leaves BI perturbations as detectable as BI training",
        f"respective detectability of the last epoch within ± cross_method.equivalence_margin of BI training's "
        f"(TOST; does not hold when the difference's 95 % interval lies outside the margin); {_ACCURACY}; {_FAMILY}"),
    "x000_shared_as_detectable": (
        "Shared adversarial training leaves BI perturbations as detectable as BI training",
        f"respective detectability of the last epoch within ± cross_method.equivalence_margin of BI training's "
        f"(TOST); {_ACCURACY}; {_FAMILY}"),
    "x000_shared_stable_dominates": (
        "Under shared adversarial training, as under BI training (paper 000 Sec. 3.1), stable perturbations are more "
        "frequent than oscillation",
        f"share(MaxMin < 0.5) > share(MaxMin >= 0.5 > MinMax) of the profile inputs over the run's profile epochs (0 to T) "
        f"(binomial test among those inputs); within one run, nothing to match; {_FAMILY}"),
    "x000_one_step_stable_dominates": (
        "Under one-step k-of-m training, as under BI training, stable perturbations are more frequent than "
        "oscillation",
        f"share(MaxMin < 0.5) > share(MaxMin >= 0.5 > MinMax) over the run's profile epochs (0 to T) (binomial test); within "
        f"one run; {_FAMILY}"),
}


def _measure(claim: str):
    def measure(comparisons: pd.DataFrame):
        r = comparisons.set_index("claim").loc[claim]
        if r["status"] == NOT_MEASURED:
            return f"not measured: {r['reason']}", NOT_MEASURED, float("nan")
        within = r["run_a"] == r["run_b"]
        names = (("stable", "oscillating") if within else (f"{r['run_a']} (epoch {r['epoch_a']})",
                                                           f"{r['run_b']} (epoch {r['epoch_b']})"))
        text = (f"{names[0]} {100 * r['value_a']:.1f} % (n = {r['n_a']}) vs {names[1]} {100 * r['value_b']:.1f} % "
                f"(n = {r['n_b']}); difference {100 * r['diff']:+.1f} points [{100 * r['diff_ci_low']:+.1f}, "
                f"{100 * r['diff_ci_high']:+.1f}]; {r['test']}: p = {r['p_value']:.2g}, Holm {r['p_holm']:.2g}")
        return text, r["status"], float(r["diff"]) if math.isfinite(r["diff"]) else float("nan")

    return measure


CLAIMS = [
    Claim(c.claim, "beyond the papers", _TEXT[c.claim][0], "(no paper; "
          + (ROLE_TEXT[c.role_a] if c.role_a == c.role_b else f"{ROLE_TEXT[c.role_a]} vs {ROLE_TEXT[c.role_b]}") + ")",
          _TEXT[c.claim][1], ("x000_comparisons",), _measure(c.claim), paper="x000")
    for c in COMPARISONS
]
