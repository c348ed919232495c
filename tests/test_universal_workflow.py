"""Universal-perturbation stage through the real Snakefile (reads the shared smoke run only)."""

import pytest
import yaml

from advtrace.runtime import load_torch
from advtrace.tables import read_table

from conftest import analysis_jobs, copy_workflow, dry_run_jobs, snakemake, write_exp

FIGS = ("fig03_universal_accuracy", "fig12_universal_train_vs_test", "fig04_universal_perturbations",
        "fig13_universal_perturbations_test")


def _smoke_cfg(wd):
    return yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())


@pytest.mark.e2e
def test_smoke_universal_figures_exist(smoke_run):
    figs = smoke_run / "results" / "smoke" / "figures"
    for fig in FIGS:
        for ext in ("pdf", "png"):
            assert (figs / f"{fig}.{ext}").stat().st_size > 1000, fig


@pytest.mark.e2e
def test_smoke_universal_accuracy_table(smoke_run):
    cfg = _smoke_cfg(smoke_run)
    u = cfg["universal"]
    df = read_table(smoke_run / "results" / "smoke" / "tables" / "universal_accuracy.parquet", "universal_accuracy")
    epochs = sorted(cfg["analysis"]["epochs"])
    assert sorted(df["epoch"].unique()) == epochs
    assert df["accuracy"].between(0, 1).all()
    assert (df["n"] == cfg["samples"][u["eval_set"]]["n"]).all()
    for t in epochs:
        d = df[df["epoch"] == t]
        kinds = d.groupby("perturbation").size().to_dict()
        sources = sorted({t} | set(u["source_epochs"]))
        assert kinds == {"clean": 1, "random_sign": 1, "universal": 2 * len(sources)}, (t, kinds)
        uni = d[d["perturbation"] == "universal"]
        for split in ("train", "test"):
            assert sorted(uni.loc[uni["source_split"] == split, "source_epoch"]) == sources
        assert (d.loc[d["perturbation"] != "clean", "eps"] == u["eps"]).all()
    # the pretrained model: its own universal perturbation hurts more than random ±ε noise
    e0 = df[df["epoch"] == 0].set_index(["perturbation", "source_split", "source_epoch"])["accuracy"]
    assert e0[("universal", "train", 0)] < e0[("random_sign", "none", -1)]
    assert e0[("universal", "train", 0)] < e0[("clean", "none", -1)]


@pytest.mark.e2e
def test_smoke_universal_perturbations_and_images(smoke_run):
    cfg = _smoke_cfg(smoke_run)
    u = cfg["universal"]
    res = smoke_run / "results" / "smoke"
    generated = sorted(set(cfg["analysis"]["epochs"]) | set(u["source_epochs"]) | set(u["image_epochs"]))
    img = read_table(res / "tables" / "universal_images.parquet", "universal_images")
    assert sorted(img.groupby(["source_split", "epoch"]).size().index) == [(s, e) for s in ("test", "train")
                                                                         for e in generated]
    assert (img.groupby(["source_split", "epoch"]).size() == 64).all()  # 1×8×8 digits
    assert img["value"].abs().max() <= u["eps"] + 1e-4
    for split in ("train", "test"):
        for e in generated:
            found = sorted((res / "runs" / "main" / "universal").glob(f"epochs_*/{split}/epoch_{e:03d}.pt"))
            assert len(found) == 1, found  # inside the directory of its chunk's generation job
            rec = load_torch(found[0])
            assert rec["xi"].abs().max() * 255 <= u["eps"] + 1e-4
            assert rec["source_split"] == split and rec["epoch"] == e
            assert len(rec["history"]) == u["iterations"]
            vals = img[(img["source_split"] == split) & (img["epoch"] == e)].sort_values(["channel", "row", "col"])
            assert (abs(vals["value"].to_numpy() - rec["xi"].double().flatten().numpy() * 255) < 1e-4).all()


@pytest.mark.e2e
def test_editing_amplify_reruns_only_the_image_plot(smoke_run):
    path = smoke_run / "config" / "experiments" / "smoke.yaml"
    original = path.read_text()
    cfg = _smoke_cfg(smoke_run)
    cfg["universal"]["amplify"] = cfg["universal"]["amplify"] * 2
    write_exp(smoke_run, "smoke", cfg)
    try:
        proc = snakemake(smoke_run, "-n", "--cores", "2", "--config", "experiments=[smoke]")
    finally:
        path.write_text(original)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert set(counts) <= {"plot_universal_images", "all", "total"}, counts


@pytest.mark.e2e
def test_dag_one_generation_job_per_split_and_epoch(tmp_path):
    """Generation for analysis.epochs ∪ source_epochs ∪ image_epochs on both splits; evaluation per
    analysed epoch."""
    wd = copy_workflow(tmp_path)
    cfg = _smoke_cfg(wd)
    cfg["adv_train"]["epochs"] = 5
    cfg["analysis"]["epochs"] = [0, 2, 3]
    cfg["universal"]["source_epochs"] = [0, 1]
    cfg["universal"]["image_epochs"] = [1, 5]
    write_exp(wd, "smoke", cfg)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[smoke]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["universal_generate"] == analysis_jobs(5)  # epochs {0, 1, 2, 3, 5} in chunks, train and test in one job
    assert counts["universal_evaluate"] == 1  # epochs 0, 2, 3: one chunk (epochs_per_analysis_job 4)
    assert counts["plot_universal_accuracy"] == 1 and counts["plot_universal_images"] == 1
