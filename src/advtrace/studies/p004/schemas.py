"""Paper 004's tables and config section (advtrace.stages)."""

_RUN = {
    "run": ("string", "training run (main = paper 000's chain; epoch 0 of main is the pretrained ERM model)"),
    "family": ("string", "erm (pretrained model), paper000 (paper 000's chain, sigma_mix), shared (paper 004's "
                         "method), or a baseline - deepfool_uad, fictitious_play"),
    "heap_size": ("int64", "sharedness s of the training heaps (0 = not the shared method)"),
    "eps_train": ("float64", "ε of the training adversary, [0,255] units (0 for ERM; baselines: of their universal "
                             "perturbations)"),
    "adv_weight": ("float64", "weight of the adversarial loss (paper 004's σ; paper 000's chain: 1 − its sigma; ERM 0; "
                              "baselines: p_adv, the share of perturbed inputs)"),
}


def _eps(key: str, what: str) -> dict:
    return {
        key: ("float64", f"{what}: smallest ε ([0,255]) the binary search found reaching rate δ (NaN: none ≤ 255)"),
        f"{key}_low": ("float64", f"{key}: 95 % bootstrap interval over evaluation inputs, low (the binary search "
                                  "re-run on each resample, adversary fixed; a value the search can return)"),
        f"{key}_high": ("float64", f"{key}: 95 % bootstrap interval, high (255 = a resample's search reaches δ at "
                                   "no ε ≤ 255)"),
    }


