"""Paper 002 study (advtrace.studies.p002): per-example iterations, the k-of-m method's iterative
adversary, the study plan, its checks, the transfer-rate definition and a tiny end-to-end run."""

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import yaml

from advtrace import attacks, methods, runs
from advtrace.config import check_experiment, validate_experiment
from advtrace.specs import kurakin_iterations
from advtrace.studies.p002 import checks, plan
from conftest import copy_workflow, snakemake, write_exp

pytestmark = pytest.mark.usefixtures("one_thread")


def linear_net(seed=0, classes=4):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, classes)).eval()


def test_kurakin_iterations_are_the_papers():
    # paper 002 Sec. 2.2: int(min(ε + 4, 1.25 ε)) with α = 1; digits scale ε and α by 8
    assert [kurakin_iterations(e, 1) for e in (2, 4, 8, 16)] == [2, 5, 10, 20]
    assert [kurakin_iterations(e, 8) for e in (16, 32, 64, 128)] == [2, 5, 10, 20]
    eps = torch.tensor([0.5, 2.0, 3.9, 4.0, 7.3, 16.0, 30.0]) / 255
    got = methods.per_example_iterations(eps, 1 / 255, cap=20).tolist()
    assert got == [min(20, kurakin_iterations(float(e) * 255, 1)) for e in eps]


@pytest.mark.parametrize("name", ["bi", "iter_ll"])
def test_per_input_iterations_equal_separate_runs(name):
    model = linear_net()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(9, 1, 3, 4, generator=g) * 0.6 + 0.2
    y = torch.randint(0, 4, (9,), generator=g)
    counts = torch.tensor([0, 1, 2, 3, 1, 0, 3, 2, 3])
    eps = torch.full((9,), 0.1)
    labels = y if name == "bi" else None
    delta = attacks.run_attack(model, x, labels, name, eps=eps, alpha=0.02, iterations=counts)
    assert torch.equal(delta[counts == 0], torch.zeros_like(delta[counts == 0]))
    for c in (1, 2, 3):
        sel = counts == c
        alone = attacks.run_attack(model, x[sel], None if labels is None else y[sel], name, eps=0.1, alpha=0.02,
                                   iterations=c)
        assert torch.allclose(delta[sel], alone, atol=1e-6)
    assert delta.abs().max() <= 0.1 + 1e-6


