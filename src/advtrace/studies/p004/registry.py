"""Paper 004's stage (advtrace.stages)."""

from .. import Stage

PAPER = "004"
CITATION = ("Mummadi et al. (2019), Defending Against Universal Perturbations With Shared Adversarial "
            "Training")
# the study's category in the HTML report (snakemake --report; advtrace.report_catalogue)
REPORT_CATEGORY = "Paper 004 — Shared adversarial training"

STAGES = (
    Stage("paper004", "paper 004: shared adversarial training (Figs. 1, 3, 5, Table A1, risk ordering, cost)",
          "rules/paper004.smk",
          ("p004_robustness", "p004_search", "p004_risk", "p004_images", "p004_front", "p004_cost"),
          ("p004_fig03_pareto_front", "p004_fig03_deepfool_front", "p004_fig05_learning_curves", "p004_risk_ordering",
           "p004_fig01_perturbations"),
          paper=PAPER, module="advtrace.studies.p004",
          # each Markdown table with its HTML rendering (what the HTML report shows; advtrace.mdhtml)
          reports=("reports/p004_table_a1.md", "reports/p004_table_a1.html", "reports/p004_cost.md",
                   "reports/p004_cost.html")),
)
