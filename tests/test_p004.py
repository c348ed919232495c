"""Paper 004 study: robustness search, heap adversary, fronts, claims, chained runs, configs."""

import copy
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from conftest import copy_workflow, dry_run_jobs, snakemake

pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- search and steps

def test_annealed_steps_sum_to_beta_eps_and_decay_geometrically():
    from advtrace.universal import annealed_steps

    a = annealed_steps(0.1, 200, 4.0, 0.975)
    assert len(a) == 200 and math.isclose(sum(a), 0.4, rel_tol=1e-9)
    assert math.isclose(a[0], 0.4 * (1 - 0.975) / (1 - 0.975 ** 200), rel_tol=1e-9)
    assert all(math.isclose(a[k + 1] / a[k], 0.975) for k in range(199))


def test_binary_search_finds_the_smallest_successful_eps_within_resolution():
    from advtrace.studies.p004.robustness import binary_search, smallest_success

    threshold = 100.3  # every input is misclassified from ε ≥ threshold on

    def trial(eps):
        return torch.full((10,), eps >= threshold)

    tried = binary_search(trial, 0.75, 8)
    best = smallest_success(tried, 0.75)
    assert threshold <= best <= threshold + 255 / 2 ** 8
    assert [e for e, _ in tried][:2] == [127.5, 63.75]
    assert math.isnan(smallest_success(binary_search(lambda e: torch.zeros(4, dtype=torch.bool), 0.75, 5), 0.75))


def test_bootstrap_interval_of_eps_brackets_the_estimate():
    from advtrace.studies.p004.robustness import binary_search, bootstrap_eps, smallest_success

    gen = torch.Generator().manual_seed(0)
    thresholds = torch.rand(300, generator=gen) * 200  # input i is fooled from ε ≥ thresholds[i]
    tried = binary_search(lambda e: thresholds <= e, 0.75, 8)
    best = smallest_success(tried, 0.75)
    lo, hi = bootstrap_eps(tried, 0.75, 500, 0)
    assert lo <= best <= hi
    q = float(torch.quantile(thresholds, 0.75))  # the true ε at which 75 % are fooled
    assert abs(best - q) < 10


# --------------------------------------------------------------------------- heap adversary

class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_heap_pgd_shares_one_perturbation_per_heap_and_respects_eps():
    from advtrace import attacks
    from advtrace.methods import heap_pgd

    model = Linear()
    x = 0.3 + 0.4 * torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(1))  # away from 0 and 1
    y = torch.arange(12) % 3
    eps = 0.05
    d = heap_pgd(model, x, y, eps, 0.02, 5, 4, torch.Generator().manual_seed(0), attacks.thresholded_ce(1.6))
    assert d.abs().max() <= eps + 1e-7
    for h in range(3):
        assert torch.allclose(d[4 * h:4 * h + 4], d[4 * h].expand(4, 1, 4, 4), atol=1e-6)  # (x + δ) − x rounding
    assert not torch.allclose(d[0], d[4], atol=1e-3)
    # a linear model: a heap's step is the sign of its summed input gradient of min(J, κ)
    d1 = heap_pgd(model, x, y, eps, 0.02, 1, 12, torch.Generator().manual_seed(0), attacks.thresholded_ce(1.6))
    assert (d1 - d1[0]).abs().max() < 1e-6


def test_thresholded_loss_gives_no_gradient_above_kappa():
    from advtrace import attacks

    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    y = torch.tensor([1, 0])  # first input: CE ≈ 5.01 > κ; second: log 3 ≈ 1.10 < κ
    obj = attacks.thresholded_ce(-math.log(0.2))
    (g,) = torch.autograd.grad(obj(logits, y), logits)
    assert torch.all(g[0] == 0)
    expected = torch.softmax(logits[1].detach(), 0) - torch.tensor([1.0, 0, 0])
    assert torch.allclose(g[1], expected, atol=1e-6)


# --------------------------------------------------------------------------- fronts and claims

def test_front_and_hypervolume_against_hand_computation():
    from advtrace.studies.p004.front import hypervolume, on_front

    acc = np.array([0.95, 0.90, 0.85, 0.88])
    eps = np.array([10.0, 20.0, 30.0, 15.0])  # the last is dominated by (0.90, 20)
    assert on_front(acc, eps).tolist() == [True, True, True, False]
    # reference accuracy 0.8: rectangles [0.8, acc] x [0, eps], union area by hand
    hand = 10 * 0.15 + 10 * 0.10 + 10 * 0.05
    assert math.isclose(hypervolume(acc, eps, 0.8), hand)
    assert hypervolume(acc, eps, 0.99) == 0.0


