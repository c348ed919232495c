"""The Fashion-MNIST experiments (issue 27): `fashion` (all four studies, opt-in, ~1 h on 2 cores)
builds its full DAG and every job of it has a work model for the budget (bench/fashion_budget.py);
`fashion_smoke` runs end to end through the real Fashion-MNIST loader (e2e)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, assert_figures, copy_workflow, dry_run_jobs, snakemake

sys.path.insert(0, str(ROOT / "bench"))
import fashion_budget  # noqa: E402

from advtrace import stages  # noqa: E402
from advtrace.config import load_yaml  # noqa: E402
from advtrace.dataset_files import FASHION_MNIST_FILES, FASHION_MNIST_FOLDER, FASHION_MNIST_SYSTEM_DIR  # noqa: E402


def test_fashion_is_opt_in():
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["experiments"]
    assert "fashion" not in default and "fashion_smoke" not in default


def test_fashion_dry_run_builds_full_dag_with_a_work_model_for_every_job(tmp_path):
    """All four papers' studies: paper 000's 16 figure kinds and the companion studies' figures; the
    budget script's work model covers every job of the real DAG and puts each in a stage."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "2", "--config", "experiments=[fashion]", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = load_yaml(wd / "config" / "experiments" / "fashion.yaml")
    counts = dry_run_jobs(proc)
    assert counts["adv_train_epoch"] == cfg["adv_train"]["epochs"] and counts["pretrain"] == 1
    figs = set(re.findall(r"results/fashion/figures/(fig\d\d_\w+)\.png", proc.stdout))
    assert len(figs) == 16, sorted(figs)
    for paper in ("p001", "p002", "p004"):
        assert re.search(rf"results/fashion/figures/{paper}_\w+\.png", proc.stdout), paper
    assert {s.name for s in stages.active(cfg)} >= {"evaluation", "universal", "destruction", "stability", "detect",
                                                    "paper001", "paper002", "paper004"}
    jobs = fashion_budget.parse_jobs(proc.stdout)
    assert len(jobs) == counts["total"]
    names = [s for s, _ in fashion_budget.STAGES]
    for job in jobs:
        work = fashion_budget.job_work(job, cfg)
        assert all(v >= 0 for v in work.values()), job
        assert fashion_budget.stage_of(job["rule"], job["wildcards"]) in names
        if job["rule"] in ("adv_train_epoch", "perturb_epoch", "p001_family", "p002_evaluate", "p004_evaluate"):
            assert sum(work.values()) > 0, job
    # the main chain's epochs are one training step per training image each
    adv = [fashion_budget.job_work(j, cfg) for j in jobs if j["rule"] == "adv_train_epoch"]
    assert all(sum(w.values()) == cfg["dataset"]["splits"]["train"]["n"] for w in adv)
    # every input of a job is produced by at most one job, and the DAG has no cycle
    deps = fashion_budget.dependencies(jobs)
    assert len(fashion_budget._topological(deps)) == len(jobs)


def test_list_schedule_matches_hand_computation():
    """Two cores; a chain a(3) -> b(3) and independent c(4), d(1): the chain goes first (longest
    remaining path), c and d share the other core -> makespan 6, critical path 6; one core: 11."""
    costs = [3.0, 3.0, 4.0, 1.0]
    deps = [set(), {0}, set(), set()]
    assert fashion_budget.schedule(costs, deps, 2) == (6.0, 6.0)
    assert fashion_budget.schedule(costs, deps, 1)[0] == 11.0
    assert fashion_budget.schedule([5.0, 1.0, 1.0], [set(), set(), {1}], 2) == (5.0, 5.0)


def test_parse_jobs_reads_rules_files_and_wildcards():
    out = ("rule pretrain:\n    input: results/f/data/dataset.pt\n    output: results/f/checkpoints/epoch_000.pt, "
           "results/f/checkpoints/pretrain\n    jobid: 3\n    wildcards: exp=f\n"
           "localrule all:\n    input: results/f/checkpoints/epoch_000.pt\n    jobid: 0\n")
    jobs = fashion_budget.parse_jobs(out)
    assert [j["rule"] for j in jobs] == ["pretrain", "all"]
    assert jobs[0]["output"] == ["results/f/checkpoints/epoch_000.pt", "results/f/checkpoints/pretrain"]
    assert jobs[0]["wildcards"] == {"exp": "f"}
    assert fashion_budget.dependencies(jobs) == [set(), {0}]


