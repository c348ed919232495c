"""bench/ helpers on a tiny model, one repeat: they run, return well-formed rows, agree with
torchattacks.BIM, and render a report. No timing assertions (timings are bench/run_bench.py's job)."""

import copy
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_measure as M  # noqa: E402

from advtrace import attacks  # noqa: E402
from advtrace.runtime import RuntimeOptions  # noqa: E402

CPU = torch.device("cpu")
OPTS = RuntimeOptions(amp=False, channels_last="auto", compile=False)


@pytest.fixture
def tiny(digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    exp["model"]["width"] = 8  # 8: the narrowest channels_last-safe width on CPU (runtime.channels_last_hazards)
    exp["adv_train"].update(batch_size=16)
    exp["adv_train"]["attack"].update(iterations=3)
    return M.Workload("digits", exp, 1, 8)


def _timing_ok(row):
    assert row["repeats"] == 1 and 0 <= row["min_s"] <= row["median_s"] <= row["max_s"]


def test_measure_interleaves_and_summarises():
    calls = []
    t = M.measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, M.Clock(CPU), warmup=1,
                  repeats=2, images={"a": 10})
    assert calls == ["a", "b", "a", "b", "a", "b"]  # warm-up each, then round-robin
    row = t["a"].row()
    assert row["repeats"] == 2 and row["images"] == 10 and row["img_per_s"] > 0
    assert math.isnan(t["b"].row()["img_per_s"])
    assert M.target_row("attack_vs_limit", 0.96)["meets"] and not M.target_row("adv_epoch_vs_11_clean", 1.2)["meets"]


def test_bim_agrees_with_torchattacks():
    pytest.importorskip("torchattacks")
    torch.manual_seed(0)
    from advtrace.models import PreActResNet18

    for c, s in ((1, 8), (3, 16)):
        model = PreActResNet18(10, c, width=4).eval()
        x = torch.randint(0, 256, (32, c, s, s)).float() / 255
        y = attacks.predict(model, x)
        assert M.max_abs_diff_vs_torchattacks(model, x, y, 32 / 255, 8 / 255, 10) <= 1e-6


def test_attack_train_transfer_switch_helpers_run(tiny):
    clock = M.Clock(CPU)
    rows, ratios = M.attack_benchmark(tiny, CPU, OPTS, clock, batch=16, warmup=0, repeats=1)
    names = {r["name"] for r in rows}
    assert {"bi10_attack", "bi10_limit", "bi10_ours", "bi10_self_max_abs_diff"} <= names
    for r in rows:
        if r.get("section") != "check":
            _timing_ok(r)
    by = {r["name"]: r for r in ratios}
    assert by["attack_vs_limit"]["value"] > 0
    if "bi10_torchattacks" in names:
        assert by["torchattacks_max_abs_diff"]["value"] <= 1e-6

    rows, ratios = M.train_benchmark(tiny, CPU, OPTS, clock, n_batches=2, warmup=0, repeats=1)
    assert {r["name"] for r in rows} == {"adv_epoch", "clean_epoch", "detector_epoch"} and rows[0]["images"] == 32
    det = next(r for r in rows if r["name"] == "detector_epoch")
    assert det["images"] == 2 * tiny.exp["detect"]["training"]["batch_size"]
    _timing_ok(det)
    assert ratios[0]["name"] == "adv_epoch_vs_11_clean" and ratios[0]["value"] > 0

    rows, ratios = M.transfer_benchmark(tiny, CPU, OPTS, clock, batch=64, warmup=0, repeats=1)
    assert {r["name"] for r in rows} == {"plain_inference", "transfer_eval"}
    assert ratios[0]["name"] == "transfer_vs_inference"

    variants = {"nchw": RuntimeOptions(channels_last=False), "cl": RuntimeOptions(channels_last=True)}
    rows = M.switch_benchmark(tiny, CPU, clock, 16, variants, warmup=0, repeats=1)
    assert len(rows) == 4 and all(r["value"] > 0 for r in rows)


