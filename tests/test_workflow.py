"""Rule-level and end-to-end tests through the real Snakefile (subprocess, temp copy)."""

import re
import subprocess
import sys

import pytest
import yaml

from advtrace.tables import read_table

from conftest import ROOT, analysis_jobs, copy_workflow, dry_run_jobs, snakemake, write_exp


@pytest.mark.e2e
def test_smoke_end_to_end(smoke_run):
    res = smoke_run / "results" / "smoke"
    for fig in ("fig08_learning_curves",):
        for ext in ("pdf", "png"):
            assert (res / "figures" / f"{fig}.{ext}").stat().st_size > 1000
    lc = read_table(res / "tables" / "learning_curve.parquet", "learning_curve")
    assert sorted(lc["epoch"].unique()) == [0, 1, 2, 3]
    assert set(lc["attack"]) == {"clean", "FGSM", "BI"} and set(lc["split"]) == {"train", "test"}
    assert lc["accuracy"].between(0, 1).all()
    # every job wrote a log
    assert (res / "runs" / "main" / "logs" / "adv_train_epoch" / "003.log").read_text().count("adversarial epoch 3") >= 1


@pytest.mark.e2e
def test_raising_epochs_runs_only_new_epochs(smoke_run):
    cfg = yaml.safe_load((smoke_run / "config" / "experiments" / "smoke.yaml").read_text())
    cfg["adv_train"]["epochs"] = 5
    original = (smoke_run / "config" / "experiments" / "smoke.yaml").read_text()
    write_exp(smoke_run, "smoke", cfg)
    try:
        proc = snakemake(smoke_run, "-n", "--cores", "2", "--config", "experiments=[smoke]")
    finally:
        (smoke_run / "config" / "experiments" / "smoke.yaml").write_text(original)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts.get("adv_train_epoch") == 2, proc.stdout
    assert counts.get("evaluate_epochs") == 1  # epochs 4-5 (0-3 is one finished chunk, unchanged)
    assert "pretrain" not in counts and "prepare_data" not in counts


@pytest.mark.e2e
def test_editing_plot_script_reruns_only_plot(smoke_run):
    script = smoke_run / "workflow" / "scripts" / "plot_learning_curves.py"
    original = script.read_text()
    script.write_text(original + "\n# edited\n")
    try:
        proc = snakemake(smoke_run, "-n", "--cores", "2", "--config", "experiments=[smoke]")
    finally:
        script.write_text(original)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert set(counts) <= {"plot_learning_curves", "all", "total"}, counts
    assert counts.get("plot_learning_curves") == 1


@pytest.mark.e2e
def test_invalid_config_fails_before_any_job(tmp_path):
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg["adv_train"]["attack"]["alpha"] = 64
    write_exp(wd, "smoke", cfg)
    proc = snakemake(wd, "--cores", "1", "--config", "experiments=[smoke]")
    assert proc.returncode != 0
    assert "adv_train.attack.alpha" in proc.stdout + proc.stderr
    assert not (wd / "results").exists()


@pytest.mark.e2e
def test_cifar10_shaped_dry_run_builds_dag(tmp_path):
    """200 pretraining + 250 adversarial epochs on CIFAR-10: the DAG builds without any data."""
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "digits.yaml").read_text())
    cfg["dataset"].update(name="cifar10", image_size=32, splits={
        "train": {"source": "train", "n": 45000}, "val": {"source": "train", "n": 5000},
        "test": {"source": "test", "n": 10000}})
    cfg["model"]["width"] = 64
    cfg["pretrain"]["epochs"] = 200
    cfg["adv_train"]["epochs"] = 250
    cfg["adv_train"].pop("epochs_per_training_job", None)  # one job per epoch (digits chains 5)
    cfg["analysis"]["epochs"] += [15, 51, 250]  # the analysis sections stay valid (subsets of these)
    for section in ("paper001", "paper002", "paper004", "cross_method"):  # paper 000's stages of main only
        cfg.pop(section)
    for section in ("universal", "stability", "detect"):
        cfg[section]["runs"] = ["main"]
    write_exp(wd, "cifar_shaped", cfg)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[cifar_shaped]", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["adv_train_epoch"] == 250 and counts["evaluate_epochs"] == analysis_jobs(251) and counts["pretrain"] == 1


