# advtrace: adversarial perturbations under adversarial training, as one cached DAG.
# `snakemake --cores all` runs every experiment named in config/config.yaml (default: the
# offline digits experiment) and renders every figure. See README.md.
from pathlib import Path

from snakemake.sourcecache import LocalSourceFile
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# The workflow's own location, also when it is a module of a user's Snakefile (workflow.basedir is
# then the user's directory); ROOT is None for a git-hosted module (advtrace.workflow_setup.WorkflowFiles).
HERE = workflow.current_basedir
ROOT = Path(str(HERE)) if isinstance(HERE, LocalSourceFile) else None


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/perturb.smk"


# Every study's stages (advtrace.stages: paper 000's analyses, then the companion papers' studies,
# packages under src/advtrace/studies): their rules files, each once.
for _rules in dict.fromkeys(_stage.rules for _stage in stages.all_stages()):

    include: _rules


include: "rules/claims.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),


# After every rule: each script rule's params get the fingerprint of the library code it uses.
add_code_fingerprints()
# After every rule: runtime, mem_mb and disk_mb of each job from the work model (advtrace.workmodel).
add_resources()
# After every rule: each catalogued figure and table a rule writes is flagged for the HTML report.
check_report_flags()
