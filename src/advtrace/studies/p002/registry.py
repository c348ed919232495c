"""Paper 002's stage (advtrace.stages)."""

from .. import Stage

PAPER = "002"
CITATION = "Kurakin et al. (2017), Adversarial Machine Learning at Scale"
# the study's category in the HTML report (snakemake --report; advtrace.report_catalogue)
REPORT_CATEGORY = "Paper 002 — Adversarial ML at scale"

STAGES = (
    Stage("paper002", "paper 002: one-step adversarial training, label leaking, transfer, capacity",
          "rules/paper002.smk", ("p002_accuracy", "p002_label_leaking", "p002_transfer", "p002_capacity"),
          ("p002_fig01_capacity_top1", "p002_fig02_transfer_eps", "p002_fig03_one_step_methods",
           "p002_fig04_capacity_top5", "p002_fig05_transfer_error_eps"),
          requires=(), paper=PAPER, module="advtrace.studies.p002",
          # each Markdown table with its HTML rendering (what the HTML report shows; advtrace.mdhtml), and
          # Tables 1-8 on one HTML page
          reports=tuple(f"reports/p002_table{t}.{ext}" for t in range(1, 9) for ext in ("md", "html"))
          + ("reports/p002_tables.html",)),
)
