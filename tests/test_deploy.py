"""Deployed the way published Snakemake workflows are (issue 29): `snakedeploy deploy-workflow` writes a
project of the user's holding a module declaration of this workflow and a copy of config/; the user's
experiments, results/ and resources/ live there, the workflow's own files stay in the workflow.

The workflow deployed is a temporary git clone of this repository's HEAD, tagged v<version>. Two
routes, both offline:

* a release, as the workflow catalogue shows it: snakedeploy reads a `file://` git URL laid out as
  github.com/<owner>/advtrace and writes `github("<owner>/advtrace", path="workflow/Snakefile",
  tag=...)`, exactly what it writes for the GitHub repository; Snakemake's git cache is seeded with a
  bare clone of it, as if Snakemake had fetched it from github.com. The library is `pip install`ed
  from the tag into a directory on PYTHONPATH, as a user's `pip install "advtrace @ git+https://…"`;
* a local clone (README, "Use it in your own project"): snakedeploy with the clone's path; it names the
  Snakefile relative to the clone, which the README's `sed` line makes absolute.
"""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import advtrace
from conftest import ROOT
from advtrace.workdir import job_counts, job_list

pytest.importorskip("snakedeploy")

OWNER = "advtrace-test"
TAG = f"v{advtrace.__version__}"
PAPER_CONFIGS = sorted(p.stem for p in (ROOT / "config" / "experiments").glob("*.yaml"))
SNAKEDEPLOY = [sys.executable, "-c", "import sys; from snakedeploy.client import main; sys.exit(main())"]

# A user's rule reading one of the workflow's tables (TABLES.md) and drawing a figure of their own.
USER_RULE = """

rule my_learning_curve:
    input:
        "results/{exp}/tables/learning_curve.parquet",
    output:
        png="results/my_figures/{exp}_learning_curve.png",
        library="results/my_figures/{exp}_advtrace_imported_from.txt",
    script:
        "scripts/my_learning_curve.py"
"""
USER_SCRIPT = """
import advtrace
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from advtrace.tables import read_table

lc = read_table(snakemake.input[0], "learning_curve")  # checks the documented schema
fig, ax = plt.subplots()
for (attack, split), part in lc.groupby(["attack", "split"]):
    ax.plot(part["epoch"], part["accuracy"], marker="o", label=f"{attack}, {split}")
ax.set(xlabel="adversarial-training epoch", ylabel="accuracy", ylim=(0, 1))
ax.legend()
fig.savefig(snakemake.output.png)
open(snakemake.output.library, "w").write(advtrace.__file__)
"""


def _run(cmd, cwd, env=None, timeout=600):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _snakemake(cwd, *args, env=None, timeout=900):
    return _run([sys.executable, "-m", "snakemake", *args], cwd, env, timeout)


def _deploy(source: str, dest: Path) -> Path:
    proc = _run([*SNAKEDEPLOY, "deploy-workflow", source, str(dest), "--tag", TAG], dest.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest / "workflow" / "Snakefile"


def _add_user_rule(dest: Path) -> None:
    with open(dest / "workflow" / "Snakefile", "a") as fh:
        fh.write(USER_RULE)
    (dest / "workflow" / "scripts").mkdir()
    (dest / "workflow" / "scripts" / "my_learning_curve.py").write_text(USER_SCRIPT)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A clone of this repository's HEAD at <tmp>/github.com/<OWNER>/advtrace, tagged TAG."""
    repo = tmp_path_factory.mktemp("mirror") / "github.com" / OWNER / "advtrace"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True, timeout=300)
    subprocess.run(["git", "checkout", "-q", _head()], cwd=repo, check=True)
    subprocess.run(["git", "tag", "-f", TAG], cwd=repo, check=True, capture_output=True)
    return repo


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def hosted(release, tmp_path_factory) -> dict:
    """The environment of a user of the hosted release: Snakemake's git cache holds the repository (as
    after fetching it from github.com) and the library of the tag is installed (pip, on PYTHONPATH)."""
    tmp = tmp_path_factory.mktemp("hosted")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
    cache = _run([sys.executable, "-c", "from snakemake.common import get_appdirs; "
                  "print(get_appdirs().user_cache_dir)"], tmp, env).stdout.strip()
    git_cache = Path(cache) / "snakemake" / "source-cache" / "snakemake-git-cache" / "github.com" / OWNER / "advtrace"
    subprocess.run(["git", "clone", "-q", "--bare", str(release), str(git_cache)], check=True, timeout=300)
    source = tmp / "source"  # pip builds in the source tree: a checkout of the tag of its own
    subprocess.run(["git", "clone", "-q", "--branch", TAG, str(release), str(source)], check=True, timeout=300,
                   capture_output=True)
    proc = _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                 "--target", str(tmp / "lib"), str(source)], tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env["PYTHONPATH"] = str(tmp / "lib")
    return env