def _rob(rows):
    from advtrace.tables import coerce

    base = {"family": "shared", "adv_weight": 0.5, "n": 400, "eps_adv_low": 0.0, "eps_adv_high": 0.0,
            "eps_random": float("nan"), "eps_random_low": 255.0, "eps_random_high": 255.0}
    out = []
    for r in rows:
        d = {**base, **r}
        d.setdefault("ci_low", d["accuracy"] - 0.02)
        d.setdefault("ci_high", d["accuracy"] + 0.02)
        d.setdefault("eps_uni_low", d["eps_uni"] - 2)
        d.setdefault("eps_uni_high", d["eps_uni"] + 2)
        d["eps_adv_low"], d["eps_adv_high"] = d["eps_adv"] - 1, d["eps_adv"] + 1
        out.append(d)
    return coerce(pd.DataFrame(out), "p004_robustness")


def test_claims_on_constructed_tables():
    from advtrace.studies.p004 import claims
    from advtrace.studies.p004.front import front_table
    from advtrace.stats import FAILS, HOLDS

    rob = _rob([
        {"run": "main", "family": "erm", "heap_size": 0, "eps_train": 0.0, "adv_weight": 0.0, "epoch": 0,
         "accuracy": 0.97, "eps_uni": 40.0, "eps_adv": 12.0},
        {"run": "a16", "heap_size": 1, "eps_train": 16.0, "epoch": 4, "accuracy": 0.95, "eps_uni": 60.0, "eps_adv": 30.0},
        {"run": "a32", "heap_size": 1, "eps_train": 32.0, "epoch": 4, "accuracy": 0.90, "eps_uni": 80.0, "eps_adv": 40.0},
        {"run": "s16", "heap_size": 32, "eps_train": 16.0, "epoch": 4, "accuracy": 0.96, "eps_uni": 70.0, "eps_adv": 20.0},
        {"run": "s32", "heap_size": 32, "eps_train": 32.0, "epoch": 4, "accuracy": 0.95, "eps_uni": 100.0, "eps_adv": 25.0},
    ])
    by_id = {c.id: c for c in claims.CLAIMS}
    assert by_id["p004_at_raises_eps_uni"].measure(rob)[1] == HOLDS
    assert by_id["p004_uni_above_adv"].measure(rob)[1] == HOLDS
    text, verdict = by_id["p004_matched_accuracy"].measure(rob)
    assert verdict == HOLDS and "s = 32 (ε 32" in text  # s32 (0.95) matches a16 (0.95)
    assert by_id["p004_no_accuracy_loss"].measure(rob)[1] == HOLDS
    front = front_table(rob, 0.8)
    assert by_id["p004_front_dominates"].measure(front)[1] == HOLDS
    worse = rob.copy()
    worse.loc[worse["heap_size"] == 32, "eps_uni"] = 20.0
    worse.loc[worse["heap_size"] == 32, ["eps_uni_low", "eps_uni_high"]] = [18.0, 22.0]
    assert by_id["p004_front_dominates"].measure(front_table(worse, 0.8))[1] == FAILS


def test_pareto_figure_draws_the_front_table_it_reads():
    """Fig. 3 draws each s's front from the p004_front table (the one Table A1 lists), not a front of its
    own: a front table with other entries moves the lines."""
    from advtrace.studies.p004 import plots
    from advtrace.studies.p004.front import front_table

    rob = _rob([
        {"run": "a16", "heap_size": 1, "eps_train": 16.0, "epoch": 4, "accuracy": 0.95, "eps_uni": 60.0, "eps_adv": 30.0},
        {"run": "a32", "heap_size": 1, "eps_train": 32.0, "epoch": 4, "accuracy": 0.90, "eps_uni": 80.0, "eps_adv": 40.0},
        {"run": "a48", "heap_size": 1, "eps_train": 48.0, "epoch": 4, "accuracy": 0.85, "eps_uni": 70.0, "eps_adv": 45.0},
    ])
    front = front_table(rob, 0.8)
    assert sorted(front["run"]) == ["a16", "a32"]  # a48 is dominated by a32

    def lines(fig):
        return [sorted(zip(line.get_xdata(), line.get_ydata())) for line in fig.axes[0].get_lines()
                if line.get_label().startswith("s = ")]

    drawn = lines(plots.pareto(rob, front, "x", 0.75))
    assert drawn == [sorted(zip(100 * front.sort_values("accuracy")["accuracy"], front.sort_values("accuracy")["eps_uni"]))]
    other = front[front["run"] == "a16"]
    assert lines(plots.pareto(rob, other, "x", 0.75)) == [[(95.0, 60.0)]]