SCHEMAS = {
    "p004_robustness": (
        "Paper 004 Sec. 5: per evaluated (run, epoch), clean accuracy, ε_uni(δ), ε_adv(δ) and the random-noise ε "
        "(results/{exp}/tables/p004_robustness.parquet; Figs. 3, 5, Table A1).",
        {
            **_RUN,
            "epoch": ("int64", "completed training epochs of the run"),
            "accuracy": ("float64", "clean accuracy on the evaluation set"),
            "n": ("int64", "evaluation inputs"),
            "ci_low": ("float64", "accuracy: 95 % Wilson interval, low"),
            "ci_high": ("float64", "accuracy: 95 % Wilson interval, high"),
            **_eps("eps_uni", "universal perturbation (S-PGD on the generation set)"),
            **_eps("eps_adv", "per-input PGD"),
            **_eps("eps_random", "random ±ε sign noise, one pattern per input (baseline)"),
            "deepfool_eps": ("float64", "Fig. 3 right: ℓ∞ bound of the DeepFool universal perturbation, [0,255] "
                                        "units (NaN: not measured at this epoch)"),
            "deepfool_accuracy": ("float64", "accuracy on the evaluation set under the DeepFool universal "
                                             "perturbation (Moosavi-Dezfooli et al. 2017) generated on the "
                                             "generation set (NaN: not measured)"),
            "deepfool_ci_low": ("float64", "deepfool_accuracy: 95 % Wilson interval, low"),
            "deepfool_ci_high": ("float64", "deepfool_accuracy: 95 % Wilson interval, high"),
            "deepfool_fooling": ("float64", "the perturbation's fooling rate on the generation set (prediction "
                                            "changed)"),
        },
    ),
    "p004_search": (
        "Paper 004 Sec. 5.2: every ε the binary searches tried, with the misclassification rate reached "
        "(results/{exp}/tables/p004_search.parquet).",
        {
            "run": ("string", "training run"),
            "epoch": ("int64", "epoch of the run"),
            "measure": ("string", "universal, adversarial (per-input PGD) or random"),
            "step": ("int64", "binary-search iteration (0..b-1) at which the search tried this ε (origin bootstrap: "
                              "the iteration at which a search can reach it)"),
            "eps": ("float64", "ε tried, [0,255] units"),
            "origin": ("string", "search (the point estimate's binary search) or bootstrap (visited only by the "
                                 "search re-run on bootstrap resamples of the evaluation inputs, for the interval)"),
            "rate": ("float64", "misclassification rate on the evaluation inputs"),
            "n": ("int64", "evaluation inputs"),
            "ci_low": ("float64", "rate: 95 % Wilson interval, low"),
            "ci_high": ("float64", "rate: 95 % Wilson interval, high"),
            "success": ("bool", "rate ≥ δ"),
        },
    ),
    "p004_risk": (
        "Paper 004 Sec. 4.2: the risk ordering ρ_adv = ρ_heap(1) ≥ ρ_heap(2) ≥ … ≥ ρ_uni on one model "
        "(results/{exp}/tables/p004_risk.parquet).",
        {
            "run": ("string", "training run of the model"),
            "epoch": ("int64", "its epoch"),
            "eps": ("float64", "ℓ∞ bound of every perturbation, [0,255] units"),
            "kind": ("string", "clean (ρ_exp), heap (ρ_heap(s); s = 1 is ρ_adv) or universal (ρ_uni, S-PGD from the generation set)"),
            "heap_size": ("int64", "s (0 for clean and universal)"),
            "loss": ("float64", "mean thresholded loss min(J, κ) over the inputs"),
            "loss_low": ("float64", "loss: 95 % bootstrap interval, low"),
            "loss_high": ("float64", "loss: 95 % bootstrap interval, high"),
            "rate": ("float64", "misclassification rate (the 0-1 risk)"),
            "n": ("int64", "inputs"),
            "ci_low": ("float64", "rate: 95 % Wilson interval, low"),
            "ci_high": ("float64", "rate: 95 % Wilson interval, high"),
        },
    ),
    "p004_images": (
        "Paper 004 Fig. 1: an input and the universal perturbations at ε_uni of the undefended and defended "
        "models (results/{exp}/tables/p004_images.parquet).",
        {
            "run": ("string", "training run (the input's rows: the evaluation set)"),
            "epoch": ("int64", "epoch (-1 for the input)"),
            "kind": ("string", "input or perturbation"),
            "eps": ("float64", "the perturbation's ε (= its ε_uni), [0,255] units (0 for the input)"),
            "channel": ("int64", "channel"),
            "row": ("int64", "row"),
            "col": ("int64", "column"),
            "value": ("float64", "pixel value, [0,255] units (perturbation: signed)"),
        },
    ),
    "p004_front": (
        "Paper 004 Table A1: the Pareto-front entries (clean accuracy vs ε_uni(δ)) of each family's final models, "
        "with the front's hypervolume (results/{exp}/tables/p004_front.parquet).",
        {
            **_RUN,
            "epoch": ("int64", "epoch (the run's last)"),
            "accuracy": ("float64", "clean accuracy"),
            "n": ("int64", "evaluation inputs"),
            "ci_low": ("float64", "accuracy: 95 % Wilson interval, low"),
            "ci_high": ("float64", "accuracy: 95 % Wilson interval, high"),
            "eps_uni": ("float64", "ε_uni(δ), [0,255] units"),
            "eps_uni_low": ("float64", "ε_uni: 95 % bootstrap interval, low"),
            "eps_uni_high": ("float64", "ε_uni: 95 % bootstrap interval, high"),
            "eps_adv": ("float64", "ε_adv(δ), [0,255] units"),
            "hypervolume": ("float64", "area dominated by the family's front above (reference accuracy, ε = 0), "
                                       "accuracy × ε units"),
            "hypervolume_low": ("float64", "hypervolume of the fronts' interval lows (accuracy and ε_uni lows)"),
            "hypervolume_high": ("float64", "hypervolume of the interval highs"),
        },
    ),
}

