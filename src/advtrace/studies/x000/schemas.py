"""The cross-method study's tables and config section (advtrace.stages)."""

SCHEMAS = {
    "x000_metrics": (
        "Beyond the papers: paper 000's measures of each compared run, per analysed epoch, read from paper 000's "
        "tables (results/{exp}/tables/x000_metrics.parquet; figures x000_methods_final, x000_methods_training).",
        {
            "role": ("string", "the run's training method in the comparison: standard (BI, paper 000), one_step "
                               "(k-of-m with a one-step adversary, paper 002) or shared (heaps of s > 1, paper 004)"),
            "run": ("string", "training run (advtrace.runs)"),
            "T": ("int64", "the run's adversarial-training epochs"),
            "epoch": ("int64", "epoch of the run (stable_share, oscillating_share: T, the whole profile: its profile epochs 0..T)"),
            "fraction": ("float64", "epoch / T: the fraction of the run's training"),
            "metric": ("string", "clean_accuracy and universal_accuracy (universal.eval_set; universal: the "
                                 "train-generated perturbation of the same epoch), sharedness (mean % of the other "
                                 "inputs a perturbation fools, as a fraction), detectability (respective detector, "
                                 "cross_method.attack), stable_share (MaxMin < 0.5) and oscillating_share (MaxMin >= "
                                 "0.5 > MinMax) of the profile inputs"),
            "value": ("float64", "the measure (a fraction)"),
            "ci_low": ("float64", "95 % interval, low (Wilson; sharedness: bootstrap over perturbations)"),
            "ci_high": ("float64", "95 % interval, high"),
            "n": ("int64", "inputs (sharedness: perturbations) behind the value"),
        },
    ),
    "x000_comparisons": (
        "Beyond the papers: one row per claim of the cross-method study, the comparison behind it with its test, "
        "its raw and Holm-adjusted p-value over the study's family and the verdict "
        "(results/{exp}/tables/x000_comparisons.parquet).",
        {
            "claim": ("string", "claim identifier (claims table)"),
            "metric": ("string", "the compared measure (x000_metrics.metric; stability: stable vs oscillating share)"),
            "run_a": ("string", "the run the claim is about"),
            "run_b": ("string", "the run it is compared with (= run_a for a comparison within one run)"),
            "epoch_a": ("int64", "epoch of run_a compared (-1: none)"),
            "epoch_b": ("int64", "epoch of run_b compared (-1: none)"),
            "matching": ("string", "how the runs are matched: equal clean accuracy (each run's final epoch, clean "
                                   "accuracies within cross_method.accuracy_tolerance) or within one run"),
            "value_a": ("float64", "the measure of run_a (NaN: not measured)"),
            "value_b": ("float64", "the measure of run_b (within one run: the oscillating share)"),
            "diff": ("float64", "value_a - value_b"),
            "diff_ci_low": ("float64", "95 % interval of diff, low (paired t for sharedness, else normal approximation)"),
            "diff_ci_high": ("float64", "95 % interval of diff, high"),
            "n_a": ("int64", "inputs behind value_a"),
            "n_b": ("int64", "inputs behind value_b"),
            "test": ("string", "paired t (sharedness, per perturbation of the same inputs), two-proportion z, TOST "
                               "(equivalence within cross_method.equivalence_margin) or binomial (stable vs "
                               "oscillating inputs)"),
            "p_value": ("float64", "the test's p-value (two-sided; TOST: the larger one-sided p); NaN: not measured"),
            "p_holm": ("float64", "Holm-adjusted over every measured comparison of the study"),
            "status": ("string", "holds / does not hold (Holm-adjusted p < cross_method.alpha, in / against the "
                                 "claimed direction; an equivalence fails when the interval of diff lies outside "
                                 "the margin), inconclusive, or not measured"),
            "reason": ("string", "why not measured (a run too short, at chance, not analysed, not matched), else empty"),
        },
    ),
}

CONFIG = {
    "description": (
        "beyond the papers: paper 000's stability, sharedness, universal accuracy and detectability of three "
        "training methods, compared (advtrace.studies.x000); each run must be in stability.runs, universal.runs and "
        "detect.runs"),
    "type": "object",
    "additionalProperties": False,
    "required": ["methods", "attack", "min_epochs", "accuracy_tolerance", "equivalence_margin", "alpha"],
    "properties": {
        "methods": {
            "description": "the run of each method - standard (sigma_mix with an iterative adversary, paper 000), "
                           "one_step (kofm with a one-step adversary, paper 002), shared (shared with heap_size > 1, "
                           "paper 004)",
            "type": "object",
            "additionalProperties": False,
            "required": ["standard", "one_step", "shared"],
            "properties": {k: {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}
                           for k in ("standard", "one_step", "shared")},
        },
        "attack": {"description": "detect.attacks label whose respective detectability is compared (BI)",
                   "type": "string"},
        "min_epochs": {"description": "a run with fewer adversarial-training epochs is too short to say what its "
                                      "method does: its comparisons are not measured", "type": "integer", "minimum": 1},
        "accuracy_tolerance": {"description": "runs are matched by equal clean accuracy when their final clean "
                                              "accuracies differ by at most this (a fraction); otherwise the "
                                              "comparison is not measured", "type": "number", "exclusiveMinimum": 0,
                               "maximum": 1},
        "equivalence_margin": {"description": "'as detectable as': the difference lies within +-margin (a fraction; "
                                              "TOST)", "type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "alpha": {"description": "family-wise error rate of the study's comparisons (Holm)", "type": "number",
                  "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    },
}
