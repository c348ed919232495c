"""Parse-time safety of the Snakefile: the GPU cap of local runs (advtrace.workflow_setup)."""

import subprocess
import sys
from pathlib import Path

import pytest

from advtrace.runtime import visible_gpu_count

from conftest import ROOT, copy_workflow, dry_run_jobs, snakemake

CAP_MESSAGE = "advtrace: local run: at most"


def _dev(tmp_path: Path, names) -> Path:
    d = tmp_path / "dev"
    d.mkdir()
    for n in names:
        (d / n).touch()
    return d


def test_visible_gpus_are_device_nodes_limited_by_cuda_visible_devices(tmp_path):
    dev = _dev(tmp_path, ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "null"])
    assert visible_gpu_count({}, dev) == 2
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "1"}, dev) == 1
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,1,2,3"}, dev) == 2  # only 2 exist
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}, dev) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "-1"}, dev) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,-1,1"}, dev) == 1  # CUDA stops at the invalid entry
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "GPU-3f2a,GPU-77b1"}, dev) == 2  # UUIDs
    (tmp_path / "cpu").mkdir()
    assert visible_gpu_count({}, _dev(tmp_path / "cpu", [])) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0"}, tmp_path / "missing") == 0


_TOY = """
import sys
sys.path.insert(0, config["src"])
from advtrace.workflow_setup import cap_local_gpu_jobs
cap_local_gpu_jobs(workflow, gpus=int(config["gpus"]))

rule all:
    input: expand("out/{i}.txt", i=range(3))

rule gpu_job:
    output: "out/{i}.txt"
    resources: gpu=1
    shell: "date +%s.%N > {output}; sleep 1.5; date +%s.%N >> {output}"
"""


def _max_overlap(out: Path) -> int:
    """Largest number of the toy's jobs that were running at the same moment."""
    spans = [tuple(map(float, f.read_text().split())) for f in sorted(out.glob("*.txt"))]
    assert len(spans) == 3
    return max(sum(s <= t < e for s, e in spans) for t, _ in spans)


@pytest.mark.parametrize("gpus, extra, overlap", [(1, [], 1), (1, ["--resources", "gpu=3"], 3), (0, [], 3)])
@pytest.mark.e2e
def test_plain_local_run_runs_one_gpu_job_at_a_time(tmp_path, gpus, extra, overlap):
    """Three gpu=1 jobs under --cores 3 with one visible GPU: one at a time unless the user raises
    the limit (then all three at once, so the cap is what serialised them). With no GPU they run
    on the CPU and only --cores bounds them."""
    (tmp_path / "Snakefile").write_text(_TOY)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "3", *extra,
                           "--config", f"src={ROOT / 'src'}", f"gpus={gpus}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (CAP_MESSAGE in proc.stderr) == (not extra and gpus > 0)
    assert _max_overlap(tmp_path / "out") == overlap


TARGET = "results/smoke/tables/learning_curve.parquet"