def test_transfer_stats_matches_direct_computation():
    torch.manual_seed(0)
    from advtrace.models import PreActResNet18

    model = PreActResNet18(10, 1, width=4).eval()
    x = torch.randint(0, 256, (8, 1, 8, 8), dtype=torch.uint8)
    dq = torch.randint(-32, 33, x.shape).to(torch.int8)
    y = torch.randint(0, 10, (8,))
    with torch.inference_mode():
        p, cost, pred = M.transfer_stats(model, x, dq, y)
        xa = (x.float() / 255 + dq.float() / 255).clamp(0, 1)
        probs = torch.softmax(model(xa), 1)
    torch.testing.assert_close(p, probs[torch.arange(8), y], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cost, -probs[torch.arange(8), y].log(), rtol=1e-5, atol=1e-5)
    assert torch.equal(pred, probs.argmax(1))


def test_report_renders_rows(tmp_path):
    import pandas as pd

    import bench_report as report
    import run_bench

    base = {"date": "2026-01-01 00:00 UTC", "device_kind": "cpu", "device_name": "test cpu", "mode": "quick",
            "torch": torch.__version__, "torchattacks": "x", "python": "3", "threads": 1, "allocator_tuned": True,
            "amp": "False", "channels_last": "auto", "compile": "False", "git_commit": "abc", "load_before": 0.0,
            "load_after": 0.0, "run_note": "", "command": "python bench/run_bench.py"}
    rows = [
        dict(base, part="train", section="timing", model="cifar10", name="adv_epoch", batch_size=128, n_batches=2,
             images=256, repeats=1, min_s=20.0, median_s=20.0, max_s=20.0),
        dict(base, part="train", section="timing", model="cifar10", name="clean_epoch", batch_size=128, n_batches=2,
             images=256, repeats=1, min_s=2.0, median_s=2.0, max_s=2.0),
        dict(base, part="train", section="ratio", model="cifar10", **M.target_row("adv_epoch_vs_11_clean", 0.91)),
    ]
    df = run_bench.coerce(pd.DataFrame(rows).reindex(columns=run_bench.COLUMNS))
    df.to_parquet(tmp_path / "cpu-test-quick.parquet", index=False)
    text = report.render(tmp_path)
    assert "adv_epoch_vs_11_clean" in text and "test cpu" in text and "torch " + torch.__version__ in text
    assert report.projection(df) == []  # no work counts: nothing to project
    work = [
        dict(base, part="workflow", section="work", model="workflow", name="adversarial training", value=251.0,
             n_adv_step=251 * 45000.0),
        dict(base, part="workflow", section="work", model="workflow", name="pretraining", value=1.0,
             n_clean_step=200 * 45000.0),
        dict(base, part="workflow", section="work", model="workflow", name="perturbations: BI", value=3.0,
             n_forward=2000.0, n_input_grad=10000.0),
    ]
    wdf = run_bench.coerce(pd.DataFrame(work).reindex(columns=run_bench.COLUMNS))
    proj = {p["component"]: p["seconds"] for p in report.projection(df, wdf)}
    assert proj["one adversarial-training epoch (45000 images)"] == pytest.approx(45000 * 20.0 / 256)
    assert proj["adversarial training"] == pytest.approx(251 * 45000 * 20.0 / 256)
    assert proj["pretraining"] == pytest.approx(200 * 45000 * 2.0 / 256)
    assert math.isnan(proj["perturbations: BI"])  # no forward / input-gradient timing in this table
    assert proj["**total, one device, serial**"] == pytest.approx((251 * 20.0 + 200 * 2.0) * 45000 / 256)
    # a table measured without the workflow part is projected with another table's work rows
    pd.concat([df, wdf]).to_parquet(tmp_path / "cpu-test.parquet", index=False)
    assert report.render(tmp_path).count("| adversarial training |") == 2


