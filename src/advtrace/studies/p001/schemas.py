"""Paper 001 study: its Parquet tables (format of advtrace.tables.SCHEMAS) and the JSON-schema
fragment of the ``paper001`` config section (pure Python, no torch)."""

from __future__ import annotations

from ...specs import ATTACK_SPECS

_RATE = {
    "n": ("int64", "inputs the detectability is measured on: clean + adversarial (2 x test inputs)"),
    "ci_low": ("float64", "95 % Wilson interval of the detectability, lower end"),
    "ci_high": ("float64", "95 % Wilson interval of the detectability, upper end"),
}
_ACC = {
    "accuracy": ("float64", "classifier accuracy on the adversarial test examples (true labels)"),
    "accuracy_n": ("int64", "test inputs the accuracy is measured on"),
    "accuracy_ci_low": ("float64", "95 % Wilson interval of the accuracy, lower end"),
    "accuracy_ci_high": ("float64", "95 % Wilson interval of the accuracy, upper end"),
}
_SPLIT = {
    "accuracy_clean": ("float64", "fraction of the clean inputs of the union the detector calls clean"),
    "accuracy_adv": ("float64", "fraction of the adversarial inputs of the union the detector calls adversarial"),
}

SCHEMAS = {
    "p001_adversaries": (
        "Paper 001 Fig. 2 (left): one row per adversary family and ε (and the no-adversary row "
        "`No`): the frozen classifier's test accuracy on the adversarial examples and the "
        "detectability (footnote 3) of the detector trained for that family and ε at the family's "
        "selected attachment position (results/{exp}/tables/p001_adversaries.parquet).",
        {
            "family": ("string", "adversary family (paper001.families key; `No` = inputs left unchanged)"),
            "attack": ("string", "attack registry name (advtrace.specs.ATTACK_SPECS); `none` for No"),
            "eps": ("float64", "ε in [0,255] units (ℓ2 radius for bi_l2, ℓ∞ bound of the result for DeepFool; 0 for No)"),
            "position": ("string", "attachment position AD(i) of the detector"),
            "eps_star": ("bool", "ε is the family's ε*: the smallest ε whose accuracy is below paper001.target_accuracy"),
            **_ACC,
            "detectability": ("float64", "detector accuracy on the union of clean and adversarial test inputs "
                                         "(No: 0.5 by construction, the two halves are identical)"),
            **_RATE, **_SPLIT,
        },
    ),
    "p001_depth": (
        "Paper 001 Fig. 2 (right): detectability of each family's adversarial examples at its ε* for a "
        "detector attached at each position AD(i) of the frozen classifier; the position with the best "
        "validation detectability is selected for the family's other detectors "
        "(results/{exp}/tables/p001_depth.parquet).",
        {
            "family": ("string", "adversary family"),
            "eps": ("float64", "the family's ε* in [0,255] units"),
            "position": ("string", "attachment position AD(i)"),
            "feature": ("string", "what the detector reads at AD(i): the input image, the stem convolution, a residual stage"),
            "channels": ("int64", "channels of that feature map"),
            "side": ("int64", "side of that feature map in pixels"),
            "pools": ("int64", "max-pooling layers the detector keeps there (paper 001 Fig. 1: 2, 1 or 0)"),
            "val_detectability": ("float64", "detectability on the validation inputs (the selection criterion)"),
            "val_n": ("int64", "validation inputs of the union (clean + adversarial)"),
            "detectability": ("float64", "detectability on the test inputs"),
            **_RATE,
            "selected": ("bool", "the family's selected position (best validation detectability, ties: shallower)"),
        },
    ),
    "p001_eps_transfer": (
        "Paper 001 Fig. 3: detectability of the detector trained for (family, ε_fit) on the same "
        "family's test examples of ε_test (results/{exp}/tables/p001_eps_transfer.parquet).",
        {
            "family": ("string", "adversary family"),
            "eps_fit": ("float64", "ε the detector was trained for ([0,255] units)"),
            "eps_test": ("float64", "ε of the adversarial test examples"),
            "position": ("string", "attachment position AD(i) (the family's selected one)"),
            "detectability": ("float64", "detector accuracy on the union of clean and adversarial test inputs"),
            **_RATE, **_SPLIT,
        },
    ),
    "p001_attack_transfer": (
        "Paper 001 Fig. 4 (Fig. 8 on ImageNet): detectability of the detector trained for one family (at its ε*, "
        "or paper001.transfer_eps) on another family's test examples (at that family's ε) "
        "(results/{exp}/tables/p001_attack_transfer.parquet).",
        {
            "fit_family": ("string", "family the detector was trained for"),
            "fit_eps": ("float64", "its ε* (or paper001.transfer_eps)"),
            "test_family": ("string", "family of the adversarial test examples"),
            "test_eps": ("float64", "that family's ε* (or paper001.transfer_eps)"),
            "detectability": ("float64", "detector accuracy on the union of clean and adversarial test inputs"),
            **_RATE, **_SPLIT,
        },
    ),
    "p001_dynamic": (
        "Paper 001 Fig. 5 (Sec. 3.3, 4.1.2): the dynamic adversary (BI on (1-σ) sgn ∇J_cls + σ sgn ∇J_det) "
        "against the static and the dynamically trained detector, per σ: classifier accuracy on all "
        "test inputs and detectability on the successful inputs (correct clean, misclassified adversarial): "
        "their clean and adversarial versions (results/{exp}/tables/p001_dynamic.parquet).",
        {
            "detector": ("string", "static (trained on the static adversary) or dynamic (dynamic adversary training)"),
            "sigma": ("float64", "σ of the dynamic adversary"),
            **_ACC,
            "detector_epoch": ("int64", "the training epoch whose weights the detector holds (its best validation epoch; "
                                        "dynamic: 0 = dynamic training never beat its initial weights, so the "
                                        "detector is untrained by it - the dynamic claim is then not measured)"),
            "n_clean_correct": ("int64", "test inputs the classifier gets right clean (the most that can succeed)"),
            "n_successful": ("int64", "successful inputs: classified correctly clean and wrongly adversarial (Sec. 4.1.2: "
                                      "adversarial examples that cause no misclassification are ignored)"),
            "delta_linf": ("float64", "mean over the test inputs of the perturbation's ℓ∞ norm ([0,255] units; at most ε)"),
            "at_bound": ("float64", "of the pixels the perturbation moved whose range allows ±ε, the fraction at |δ| = ε "
                                    "(short of 1 where too few iterations of the σ-mixed step reach the bound; NaN: none moved)"),
            "detectability": ("float64", "detector accuracy on those inputs' clean and adversarial versions (NaN if none)"),
            "n": ("int64", "2 x n_successful"),
            "ci_low": ("float64", "95 % Wilson interval of the detectability, lower end"),
            "ci_high": ("float64", "95 % Wilson interval of the detectability, upper end"),
            **_SPLIT,
        },
    ),
    "p001_dynamic_training": (
        "Paper 001 Sec. 3.3: the dynamic adversary training of the dynamic detector, one row per epoch "
        "(0 = its initial weights): training loss and accuracy against the adversary of the current "
        "detector, and the validation detectability against the detector's own dynamic adversary "
        "(σ ~ U[0, 1] per validation input, seeded) on all its examples and on the successful ones "
        "(results/{exp}/tables/p001_dynamic_training.parquet).",
        {
            "detector_epoch": ("int64", "dynamic-training epoch (0 = the initial weights: the static detector's or a "
                                        "random initialisation, paper001.dynamic.training.init)"),
            "init": ("string", "static or scratch (paper001.dynamic.training.init)"),
            "criterion": ("string", "the epoch-selection column: all (val_all) or successful (val_successful)"),
            "train_loss": ("float64", "mean cross-entropy over the epoch's mini-batches (NaN at epoch 0)"),
            "train_accuracy": ("float64", "detector accuracy on the epoch's mini-batches, each input perturbed with "
                                          "probability p_adv against the current detector (train mode; NaN at 0)"),
            "val_all": ("float64", "detectability on the validation inputs and all their dynamic adversarial examples"),
            "val_n": ("int64", "2 x validation inputs"),
            "val_all_ci_low": ("float64", "95 % Wilson interval of val_all, lower end"),
            "val_all_ci_high": ("float64", "95 % Wilson interval of val_all, upper end"),
            "val_successful": ("float64", "detectability on the successful ones only (correct clean, wrong adversarial; "
                                          "as Fig. 5 counts; NaN when none)"),
            "val_n_successful": ("int64", "successful validation inputs (the union has twice as many)"),
            "val_successful_ci_low": ("float64", "95 % Wilson interval of val_successful, lower end"),
            "val_successful_ci_high": ("float64", "95 % Wilson interval of val_successful, upper end"),
            "selected": ("bool", "the best epoch by the criterion (ties: the earlier), whose weights the dynamic "
                                 "detector holds"),
        },
    ),
    "p001_detector_training": (
        "Training curves of every static paper-001 detector, one row per detector epoch (the dynamic "
        "detector's: p001_dynamic_training) (results/{exp}/tables/p001_detector_training.parquet).",
        {
            "family": ("string", "adversary family"),
            "eps": ("float64", "ε the detector was trained for ([0,255] units)"),
            "position": ("string", "attachment position AD(i)"),
            "detector_epoch": ("int64", "detector training epoch"),
            "train_loss": ("float64", "mean cross-entropy over the epoch's training batches"),
            "train_accuracy": ("float64", "detector accuracy on the training batches (train mode)"),
            "val_accuracy": ("float64", "validation detectability after the epoch"),
            "selected": ("bool", "the best validation epoch, whose weights the checkpoint holds"),
        },
    ),
}