@pytest.mark.e2e
def test_workflow_dry_run_caps_local_gpu_jobs_only(tmp_path):
    """The real Snakefile: a plain local run is capped when a GPU is visible (and says so), not on
    a CPU-only machine; a user's --resources gpu=N and a SLURM run (profiles/slurm, executor plugin
    with --jobs) are not."""
    wd = copy_workflow(tmp_path)
    cfg = ["-n", "--config", "experiments=[smoke]"]  # last: --config/--resources take several values
    proc = snakemake(wd, TARGET, "--cores", "all", *cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (CAP_MESSAGE in proc.stderr) == (visible_gpu_count() > 0)
    proc = snakemake(wd, TARGET, "--cores", "all", "--resources", "gpu=2", *cfg)
    assert proc.returncode == 0 and CAP_MESSAGE not in proc.stderr, proc.stderr[-3000:]
    pytest.importorskip("snakemake_executor_plugin_slurm")
    proc = snakemake(wd, TARGET, "--profile", str(ROOT / "profiles" / "slurm"), *cfg)
    assert proc.returncode == 0 and CAP_MESSAGE not in proc.stderr, proc.stderr[-3000:]


# --- config and targets a newcomer types --------------------------------------------------------

def test_experiment_names_accept_a_bare_name():
    from advtrace.config import ConfigError, experiment_names

    assert experiment_names(["smoke"]) == ["smoke"]
    assert experiment_names("smoke") == ["smoke"]
    assert experiment_names("smoke,digits") == ["smoke", "digits"]
    assert experiment_names("[smoke, digits]") == ["smoke", "digits"]
    for bad in (5, "", None):
        with pytest.raises(ConfigError, match=r"experiments='\[smoke\]'"):
            experiment_names(bad)


@pytest.mark.e2e
def test_bare_experiment_name_runs_that_experiment(tmp_path):
    """`--config experiments=smoke` (no brackets) runs smoke; a number says how to write the list."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=smoke")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "results/smoke/claims.md" in proc.stdout and "results/s/" not in proc.stdout
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=5")
    assert proc.returncode != 0 and "experiments='[smoke]'" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_unpadded_figure_targets(tmp_path):
    """`fig5` builds fig05, `paper_fig5` builds paper_fig05."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "fig5", "-n", "--cores", "1", "--config", "experiments=[smoke]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "results/smoke/figures/fig05_destruction_bi.png" in proc.stdout
    assert dry_run_jobs(proc).get("plot_destruction") == 1
    proc = snakemake(wd, "paper_fig5", "-n", "--cores", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "results/cifar10_preact18/figures/fig05_destruction_bi.png" in proc.stdout


# --- missing offline datasets, reported at parse time -------------------------------------------

def _exp(name, download):
    return {"dataset": {"name": name, "root": "data_root", "download": download}}


def test_dataset_notes_name_the_files_to_put_there(tmp_path, monkeypatch):
    from advtrace.dataset_files import dataset_notes

    monkeypatch.chdir(tmp_path)
    exps = {"c": _exp("cifar10", True), "g": _exp("gtsrb", False), "d": _exp("digits", False)}
    notes = dataset_notes(exps, ["c", "g", "d"])
    assert len(notes) == 2
    assert "will download it" in notes[0] and "cifar-10-python.tar.gz" in notes[0]
    assert str(tmp_path / "data_root") in notes[0]
    assert "WARNING" in notes[1] and "prepare_data will fail" in notes[1] and "GTSRB-Training_fixed.zip" in notes[1]
    # files in place (an archive, or the extracted layout), or data already prepared: nothing to say
    (tmp_path / "data_root" / "gtsrb" / "GTSRB" / "Training").mkdir(parents=True)
    (tmp_path / "data_root" / "gtsrb" / "GTSRB" / "Final_Test" / "Images").mkdir(parents=True)
    (tmp_path / "data_root" / "gtsrb" / "GT-final_test.csv").touch()
    (tmp_path / "data_root" / "cifar-10-python.tar.gz").touch()
    assert dataset_notes(exps, ["c", "g", "d"]) == []
    (tmp_path / "data_root" / "cifar-10-python.tar.gz").unlink()
    (tmp_path / "results" / "c" / "data").mkdir(parents=True)
    (tmp_path / "results" / "c" / "data" / "dataset.pt").touch()
    assert dataset_notes(exps, ["c"]) == []


def test_weights_note_until_the_main_runs_epoch_0_exists(tmp_path, monkeypatch):
    """A missing model.weights file is reported while the main run's epoch 0 (results/<exp>/runs/main/,
    issue 26's layout) is not trained; not once it is."""
    from advtrace.dataset_files import weights_notes

    monkeypatch.chdir(tmp_path)
    exps = {"v": {**_exp("imagenet", False), "model": {"name": "vgg16", "width": 64, "weights": "w/vgg16.pth"}}}
    notes = weights_notes(exps, ["v"])
    assert len(notes) == 1 and str(tmp_path / "w" / "vgg16.pth") in notes[0] and "vgg16-397923af.pth" in notes[0]
    ckpt = tmp_path / "results" / "v" / "runs" / "main" / "checkpoints" / "epoch_000.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.touch()
    assert weights_notes(exps, ["v"]) == []


@pytest.mark.e2e
def test_dry_run_reports_a_missing_dataset_in_the_terminal(tmp_path):
    wd = copy_workflow(tmp_path)
    target = "results/cifar10_preact18/data/dataset.pt"
    proc = snakemake(wd, target, "-n", "--cores", "1", "--config", "experiments=[cifar10_preact18]")
    assert proc.returncode == 0, proc.stderr[-3000:]  # a note, not an error: the dry run still works
    assert "dataset 'cifar10' is not in" in proc.stderr
    assert str(wd / "resources" / "datasets" / "cifar-10-python.tar.gz") in proc.stderr
    (wd / "resources" / "datasets").mkdir(parents=True)
    (wd / "resources" / "datasets" / "cifar-10-python.tar.gz").touch()
    proc = snakemake(wd, target, "-n", "--cores", "1", "--config", "experiments=[cifar10_preact18]")
    assert proc.returncode == 0 and "is not in" not in proc.stderr, proc.stderr[-3000:]


def test_report_header_names_the_project():
    """The report's landing page renders workflow/report/workflow.rst (docutils html_body, title
    included); Snakemake's own navbar only says "Snakemake Report"."""
    import warnings

    import jinja2
    from docutils.core import publish_parts

    class Snakemake:  # what snakemake.report passes to the template
        config = {"experiments": ["digits"]}

    rst = jinja2.Template((ROOT / "workflow" / "report" / "workflow.rst").read_text()).render(snakemake=Snakemake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # the call as snakemake.report makes it
        html = publish_parts(rst, writer_name="html")["html_body"]
    assert '<h1 class="title">advtrace: adversarial perturbations under adversarial training</h1>' in html


def test_config_readme_covers_every_key_and_catalog_file_parses(schema):
    """config/README.md (the catalog shows it) documents every key of config/config.yaml and
    every experiment section; .snakemake-workflow-catalog.yml is valid YAML of the catalog's shape."""
    import yaml

    text = (ROOT / "config" / "README.md").read_text()
    for key in schema["properties"]:
        assert f"`{key}`" in text, key
    for section in schema["$defs"]["experiment"]["properties"]:
        assert f"`{section}`" in text, section
    for exp in (ROOT / "config" / "experiments").glob("*.yaml"):
        assert f"`{exp.name}`" in text, exp.name
    usage = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert set(usage["software-stack-deployment"]) == {"conda", "apptainer", "apptainer+conda"}


def test_rule_software_environment_matches_pyproject():
    """workflow/envs/advtrace.yaml (every rule's `conda:`) lists exactly pyproject's dependencies."""
    import tomllib

    import yaml

    root = Path(__file__).resolve().parents[1]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((root / "workflow" / "envs" / "advtrace.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(deps)
    assert "python=3.11" in env["dependencies"]


# --- the workflow's own files, wherever it runs (advtrace.workflow_setup.WorkflowFiles) -------------

def test_workflow_files_resolve_against_the_workflow_not_the_working_directory(tmp_path, monkeypatch):
    """Run from another directory (a user's project), the workflow's files are still its own; the
    user's experiment_dir is the working directory's; missing top-level keys take the defaults."""
    import yaml
    from snakemake.sourcecache import LocalSourceFile

    from advtrace.workflow_setup import WorkflowFiles

    monkeypatch.chdir(tmp_path)
    wf = WorkflowFiles(LocalSourceFile(str(ROOT)))
    assert wf.root == ROOT and wf.path("config/schema.yaml") == ROOT / "config" / "schema.yaml"
    assert wf.exists("config/figures.yaml") and not wf.exists("config/nope.yaml")
    assert wf.experiments.file("smoke") == ROOT / "config" / "experiments" / "smoke.yaml"
    assert wf.library_dir() == ROOT / "src" and wf.file("workflow/envs/advtrace.yaml") == str(
        ROOT / "workflow" / "envs" / "advtrace.yaml")
    wf.check_library()  # a local workflow imports its own src/: nothing to check
    defaults = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    user = {"experiments": ["mine"], "device": "cpu"}
    filled = wf.fill_defaults(user)
    assert set(filled) == set(defaults) - {"experiments", "device"}
    assert user == defaults | {"experiments": ["mine"], "device": "cpu"}


def test_only_the_workflows_own_rules_get_its_environment_and_fingerprints(tmp_path):
    """A rule is the workflow's when its rule file lies in the workflow's directory; a user's rule
    beside it in their project (a module user) keeps its own conda env and params."""
    from types import SimpleNamespace

    from snakemake.sourcecache import LocalSourceFile

    from advtrace.workflow_setup import WorkflowFiles

    wf = WorkflowFiles(LocalSourceFile(str(ROOT)))
    ours = SimpleNamespace(basedir=LocalSourceFile(str(ROOT / "rules")), script="../workflow/scripts/claims.py")
    top = SimpleNamespace(basedir=LocalSourceFile(str(ROOT)))
    user = SimpleNamespace(basedir=LocalSourceFile(str(tmp_path / "workflow")))
    sibling = SimpleNamespace(basedir=LocalSourceFile(str(ROOT.parent / (ROOT.name + "_project"))))
    assert wf.owns(ours) and wf.owns(top) and not wf.owns(user) and not wf.owns(sibling)
    assert wf.script(ours) == ROOT / "workflow" / "scripts" / "claims.py"


def test_release_version_is_one_number_everywhere():
    """A release vX.Y.Z (CHANGELOG.md, "Versions") is the version of pyproject.toml, the library,
    CITATION.cff and the newest CHANGELOG heading, and the README deploys that tag."""
    import re
    import tomllib

    import yaml

    import advtrace

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert advtrace.__version__ == version
    assert str(yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"]) == version
    headings = re.findall(r"(?m)^## (\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text())
    assert headings and headings[0] == version, headings
    assert f"--tag v{version}" in (ROOT / "README.md").read_text()


def test_a_hosted_workflows_rules_are_its_own():
    """A github(...) module: the workflow's directory and rule files are GitHub source files of one
    tag (as Snakemake resolves workflow/Snakefile's include of ../Snakefile); a user's local rule and
    the same repository at another tag are not the workflow's."""
    from types import SimpleNamespace

    from snakemake.sourcecache import GithubFile, LocalSourceFile

    from advtrace.workflow_setup import WorkflowFiles

    entry = GithubFile(repo="owner/advtrace", path="workflow/Snakefile", tag="v0.1.0")
    here = entry.get_basedir().join("../Snakefile").get_basedir()
    wf = WorkflowFiles(here)
    assert wf.root is None and str(wf) == "github.com/owner/advtrace/@v0.1.0"
    rules_dir = here.join("rules/common.smk").get_basedir()
    assert wf.owns(SimpleNamespace(basedir=rules_dir)) and wf.owns(SimpleNamespace(basedir=here))
    assert not wf.owns(SimpleNamespace(basedir=LocalSourceFile("/home/user/project/workflow")))
    other = GithubFile(repo="owner/advtrace", path="rules/common.smk", tag="v0.2.0").get_basedir()
    assert not wf.owns(SimpleNamespace(basedir=other))
    assert wf.pip_spec() == "advtrace @ git+https://github.com/owner/advtrace@v0.1.0"
