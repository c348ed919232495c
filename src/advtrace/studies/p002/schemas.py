"""Paper 002's tables and config section (advtrace.stages contract)."""

from __future__ import annotations

_RATE = {
    "n": ("int64", "number of inputs the rate is over"),
    "ci_low": ("float64", "95 % Wilson interval, lower end"),
    "ci_high": ("float64", "95 % Wilson interval, upper end"),
}
_MODEL = {
    "run": ("string", "training run (advtrace.runs; main = the experiment's own chain)"),
    "epoch": ("int64", "its epoch: epochs of its adv_train method after pretraining (0 = after the clean delay)"),
    "model": ("string", "architecture and width, e.g. preact_resnet18/16"),
    "training": ("string", "how the model was trained: none (epoch 0) or the kofm adversary, e.g. step_ll k=16/32"),
    "roles": ("string", "the model's roles in the study, comma separated: reference (step l.l., Tables 1-3), "
                        "baseline (no adversarial training), methods (Table 5), k (Table 8), capacity (Figs. 1/4), "
                        "activations (Table 7), deeper / deeper_baseline (Table 1's deeper model)"),
    "epochs_total": ("int64", "epochs trained from scratch: pretraining (paper 002's clean delay) + epoch"),
}

SCHEMAS = {
    "p002_accuracy": (
        "Paper 002 Tables 1, 2, 3, 5, 8 and Fig. 3: accuracy of each evaluated model on clean test inputs and "
        "under each attack and ε (results/{exp}/tables/p002_accuracy.parquet).",
        {
            **_MODEL,
            "attack": ("string", "clean, fgsm (true labels), fgsm_pred (predicted labels), step_ll, step_rnd, "
                                 "fast_entropy, fast_grad_l2, fast_grad_linf, rand_sign, rand_normal (App. A, the "
                                 "reference only), iter_ll, bi"),
            "classes": ("int64", "number of classes (chance top-1 accuracy = 1 / classes)"),
            "eps": ("float64", "ℓ∞ bound in [0,255] units of this experiment (0 for clean)"),
            "eps_paper": ("float64", "the same ε in paper 002's units (eps / paper002.alpha; 0 for clean)"),
            "iterations": ("int64", "gradient steps: int(min(ε/α+4, 1.25ε/α)) for the iterative attacks, 1 for the one-step ones, 0 for clean and the random perturbations"),
            "top": ("int64", "top-k accuracy: 1 or 5"),
            "correct": ("int64", "inputs whose true label is among the top-k predictions"),
            "accuracy": ("float64", "correct / n"),
            **_RATE,
        },
    ),
    "p002_label_leaking": (
        "Paper 002 Sec. 4.2: leaked labels, inputs classified correctly under FGSM with the true label but "
        "misclassified under FGSM with the predicted label (results/{exp}/tables/p002_label_leaking.parquet).",
        {
            **_MODEL,
            "eps": ("float64", "ℓ∞ bound in [0,255] units of this experiment"),
            "eps_paper": ("float64", "the same ε in paper 002's units"),
            "leaked": ("int64", "number of leaked labels"),
            "rate": ("float64", "leaked / n"),
            **_RATE,
        },
    ),
    "p002_transfer": (
        "Paper 002 Table 4 and Fig. 2 (and App. C Table 6): transfer rate of adversarial examples from a source "
        "to a target model, among the inputs the source classifies correctly clean and wrongly adversarial "
        "(results/{exp}/tables/p002_transfer.parquet).",
        {
            "source": ("string", "source model: its letter and run (A = p002_step_ll@0 …)"),
            "target": ("string", "target model, as source"),
            "attack": ("string", "fgsm, bi or iter_ll"),
            "eps": ("float64", "ℓ∞ bound in [0,255] units of this experiment"),
            "eps_paper": ("float64", "the same ε in paper 002's units"),
            "top": ("int64", "top-k misclassification: 1 or 5"),
            "transferred": ("int64", "prefiltered inputs the target misclassifies"),
            "rate": ("float64", "transfer rate, transferred / n"),
            **{**_RATE, "n": ("int64", "prefiltered inputs: source correct on clean, wrong on adversarial")},
            "candidates": ("int64", "inputs attacked (before prefiltering)"),
            "target_errors": ("int64", "of all candidates, those the target misclassifies (App. C error rate, "
                                       "Table 6 / Fig. 5; on the diagonal: the source's white-box error)"),
            "classes": ("int64", "number of classes (chance top-1 accuracy = 1 / classes)"),
        },
    ),
    "p002_capacity": (
        "Paper 002 Figs. 1 and 4: ratio of adversarial to clean accuracy per model width ρ, with and without "
        "step l.l. adversarial training (results/{exp}/tables/p002_capacity.parquet).",
        {
            "rho": ("float64", "width scale ρ = model width / paper002.capacity.base_width"),
            "width": ("int64", "model width"),
            "run": ("string", "training run"),
            "epoch": ("int64", "epoch (0 = without adversarial training)"),
            "adv_trained": ("bool", "the model was adversarially trained (step l.l.)"),
            "attack": ("string", "step_ll, iter_ll or bi"),
            "eps": ("float64", "ℓ∞ bound in [0,255] units of this experiment"),
            "eps_paper": ("float64", "the same ε in paper 002's units"),
            "top": ("int64", "top-k accuracy: 1 or 5"),
            "clean_accuracy": ("float64", "clean top-k accuracy"),
            "adv_accuracy": ("float64", "adversarial top-k accuracy"),
            "ratio": ("float64", "adv_accuracy / clean_accuracy"),
            "n": ("int64", "inputs"),
            "ci_low": ("float64", "95 % percentile-bootstrap interval of the ratio over inputs, lower end"),
            "ci_high": ("float64", "upper end"),
        },
    ),
}

