"""The work model that sizes every cluster job (advtrace.workmodel, entries in advtrace.work_rules) and
the cost plan built on it (advtrace.plan): every rule that runs a script or a GPU has an entry, the
network profiles equal torch's own counts, the counts follow the config, requests grow with the
attempt, and the plan and its check mode work on every paper config."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

from advtrace import plan, workmodel as W
from advtrace.config import load_yaml

EXPERIMENTS = sorted(p.stem for p in (ROOT / "config" / "experiments").glob("*.yaml"))


def rule_blocks() -> dict[str, dict]:
    """{rule: {"script": bool, "gpu": bool, "file": ...}} for every named rule of the rule files."""
    out = {}
    for f in [ROOT / "Snakefile", *sorted((ROOT / "rules").rglob("*.smk"))]:
        text = f.read_text()
        for m in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, flags=re.M):
            body = m.group(2)
            out[m.group(1)] = {"script": bool(re.search(r"^\s+script:", body, flags=re.M)),
                               "gpu": bool(re.search(r"^\s+gpu=1,", body, flags=re.M)), "file": f.name}
    return out


def test_every_script_rule_and_gpu_rule_has_a_work_model_entry():
    blocks = rule_blocks()
    assert len(blocks) > 40 and blocks["adv_train_epoch"] == {"script": True, "gpu": True, "file": "train.smk"}
    missing = sorted(n for n, b in blocks.items() if (b["script"] or b["gpu"]) and n not in W.rules())
    assert not missing, (
        f"rules without a work-model entry (no computed runtime/mem_mb on a cluster): {missing}; add one in "
        "src/advtrace/work_rules.py (how: the docstring of advtrace.workmodel)")
    stale = sorted(set(W.rules()) - set(blocks))
    assert not stale, f"work-model entries of rules that do not exist: {stale}"


@pytest.mark.e2e
def test_rule_file_parser_finds_every_listed_rule(tmp_path):
    """The textual scan above sees every rule Snakemake knows, except the generated figure/paper
    targets (localrules without a script: figNN, paper_figNN, paperNNN, a study figure's key)."""
    from advtrace import stages

    proc = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = set(proc.stdout.split())
    unseen = sorted(listed - set(rule_blocks()))
    keys = {stages.figure_key(f) for s in stages.all_stages() if s.paper != "000" for f in s.figures}
    assert all(re.fullmatch(r"(paper_)?fig\d+|paper\w+", r) or r in keys for r in unseen), unseen


# --- network profiles: torch's own counts ------------------------------------------------------------

def _torch_counts(model, shape):
    import torch
    import torch.nn as nn

    tot = {"macs": 0, "act": 0, "layers": 0}

    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            tot["macs"] += o.numel() // o.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            tot["macs"] += m.in_features * m.out_features
        tot["act"] += o.numel() // o.shape[0]
        tot["layers"] += 1

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    return tot, sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name,width,channels,side,classes", [
    ("preact_resnet18", 16, 1, 8, 10), ("preact_resnet18", 4, 1, 8, 10), ("preact_resnet18", 8, 1, 28, 10),
    ("preact_resnet18", 64, 3, 32, 10), ("resnet20", 64, 3, 32, 10), ("resnet32", 16, 3, 32, 10),
    ("convnet", 32, 3, 32, 43), ("convnet", 16, 1, 28, 10)])
def test_classifier_profile_equals_torch_counts(name, width, channels, side, classes):
    from advtrace.models import build_model

    counts, params = _torch_counts(build_model({"name": name, "width": width}, classes, channels, side),
                                   (channels, side, side))
    p = W._classifier(name, width, channels, side, classes)
    assert (p.macs, p.params, p.act, p.layers) == (counts["macs"], params, counts["act"], counts["layers"])


