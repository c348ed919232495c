"""Issue 17 (paper 000 fidelity): DeepFool's optional ℓ∞ bound and its count of perturbations that
still fool, GTSRB split by track, Fig. 1 examples classified correctly clean, Wilson columns,
seed variants and the verdict over seeds."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from advtrace import attacks, perturbations, stats
from advtrace.claims import across_seeds, seed_experiment, seeds_verdict
from advtrace.config import ConfigError, Experiments, seed_variant, validate_experiment
from advtrace.data import SampleSet, split_indices
from advtrace.datasets import gtsrb_tracks
from advtrace.stability import choose_examples
from advtrace.tables import coerce

pytestmark = pytest.mark.usefixtures("one_thread")


# --- 1. DeepFool: no bound by default; with a bound, how many still fool after the clip -----------

def _model_and_set(n=48):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():
        model[1].weight.mul_(4.0)
    model.eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    y = attacks.predict(model, x.float() / 255.0)
    return model, SampleSet("s", "test", torch.arange(n), x, y)


def test_deepfool_unbounded_and_bounded_perturbations():
    model, s = _model_and_set()
    cfg = {"name": "deepfool_l2", "overshoot": 0.02, "max_iter": 50}
    free = perturbations.generate(model, s, cfg, 16, torch.device("cpu"))
    assert "pred_adv_unbounded" not in free
    counts = perturbations.fooling_counts(free)
    assert counts["n_fooled"] == counts["n_fooled_unbounded"] > 0.9 * len(s.y)  # unbounded DeepFool fools ~all
    bound = 0.5 * float(free["delta"].abs().flatten(1).amax(1).median()) * 255.0
    clipped = perturbations.generate(model, s, {**cfg, "eps": bound}, 16, torch.device("cpu"))
    assert float(clipped["delta"].abs().max()) <= bound / 255.0 + 1e-7
    # the clip is the attack's own final clip: the same δ as deepfool(linf_bound=...)
    x = s.x.float() / 255.0
    own = attacks.deepfool(model, x, norm="l2", overshoot=0.02, max_iter=50, linf_bound=bound / 255.0)
    assert torch.allclose(clipped["delta"], own, atol=1e-6)
    assert torch.equal(clipped["pred_adv_unbounded"], free["pred_adv"])
    c = perturbations.fooling_counts(clipped)
    assert c["n_fooled_unbounded"] == counts["n_fooled"]
    assert c["n_fooled"] == int((clipped["pred_adv"] != clipped["pred_clean"]).sum()) < c["n_fooled_unbounded"]


def test_deepfool_eps_optional_other_attacks_need_it(schema, digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    assert "eps" not in cfg["perturb"]["attacks"]["DeepFool"]  # paper 000 states no bound
    validate_experiment(cfg, schema, expected_name="digits")
    del cfg["perturb"]["attacks"]["FGSM"]["eps"]
    with pytest.raises(ConfigError, match=r"perturb.attacks.FGSM.eps: required"):
        validate_experiment(cfg, schema, expected_name="digits")


def test_paper_configs_have_no_deepfool_bound(root):
    from advtrace.config import load_yaml

    for name in ("cifar10_preact18", "gtsrb_preact18", "gtsrb_convnet", "digits"):
        exp = load_yaml(root / "config" / "experiments" / f"{name}.yaml")
        assert "eps" not in exp["perturb"]["attacks"]["DeepFool"], name


# --- 5. GTSRB: split by track --------------------------------------------------------------------

def test_gtsrb_track_ids_from_file_names():
    paths = ["/r/GTSRB/Training/00003/00012_00029.ppm", "/r/GTSRB/Training/00003/00013_00000.ppm",
             "/r/GTSRB/Training/00042/00012_00001.ppm"]
    assert gtsrb_tracks(paths, [3, 3, 42]).tolist() == [3012, 3013, 42012]
    from advtrace.datasets import DatasetUnavailableError

    with pytest.raises(DatasetUnavailableError, match="track"):
        gtsrb_tracks(["/r/x/abc.ppm"], [0])


def test_split_by_track_keeps_tracks_whole():
    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 31, size=120)                 # tracks of 5..30 images
    groups = torch.from_numpy(np.repeat(np.arange(120) * 7 + 1000, sizes))
    groups = groups[torch.from_numpy(rng.permutation(len(groups)))]  # images of a track not contiguous
    n = len(groups)
    splits = {"train": {"source": "train", "n": n // 2}, "val": {"source": "train", "n": n // 5},
              "test": {"source": "train", "n": n // 5}}
    idx = split_indices({"train": n}, splits, seed=3, groups={"train": groups})
    assert {k: len(v) for k, v in idx.items()} == {k: s["n"] for k, s in splits.items()}
    tracks = {k: set(groups[v].tolist()) for k, v in idx.items()}
    assert not (tracks["train"] & tracks["val"]) and not (tracks["train"] & tracks["test"])
    assert not (tracks["val"] & tracks["test"])
    # a track is whole in its split except the one cut at the split's end
    for k, v in idx.items():
        partial = [t for t in tracks[k] if int((groups[v] == t).sum()) < int((groups == t).sum())]
        assert len(partial) <= 1, (k, partial)
    # by image, the same sizes share tracks between train and test (what issue 17 fixes)
    by_image = split_indices({"train": n}, splits, seed=3)
    assert set(groups[by_image["train"]].tolist()) & set(groups[by_image["test"]].tolist())
    with pytest.raises(ValueError, match="whole groups"):
        split_indices({"train": n}, {**splits, "test": {"source": "train", "n": n - n // 2 - n // 5}}, 3,
                      {"train": groups})


def test_gtsrb_configs_split_by_track(root):
    from advtrace.config import load_yaml

    for name in ("gtsrb_preact18", "gtsrb_convnet"):
        assert load_yaml(root / "config" / "experiments" / f"{name}.yaml")["dataset"]["split_by"] == "track"


# --- 4. Fig. 1: examples are classified correctly clean ----------------------------------------

def test_examples_are_classified_correctly_clean():
    summary = pd.DataFrame({
        "input_id": [0, 1, 2, 3, 4], "maxmin": [0.0, 0.1, 0.9, 0.6, 0.95], "minmax": [0.0, 0.05, 0.9, 0.1, 0.3],
        "mean_p": [0.0, 0.1, 0.9, 0.4, 0.5], "first_whitebox_p": [0.0, 0.1, 0.2, 0.3, 0.4],
        "clean_correct_all": [False, True, True, True, False],
    })
    chosen = choose_examples(summary)
    assert chosen["stable"] == 1          # input 0 has a smaller MaxMin but is misclassified clean
    assert 0 not in chosen.values() and 4 not in chosen.values()
    assert chosen == {"robust": 2, "stable": 1, "oscillation": 3}


# --- 6. intervals -----------------------------------------------------------------------------------

def test_wilson_columns_match_scalar_wilson():
    k, n = np.array([0, 3, 58, 256, 0]), np.array([10, 10, 256, 256, 0])
    lo, hi = stats.wilson_columns(k, n)
    for i in range(4):
        assert (lo[i], hi[i]) == pytest.approx(stats.wilson(k[i], n[i]))
    assert np.isnan(lo[4]) and np.isnan(hi[4])
    df = stats.with_wilson(pd.DataFrame({"accuracy": [0.5], "n": [100]}), "accuracy")
    assert (df["ci_low"].item(), df["ci_high"].item()) == pytest.approx(stats.wilson(50, 100))


# --- 7. seeds -----------------------------------------------------------------------------------------

def test_seed_variant_names_and_loading(root, schema):
    assert seed_variant("digits_seed2") == ("digits", 2)
    assert seed_variant("digits") is None and seed_variant("_seed1") is None and seed_variant("a_seedx") is None
    assert seed_experiment("digits", 0, 0) == "digits" and seed_experiment("digits", 2, 0) == "digits_seed2"
    exps = Experiments(root / "config" / "experiments", schema)
    base, var = exps["smoke"], exps["smoke_seed7"]
    assert var["seed"] == 7 and var["name"] == "smoke_seed7" and "smoke_seed7" in exps
    assert {k: v for k, v in var.items() if k not in ("seed", "name")} == \
        {k: v for k, v in base.items() if k not in ("seed", "name")}
    assert "nope_seed1" not in exps
    with pytest.raises(ConfigError, match="unknown experiment"):
        exps["nope_seed1"]


def _claims(values, statuses):
    return coerce(pd.DataFrame({"experiment": "x", "paper": "000", "claim": ["a", "b", "c"], "section": "s",
                                "statement": "t", "paper_value": "p", "criterion": "c", "measured": "m",
                                "value": values, "status": statuses}), "claims")


def test_verdict_over_seeds():
    assert seeds_verdict(["holds", "holds"]) == "holds"
    assert seeds_verdict(["does not hold"] * 3) == "does not hold"
    assert seeds_verdict(["holds", "does not hold"]) == "inconclusive"   # the flip of issue 17
    assert seeds_verdict(["holds", "inconclusive"]) == "inconclusive"
    assert seeds_verdict(["not measured"]) == "not measured"
    by_seed = {0: _claims([0.781, 0.1, np.nan], ["inconclusive", "holds", "measured"]),
               1: _claims([0.850, 0.2, np.nan], ["holds", "holds", "measured"]),
               2: _claims([0.830, 0.3, np.nan], ["holds", "holds", "measured"])}
    df = across_seeds(by_seed, "x").set_index("claim")
    assert df.loc["a", "status"] == "inconclusive" and df.loc["b", "status"] == "holds"
    assert df.loc["c", "status"] == "not measured"
    assert df.loc["a", "value_mean"] == pytest.approx(np.mean([0.781, 0.85, 0.83]))
    assert df.loc["a", "value_sd"] == pytest.approx(np.std([0.781, 0.85, 0.83], ddof=1))
    assert (df.loc["b", "value_min"], df.loc["b", "value_max"]) == (0.1, 0.3)
    assert df.loc["a", "verdicts"] == "inconclusive, holds, holds" and df.loc["a", "seeds"] == "0,1,2"


@pytest.mark.e2e
def test_claims_seeds_target_builds_every_seed(tmp_path):
    """`claims_seeds`: the claims of the experiment and of its seed variants, then the scorecard."""
    from conftest import copy_workflow, dry_run_jobs, snakemake

    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "claims_seeds", "--config", "experiments=[smoke]", "seeds=[0,1]",
                     timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    # smoke and smoke_seed1: two experiments, each trained from its own pretraining, one scorecard
    assert counts["claims"] == 2 and counts["claims_seeds_table"] == 1 and counts["pretrain"] == 2, counts
