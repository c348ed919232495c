"""Paper 000's stages: its analyses, each switched on by its config section (advtrace.stages)."""

from .. import Stage

PAPER = "000"
CITATION = ("Metzen et al. (2018), Universality, Robustness, and Detectability of Adversarial Perturbations "
            "under Adversarial Training")
# the study's category in the HTML report (snakemake --report; advtrace.report_catalogue)
REPORT_CATEGORY = "Paper 000 — Universality, robustness, detectability"
_M = "advtrace.studies.p000"

STAGES = (
    Stage("evaluation", "learning curves (Fig. 8)", "rules/learning_curves.smk", ("learning_curve",),
          ("fig08_learning_curves",), module=_M),
    Stage("universal", "universal perturbations (Figs. 3, 4, 12, 13)", "rules/universal.smk",
          ("universal_accuracy", "universal_images"),
          ("fig03_universal_accuracy", "fig04_universal_perturbations", "fig12_universal_train_vs_test",
           "fig13_universal_perturbations_test"), requires=("analysis",), module=_M),
    Stage("destruction", "destruction rates under transformations (Figs. 5, 14, 15)", "rules/destruction.smk",
          ("destruction",), ("fig05_destruction_bi", "fig14_destruction_fgsm", "fig15_destruction_deepfool"),
          requires=("perturb", "analysis"), module=_M),
    Stage("stability", "temporal stability, transfer, sharedness (Figs. 1, 2, 9, 10, 11)", "rules/stability.smk",
          ("transfer", "stability_profile", "stability_summary", "transfer_error", "sharedness_vs_stability",
           "stability_correlation", "sharedness", "sharedness_summary"),
          ("fig01_stability_profiles", "fig02_sharedness_vs_stability", "fig09_transfer_error",
           "fig10_maxmin_minmax", "fig11_sharedness"), requires=("perturb",), module=_M),
    Stage("detect", "detectors (Figs. 6, 7, 16)", "rules/detect.smk",
          ("detectability", "detector_training", "detector_max", "detector_max_summary"),
          ("fig06_detectability", "fig07_detector_max", "fig16_detectability_attacks"),
          requires=("perturb", "analysis"), module=_M),
)
