"""The Fashion-MNIST experiments (issue 27): `fashion` (all four studies, opt-in, ~1 h on 2 cores)
builds its full DAG and the cost plan (advtrace.plan) prices every job of it;
`fashion_smoke` runs end to end through the real Fashion-MNIST loader (e2e)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, assert_figures, copy_workflow, dry_run_jobs, snakemake

from advtrace import plan, stages
from advtrace import workmodel as W
from advtrace.config import load_yaml
from advtrace.dataset_files import FASHION_MNIST_FILES, FASHION_MNIST_FOLDER, FASHION_MNIST_SYSTEM_DIR


def test_fashion_is_opt_in():
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["experiments"]
    assert "fashion" not in default and "fashion_smoke" not in default


@pytest.mark.e2e
def test_fashion_dry_run_builds_full_dag_and_the_plan_prices_every_job(tmp_path):
    """All four papers' studies and the cross-method study: paper 000's 16 figure kinds, the companion
    studies' figures; the library's work model (advtrace.plan, the cost plan) prices every job of the
    real DAG, the main chain's epochs at one BI-10 training step per training image."""
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--forceall", "--cores", "2", "--config", "experiments=[fashion]", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = load_yaml(wd / "config" / "experiments" / "fashion.yaml")
    counts = dry_run_jobs(proc)
    assert counts["adv_train_epoch"] == cfg["adv_train"]["epochs"] and counts["pretrain"] >= 1
    figs = set(re.findall(r"results/fashion/figures/(fig\d\d_\w+)\.png", proc.stdout))
    assert len(figs) == 16, sorted(figs)
    for paper in ("p001", "p002", "p004", "x000"):
        assert re.search(rf"results/fashion/figures/{paper}_\w+\.png", proc.stdout), paper
    assert {s.name for s in stages.active(cfg)} >= {"evaluation", "universal", "destruction", "stability", "detect",
                                                    "paper001", "paper002", "paper004"}
    jobs = [j for j in plan.parse_dry_run(proc.stdout) if j.rule != "all"]
    cfg_all = plan.load_config(["experiments=[fashion]"], wd)
    priced = plan.price(jobs, cfg_all, plan.experiments(cfg_all, wd), "cpu")
    unpriced = sorted({p.job.rule for p in priced if p.est is None or p.est.seconds <= 0})
    assert not unpriced, unpriced
    # the main chain: T epochs, each one BI-10 step (10 input gradients) per training image, one training
    # step per image and one forward pass for the predicted label (computed here from the config)
    n = cfg["dataset"]["splits"]["train"]["n"]
    its = cfg["adv_train"]["attack"]["iterations"]
    exp = plan.experiments(cfg_all, wd)["fashion"]
    for j in jobs:
        if j.rule == "adv_train_epoch":
            ctx = W.Ctx(exp, j.wildcards, {"epochs_per_analysis_job": cfg_all["epochs_per_analysis_job"]})
            assert W.rules()["adv_train_epoch"].work(ctx).totals() == {"G": its * n, "F": n, "C": n}, j.wildcards


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
