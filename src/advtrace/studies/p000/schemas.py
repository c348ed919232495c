"""Paper 000's tables (advtrace.tables collects them; TABLES.md is generated from them).

Every aggregated table is per run (:data:`PER_RUN`): results/{exp}/tables/{name}.parquet has the
column ``run`` first (advtrace.tables adds it), one block of rows per run its section analyses
(``runs:``); the per-run parts under results/{exp}/runs/{run}/metrics/ omit it (pairwise_transfer
is a part only: it has no run column).
"""

SCHEMAS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "learning_curve": (
        "Per-epoch accuracy on fixed train/test subsets (Fig. 8; results/{exp}/tables/learning_curve.parquet); "
        "with evaluation.pretrain_epochs (GTSRB, Figs. 17/22) also the vanilla-training epochs before "
        "adversarial training (phase pretrain).",
        {
            "epoch": ("int64", "completed adversarial-training epochs t (0 = pretrained model); pretrain rows: "
                               "k - pretrain.epochs < 0 after k completed vanilla epochs"),
            "phase": ("string", "adversarial (t >= 0, the adversarial-training chain) or pretrain (a model kept "
                                "during vanilla training; claims about adversarial training read adversarial rows only)"),
            "paper_epoch": ("int64", "the epoch in the paper's numbering: t + evaluation.paper_epoch_offset "
                                     "(GTSRB - 25); pretrain rows - k"),
            "split": ("string", "train or test (the evaluation sample sets)"),
            "attack": ("string", "clean, or the evaluation attack's label (e.g. FGSM, BI)"),
            "accuracy": ("float64", "fraction of the subset classified correctly (true labels)"),
            "ci_low": ("float64", "lower end of the 95 % Wilson interval of accuracy"),
            "ci_high": ("float64", "upper end of that interval"),
            "n": ("int64", "number of inputs evaluated"),
        },
    ),
    "universal_accuracy": (
        "Test accuracy of every analysed epoch's model under universal perturbations (paper 000 App. D) "
        "generated for its own epoch and for fixed source epochs, on train and test data, plus clean and "
        "random ±ε sign baselines (Figs. 3, 12; results/{exp}/tables/universal_accuracy.parquet).",
        {
            "epoch": ("int64", "adversarial-training epoch of the evaluated model (0 = pretrained model)"),
            "perturbation": ("string", "clean, universal, or random_sign (every pixel ±ε; mean over universal.random_draws seeded draws per epoch)"),
            "source_split": ("string", "split the universal perturbation was generated on: train or test; "
                                       "none for clean and random_sign"),
            "source_epoch": ("int64", "epoch of the model the universal perturbation was generated for "
                                      "(= epoch: the respective epoch's perturbation); -1 for clean and random_sign"),
            "eps": ("float64", "ℓ∞ bound ε of the perturbation in [0,255] units (0 for clean)"),
            "accuracy": ("float64", "fraction of the evaluation set (universal.eval_set) classified correctly"),
            "ci_low": ("float64", "lower end of the 95 % Wilson interval of accuracy (random_sign: of the mean over draws × n)"),
            "ci_high": ("float64", "upper end of that interval"),
            "n": ("int64", "number of inputs evaluated"),
        },
    ),
    "universal_images": (
        "Universal perturbations Ξ, one row per pixel (Figs. 4, 13; results/{exp}/tables/universal_images.parquet).",
        {
            "epoch": ("int64", "epoch of the model the perturbation was generated for"),
            "source_split": ("string", "split it was generated on: train or test"),
            "eps": ("float64", "ℓ∞ bound ε in [0,255] units"),
            "channel": ("int64", "image channel"),
            "row": ("int64", "pixel row"),
            "col": ("int64", "pixel column"),
            "value": ("float64", "Ξ at that pixel in [0,255] units, within [-ε, ε]"),
        },
    ),
    # --- stability stage (paper 000 Sec. 3.1, App. A-C; advtrace.stability) ---
    "transfer": (
        "Perturbations of fixed inputs generated at a source epoch t1, evaluated under the model of a target "
        "epoch t2 (forward only); includes the white-box rows t1 = t2. Per-epoch parts "
        "results/{exp}/runs/{run}/metrics/stability/epochs_{chunk}/transfer.parquet, aggregated in "
        "results/{exp}/tables/transfer.parquet. Profiles (Fig. 1, 10) are the rows of the profile set.",
        {
            "set": ("string", "sample set of the perturbed inputs"),
            "split": ("string", "split of that set (train or test)"),
            "input_id": ("int64", "index of the input in its split"),
            "label": ("int64", "true class y"),
            "source_epoch": ("int64", "epoch t1 of the model the perturbation ξ_t1 was generated for"),
            "target_epoch": ("int64", "epoch t2 of the evaluated model θ_t2"),
            "p_true": ("float32", "p(y | x+ξ_t1; θ_t2), the temporal stability profile entry P[t1, t2]"),
            "pred": ("int64", "class θ_t2 predicts for x+ξ_t1"),
            "correct": ("bool", "pred == y"),
            "cost_adv": ("float32", "J(θ_t2, x+ξ_t1, y), cross-entropy (nats)"),
            "cost_clean": ("float32", "J(θ_t2, x, y)"),
            "cost_change": ("float32", "J^Δ = cost_adv − cost_clean"),
            "clean_correct": ("bool", "θ_t2 classifies the clean x correctly"),
        },
    ),
    "pairwise_transfer": (
        "Per-epoch part: each perturbation of a set applied to every input of another set under the model of "
        "the perturbation's own epoch (results/{exp}/runs/{run}/metrics/stability/epochs_{chunk}/pairwise.parquet); "
        "task sharedness (Fig. 11) or current_train (Fig. 2, epoch 0 on training inputs).",
        {
            "task": ("string", "sharedness or current_train"),
            "epoch": ("int64", "epoch t of the model (generating and evaluating)"),
            "perturbation_set": ("string", "sample set whose perturbations are transferred"),
            "input_set": ("string", "sample set of the inputs they are applied to"),
            "input_id": ("int64", "index (in its split) of the input the perturbation was generated for"),
            "label": ("int64", "true class of that input"),
            "own_clean_correct": ("bool", "θ_t classifies that input correctly clean"),
            "own_fooled": ("bool", "θ_t misclassifies that input with its perturbation (white-box success)"),
            "n_inputs": ("int64", "number of inputs the perturbation is applied to"),
            "n_inputs_correct": ("int64", "of those, classified correctly clean by θ_t"),
            "n_effective": ("int64", "inputs where the perturbation changes the prediction from correct to incorrect"),
            "n_changed": ("int64", "inputs where the perturbation changes the prediction at all"),
            "mean_cost_change": ("float64", "mean over the inputs of J^Δ(ξ, θ_t, x_j, y_j) (nats)"),
        },
    ),
    "stability_profile": (
        "Temporal stability profiles P[t1, t2] = p(y | x+ξ_t1; θ_t2) of the profile inputs over the profile "
        "epochs (Fig. 1; the profile-set rows of `transfer`; results/{exp}/tables/stability_profile.parquet).",
        {
            "set": ("string", "profile sample set"),
            "input_id": ("int64", "index of the input in its split"),
            "label": ("int64", "true class y"),
            "source_epoch": ("int64", "t1, row of the profile"),
            "target_epoch": ("int64", "t2, column of the profile"),
            "p_true": ("float32", "P[t1, t2]"),
        },
    ),
    "stability_summary": (
        "Temporal stability profile summary per profile input (Figs. 1, 10; results/{exp}/tables/"
        "stability_summary.parquet). P[t1, t2] = p(y | x+ξ_t1; θ_t2) over the profile epochs.",
        {
            "set": ("string", "profile sample set"),
            "input_id": ("int64", "index of the input in its split"),
            "label": ("int64", "true class y"),
            "n_epochs": ("int64", "number of profile epochs (P is n_epochs × n_epochs)"),
            "maxmin": ("float64", "MaxMin = min over t1 of max over t2 of P (small: a stable perturbation)"),
            "minmax": ("float64", "MinMax = max over t2 of min over t1 of P (large: one model robust to all)"),
            "maxmin_source_epoch": ("int64", "t1 attaining MaxMin (the most stable perturbation's epoch)"),
            "minmax_target_epoch": ("int64", "t2 attaining MinMax (the most robust model's epoch)"),
            "mean_p": ("float64", "mean of P"),
            "first_whitebox_p": ("float64", "P at the first profile epoch, white-box (t1 = t2)"),
            "example": ("string", "Fig. 1 case this input was chosen for: robust, stable, oscillation, or empty "
                                  "(chosen among the inputs with clean_correct_all)"),
            "clean_correct_all": ("bool", "the model of every profile epoch classifies the clean input correctly"),
        },
    ),
    "transfer_error": (
        "Fig. 9: BI error rate of white-box ('respective epoch') and black-box attacks (fixed source epochs) "
        "per target epoch, on train and test inputs (results/{exp}/tables/transfer_error.parquet).",
        {
            "set": ("string", "sample set"),
            "split": ("string", "train or test"),
            "source": ("string", "'respective epoch' (white-box) or 'epoch s' (black-box source epoch s)"),
            "source_epoch": ("int64", "epoch the perturbations were generated for (= target for white-box)"),
            "target_epoch": ("int64", "epoch of the attacked model"),
            "error_rate": ("float64", "fraction of the inputs misclassified with the perturbation"),
            "ci_low": ("float64", "lower end of the 95 % Wilson interval of error_rate"),
            "ci_high": ("float64", "upper end of that interval"),
            "n": ("int64", "number of inputs"),
        },
    ),
    "sharedness_vs_stability": (
        "Fig. 2 per test input i, perturbation ξ_i,0 of the pretrained model (results/{exp}/tables/"
        "sharedness_vs_stability.parquet).",
        {
            "input_id": ("int64", "index of the test input in its split"),
            "label": ("int64", "true class"),
            "own_clean_correct": ("bool", "θ_0 classifies the input correctly clean"),
            "own_fooled": ("bool", "θ_0 misclassifies the input with ξ_i,0"),
            "j_current_train": ("float64", "J^Δ_current,train: mean J^Δ(ξ_i,0, θ_0, x_j, y_j) over n_train training inputs (sharedness)"),
            "j_future_test": ("float64", "J^Δ_future,test: mean over t in 𝒯 of J^Δ(ξ_i,0, θ_t, x_i, y_i) (stability)"),
            "n_train": ("int64", "number N of training inputs"),
            "n_future": ("int64", "number |𝒯| of future epochs"),
            "used": ("bool", "both values > 0, so the input enters the log-log plot and correlation"),
        },
    ),
    "stability_correlation": (
        "Fig. 2: correlation of J^Δ_current,train and J^Δ_future,test (results/{exp}/tables/"
        "stability_correlation.parquet). Non-positive values cannot be logged: those inputs are "
        "excluded from the log-log Pearson correlation and counted here.",
        {
            "source_epoch": ("int64", "epoch of the perturbations (0)"),
            "future_epochs": ("string", "𝒯, comma-separated"),
            "n_inputs": ("int64", "test inputs"),
            "n_used": ("int64", "inputs with both values > 0 (in the log-log correlation)"),
            "n_nonpositive_current": ("int64", "inputs with J^Δ_current,train ≤ 0"),
            "n_nonpositive_future": ("int64", "inputs with J^Δ_future,test ≤ 0"),
            "pearson_r_loglog": ("float64", "Pearson r of log10 values (paper: −0.293)"),
            "pearson_p_loglog": ("float64", "its two-sided p-value (paper: < 1e−18)"),
            "spearman_r": ("float64", "Spearman rank correlation over all inputs (no log needed)"),
            "spearman_p": ("float64", "its two-sided p-value"),
        },
    ),
    "sharedness": (
        "Fig. 11 per perturbation: perturbations of test inputs at epoch e transferred to other test inputs "
        "under θ_e (results/{exp}/tables/sharedness.parquet).",
        {
            "epoch": ("int64", "epoch e (generating and evaluating model)"),
            "input_id": ("int64", "index (test split) of the input the perturbation was generated for"),
            "label": ("int64", "its true class"),
            "own_clean_correct": ("bool", "θ_e classifies that input correctly clean"),
            "own_fooled": ("bool", "the perturbation fools θ_e on its own input"),
            "n_other": ("int64", "other test inputs it is applied to"),
            "n_other_correct": ("int64", "of those, classified correctly clean by θ_e"),
            "n_effective": ("int64", "other inputs where it changes the prediction from correct to incorrect"),
            "n_changed": ("int64", "other inputs where it changes the prediction at all"),
            "pct_effective": ("float64", "100 · n_effective / n_other: the paper's sharedness, % of all the other inputs"),
            "pct_ci_low": ("float64", "lower end of the 95 % Wilson interval of pct_effective (%)"),
            "pct_ci_high": ("float64", "upper end of that interval (%)"),
            "pct_effective_of_correct": ("float64", "100 · n_effective / n_other_correct: % of the other inputs θ_e "
                                                    "classifies correctly clean (not the paper's definition; context)"),
            "mean_cost_change": ("float64", "mean J^Δ over the other inputs (nats)"),
        },
    ),
    "sharedness_summary": (
        "Fig. 11 per epoch (results/{exp}/tables/sharedness_summary.parquet); paper means 6.3, 1.1, 0.8, 0.5 % "
        "at epochs 0, 1, 15, 251.",
        {
            "epoch": ("int64", "epoch e"),
            "n_perturbations": ("int64", "perturbations (inputs of the sharedness set)"),
            "n_other": ("int64", "other test inputs"),
            "n_other_correct": ("int64", "other inputs θ_e classifies correctly clean"),
            "mean_pct": ("float64", "mean of pct_effective (% of all the other inputs, the paper's definition)"),
            "mean_ci_low": ("float64", "lower end of the 95 % bootstrap interval (over perturbations) of mean_pct (%)"),
            "mean_ci_high": ("float64", "upper end of that interval (%)"),
            "median_pct": ("float64", "median of pct_effective (%)"),
            "min_pct": ("float64", "min of pct_effective (%)"),
            "max_pct": ("float64", "max of pct_effective (%)"),
            "mean_pct_of_correct": ("float64", "mean of pct_effective_of_correct (%; not the paper's definition)"),
            "min_pct_of_correct": ("float64", "min of pct_effective_of_correct (%)"),
            "max_pct_of_correct": ("float64", "max of pct_effective_of_correct (%)"),
            "frac_shared": ("float64", "fraction of perturbations effective on ≥ 2 % of the other inputs (shared)"),
        },
    ),
    "destruction": (
        "Destruction rates of adversarial perturbations under image transformations, per (attack, epoch, "
        "transform, strength) (Figs. 5, 14, 15; results/{exp}/tables/destruction.parquet). Kurakin et al. "
        "(2017): among inputs classified correctly clean and wrongly adversarial (effective), the fraction "
        "classified correctly after the transformation of the adversarial image.",
        {
            "attack": ("string", "analysis attack label (perturb.attacks: BI, FGSM, DeepFool)"),
            "epoch": ("int64", "adversarial-training epoch t of the model that is attacked and evaluated (0 = pretrained)"),
            "transform": ("string", "brightness (x+δ), contrast (x·μ), blur (Gaussian σ, pixels) or noise (Gaussian σ)"),
            "strength": ("float64", "δ and noise σ in [0,255] pixel units; contrast factor μ; blur σ in pixels; "
                         "identity at δ=0, μ=1, σ=0"),
            "n_inputs": ("int64", "inputs in the sample set (destruction.sample_set)"),
            "n_effective": ("int64", "inputs classified correctly clean and wrongly adversarial under θ_t (the denominator)"),
            "n_destroyed": ("int64", "effective inputs classified correctly after the transformation (the numerator)"),
            "n_effective_unclipped": ("int64", "effective inputs before the attack's ℓ∞ clip (DeepFool with perturb.attacks.*.eps; "
                                      "= n_effective without a bound): n_effective of these still fool after the clip"),
            "destruction_rate": ("float64", "n_destroyed / n_effective; NaN when n_effective = 0"),
            "ci_low": ("float64", "lower end of the 95 % Wilson interval of destruction_rate over n_effective (NaN when n_effective = 0)"),
            "ci_high": ("float64", "upper end of that interval"),
            "clean_accuracy_transformed": ("float64", "context, not part of the rate: accuracy of θ_t on the set's clean "
                                           "inputs after the same transformation (same noise draws)"),
        },
    ),
    "detectability": (
        "Detectability matrix (Figs. 6, 16; paper 001 footnote 3): accuracy of the detector trained on "
        "adversarial examples of epoch train_epoch, on the shuffled union of the detect test inputs and "
        "their adversarial counterparts generated against the classifier of epoch test_epoch "
        "(results/{exp}/tables/detectability.parquet).",
        {
            "attack": ("string", "adversary label (detect.attacks, e.g. BI, FGSM, DeepFool)"),
            "train_epoch": ("int64", "epoch t whose adversarial training inputs the detector was trained on"),
            "test_epoch": ("int64", "epoch t' whose classifier the adversarial test inputs were generated against"),
            "accuracy": ("float64", "detectability: fraction of the union (clean + adversarial) classified correctly"),
            "ci_low": ("float64", "lower end of the 95 % Wilson interval of accuracy over n"),
            "ci_high": ("float64", "upper end of that interval"),
            "accuracy_clean": ("float64", "fraction of the clean test inputs the detector calls clean"),
            "accuracy_adv": ("float64", "fraction of the adversarial test inputs the detector calls adversarial"),
            "n": ("int64", "size of the union: 2 x number of test inputs"),
        },
    ),
    "detector_training": (
        "Detector training curves, one row per (attack, epoch, detector epoch); the selected row is the best "
        "validation epoch whose weights are kept (results/{exp}/tables/detector_training.parquet).",
        {
            "attack": ("string", "adversary label (detect.attacks)"),
            "epoch": ("int64", "adversarial-training epoch t of the classifier the training examples attack"),
            "detector_epoch": ("int64", "detector training epoch (1..detect.training.epochs)"),
            "train_loss": ("float64", "mean cross-entropy over the balanced training set in that epoch"),
            "train_accuracy": ("float64", "detector accuracy on the training batches in that epoch (train mode)"),
            "val_accuracy": ("float64", "detectability on the validation split (clean + adversarial) after that epoch"),
            "selected": ("bool", "true for the best validation epoch, whose weights the checkpoint holds"),
        },
    ),
    "detector_max": (
        "Perturbations maximising the detector's p_adv on training inputs (Fig. 7), one row per pixel "
        "(results/{exp}/tables/detector_max.parquet).",
        {
            "attack": ("string", "adversary label of the detector (detect.maximise.attack)"),
            "epoch": ("int64", "epoch t of the detector (trained on adversarial examples against the classifier of t)"),
            "channel": ("int64", "image channel"),
            "row": ("int64", "pixel row"),
            "col": ("int64", "pixel column"),
            "value": ("float64", "perturbation value in [0,255] pixel units, within [-eps, eps]"),
        },
    ),
    "detector_max_summary": (
        "How strongly the Fig. 7 perturbations activate the detector on test inputs "
        "(results/{exp}/tables/detector_max_summary.parquet).",
        {
            "attack": ("string", "adversary label of the detector (detect.maximise.attack)"),
            "epoch": ("int64", "epoch t of the detector"),
            "eps": ("float64", "l-inf bound of the perturbation in [0,255] pixel units"),
            "mean_p_adv": ("float64", "mean predicted probability of 'adversarial' on test inputs plus the perturbation"),
            "mean_p_adv_clean": ("float64", "the same on the unperturbed test inputs (reference)"),
            "mean_p_adv_random": ("float64", "the same with a random ±eps sign image added to every input, mean over "
                                             "8 draws (baseline: what any perturbation of that size earns)"),
            "n": ("int64", "number of test inputs"),
        },
    ),
}
PER_RUN = tuple(name for name in SCHEMAS if name != "pairwise_transfer")
