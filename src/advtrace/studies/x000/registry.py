"""The cross-method study's stage (advtrace.stages)."""

from .. import Stage

PAPER = "x000"
CITATION = ("Beyond the papers: paper 000's stability, sharedness, universal accuracy and detectability under "
            "BI (paper 000), one-step k-of-m (paper 002) and shared (paper 004) adversarial training")
# the study's category in the HTML report (snakemake --report; advtrace.report_catalogue)
REPORT_CATEGORY = "Beyond the papers — cross-method study"

STAGES = (
    Stage("cross_method", "beyond the papers: paper 000's analyses across training methods", "rules/cross_method.smk",
          ("x000_metrics", "x000_comparisons"), ("x000_methods_final", "x000_methods_training"),
          requires=("stability", "universal", "detect"), paper=PAPER, module="advtrace.studies.x000"),
)
