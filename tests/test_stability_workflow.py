"""The stability stage through the real Snakefile (reads the shared smoke run; never writes to it)."""

import numpy as np
import pytest
import yaml

from advtrace import perturbations
from advtrace.stability_plan import profile_epochs, transfer_sources
from advtrace.tables import SCHEMAS, read_table

from conftest import analysis_jobs, copy_workflow, dry_run_jobs, perturbation_path, snakemake, write_exp

FIGS = ["fig01_stability_profiles", "fig02_sharedness_vs_stability", "fig09_transfer_error", "fig10_maxmin_minmax",
        "fig11_sharedness"]
TABLES = ["transfer", "stability_profile", "stability_summary", "transfer_error", "sharedness_vs_stability",
          "stability_correlation", "sharedness", "sharedness_summary"]


def _cfg(wd):
    return yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())


@pytest.mark.e2e
def test_smoke_produces_stability_figures_and_tables(smoke_run):
    res = smoke_run / "results" / "smoke"
    for fig in FIGS:
        for ext in ("pdf", "png"):
            assert (res / "figures" / f"{fig}.{ext}").stat().st_size > 5000, fig
    for name in TABLES:
        df = read_table(res / "tables" / f"{name}.parquet", name)
        assert list(df.columns) == list(SCHEMAS[name][1]) and len(df) > 0, name


@pytest.mark.e2e
def test_smoke_transfer_table_contents(smoke_run):
    res = smoke_run / "results" / "smoke"
    cfg = _cfg(smoke_run)
    st, T = cfg["stability"], cfg["adv_train"]["epochs"]
    tr = read_table(res / "tables" / "transfer.parquet", "transfer")
    epochs = profile_epochs(st, T)
    prof = tr[tr["set"] == st["profiles"]["set"]]
    n = cfg["samples"][st["profiles"]["set"]]["n"]
    # the full T x T profile of every profile input, no duplicates
    full = prof[prof["source_epoch"].isin(epochs) & prof["target_epoch"].isin(epochs)]
    assert len(full) == n * len(epochs) ** 2
    assert not tr.duplicated(["set", "input_id", "source_epoch", "target_epoch"]).any()
    assert tr["p_true"].between(0, 1).all()
    assert np.allclose(tr["cost_change"], tr["cost_adv"] - tr["cost_clean"], atol=1e-5)
    assert np.allclose(tr["p_true"], np.exp(-tr["cost_adv"].astype("float64")), atol=1e-4)
    assert (tr["correct"] == (tr["pred"] == tr["label"])).all()
    # white-box rows reproduce the predictions the perturb job stored for its own model
    for name in (st["transfer"]["train_set"], st["transfer"]["test_set"]):
        for t in epochs:
            stored = perturbations.load(perturbation_path(res, "main", t, st["attack"], name))
            rows = tr[(tr["set"] == name) & (tr["source_epoch"] == t) & (tr["target_epoch"] == t)]
            rows = rows.set_index("input_id").loc[stored["index"].numpy()]
            assert np.array_equal(rows["pred"].to_numpy(), stored["pred_adv"].numpy()), (name, t)
    # Fig. 9 rows: white-box and clipped black-box sources for every target
    te = read_table(res / "tables" / "transfer_error.parquet", "transfer_error")
    assert set(te["source"]) == {"respective epoch"} | {f"epoch {s}" for s in transfer_sources(st, T)}
    assert set(te["split"]) == {"train", "test"} and set(te["target_epoch"]) == set(epochs)
    assert te["error_rate"].between(0, 1).all()


@pytest.mark.e2e
def test_smoke_summary_and_examples(smoke_run):
    res = smoke_run / "results" / "smoke"
    s = read_table(res / "tables" / "stability_summary.parquet", "stability_summary")
    p = read_table(res / "tables" / "stability_profile.parquet", "stability_profile")
    assert (s["minmax"] <= s["maxmin"] + 1e-12).all()
    assert sorted(c for c in s["example"] if c) == ["oscillation", "robust", "stable"]
    i = int(s.iloc[0]["input_id"])
    P = p[p["input_id"] == i].pivot(index="source_epoch", columns="target_epoch", values="p_true").to_numpy()
    assert s.iloc[0]["maxmin"] == pytest.approx(P.max(1).min()) and s.iloc[0]["minmax"] == pytest.approx(P.min(0).max())