_TRAINING = {
    "type": "object", "additionalProperties": False,
    "required": ["epochs", "batch_size", "lr", "beta1", "beta2"],
    "description": "detector training: Adam (paper 001 Sec. 4.1.1 - lr 1e-4, beta 0.99/0.999, 20 epochs), best validation epoch kept",
    "properties": {
        "epochs": {"description": "training epochs", "type": "integer", "minimum": 1},
        "batch_size": {"description": "mini-batch size", "type": "integer", "minimum": 1},
        "lr": {"description": "Adam learning rate", "type": "number", "exclusiveMinimum": 0},
        "beta1": {"description": "Adam beta1", "type": "number", "minimum": 0, "maximum": 1},
        "beta2": {"description": "Adam beta2", "type": "number", "minimum": 0, "maximum": 1},
    },
}

CONFIG = {
    "description": (
        "paper 001 study (Metzen et al. 2017): adversary families over ε grids, detectors at every "
        "attachment depth of the frozen pretrained classifier (epoch 0), ε and attack transfer, the "
        "dynamic adversary and the dynamically trained detector"),
    "type": "object", "additionalProperties": False,
    "required": ["train_set", "val_set", "test_set", "chunk_size", "families", "target_accuracy", "positions",
                 "detector", "training", "dynamic"],
    "properties": {
        "runs": {"$ref": "#/$defs/runs"},
        "train_set": {"description": "sample set (split train) the detectors are trained on", "type": "string"},
        "val_set": {"description": "sample set (split val): detector epoch and attachment position selection", "type": "string"},
        "test_set": {"description": "sample set (split test): accuracy and detectability", "type": "string"},
        "chunk_size": {"description": "images per forward pass (attack / evaluation)", "type": "integer", "minimum": 1},
        "families": {
            "description": "adversary families (Sec. 4.1): label -> attack without eps plus its ε grid",
            "type": "object", "minProperties": 1,
            "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": ["name", "eps"],
                "properties": {
                    "name": {"description": "attack registry name", "enum": list(ATTACK_SPECS)},
                    "eps": {"description": "ε grid in [0,255] units (DeepFool: ℓ∞ bounds of its result; 255 = unbounded)",
                            "type": "array", "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}},
                    "alpha": {"description": "step size in [0,255] units (iterative attacks)", "type": "number",
                              "exclusiveMinimum": 0},
                    "iterations": {"description": "iterations (iterative attacks)", "type": "integer", "minimum": 1},
                    "overshoot": {"description": "DeepFool overshoot", "type": "number", "minimum": 0},
                    "max_iter": {"description": "DeepFool maximum iterations", "type": "integer", "minimum": 1},
                },
            },
        },
        "target_accuracy": {"description": "ε* = smallest ε whose test accuracy is below this (paper 0.3)",
                            "type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "transfer_eps": {"description": "optional: family -> ε (one of its grid) of its detector and examples in the "
                                        "attack x attack matrix (Fig. 4; default each family's ε*; paper Fig. 8 on "
                                        "ImageNet: Iterative l-inf 2, l2 800)",
                         "type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
        "positions": {"description": "attachment positions AD(0), AD(1), ...: input or a feature-map index of the classifier",
                      "type": "array", "minItems": 1,
                      "items": {"anyOf": [{"const": "input"}, {"type": "integer", "minimum": 0}]}},
        "detector": {
            "description": "detector network (paper 001 Fig. 1 bottom)", "type": "object", "additionalProperties": False,
            "required": ["channels", "min_side"],
            "properties": {
                "channels": {"description": "widths of the 3x3 convolutions (paper: CIFAR-10 96-192-192, Fig. 1; "
                                            "ImageNet five of 196, Sec. 4.2)", "type": "array",
                             "minItems": 1, "items": {"type": "integer", "minimum": 1}},
                "min_side": {"description": "keep a max-pooling (after each of the first convolutions, at most "
                                            "two and one fewer than the convolutions) only while the map stays at "
                                            "least this wide (paper: 8 on 32x32 CIFAR-10 - both at AD(0-2), one "
                                            "at AD(3), none at AD(4); ImageNet: one, 14x14 -> 7x7 after pool 4)",
                             "type": "integer", "minimum": 1},
            },
        },
        "training": _TRAINING,
        "dynamic": {
            "description": "dynamic adversary (Sec. 3.3) and dynamic adversary training of the detector",
            "type": "object", "additionalProperties": False,
            "required": ["family", "eps", "alpha", "iterations", "sigmas", "training"],
            "properties": {
                "family": {"description": "family whose static detector (at eps, selected position) is attacked; a bi family",
                           "type": "string"},
                "eps": {"description": "ε in [0,255] units (paper 1); one of the family's grid", "type": "number",
                        "exclusiveMinimum": 0},
                "alpha": {"description": "step in [0,255] units (paper 0.25)", "type": "number", "exclusiveMinimum": 0},
                "iterations": {"description": "BI iterations (paper: not stated)", "type": "integer", "minimum": 1},
                "sigmas": {"description": "σ values evaluated (paper 0, 0.1, ..., 1)", "type": "array", "minItems": 1,
                           "items": {"type": "number", "minimum": 0, "maximum": 1}},
                "training": {**_TRAINING, "required": [*_TRAINING["required"], "p_adv", "init", "select", "batchnorm"],
                             "properties": {**_TRAINING["properties"],
                                            "p_adv": {"description": "probability an input is perturbed (paper 0.5)",
                                                      "type": "number", "minimum": 0, "maximum": 1},
                                            "init": {"description": "start from the static detector's weights or "
                                                                    "from scratch (not stated in the paper)",
                                                     "enum": ["static", "scratch"]},
                                            "select": {"description": "epoch selection (not stated in the paper): the "
                                                                      "best validation detectability against the "
                                                                      "detector's own dynamic adversary (σ ~ U[0, 1] "
                                                                      "per input) on all its examples (all: the "
                                                                      "training task) or on the successful ones only "
                                                                      "(successful: as Fig. 5 counts)",
                                                       "enum": ["all", "successful"]},
                                            "batchnorm": {"description": "the detector's BatchNorm while it trains "
                                                                         "(not stated in the paper): running - its "
                                                                         "running statistics, unchanged (the network "
                                                                         "trained is the one the adversary attacks); "
                                                                         "batch - batch statistics, updating them",
                                                          "enum": ["running", "batch"]}}},
            },
        },
    },
}