_RUN_LIST = {"type": "array", "items": {"type": "string"}, "minItems": 1}

CONFIG = {
    "description": (
        "Paper 002 study (Kurakin et al. 2017; advtrace.studies.p002): the runs it compares and its "
        "evaluation. ε and α in this experiment's [0,255] units; the paper's units are ε/α (α = 1 there)."),
    "type": "object",
    "additionalProperties": False,
    "required": ["runs", "test_set", "chunk_size", "eps", "alpha", "reference", "baseline", "methods", "k", "capacity",
                 "transfer"],
    "properties": {
        "runs": {"$ref": "#/$defs/runs"},
        "test_set": {"description": "sample set evaluated (paper - the ImageNet validation set)", "type": "string"},
        "chunk_size": {"description": "inputs per forward pass", "type": "integer", "minimum": 1},
        "eps": {"description": "test-time ε grid (paper - 2, 4, 8, 16)", "type": "array",
                "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 2},
        "alpha": {"description": "step α of the iterative attacks; ε/α is ε in paper units (paper - 1)",
                  "type": "number", "exclusiveMinimum": 0},
        "reference": {"description": "the step l.l. run (kofm, k = m/2) of Tables 1-3", "type": "string"},
        "baseline": {
            "description": "the model without adversarial training (Tables 1, 2, 5, 8): a clean-trained run "
                           "(adv_train.method clean) and its epoch - final (paper - standard training as long as "
                           "the adversarially trained models; the checks require the same length from scratch)",
            "type": "object", "additionalProperties": False, "required": ["run", "epoch"],
            "properties": {"run": {"type": "string"},
                           "epoch": {"oneOf": [{"type": "integer", "minimum": 0}, {"enum": ["final"]}]}},
        },
        "methods": {**_RUN_LIST, "description": "Table 5 rows: runs trained with different one-step adversaries"},
        "k": {**_RUN_LIST, "description": "Table 8 rows: runs differing in kofm.k_fraction"},
        "capacity": {
            "type": "object", "additionalProperties": False, "required": ["base_width", "runs"],
            "properties": {
                "base_width": {"description": "model width of ρ = 1", "type": "integer", "minimum": 1},
                "runs": {**_RUN_LIST, "description": "step l.l. runs of one architecture at several widths "
                                                     "(without `baselines`, each run's epoch 0 is its model without "
                                                     "adversarial training)"},
                "baselines": {**_RUN_LIST, "description": "clean-trained runs at the same widths (their final "
                                                          "models are the ones without adversarial training)"},
            },
        },
        "transfer": {
            "type": "object", "additionalProperties": False, "required": ["models", "epoch"],
            "properties": {
                "models": {**_RUN_LIST, "minItems": 2, "description": "clean-trained runs whose models are A, B, C, … "
                                                                     "(paper - two seeds of Inception v3, Inception v3 "
                                                                     "with ELU, Inception v4)"},
                "epoch": {"description": "epoch of every transfer model: final (normally trained as long as the "
                                         "other models, as the paper)", "oneOf": [{"type": "integer", "minimum": 0},
                                                                                   {"enum": ["final"]}]},
            },
        },
        "activations": {**_RUN_LIST, "description": "optional, Table 7 rows: step l.l.-trained runs differing in "
                                                    "model.activation (the reference is the relu row; paper - relu6, "
                                                    "tanh, ReluDecay with beta 0.1, 0.01, 0.001)"},
        "deeper": {
            "description": "optional, Table 1's deeper model: the reference's architecture with more blocks "
                           "(model.blocks), step l.l.-trained (run) and clean-trained (baseline)",
            "type": "object", "additionalProperties": False, "required": ["run", "baseline"],
            "properties": {"run": {"type": "string"}, "baseline": {"type": "string"}},
        },
    },
}
