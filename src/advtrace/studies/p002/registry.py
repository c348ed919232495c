"""Paper 002's stage (advtrace.stages)."""

from .. import Stage

PAPER = "002"
CITATION = "Kurakin et al. (2017), Adversarial Machine Learning at Scale"

STAGES = (
    Stage("paper002", "paper 002: one-step adversarial training, label leaking, transfer, capacity",
          "rules/paper002.smk", ("p002_accuracy", "p002_label_leaking", "p002_transfer", "p002_capacity"),
          ("p002_fig01_capacity_top1", "p002_fig02_transfer_eps", "p002_fig03_one_step_methods",
           "p002_fig04_capacity_top5", "p002_fig05_transfer_error_eps"),
          requires=(), paper=PAPER, module="advtrace.studies.p002",
          reports=tuple(f"reports/p002_table{t}.md" for t in range(1, 9)) + ("reports/p002_tables.html",)),
)