def _hosted_deployment(release, tmp_path) -> Path:
    dest = tmp_path / "my-project"
    snakefile = _deploy(f"file://{release}", dest)
    text = snakefile.read_text()
    assert f'github("{OWNER}/advtrace", path="workflow/Snakefile", tag="{TAG}")' in text, text
    assert "use rule * from advtrace\n" in text and "config:\n        config" in text, text
    assert (dest / "config" / "experiments" / "smoke.yaml").is_file()
    return dest


@pytest.mark.e2e
def test_release_deployed_with_snakedeploy_runs_smoke_to_its_learning_curve(release, hosted, tmp_path):
    """snakedeploy's project, unedited but for a rule of the user's below `use rule *`, runs the smoke
    experiment to its learning-curve table and the user's figure of it, with the installed library of
    the release; every output lands in the project, nothing in the workflow."""
    dest = _hosted_deployment(release, tmp_path)
    _add_user_rule(dest)
    proc = _snakemake(dest, "results/my_figures/smoke_learning_curve.png", "--cores", "2",
                      "--config", "experiments=[smoke]", env=hosted, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    from advtrace.tables import read_table

    lc = read_table(dest / "results" / "smoke" / "tables" / "learning_curve.parquet", "learning_curve")
    assert sorted(lc["epoch"].unique()) == [0, 1, 2, 3] and lc["accuracy"].between(0, 1).all()
    assert (dest / "results" / "my_figures" / "smoke_learning_curve.png").stat().st_size > 1000
    lib = Path(hosted["PYTHONPATH"])
    assert Path((dest / "results" / "my_figures" / "smoke_advtrace_imported_from.txt").read_text()).is_relative_to(lib)
    assert (dest / "results" / "smoke" / "runs" / "main" / "logs" / "adv_train_epoch" / "003.log").is_file()
    assert not (release / "results").exists()
    assert subprocess.run(["git", "status", "--porcelain"], cwd=release, capture_output=True, text=True).stdout == ""


def test_release_plans_with_its_library_and_refuses_another_release(release, hosted, tmp_path):
    """The hosted workflow (every rule file read through Snakemake's source cache) plans the smoke
    run with the installed library of its release; a library of another version stops the run at
    parse time, saying which pip install fixes it."""
    dest = _hosted_deployment(release, tmp_path)
    proc = _snakemake(dest, "-n", "--cores", "1", "--config", "experiments=[smoke]", env=hosted)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert job_counts(proc.stdout)["all"] == 1 and "results/smoke/claims.md" in proc.stdout
    other = tmp_path / "other-lib"
    shutil.copytree(Path(hosted["PYTHONPATH"]) / "advtrace", other / "advtrace")
    init = other / "advtrace" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{advtrace.__version__}"', '__version__ = "0.0.0"'))
    proc = _snakemake(dest, "-n", "--cores", "1", "--config", "experiments=[smoke]",
                      env=dict(hosted, PYTHONPATH=str(other)))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"is release {advtrace.__version__}" in out and "is 0.0.0" in out, out[-3000:]
    assert f'pip install "advtrace @ git+https://github.com/{OWNER}/advtrace@{TAG}"' in out, out[-3000:]


def _clone(release: Path, dest: Path) -> Path:
    """A clone of the release at its tag (a path without "github" in it: snakedeploy would take it for
    a GitHub URL)."""
    assert "github" not in str(dest)
    subprocess.run(["git", "clone", "-q", "--branch", TAG, str(release), str(dest)], check=True, timeout=300,
                   capture_output=True)
    return dest


@pytest.fixture(scope="module")
def local_clone(release, tmp_path_factory) -> Path:
    return _clone(release, tmp_path_factory.mktemp("clones") / "advtrace")


def _local_deployment(clone, tmp_path, prefix: bool) -> Path:
    """snakedeploy from the clone's path, with the README's fix of the module's Snakefile path."""
    dest = tmp_path / "my-project"
    snakefile = _deploy(str(clone), dest)
    text = snakefile.read_text()
    relative = '\n        "workflow/Snakefile"\n'  # relative to the clone: the README's sed line makes it absolute
    assert relative in text, text
    text = text.replace(relative, f'\n        "{clone}/workflow/Snakefile"\n')
    if prefix:
        text = text.replace("use rule * from advtrace\n", "use rule * from advtrace as advtrace_*\n")
    snakefile.write_text(text)
    return dest


def test_local_deployment_lists_both_places_for_an_unknown_experiment(local_clone, tmp_path):
    dest = _local_deployment(local_clone, tmp_path, prefix=False)
    proc = _snakemake(dest, "-n", "--cores", "1", "--config", "experiments=[nope]")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "unknown experiment 'nope'" in out, out[-3000:]
    assert out.index(f"1. {dest / 'config' / 'experiments'} (your experiment_dir)") < out.index(
        f"2. {local_clone / 'config' / 'experiments'} (the workflow's own)"), out[-3000:]


@pytest.mark.e2e
def test_local_deployment_with_a_rule_prefix_plans_every_paper_config(local_clone, tmp_path):
    """From a deployed project, with our rules prefixed (advtrace_*), a user's experiment and a user's
    rule: the dry run of every paper config plans exactly the jobs it plans inside the clone."""
    dest = _local_deployment(local_clone, tmp_path, prefix=True)
    _add_user_rule(dest)
    smoke = (dest / "config" / "experiments" / "smoke.yaml").read_text()
    (dest / "config" / "experiments" / "myexp.yaml").write_text(re.sub(r"(?m)^name: smoke$", "name: myexp", smoke))
    names = ",".join(PAPER_CONFIGS)
    proc = _snakemake(dest, "advtrace_all", "results/my_figures/myexp_learning_curve.png", "-n", "--cores", "1",
                      "--config", f"experiments=[{names},myexp]")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    deployed = job_list(proc.stdout)
    assert all(rule.startswith("advtrace_") or rule == "my_learning_curve" for rule, _ in deployed)
    assert job_counts(proc.stdout)["my_learning_curve"] == 1
    assert {exp for _, wc in deployed if (exp := wc.get("exp"))} == set(PAPER_CONFIGS) | {"myexp"}
    clone = _snakemake(local_clone, "-n", "--cores", "1", "--config", f"experiments=[{names}]")
    assert clone.returncode == 0, clone.stdout[-3000:] + clone.stderr[-5000:]

    def key(rule, wc):
        return rule.removeprefix("advtrace_"), tuple(sorted(wc.items()))

    ours = Counter(key(r, wc) for r, wc in deployed if wc.get("exp") != "myexp" and r != "my_learning_curve")
    assert ours == Counter(key(r, wc) for r, wc in job_list(clone.stdout))


def test_readme_section_works_as_written(release, tmp_path):
    """The shell block of README "Use it in your own project", run as written next to a clone
    ./advtrace: every line but the `pip install`s (this environment has both installed), with
    `snakemake` as a dry run (the e2e test above runs a deployment for real)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use it in your own project"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    assert f"--tag {TAG}" in block, "the README deploys the current release"
    lines = [line for line in block.splitlines() if not line.startswith("pip install")]
    _clone(release, tmp_path / "advtrace")
    bindir = Path(sys.executable).parent
    script = "\n".join(["set -euo pipefail", f'export PATH="{bindir}:$PATH"',
                        f'snakemake() {{ "{sys.executable}" -m snakemake --dry-run "$@"; }}',
                        f'snakedeploy() {{ "{sys.executable}" -c "{SNAKEDEPLOY[2]}" "$@"; }}', *lines])
    proc = _run(["bash", "-c", script], tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "results/smoke/claims.md" in proc.stdout
    deployed = (tmp_path / "my-project" / "workflow" / "Snakefile").read_text()
    assert f'"{tmp_path / "advtrace" / "workflow" / "Snakefile"}"' in deployed, deployed