DRY_RUN = """Building DAG of jobs...
Job stats:
job      count
-------  -----
total        4

[Mon Nov 23 12:28:47 2026]
rule perturb_epochs:
    output: results/x/runs/main/perturbations/epochs_000-000
    wildcards: exp=x, run=main, chunk=000-000
    resources: tmpdir=/tmp, gpu=1

[Mon Nov 23 12:28:47 2026]
group job adv_train (jobs in lexicogr. order):

    [Mon Nov 23 12:28:47 2026]
    rule adv_train_epoch:
        output: results/x/runs/main/checkpoints/epoch_001.pt
        wildcards: exp=x, run=main, epoch=001

[Mon Nov 23 12:28:47 2026]
rule stability_epochs:
    wildcards: exp=x, run=main, chunk=000-000

[Mon Nov 23 12:28:47 2026]
localrule all:
    input: results/x/claims.md
"""


def test_paper_work_counts_follow_the_jobs_and_the_config(digits_cfg):
    import paper_work as W
    from advtrace.workdir import job_list

    from advtrace import perturb_plan, stability_plan

    jobs = job_list(DRY_RUN)
    assert jobs == [("perturb_epochs", {"exp": "x", "run": "main", "chunk": "000-000"}),
                    ("adv_train_epoch", {"exp": "x", "run": "main", "epoch": "001"}),
                    ("stability_epochs", {"exp": "x", "run": "main", "chunk": "000-000"}), ("all", {})]
    exp = copy.deepcopy(digits_cfg)
    exp["perturb"]["attacks"]["BI"] = {"name": "bi", "eps": 4, "alpha": 1, "iterations": 7}
    work = {w["component"]: w for w in W.paper_work(DRY_RUN, exp)}
    # every BI set any stage needs at epoch 0 (advtrace.perturb_plan), each priced by its size
    n = sum(exp["samples"][s]["n"] for a, s in perturb_plan.perturbation_needs(exp)[("main", 0)] if a == "BI")
    assert n >= exp["samples"]["transfer_test"]["n"]
    assert work["perturbations: BI"]["G"] == 7 * n and work["perturbations: BI"]["F"] == 2 * n
    assert work["adversarial training"]["S"] == exp["dataset"]["splits"]["train"]["n"]
    plan = stability_plan.epoch_plan(exp["stability"], exp["adv_train"]["epochs"], 0)
    size = {k: v["n"] for k, v in exp["samples"].items()}
    expected = sum(size[s] * len(src) for s, src in plan["transfer"].items())
    expected += sum(size[p["perturbations"]] * size[p["inputs"]] for p in plan["pairwise"])
    stab = work["transfer, profiles, sharedness (Figs. 1, 2, 9, 10, 11)"]
    assert stab["F"] == expected > 0 and stab["jobs"] == 1
    assert W.attack_cost({"name": "fgsm", "eps": 4}, 10) == {"G": 1}
    df = W.attack_cost({"name": "deepfool_l2", "eps": 6, "overshoot": 0.02, "max_iter": 50}, 10)
    assert df["F"] == W.DEEPFOOL_ITERATIONS and df["G"] == pytest.approx(W.DEEPFOOL_ITERATIONS * (1 + 8 * 2 / 3))


def test_clean_accuracy_counts_top1_hits_and_refuses_a_missing_run(tmp_path, capsys):
    """bench/clean_accuracy.py: correct/n equals an independent count of the model's top-1 hits; a results
    directory without the checkpoint is an error naming the path and the command that makes it."""
    import clean_accuracy as C

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x = torch.randint(0, 256, (50, 1, 4, 4), dtype=torch.uint8)
    with torch.no_grad():
        pred = model(x.float() / 255.0).argmax(1)
    y = pred.clone()
    y[:13] = (y[:13] + 1) % 3  # 13 wrong, 37 right
    assert C.accuracy(model, x, y, chunk_size=7) == (37, 50)
    with pytest.raises(SystemExit):
        C.main([str(tmp_path / "fashion")])
    assert "epoch_000.pt does not exist" in capsys.readouterr().err
