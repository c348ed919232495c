"""Paper 001's stage (advtrace.stages)."""

from .. import Stage

PAPER = "001"
CITATION = "Metzen et al. (2017), On Detecting Adversarial Perturbations"
# the study's category in the HTML report (snakemake --report; advtrace.report_catalogue)
REPORT_CATEGORY = "Paper 001 — Detecting adversarial perturbations"

STAGES = (
    Stage("paper001", "paper 001: detectability of adversaries, attachment depth, ε and attack transfer, dynamic "
          "adversary and detector (Figs. 2-5; Figs. 6-8 on ImageNet-10)", "rules/paper001.smk",
          ("p001_adversaries", "p001_depth", "p001_eps_transfer", "p001_attack_transfer", "p001_dynamic",
           "p001_detector_training", "p001_dynamic_training"),
          ("p001_fig02_detectability", "p001_fig03_eps_transfer", "p001_fig04_attack_transfer", "p001_fig05_dynamic",
           "p001_dynamic_training_curve"),
          paper=PAPER, module="advtrace.studies.p001",
          # the Markdown tables and their HTML rendering (what the HTML report shows; advtrace.mdhtml)
          reports=("reports/p001_tables.md", "reports/p001_tables.html")),
)