@pytest.mark.parametrize("exp,epochs", [("cifar10_preact18", 251), ("gtsrb_preact18", 175), ("gtsrb_convnet", 175)])
@pytest.mark.e2e
def test_paper_config_dry_run_builds_full_dag(tmp_path, exp, epochs):
    """Every paper experiment builds its complete DAG (every figure) without any data."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", f"experiments=[{exp}]", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["adv_train_epoch"] == epochs and counts["evaluate_epochs"] == analysis_jobs(epochs + 1)
    plots = {k for k in counts if k.startswith("plot_")}
    assert len(plots) >= 11 and counts["claims"] == 1, counts
    figs = set(re.findall(rf"results/{exp}/figures/(fig\d\d_\w+)\.png", proc.stdout))
    assert len(figs) == 16, sorted(figs)
    # the benchmark's paper-run projection (bench/paper_work.py, tested here on the real DAG)
    # counts the work of exactly these jobs
    sys.path.insert(0, str(ROOT / "bench"))
    import paper_work

    from advtrace.workdir import job_list

    assert len(job_list(proc.stdout)) == sum(v for k, v in counts.items() if k != "total")
    cfg = yaml.safe_load((wd / "config" / "experiments" / f"{exp}.yaml").read_text())
    work = {w["component"]: w for w in paper_work.paper_work(proc.stdout, cfg)}
    assert work["adversarial training"]["jobs"] == epochs
    assert work["adversarial training"]["S"] == epochs * cfg["dataset"]["splits"]["train"]["n"]
    assert all(w["jobs"] > 0 and sum(w[u] for u in paper_work.UNITS) > 0 for w in work.values())


@pytest.mark.e2e
def test_figure_targets_build_exactly_one_figure(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "paper_fig20", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts.get("plot_destruction") == 1 and "plot_learning_curves" not in counts, counts
    assert "results/gtsrb_preact18/figures/fig05_destruction_bi.png" in proc.stdout


@pytest.mark.e2e
def test_every_study_figure_has_its_own_target(tmp_path):
    """pNNN_figNN (and pNNN_<slug> / x000_<slug> for a figure without a number) builds that figure of the
    experiments in config["experiments"], as figNN does for paper 000 (names from the stage registry)."""
    from advtrace import stages

    keys = [stages.figure_key(f) for s in stages.all_stages() if s.paper != "000" for f in s.figures]
    assert {"p001_fig02", "p002_fig01", "p004_fig01", "p004_fig03", "p004_fig05", "p004_risk_ordering",
            "x000_methods_final"} <= set(keys)
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "p004_fig03", "x000_methods_final", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts.get("plot_p004_fig03_pareto_front") == 1 and counts.get("x000_figures") == 1, counts
    assert counts.get("plot_p004_fig03_deepfool_front") == 1, counts  # Fig. 3's right panel: the same target
    assert "plot_p004_fig05_learning_curves" not in counts and "plot_learning_curves" not in counts
    assert "results/digits/figures/p004_fig03_pareto_front.png" in proc.stdout


@pytest.mark.e2e
def test_snakemake_lint_finds_nothing(tmp_path):
    """`snakemake --lint` is clean: rules keep their input functions in rules/inputs/, every script
    rule names its log, conda environment and threads (issue 19)."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "--lint", "--cores", "1", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_leaves_the_workflow_files_unchanged(root):
    """The Snakefile and rules/ are formatted with snakefmt (settings in pyproject.toml's
    [tool.snakefmt]); run `.venv/bin/snakefmt Snakefile rules/` after editing them."""
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules/"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