SCHEMAS["p004_cost"] = (
    "Paper 004 Sec. 6.1: training cost per epoch of each defence's runs (results/{exp}/tables/p004_cost.parquet; "
    "reports/p004_cost.md).",
    {
        **_RUN,
        "epochs": ("int64", "epochs the run trained"),
        "jobs": ("int64", "its training jobs"),
        "job_cpu_s": ("float64", "CPU seconds of its training jobs (the jobs' benchmark tables; start-up included)"),
        "job_wall_s": ("float64", "wall seconds of its training jobs (benchmarks)"),
        "cpu_s_per_epoch": ("float64", "mean CPU seconds per epoch (source manifest: timed inside the job, start-up "
                                       "excluded; benchmark: the one-epoch job's CPU time)"),
        "cpu_s_min": ("float64", "fewest CPU seconds of one epoch"),
        "cpu_s_max": ("float64", "most CPU seconds of one epoch (a baseline's round start computes its perturbations)"),
        "source": ("string", "manifest (chained jobs' per-epoch timing) or benchmark"),
        "relative": ("float64", "cpu_s_per_epoch / mean over the standard adversarial-training runs (shared, s = 1)"),
    },
)

_EVAL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["delta", "generation_set", "eval_set", "m", "iterations", "search_steps", "gamma",
                 "beta", "kappa", "adv_iterations", "gamma_adv", "chunk_size", "bootstrap", "deepfool"],
    "description": "robustness measures (Sec. 5.2); paper (CIFAR-10) values in the descriptions",
    "properties": {
        "delta": {"description": "misclassification rate δ the ε must reach (paper - 0.75)", "type": "number",
                  "exclusiveMinimum": 0, "maximum": 1},
        "generation_set": {"description": "sample set the universal perturbations are generated on (paper - 5000 validation inputs)",
                           "type": "string"},
        "eval_set": {"description": "sample set every rate is measured on, disjoint from generation_set (paper - 512 test inputs)",
                     "type": "string"},
        "m": {"description": "m̃, generation inputs per S-PGD update (paper - 16)", "type": "integer", "minimum": 1},
        "iterations": {"description": "K, S-PGD updates per ε (paper - 200)", "type": "integer", "minimum": 1},
        "search_steps": {"description": "b, binary-search iterations over [0, 255] (paper - 10)", "type": "integer",
                         "minimum": 1},
        "gamma": {"description": "γ of the annealed step α_k = βεγ^k/Σγ^j (paper - 0.975)", "type": "number",
                  "exclusiveMinimum": 0, "maximum": 1},
        "beta": {"description": "β, the steps sum to βε (paper - 4)", "type": "number", "exclusiveMinimum": 0},
        "kappa": {"description": "threshold κ of the adversaries' loss min(J, κ) (paper - -log 0.2 = 1.609)",
                  "type": "number", "exclusiveMinimum": 0},
        "adv_iterations": {"description": "per-input PGD iterations per ε for ε_adv (paper - as K)", "type": "integer",
                           "minimum": 1},
        "gamma_adv": {"description": "γ of the per-input PGD's annealed step", "type": "number", "exclusiveMinimum": 0,
                      "maximum": 1},
        "chunk_size": {"description": "inputs per forward pass", "type": "integer", "minimum": 1},
        "bootstrap": {"description": "bootstrap resamples of the intervals (each re-runs the binary search on "
                                     "resampled evaluation inputs)", "type": "integer", "minimum": 100},
        "init": {"description": "start ξ⁽⁰⁾ of the S-PGD and per-input PGD adversaries - uniform (U[-ε, ε] per "
                                "pixel; paper Sec. 3.2 - PGD \"initializes ξ⁽⁰⁾ uniformly at random in S\"; the "
                                "default) or zero (ξ = 0)", "enum": ["uniform", "zero"]},
        "deepfool": {
            "description": "Fig. 3 right - accuracy under the DeepFool universal perturbation (Moosavi-Dezfooli "
                           "et al. 2017, Algorithm 1, ℓ∞) at a fixed ε, generated on generation_set, measured on "
                           "eval_set, for ERM, the main chain's epochs and each run's last epoch (paper - ε 20 on "
                           "CIFAR-10; fooling rate 80 %, overshoot 0.02, 10 DeepFool iterations: the reference's)",
            "type": "object", "additionalProperties": False,
            "required": ["eps", "fooling_rate", "max_passes", "overshoot", "max_iter", "chunk_size"],
            "properties": {
                "eps": {"description": "ℓ∞ bound, [0,255] units (paper - 20)", "type": "number", "exclusiveMinimum": 0},
                "fooling_rate": {"description": "stop once this fraction of the generation inputs changes "
                                                "prediction (1 - δ; reference - 0.8)", "type": "number",
                                 "exclusiveMinimum": 0, "maximum": 1},
                "max_passes": {"description": "at most this many passes over the generation set", "type": "integer",
                               "minimum": 1},
                "overshoot": {"description": "DeepFool overshoot (reference - 0.02)", "type": "number",
                              "exclusiveMinimum": 0},
                "max_iter": {"description": "DeepFool iterations per input (reference - 10)", "type": "integer",
                             "minimum": 1},
                "chunk_size": {"description": "inputs whose DeepFool steps are computed at one perturbation, then "
                                              "applied in order (1 = the sequential algorithm)", "type": "integer",
                               "minimum": 1},
            },
        },
    },
}