@pytest.mark.parametrize("side,classes", [(224, 1000), (64, 10)])
def test_vgg16_profile_equals_torchvision(side, classes):
    """torchvision's VGG16 (paper 001 Sec. 4.2), whose 1000 logits a class selection follows."""
    from torchvision.models import vgg16

    counts, params = _torch_counts(vgg16(weights=None, num_classes=1000), (3, side, side))
    p = W._classifier("vgg16", 64, 3, side, classes)
    assert (p.macs, p.params, p.act, p.layers) == (counts["macs"], params, counts["act"], counts["layers"])
    for k, c in enumerate((64, 128, 256, 512, 512)):
        assert W.feature_shape({"name": "vgg16", "width": 64}, {"name": "imagenet", "image_size": side}, k) == \
            (c, side // 2 ** (k + 1))


@pytest.mark.parametrize("width", [32, 16])
def test_inception_profile_within_one_percent_of_torch(width):
    from advtrace.models import build_model

    counts, params = _torch_counts(build_model({"name": "inception_v3", "width": width}, 1000, 3, 299), (3, 299, 299))
    p = W._classifier("inception_v3", width, 3, 299, 1000)
    assert p.macs == pytest.approx(counts["macs"], rel=0.01) and p.params == pytest.approx(params, rel=0.01)
    assert p.act == pytest.approx(counts["act"], rel=0.01) and p.layers == counts["layers"]


def _detector_net(channels_in, widths, pools):
    """Paper 001's detector with any number of convolutions (its Sec. 4.2 ImageNet detector has five)."""
    import torch.nn as nn

    layers, cin = [], channels_in
    for i, c in enumerate(widths):
        layers += [nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        layers += [nn.MaxPool2d(2)] if i < pools else []
        cin = c
    return nn.Sequential(*layers, nn.Conv2d(cin, 2, 1))


@pytest.mark.parametrize("channels_in,side,widths,pools", [(1, 8, (32, 64, 64), 2), (16, 8, (16, 32, 32), 1),
                                                           (3, 32, (96, 192, 192), 2), (512, 14, (196,) * 5, 1)])
def test_detector_profile_equals_torch_counts(channels_in, side, widths, pools):
    from advtrace.detectors import Detector

    net = Detector(channels_in, widths, pools) if len(widths) == 3 else _detector_net(channels_in, widths, pools)
    counts, params = _torch_counts(net, (channels_in, side, side))
    p = W.detector(channels_in, side, widths, pools)
    assert (p.macs, p.params, p.act, p.layers) == (counts["macs"], params, counts["act"], counts["layers"])


def test_feature_shapes_equal_the_models_feature_maps():
    import torch

    from advtrace.models import build_model

    for name, side in (("preact_resnet18", 8), ("preact_resnet18", 32), ("resnet32", 32)):
        model = build_model({"name": name, "width": 8}, 10, 1, side).eval()
        with torch.no_grad():
            feats = model.features(torch.zeros(1, 1, side, side))
        ds = {"name": "digits", "image_size": side}
        for k, f in enumerate(feats):
            assert W.feature_shape({"name": name, "width": 8}, ds, k) == (f.shape[1], f.shape[2])


# --- counts follow the config ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    cfg = load_yaml(ROOT / "config" / "experiments" / "digits.yaml")
    cfg["name"] = "digits"
    return cfg


def _work(rule, exp, **wc):
    return W.rules()[rule].work(W.Ctx(exp, {"exp": exp["name"], **wc}, {"epochs_per_analysis_job": 4}))


def test_adversarial_epoch_counts_follow_the_method(digits):
    exp = copy.deepcopy(digits)
    n = exp["dataset"]["splits"]["train"]["n"]
    its = exp["adv_train"]["attack"]["iterations"]
    t = _work("adv_train_epoch", exp, epoch="001").totals()
    assert t == {"G": its * n, "F": n, "C": n}  # BI steps, the predicted label, one training step
    exp["dataset"]["splits"]["train"]["n"] = 2 * n
    assert _work("adv_train_epoch", exp, epoch="001").totals()["G"] == 2 * its * n
    exp = copy.deepcopy(digits)
    exp["adv_train"]["sigma"] = 0.5  # clean and adversarial halves: two training images per input
    assert _work("adv_train_epoch", exp, epoch="001").totals()["C"] == 2 * n
    # paper 002's k-of-m run: the adversary on k = m/2 of each batch; paper 004's shared run: its PGD steps
    t = _work("adv_train_epoch", digits, run="p002_step_ll", epoch="001").totals()
    assert t["G"] == pytest.approx(n / 2) and t["C"] == n
    t = _work("adv_train_chained", digits, run="p004_eps32_heap_size1", epoch="004").totals()
    assert t["G"] == 4 * 4 * n and t["C"] == 4 * 2 * n  # 4 epochs in one job, 4 PGD steps


def test_universal_perturbation_baselines_count_their_deepfool_rounds(digits):
    """Paper 004's deepfool_uad / fictitious_play (advtrace.methods.uap_round): every round_epochs
    epochs, pool_size DeepFool universal perturbations of up to max_passes passes over generation_n inputs."""
    from advtrace import work_rules

    u = {"eps": 64, "pool_size": 10, "round_epochs": 4, "p_adv": 0.5, "generation_n": 256, "fooling_rate": 0.8,
         "max_passes": 3, "overshoot": 0.02, "max_iter": 10, "chunk_size": 16, "label_smoothing": 0.1}
    adv = {**{k: v for k, v in digits["adv_train"].items() if k not in ("sigma", "attack", "attack_label")},
           "method": "deepfool_uad", "uap": u}
    ctx = W.Ctx(digits, {"exp": "digits"})
    n = digits["dataset"]["splits"]["train"]["n"]
    t = work_rules.adv_epoch_ops(ctx, adv, ctx.model(), 8 * n, epochs=8).totals()
    per_input = W.attack_ops({"name": "deepfool_l2"}, 10)
    assert t["C"] == 8 * n and t["G"] == pytest.approx(2 * 10 * 256 * 3 * per_input["G"])


def test_pretrain_and_analysis_counts(digits):
    exp = digits
    n, P = exp["dataset"]["splits"]["train"]["n"], exp["pretrain"]["epochs"]
    assert _work("pretrain", exp).totals() == {"C": P * n}
    ev = exp["evaluation"]
    m = exp["samples"][ev["train_set"]]["n"] + exp["samples"][ev["test_set"]]["n"]
    bi = ev["attacks"]["BI"]["iterations"]
    assert _work("evaluate_epochs", exp, chunk="004-007").totals() == {"F": 4 * m * 3, "G": 4 * m * (1 + bi)}
    from advtrace.perturb_plan import perturbation_needs

    needs = perturbation_needs(exp)
    for run, t in (("main", 1), ("p002_step_ll", 3)):  # each run's own sets (paper 000's analyses of any run)
        g = sum(exp["samples"][s]["n"] * W.attack_ops(exp["perturb"]["attacks"][a])["G"] for a, s in needs[(run, t)])
        assert g > 0 and _work("perturb_epochs", exp, run=run, chunk=f"{t:03d}-{t:03d}").totals()["G"] == pytest.approx(g)
    # a chunk job sums its epochs' sets (p002_step_ll's needed epochs 3 and 6 both lie in 001-007)
    both = sum(exp["samples"][s]["n"] * W.attack_ops(exp["perturb"]["attacks"][a])["G"]
               for t in (3, 6) for a, s in needs[("p002_step_ll", t)])
    assert _work("perturb_epochs", exp, run="p002_step_ll", chunk="001-007").totals()["G"] == pytest.approx(both)


def test_work_model_imports_no_torch_and_mirrors_the_constants_it_copies():
    """The DAG build prices every job: importing torch there would cost seconds."""
    code = f"""
import sys
from advtrace import plan, workmodel as W
cfg = plan.load_config(["experiments=[digits]"], plan.ROOT)
exp = plan.experiments(cfg, plan.ROOT)["digits"]
wc = {{"exp": "digits", "epoch": "001", "chunk": "000-003", "family": next(iter(exp["paper001"]["families"])),
      "attack": next(iter(exp["detect"]["attacks"])), "run": "p004_eps32_heap_size1"}}
priced = 0
for name in W.rules():
    try:
        W.job_estimate(name, exp, wc, cfg, "h100")
        priced += 1
    except Exception:
        pass  # a wildcard this rule does not take
assert priced > 40, priced
assert "torch" not in sys.modules, "the work model imported torch"
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    from advtrace import work_rules
    from advtrace.studies.p001.core import pools_for
    from advtrace.studies.p002.evaluate import BLOCK_INPUTS

    assert work_rules.P002_BLOCK_INPUTS == BLOCK_INPUTS
    exp = {"model": {"name": "preact_resnet18", "width": 16}, "paper001": {"detector": {"min_side": 2, "channels": [16, 32, 32]}}}
    for size in (8, 32):
        ctx = W.Ctx({**exp, "dataset": {"name": "digits", "image_size": size}}, {})
        for pos in ("input", 0, 1, 2, 3, 4):
            side = W.feature_shape(exp["model"], ctx.exp["dataset"], pos)[1]
            prof = work_rules._p001_detector(ctx, pos)
            assert prof.name.endswith(f"@{side // 2 ** pools_for(side, 2)}x{side // 2 ** pools_for(side, 2)}x"
                                      f"{W.feature_shape(exp['model'], ctx.exp['dataset'], pos)[0]}"), (pos, prof)


def test_requests_grow_with_attempt_and_keep_margins():
    cost = W.cost_settings({"cost": {"runtime_margin": "2", "min_runtime": 10}})  # --config gives strings
    assert W.runtime_minutes(30, 1, cost) == 10  # the floor
    assert W.runtime_minutes(3600, 1, cost) == 120 and W.runtime_minutes(3600, 3, cost) == 360
    assert W.memory_mb(700, cost) == 1000 and W.memory_mb(10000, cost) == 13000


def test_calibration_table_names_its_sources():
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    assert sorted(schema["properties"]["cost"]["properties"]["gpu"]["enum"]) == sorted(W.devices())
    for kind in W.devices():
        d = W.device(kind)
        assert d["source"] in ("measured", "assumed") and set(d["ops"]) == set(W.OPS)
        assert all(len(v) == 4 and min(v) >= 0 for v in d["ops"].values())
        assert d["source"] == "measured" and d["measured"]["host"] or d["assumptions"]
        assert d["startup_s"]["torch"] > 0 and d["base_rss_mb"]["torch"] > 0
    assert W.device("cpu")["source"] == "measured"


def test_gpu_projection_is_faster_than_the_cpu_for_paper_models(digits):
    cifar = load_yaml(ROOT / "config" / "experiments" / "cifar10_preact18.yaml")
    cifar["name"] = "cifar10_preact18"
    job = _work("adv_train_epoch", cifar, epoch="001")
    gpu, cpu = W.estimate_job("adv_train_epoch", job, "h100"), W.estimate_job("adv_train_epoch", job, "cpu")
    assert gpu.gpu and not cpu.gpu and gpu.seconds * 20 < cpu.seconds
    assert gpu.device_mb > W.CUDA_CONTEXT_MB and cpu.device_mb == 0


# --- the plan: critical path, check mode, every paper config -------------------------------------------

def _pj(rule, jobid, inputs, outputs, **wc):
    return plan.PlannedJob(rule, jobid, wc, inputs, outputs)


def test_critical_path_is_the_longest_dependent_chain():
    def priced(job, s):
        est = W.Estimate(job.rule, "cpu", False, s, s, 1, 0, 0, 1, {})
        return plan.Priced(job, est, "x", "core")

    a = priced(_pj("a", 1, [], ["a"]), 5)
    b = priced(_pj("b", 2, ["a"], ["b"]), 1)
    c = priced(_pj("c", 3, ["a"], ["c"]), 7)
    d = priced(_pj("d", 4, ["b", "c"], ["d"]), 2)
    s, chain = plan.critical_path([a, b, c, d])
    assert s == 14 and [p.job.rule for p in chain] == ["a", "c", "d"]


def test_check_flags_rules_off_by_more_than_two(tmp_path, digits):
    cfg = {"epochs_per_analysis_job": 4}
    exps = {"digits": digits}
    jobs = [_pj("adv_train_epoch", i, [], [], exp="digits", epoch=f"{i:03d}") for i in (1, 2)]
    jobs += [_pj("perturb_epochs", 9, [], [], exp="digits", chunk="001-001")]
    for j in jobs:
        j.benchmark = f"results/digits/benchmarks/{j.rule}/{j.wildcards.get('epoch') or j.wildcards['chunk']}.tsv"
        j.resources = {"gpu": "1"}
    priced = plan.price(jobs, cfg, exps, "cpu")
    factor = {"adv_train_epoch": 1.5, "perturb_epochs": 3.0}  # measured = estimate × factor
    for p in priced:
        f = tmp_path / p.job.benchmark
        f.parent.mkdir(parents=True, exist_ok=True)
        s = p.est.seconds * factor[p.job.rule]
        f.write_text("s\th:m:s\tmax_rss\tcpu_time\n" f"{s}\t0:00:01\t{p.est.host_mb}\t{s}\n")
    pairs = plan.measured(priced, tmp_path)
    assert len(pairs) == 3
    text, flagged = plan.check(pairs)
    assert flagged == ["perturb_epochs"] and "| adv_train_epoch | 2 |" in text


@pytest.mark.e2e
@pytest.mark.parametrize("exp", EXPERIMENTS)
def test_plan_prices_every_paper_config_with_the_slurm_profile(exp, tmp_path):
    """The plan runs for every config; with the SLURM profile every GPU job carries the runtime and
    memory the work model computes for it, and the plan prints its GPU-hours."""
    out = tmp_path / "plan.json"
    proc = subprocess.run([sys.executable, "-m", "advtrace.plan", "--profile", str(ROOT / "profiles" / "slurm"),
                           "--config", f"experiments=[{exp}]", "--json", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env=_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"### {exp}" in proc.stdout and "Critical path" in proc.stdout
    jobs = json.loads(out.read_text())
    # a dataset too large for memory is prepared by a cluster job, the others where Snakemake runs
    prepare = {j["rule"] for j in jobs if j["rule"].startswith("prepare_data")}
    lazy = exp in W.lazy_experiments(ROOT / "config" / "experiments")
    assert prepare == ({"prepare_data_cluster"} if lazy else {"prepare_data"}), prepare
    gpu_jobs = [j for j in jobs if j["gpu"]]
    assert gpu_jobs and all("seconds" in j for j in gpu_jobs)
    cost = W.cost_settings(load_yaml(ROOT / "config" / "config.yaml"))
    for j in gpu_jobs:
        assert j["device"] == cost["gpu"]
        assert int(j["resources"]["runtime"]) == W.runtime_minutes(j["seconds"], 1, cost), j
        assert int(j["resources"]["mem_mb"]) == W.memory_mb(j["host_mb"], cost), j
    gpu_hours = re.search(rf"\| \*\*total\*\* \| \d+[^|]*\| ([^|]+) \|", proc.stdout).group(1).strip()
    assert gpu_hours not in ("0", ""), proc.stdout[:3000]


def test_cluster_plans_page_covers_every_config():
    """docs/cluster_plans.md is generated (python -m advtrace.plan --docs docs/cluster_plans.md) for
    every file in config/experiments: a new or renamed config needs it regenerated."""
    text = (ROOT / "docs" / "cluster_plans.md").read_text()
    assert "python -m advtrace.plan --docs" in text
    assert sorted(re.findall(r"^## (\w+)$", text, flags=re.M)) == sorted(EXPERIMENTS + ["Constants"])


def _env():
    import os

    return dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")


def test_list_schedule_matches_hand_computation():
    """Two cores; a chain a(3) -> b(3) and independent c(4), d(1): the chain goes first (longest
    remaining chain), c and d share the other core -> makespan 6; one core: 11; three cores never
    beat the chain (6)."""
    def job(name, inputs):
        return plan.Priced(plan.PlannedJob(name, 0, inputs=inputs, outputs=[name]), None, "-", "-")

    jobs = [job("a", []), job("b", ["a"]), job("c", []), job("d", [])]
    assert plan.list_schedule(jobs, [3.0, 3.0, 4.0, 1.0], 2) == 6.0
    assert plan.list_schedule(jobs, [3.0, 3.0, 4.0, 1.0], 1) == 11.0
    assert plan.list_schedule(jobs, [3.0, 3.0, 4.0, 1.0], 3) == 6.0
    # the longest chain first: with c(5) started first on 2 cores instead, the makespan would be 8
    assert plan.list_schedule(jobs, [3.0, 3.0, 5.0, 1.0], 2) == 6.0