def _fashion_files_or_skip(wd: Path) -> None:
    """The smoke run reads Debian's package; without it, files under the checkout's
    resources/datasets/FashionMNIST/raw/ are linked into the workflow copy; else skip."""
    names = [n for n, _ in FASHION_MNIST_FILES]
    if all((Path(FASHION_MNIST_SYSTEM_DIR) / f"{n}.gz").is_file() for n in names):
        return
    local = ROOT / "resources" / "datasets" / FASHION_MNIST_FOLDER
    if all((local / n).is_file() for n in names):
        (wd / "resources" / "datasets" / FASHION_MNIST_FOLDER).parent.mkdir(parents=True)
        shutil.copytree(local, wd / "resources" / "datasets" / FASHION_MNIST_FOLDER)
        return
    pytest.skip(f"Fashion-MNIST is not installed: no Debian package dataset-fashion-mnist ({FASHION_MNIST_SYSTEM_DIR}) "
                f"and no {local}; `apt-get install dataset-fashion-mnist` (.ci/run installs it)")


@pytest.mark.e2e
def test_fashion_smoke_end_to_end(tmp_path):
    """fashion_smoke: every paper-000 figure through torchvision's FashionMNIST reader."""
    import torch

    from advtrace.tables import read_table

    wd = copy_workflow(tmp_path)
    _fashion_files_or_skip(wd)
    proc = snakemake(wd, "--cores", "2", "--config", "experiments=[fashion_smoke]", timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    res = wd / "results" / "fashion_smoke"
    data = torch.load(res / "data" / "dataset.pt", weights_only=True)
    assert data["name"] == "fashion_mnist" and (data["in_channels"], data["image_size"]) == (1, 28)
    assert data["test_x"].shape == (200, 1, 28, 28) and data["train_x"].shape == (300, 1, 28, 28)
    assert int(data["test_source_index"].max()) < 10000  # drawn from the official test set
    cfg = load_yaml(wd / "config" / "experiments" / "fashion_smoke.yaml")
    assert_figures(res, stages.figures(cfg))
    lc = read_table(res / "tables" / "learning_curve.parquet", "learning_curve")
    assert sorted(lc["epoch"].unique()) == list(range(cfg["adv_train"]["epochs"] + 1))
    assert (res / "claims.md").stat().st_size > 0


def test_work_model_counts_match_the_config_by_hand():
    """A few jobs' unit counts, recomputed from the config by hand (the budget rests on them)."""
    from collections import Counter

    cfg = load_yaml(ROOT / "config" / "experiments" / "fashion.yaml")
    n_train = cfg["dataset"]["splits"]["train"]["n"]
    # a chained paper-004 training job: its epochs x the training images, at that run's training step
    run = cfg["paper004"]["curve_runs"][0]
    job = {"rule": "run_adv_train_chained", "wildcards": {"exp": "fashion", "run": run, "epoch": "002"}}
    (key, count), = fashion_budget.job_work(job, cfg).items()
    assert key[0] == "train" and count == 2 * n_train and '"method": "shared"' in key[1]
    # a paper-004 evaluation of one epoch: b search steps x (K x m~ universal + adv_iterations x n) gradients
    ev = cfg["paper004"]["evaluation"]
    n = cfg["samples"][ev["eval_set"]]["n"]
    job = {"rule": "p004_evaluate", "wildcards": {"exp": "fashion", "run": "main", "chunk": "000-000"}}
    from advtrace.studies.p004 import plan

    chunks = plan.eval_chunks(cfg, "main")
    job["wildcards"]["chunk"] = next(iter(chunks))
    work = fashion_budget.job_work(job, cfg)
    epochs = len(chunks[job["wildcards"]["chunk"]])
    w = cfg["model"]["width"]
    assert work[("G", w)] == epochs * ev["search_steps"] * (ev["iterations"] * ev["m"] + ev["adv_iterations"] * n)
    # the main chain's pretraining: epochs x training images of clean steps
    work = fashion_budget.job_work({"rule": "pretrain", "wildcards": {"exp": "fashion"}}, cfg)
    assert sum(work.values()) == cfg["pretrain"]["epochs"] * n_train
    # tables and plots cost their start-up only
    assert fashion_budget.job_work({"rule": "plot_learning_curves", "wildcards": {}}, cfg) == Counter()