def test_risk_ordering_claim_fails_on_a_significant_rise():
    from advtrace.studies.p004 import claims
    from advtrace.stats import FAILS, HOLDS, proportion
    from advtrace.tables import coerce

    def table(rates):
        rows = []
        for kind, s, r in rates:
            e = proportion(round(r * 400), 400)
            rows.append({"run": "x", "epoch": 1, "eps": 32.0, "kind": kind, "heap_size": s, "loss": r, "loss_low": r,
                         "loss_high": r, "rate": e.value, "n": 400, "ci_low": e.low, "ci_high": e.high})
        return coerce(pd.DataFrame(rows), "p004_risk")

    claim = {c.id: c for c in claims.CLAIMS}["p004_heap_risk_ordering"]
    ok = table([("clean", 0, 0.05), ("heap", 1, 0.9), ("heap", 8, 0.6), ("heap", 64, 0.4), ("universal", 0, 0.3)])
    assert claim.measure(ok)[1] == HOLDS
    bad = table([("clean", 0, 0.05), ("heap", 1, 0.5), ("heap", 8, 0.9), ("heap", 64, 0.4), ("universal", 0, 0.3)])
    assert claim.measure(bad)[1] == FAILS


# --------------------------------------------------------------------------- runs, models, configs

def test_chained_runs_map_epochs_to_their_job(digits_cfg):
    from advtrace import runs

    exp = copy.deepcopy(digits_cfg)
    exp["paper004"]["runs"]["p004_eps16"]["adv_train.epochs"] = 10
    exp["paper004"]["runs"]["p004_eps16"]["adv_train.epochs_per_training_job"] = 4
    run = "p004_eps16_heap_size1"
    assert [runs.job_span(exp, run, e) for e in (1, 4, 5, 9, 10)] == [(1, 4), (1, 4), (5, 8), (9, 10), (9, 10)]
    assert runs.job_output(exp, run, 6) == f"results/digits/runs/{run}/checkpoints/job_008.json"
    assert runs.job_output(exp, run, 0) == "results/digits/runs/main/checkpoints/epoch_000.pt"
    assert runs.job_output(exp, "main", 3) == "results/digits/runs/main/checkpoints/epoch_003.pt"


def test_main_chain_may_chain_epochs(schema, digits_cfg):
    """Like any run (issue 26): paper 000's analyses read each epoch's checkpoint after its job's manifest."""
    from advtrace import runs
    from advtrace.config import validate_experiment

    exp = copy.deepcopy(digits_cfg)
    exp["adv_train"]["epochs_per_training_job"] = 2
    validate_experiment(exp, schema, "digits")
    assert runs.job_output(exp, "main", 3) == "results/digits/runs/main/checkpoints/job_004.json"


@pytest.mark.parametrize("key,value,message", [
    ("curve_runs", ["p004_nope"], "paper004.curve_runs"),
    ("risk", {"run": "p004_eps16_heap_size1", "epoch": 2, "eps": 32, "alpha": 8, "iterations": 5,
              "heap_sizes": [1, 2]}, "paper004.risk.epoch"),
])
def test_bad_study_config_names_the_key(schema, digits_cfg, key, value, message):
    from advtrace.config import ConfigError, validate_experiment

    exp = copy.deepcopy(digits_cfg)
    exp["paper004"][key] = value
    with pytest.raises(ConfigError, match=message):
        validate_experiment(exp, schema, "digits")


def test_resnet20_has_the_papers_shape():
    from advtrace.models import build_model

    m = build_model({"name": "resnet20", "width": 16}, 10, 3, 32)
    n = sum(p.numel() for p in m.parameters())
    assert 0.26e6 < n < 0.29e6  # He et al. 2016: ResNet-20 has 0.27M parameters
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    convs = [c for c in m.modules() if isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3)]
    assert len(convs) == 19 and [c.out_channels for c in convs][::6] == [16, 16, 32, 64]


