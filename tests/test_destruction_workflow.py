"""Figs. 5, 14, 15 and the destruction table through the real Snakefile (reads smoke_run outputs only)."""

import math

import pytest
import yaml

from advtrace.tables import read_table
from advtrace.transforms import IDENTITY, TRANSFORMS

from conftest import assert_figures, perturbation_path


@pytest.fixture(scope="module")
def smoke_destruction(smoke_run):
    cfg = yaml.safe_load((smoke_run / "config" / "experiments" / "smoke.yaml").read_text())
    from advtrace.studies.p000.plan import destruction_epochs

    return smoke_run / "results" / "smoke", dict(cfg["destruction"], epochs=destruction_epochs(cfg))


@pytest.mark.e2e
def test_smoke_produces_the_three_destruction_figures(smoke_destruction):
    res, _ = smoke_destruction
    assert_figures(res, ("fig05_destruction_bi", "fig14_destruction_fgsm", "fig15_destruction_deepfool"))


@pytest.mark.e2e
def test_smoke_destruction_table(smoke_destruction):
    res, tr = smoke_destruction
    df = read_table(res / "tables" / "destruction.parquet", "destruction")
    n_settings = sum(len(v) for v in tr["sweeps"].values())
    assert len(df) == 3 * len(tr["epochs"]) * n_settings
    assert set(df["attack"]) == {"BI", "FGSM", "DeepFool"}
    assert sorted(df["epoch"].unique()) == sorted(tr["epochs"])
    assert set(df["transform"]) == set(TRANSFORMS)
    n_set = yaml.safe_load((res.parents[1] / "config" / "experiments" / "smoke.yaml").read_text())["samples"][
        tr["sample_set"]]["n"]
    assert (df["n_inputs"] == n_set).all()
    assert df["n_effective"].between(0, n_set).all() and df["n_destroyed"].between(0, df["n_effective"]).all()
    # one denominator per (attack, epoch): it depends on the clean and adversarial predictions only
    assert (df.groupby(["attack", "epoch"])["n_effective"].nunique() == 1).all()
    # the clean-input context column depends on (epoch, transform, strength), not on the attack
    assert df["clean_accuracy_transformed"].between(0, 1).all()
    assert (df.groupby(["epoch", "transform", "strength"])["clean_accuracy_transformed"].nunique() == 1).all()
    for row in df.itertuples():
        if row.n_effective == 0:
            assert math.isnan(row.destruction_rate)
        else:
            assert row.destruction_rate == pytest.approx(row.n_destroyed / row.n_effective)
        if row.strength == IDENTITY[row.transform]:
            assert row.n_destroyed == 0


@pytest.mark.e2e
def test_smoke_destruction_reuses_shared_perturbations(smoke_destruction):
    res, tr = smoke_destruction
    for attack in ("BI", "FGSM", "DeepFool"):
        for epoch in tr["epochs"]:
            assert perturbation_path(res, "main", epoch, attack, tr["sample_set"]).exists()
    for epoch in tr["epochs"]:
        assert (res / "runs" / "main" / "benchmarks" / "destruction_sweep" / f"{epoch:03d}.tsv").exists()