@pytest.mark.e2e
def test_smoke_sharedness_and_correlation(smoke_run):
    res = smoke_run / "results" / "smoke"
    cfg = _cfg(smoke_run)
    st = cfg["stability"]
    sh = read_table(res / "tables" / "sharedness.parquet", "sharedness")
    ss = read_table(res / "tables" / "sharedness_summary.parquet", "sharedness_summary")
    assert sorted(ss["epoch"]) == sorted(st["sharedness"]["epochs"])
    assert (ss["n_perturbations"] == cfg["samples"][st["sharedness"]["set"]]["n"]).all()
    assert (ss["n_other"] == cfg["samples"][st["sharedness"]["other_set"]]["n"]).all()
    assert ((sh["n_effective"] <= sh["n_other_correct"]) & (sh["n_other_correct"] <= sh["n_other"])).all()
    assert ss["min_pct"].le(ss["mean_pct"]).all() and ss["mean_pct"].le(ss["max_pct"]).all()
    svs = read_table(res / "tables" / "sharedness_vs_stability.parquet", "sharedness_vs_stability")
    c = read_table(res / "tables" / "stability_correlation.parquet", "stability_correlation").iloc[0]
    assert c["n_inputs"] == len(svs) == cfg["samples"][st["cost_change"]["test_set"]]["n"]
    assert c["n_used"] == svs["used"].sum()
    assert (svs["n_train"] == cfg["samples"][st["cost_change"]["train_set"]]["n"]).all()
    assert -1 <= c["pearson_r_loglog"] <= 1


@pytest.mark.e2e
def test_one_forward_job_per_epoch_chunk_logs_its_rate(smoke_run):
    """One stability_epochs job per chunk of checkpoint epochs (the only stability jobs that load
    them), logging each epoch's rate once."""
    logs = sorted((smoke_run / "results" / "smoke" / "runs" / "main" / "logs" / "stability_epochs").glob("*.log"))
    cfg = _cfg(smoke_run)
    epochs = cfg["adv_train"]["epochs"] + 1
    assert len(logs) == analysis_jobs(epochs)
    texts = [log.read_text() for log in logs]
    assert sum(t.count("forwards in") for t in texts) == epochs and all("img/s" in t for t in texts)


@pytest.mark.e2e
def test_changing_sharedness_epochs_reruns_only_affected_jobs(smoke_run):
    """Editing one analysis' epoch set re-runs that epoch's forward job and the aggregation, nothing upstream."""
    cfg = _cfg(smoke_run)
    original = (smoke_run / "config" / "experiments" / "smoke.yaml").read_text()
    cfg["stability"]["sharedness"]["epochs"] = [0, 2, 3]
    write_exp(smoke_run, "smoke", cfg)
    try:
        proc = snakemake(smoke_run, "-n", "--cores", "2", "--config", "experiments=[smoke]")
    finally:
        (smoke_run / "config" / "experiments" / "smoke.yaml").write_text(original)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    # epoch 2 gains sharedness perturbations: the one perturb_epochs job of its chunk reruns (all its
    # epochs and sets), and with it what reads that chunk's perturbations; nothing upstream
    assert counts.get("perturb_epochs") == 1 and counts.get("stability_epochs") >= 1, counts
    assert "adv_train_epoch" not in counts and "pretrain" not in counts


@pytest.mark.e2e
def test_cifar_shaped_stability_dag(tmp_path):
    """Paper-sized epoch sets (every epoch 0..250 in the profile, sources 0, 5, 15, 51, 251 clipped
    to 250): one forward job per chunk of epochs, every per-epoch perturbation requested once."""
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg["adv_train"]["epochs"] = 250
    cfg["stability"]["transfer"]["sources"] = [0, 5, 15, 51, 251]
    cfg["stability"]["sharedness"]["epochs"] = [0, 1, 15, 250]
    write_exp(wd, "paper_shaped", cfg)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[paper_shaped]", timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    assert counts["stability_epochs"] == analysis_jobs(251)
    assert counts["stability_tables"] == 1
    # one perturbation job per chunk of epochs: every epoch 0..250 needs the profile/transfer sets
    assert counts["perturb_epochs"] == analysis_jobs(251)