@pytest.mark.e2e
def test_paper_scale_dry_run_plans_the_grid_in_chained_jobs(tmp_path):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[cifar10_resnet20_p004]", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    # one cached evaluation job per (run, epoch) at paper scale (epochs_per_analysis_job: 1): the ERM model,
    # 106 runs at their last epoch, the two Fig. 5 runs at each of their 65 epochs
    assert counts["adv_train_chained"] == 108 * 5 and counts["p004_evaluate"] == 1 + 106 + 2 * 65
    assert counts["pretrain"] == 1 and "adv_train_epoch" not in counts


@pytest.mark.e2e
def test_tiny_study_runs_end_to_end(tmp_path, digits_cfg):
    """smoke's core plus a tiny paper004 section: training runs (chained), evaluations, tables,
    the four figures, Table A1 and the scorecard's paper-004 claims."""
    import yaml

    from conftest import write_exp

    wd = copy_workflow(tmp_path)
    smoke = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg = {k: smoke[k] for k in ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples")}
    cfg["pretrain"]["epochs"] = 2
    cfg["adv_train"]["epochs"] = 1
    cfg["samples"] = {"gen": {"split": "val", "n": 60, "exclude": []}, "ev": {"split": "test", "n": 64, "exclude": []}}
    sec = copy.deepcopy(digits_cfg["paper004"])
    sec["runs"] = {"p004_t": {**sec["runs"]["p004_eps32"], "adv_train.epochs": 2, "adv_train.epochs_per_training_job": 2,
                              "grid": {"adv_train.shared.heap_size": [1, 16]}}}
    sec["evaluation"].update(generation_set="gen", eval_set="ev", iterations=4, search_steps=3, adv_iterations=2,
                             bootstrap=100)
    cfg["epochs_per_analysis_job"] = 1  # one evaluation job per (run, epoch)
    sec.update(main_epochs=[0], curve_runs=["p004_t_heap_size1"],
               risk={"run": "p004_t_heap_size1", "epoch": 2, "eps": 32, "alpha": 16, "iterations": 2,
                     "heap_sizes": [1, 4, 64]},
               images={"defended": "p004_t_heap_size16", "input_rank": 0})
    cfg["paper004"] = sec
    write_exp(wd, "tiny004", cfg)
    proc = snakemake(wd, "paper004", "--cores", "2", "--config", "experiments=[tiny004]", timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    res = wd / "results" / "tiny004"
    for slug in ("p004_fig03_pareto_front", "p004_fig05_learning_curves", "p004_risk_ordering", "p004_fig01_perturbations"):
        assert (res / "figures" / f"{slug}.png").stat().st_size > 0
    # epochs_per_analysis_job 1: one evaluation job per (run, epoch), each in its chunk
    assert sorted(p.parent.name for p in (res / "metrics" / "p004").glob("*/*/robustness.parquet")) == [
        "000-000", "001-001", "002-002", "002-002"]
    rob = pd.read_parquet(res / "tables" / "p004_robustness.parquet")
    assert sorted(zip(rob["run"], rob["epoch"])) == [("main", 0), ("p004_t_heap_size1", 1), ("p004_t_heap_size1", 2),
                                                       ("p004_t_heap_size16", 2)]
    assert ((rob["ci_low"] <= rob["accuracy"]) & (rob["accuracy"] <= rob["ci_high"])).all()
    for e in (1, 2):  # the chained job wrote every epoch's checkpoint
        assert (res / "runs" / "p004_t_heap_size16" / "checkpoints" / f"epoch_{e:03d}.pt").exists()
    claims = (res / "claims.md").read_text()
    assert "Paper 004" in claims and "p004_heap_risk_ordering" in claims
    assert "Table A1" in (res / "reports" / "p004_table_a1.md").read_text()


def test_evaluation_chunks_group_a_runs_epochs(digits_cfg):
    from advtrace.studies.p004 import plan as p004_plan

    exp = copy.deepcopy(digits_cfg)
    curve = exp["paper004"]["curve_runs"][0]
    epochs = p004_plan.eval_epochs(exp, curve)
    for k in (1, 3, 100):
        chunks = p004_plan.eval_chunks(exp, curve, k)
        assert [e for g in chunks.values() for e in g] == epochs  # every epoch once, in order
        assert all(len(g) <= k for g in chunks.values()) and len(chunks) == -(-len(epochs) // k)
        assert all(name == f"{g[0]:03d}-{g[-1]:03d}" for name, g in chunks.items())