def test_kofm_iterative_adversary_runs_each_examples_own_iterations():
    class Recorder(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            if self.training:
                self.seen = x.detach().clone()
            return self.net(x)

    model = Recorder(linear_net())
    g = torch.Generator().manual_seed(3)
    x = torch.rand(8, 1, 3, 4, generator=g) * 0.5 + 0.25
    y = torch.randint(0, 4, (8,), generator=g)
    att = {"name": "iter_ll", "eps": 16 / 255, "alpha": 1 / 255, "iterations": 20}
    params = {"k_fraction": 1.0, "lam": 0.3, "eps_sigma": 8 / 255, "per_example_iterations": True}
    model.train()
    methods.kofm(methods.MethodContext("kofm", att, "predicted", params, torch.Generator().manual_seed(5)), model, x, y)
    eps = methods.truncated_normal_eps(8, 8 / 255, 16 / 255, torch.Generator().manual_seed(5))
    its = methods.per_example_iterations(eps, 1 / 255, 20)
    d = (model.seen - x).flatten(1).abs().amax(1)
    # each example moves at most its own iterations × α and at most its own ε
    assert (d <= torch.minimum(its.float() / 255, eps) + 1e-6).all()
    assert (d[its == 0] == 0).all() and (d[its > 0] > 0).all()


def test_plan_models_roles_and_shared_pretraining(digits_cfg):
    ms = {m["key"]: m for m in plan.models(digits_cfg)}
    sec = digits_cfg["paper002"]
    # the reference's epoch 0 is the experiment's shared pretrained model, evaluated once
    assert ms["main@0"]["path"] == "results/digits/runs/main/checkpoints/epoch_000.pt"
    T = plan.final_epoch(digits_cfg, sec["reference"])
    assert "baseline" in ms["main@0"]["roles"] and "reference" in ms[f"{sec['reference']}@{T}"]["roles"]
    assert ms[f"p002_fgsm@{T}"]["training"] == "fgsm (true labels) k=16/32"
    assert ms[f"p002_k_k_fraction0p125@{T}"]["training"] == "step_ll k=4/32"
    assert ms["p002_capacity_width4@0"]["width"] == 4 and ms["p002_capacity_width4@0"]["iterative"]
    assert not ms[f"p002_fgsm@{T}"]["iterative"]
    # transfer-only runs are read at epoch 0 only
    assert "p002_seed1@0" in ms and f"p002_seed1@{T}" not in ms
    assert [k for _, k in plan.transfer_models(digits_cfg)] == ["main@0", "p002_seed1@0", "p002_capacity_width4@0"]


def test_runs_with_the_same_pretraining_share_epoch_0(digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["paper002"]["runs"]["p002_capacity_clean"] = {"model.width": 4, "adv_train.method": "clean",
                                                     "adv_train.sigma": None, "adv_train.attack_label": None,
                                                     "adv_train.attack": None}
    assert runs.pretraining_owner(cfg, "p002_capacity_clean") == "p002_capacity_width4"
    assert runs.checkpoint_path(cfg, "p002_capacity_clean", 0) == runs.checkpoint_path(cfg, "p002_capacity_width4", 0)
    assert runs.pretraining_owner(cfg, "p002_seed1") == "p002_seed1"
    assert runs.pretraining_owner(cfg, "p002_fgsm") == runs.MAIN


def test_digits_section_validates_and_checks_name_missing_runs(schema, digits_cfg):
    validate_experiment(digits_cfg, schema, expected_name="digits")
    assert check_experiment(digits_cfg) == []
    bad = copy.deepcopy(digits_cfg)
    bad["paper002"]["k"] = ["p002_k_k_fraction0p25"]
    assert any(p.startswith("paper002.k[0]: no run 'p002_k_k_fraction0p25'") for p in checks.problems(bad))
    bad = copy.deepcopy(digits_cfg)
    bad["paper002"]["reference"] = "p002_fgsm"
    assert any("paper002.reference" in p and "step_ll" in p for p in checks.problems(bad))


def test_transfer_rate_definition():
    from advtrace.studies.p002.evaluate import transfer_table

    torch.manual_seed(0)
    nets = [linear_net(s) for s in (0, 1)]
    import advtrace.studies.p002.evaluate as E

    x = torch.rand(40, 1, 3, 4)
    y = torch.randint(0, 4, (40,))
    sec = {"eps": [32, 64], "alpha": 8, "chunk_size": 16}
    models = [{"key": f"m{i}@0", "path": f"m{i}"} for i in range(2)]
    orig = E.load_checkpoint
    E.load_checkpoint = lambda path, device: nets[int(path[1])]
    try:
        tr = transfer_table(models, [("A", "m0@0"), ("B", "m1@0")], sec, x, y, "cpu")
    finally:
        E.load_checkpoint = orig
    assert len(tr) == 2 * 2 * 3 * 2 * 2  # sources x targets x attacks x eps x top
    diag = tr[(tr["source"] == tr["target"]) & (tr["n"] > 0)]
    assert (diag["rate"] == 1.0).all()  # prefiltered on the source's own errors
    assert (tr["transferred"] <= tr["n"]).all() and (tr["n"] <= tr["candidates"]).all()
    # independent computation of one cell: FGSM at ε 64, A -> B, top 1
    d = attacks.fgsm(nets[0], x, y, 64 / 255)
    wa, wb = nets[0](x + d).argmax(1) != y, nets[1](x + d).argmax(1) != y
    pre = (nets[0](x).argmax(1) == y) & wa
    row = tr[(tr["source"] == "A (m0@0)") & (tr["target"] == "B (m1@0)") & (tr["attack"] == "fgsm")
             & (tr["eps"] == 64) & (tr["top"] == 1)].iloc[0]
    assert row["n"] == int(pre.sum()) and row["transferred"] == int((pre & wb).sum())
    assert np.isclose(row["rate"], (pre & wb).sum().item() / max(int(pre.sum()), 1))


def tiny_study(root):
    """smoke's data and model with a minimal paper002 section: 3 runs of one epoch."""
    cfg = yaml.safe_load((root / "config" / "experiments" / "smoke.yaml").read_text())
    cfg = {k: v for k, v in cfg.items() if k in ("seed", "dataset", "model", "pretrain", "adv_train", "samples")}
    cfg["name"] = "p002_tiny"
    cfg["pretrain"]["epochs"] = 3
    base = {"adv_train.epochs": 1, "adv_train.batch_size": 32, "adv_train.method": "kofm", "adv_train.sigma": None,
            "adv_train.attack_label": "predicted", "adv_train.attack": {"name": "step_ll", "eps": 64},
            "adv_train.kofm": {"k_fraction": 0.5, "lam": 0.3, "eps_sigma": 32}}
    cfg["paper002"] = {
        "runs": {"p002_step_ll": base,
                 "p002_fgsm": {**base, "adv_train.attack": {"name": "fgsm", "eps": 64},
                               "adv_train.attack_label": "ground_truth"},
                 "p002_w4": {**base, "model.width": 4}},
        "test_set": "eval_test", "chunk_size": 256, "eps": [16, 64], "alpha": 8, "reference": "p002_step_ll",
        "baseline": {"run": "p002_step_ll", "epoch": 0},
        "methods": ["p002_fgsm", "p002_step_ll"], "k": ["p002_step_ll"],
        "capacity": {"base_width": 8, "runs": ["p002_w4", "p002_step_ll"]},
        "transfer": {"models": ["p002_step_ll", "p002_w4"], "epoch": 0},
    }
    return cfg


@pytest.mark.e2e
def test_tiny_study_end_to_end(tmp_path):
    from advtrace.tables import read_table

    wd = copy_workflow(tmp_path)
    write_exp(wd, "p002_tiny", tiny_study(wd))
    proc = snakemake(wd, "paper002", "--cores", "2", "--config", "experiments=[p002_tiny]", timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = wd / "results" / "p002_tiny"
    acc = read_table(res / "tables" / "p002_accuracy.parquet", "p002_accuracy")
    assert acc["accuracy"].between(0, 1).all() and (acc["ci_low"] <= acc["accuracy"] + 1e-12).all()  # wilson(0, n) rounds to ~1e-18
    assert set(acc["attack"]) == {"clean", "fgsm", "fgsm_pred", "step_ll", "step_rnd", "iter_ll", "bi"}
    for f in ("p002_fig01_capacity_top1", "p002_fig02_transfer_eps"):
        assert (res / "figures" / f"{f}.png").stat().st_size > 1000
    assert "| top 1 |" in (res / "reports" / "p002_table1.md").read_text()
    claims = (res / "claims.md").read_text()
    assert "Paper 002" in claims and "p002_transfer_order" in claims