CONFIG = {
    "description": (
        "paper 004 study (Mummadi et al. 2019, shared adversarial training): a grid of fine-tuning runs, "
        "their ε_uni(δ)/ε_adv(δ) by binary search, Pareto fronts (Fig. 3, Table A1), the risk ordering over s, "
        "per-epoch curves (Fig. 5) and perturbation images (Fig. 1)"),
    "type": "object",
    "additionalProperties": False,
    "required": ["runs", "evaluation", "main_epochs", "curve_runs", "risk", "front", "images"],
    "properties": {
        "runs": {"$ref": "#/$defs/runs"},
        "evaluation": _EVAL,
        "main_epochs": {"description": "epochs of paper 000's main chain evaluated (0 = the ERM model; the rest: "
                                       "its trajectory on the Pareto axes)",
                        "type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        "curve_runs": {"description": "runs evaluated at every epoch (Fig. 5: s = 1 vs the largest s); the others "
                                      "at their last epoch only", "type": "array", "items": {"type": "string"}},
        "curve_step": {"description": "a curve run is evaluated every curve_step-th epoch (k, 2k, ..., and its last "
                                      "epoch T); default 1: every epoch", "type": "integer", "minimum": 1},
        "risk": {
            "description": "the risk ordering over s on one model (Sec. 4.2)",
            "type": "object", "additionalProperties": False,
            "required": ["run", "epoch", "eps", "alpha", "iterations", "heap_sizes"],
            "properties": {
                "run": {"description": "run of the model (main or a paper004 run)", "type": "string"},
                "epoch": {"description": "its epoch (one the run's evaluation job evaluates)", "type": "integer",
                          "minimum": 0},
                "eps": {"description": "ℓ∞ bound, [0,255] units", "type": "number", "exclusiveMinimum": 0},
                "alpha": {"description": "heap PGD step, [0,255] units", "type": "number", "exclusiveMinimum": 0},
                "iterations": {"description": "heap PGD iterations", "type": "integer", "minimum": 1},
                "heap_sizes": {"description": "sharedness values s (capped at the evaluation set's size)",
                               "type": "array", "minItems": 2, "items": {"type": "integer", "minimum": 1}},
            },
        },
        "front": {
            "description": "Pareto fronts", "type": "object", "additionalProperties": False,
            "required": ["reference_accuracy"],
            "properties": {"reference_accuracy": {"description": "hypervolume reference point's accuracy (ε: 0)",
                                                  "type": "number", "minimum": 0, "maximum": 1}},
        },
        "images": {
            "description": "Fig. 1", "type": "object", "additionalProperties": False,
            "required": ["defended", "input_rank"],
            "properties": {
                "defended": {"description": "run whose last epoch is the defended model (undefended - ERM)",
                             "type": "string"},
                "input_rank": {"description": "which evaluation input is shown", "type": "integer", "minimum": 0},
            },
        },
    },
}
