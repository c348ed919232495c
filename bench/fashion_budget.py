"""The Fashion-MNIST experiment's time budget: measured on this host, projected to a quiet 2-core
AVX2-only host (issue 27: the whole `fashion` experiment must take <= 60 min there).

    .venv/bin/python bench/fashion_budget.py [--workdir DIR] [--core-epochs 2] [--write-docs]

What it does, in order (CPU seconds throughout: `cpu_time` of Snakemake's benchmark TSVs and
`time.process_time`, which a shared, busy machine inflates far less than wall time):

1. **Core run.** Copies the workflow into ``--workdir`` and runs paper 000's core of the real
   ``fashion`` config there: data preparation (through the real Fashion-MNIST loader), pretraining,
   the adversarial-training chain (all ``adv_train.epochs``, or ``--core-epochs``), its learning curve
   (Fig. 8's table) and one analysis job (the epoch-0 perturbations, BI + FGSM + DeepFool of every
   set). Each job's CPU time comes from its benchmark TSV; the learning curve (clean, FGSM and BI
   accuracy per epoch, with n and 95 % intervals) is the measured science the config's choices rest on
   (pretrained clean accuracy, BI accuracy before adversarial training, the curve's flattening).
2. **Unit prices.** In one process with one thread (as every job runs): the CPU seconds per image of
   a classifier forward and input-gradient pass (each model width the config uses), of one training
   step of every training method the config's runs use (through advtrace's own ``_train_epoch``), of
   the detectors' training steps, forward and input-gradient passes (each attachment position), of
   DeepFool on the core run's checkpoints (its iterations depend on the model), and the start-up of a
   job (a fresh Python importing torch and advtrace, as ``bench_measure.job_startup_benchmark``).
3. **Work model.** Every job of the full DAG (``snakemake -n``) gets a count of those unit operations
   from the config (sample-set sizes, ε grids, iterations, epochs; ``bench/paper_work.py`` for
   paper 000's analysis rules): job CPU = start-up + Σ count × price. Jobs of the core run use their
   measured CPU time; their measured/modelled ratio is reported, and the other jobs of a measured
   rule are scaled by that rule's ratio.
4. **Projection to the AVX2 host.** Compute scales by this host's time for the PERF.md probe (a width-8
   pre-act ResNet-18 BI-10 adversarial-training step on 28×28 images, batch 128, 1 thread) over the
   AVX2 host's (127 img/s, ../shared/PERF.md, quiet); start-up by this host's time for the
   benchmark's job start-up (``bench_measure.job_startup_benchmark``: Python, torch, advtrace,
   ``setup_job``) over the AVX2 host's (2.09 s, bench/results/cpu-2t-amd-epyc.parquet). The probe runs
   before the core run, after it and after the prices; their mean is used and their spread reported. The wall time on 2 cores is a list
   schedule of the DAG's jobs (one thread each, 2 at a time, longest remaining path first).

Writes bench/results/fashion_budget.json and, with ``--write-docs``, the budget and learning-curve
tables between the markers of docs/fashion.md. Never run as a test (tests/test_fashion.py checks the
work model and the scheduler on the real DAG without timing anything).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src")]

EXP = "fashion"
# The AVX2-only 2-core reference host (AMD EPYC, quiet): ../shared/PERF.md "Fashion-MNIST scale"
# (BI-10 adversarial training, width-8 pre-act ResNet-18, 28x28, batch 128, 1 thread: 127 img/s) and
# the benchmark's job start-up there (bench/results/cpu-2t-amd-epyc.parquet, row job_startup).
AVX2_PROBE_IMG_S = 127.0
AVX2_STARTUP_S = 2.09
CORES = 2
BUDGET_S = 3600.0
MARKS = {"budget": ("<!-- fashion-budget:begin -->", "<!-- fashion-budget:end -->"),
         "curve": ("<!-- fashion-curve:begin -->", "<!-- fashion-curve:end -->")}

# Rules whose jobs do no tensor work worth modelling: tables, plots, claims, manifests.
LIGHT = re.compile(r"^(draw_samples|.*_table|.*_tables|plot_.*|claims|p00\d_report|p001_plots|stability_manifest"
                   r"|detect_tables|all)$")

STAGES = [  # (stage, rule pattern) in report order; the first match wins
    ("data (prepare_data, draw_samples)", r"^(prepare_data|draw_samples)$"),
    ("paper 000: pretraining (epoch 0)", r"^pretrain$"),
    ("paper 000: adversarial training (main chain)", r"^adv_train_epoch$"),
    ("paper 000: learning curves (Fig. 8)", r"^(evaluate_epochs|learning_curve_table|plot_learning_curves)$"),
    ("paper 000: perturbations (BI, FGSM, DeepFool)", r"^perturb_epoch$"),
    ("paper 000: stability, transfer, sharedness (Figs. 1, 2, 9-11)", r"^(stability_.*|plot_(stability_profiles|"
     r"sharedness.*|transfer_error|maxmin_minmax))$"),
    ("paper 000: universal perturbations (Figs. 3, 4, 12, 13)", r"^(universal_.*|plot_universal_.*)$"),
    ("paper 000: destruction (Figs. 5, 14, 15)", r"^(destruction_.*|plot_destruction)$"),
    ("paper 000: detectors (Figs. 6, 7, 16)", r"^(train_detectors|evaluate_detectors|maximise_detector|detect_tables|"
     r"plot_detect.*)$"),
    ("paper 001 study", r"^(p001_.*)$"),
    ("paper 002 study: training runs", r"^run_.*@p002_"),
    ("paper 002 study: evaluation", r"^p002_.*"),
    ("paper 004 study: training runs", r"^run_.*@p004_"),
    ("paper 004 study: evaluation", r"^(p004_.*|plot_p004_.*)$"),
    ("claims, report", r".*"),
]


def stage_of(rule: str, wc: dict) -> str:
    key = f"{rule}@{wc.get('run', '')}" if rule.startswith("run_") else rule
    return next(name for name, pat in STAGES if re.match(pat, key))


# --------------------------------------------------------------------------- the DAG

def parse_jobs(stdout: str) -> list[dict]:
    """Every job `snakemake -n` printed: rule, wildcards, input and output files."""
    jobs: list[dict] = []
    for line in stdout.splitlines():
        m = re.match(r"^\s*(?:local)?rule (\w+):\s*$", line)
        if m:
            jobs.append({"rule": m.group(1), "wildcards": {}, "input": [], "output": []})
            continue
        if not jobs:
            continue
        m = re.match(r"^\s+(input|output|wildcards): (.*)$", line)
        if m:
            key, text = m.groups()
            if key == "wildcards":
                jobs[-1]["wildcards"].update(kv.split("=", 1) for kv in text.split(", ") if "=" in kv)
            else:
                jobs[-1][key] += [f.strip() for f in text.split(", ") if f.strip()]
    return jobs


def dependencies(jobs: list[dict]) -> list[set[int]]:
    """For each job, the indices of the jobs producing its inputs."""
    producer = {f: i for i, j in enumerate(jobs) for f in j["output"]}
    return [{producer[f] for f in j["input"] if f in producer and producer[f] != i} for i, j in enumerate(jobs)]


def schedule(costs: list[float], deps: list[set[int]], cores: int) -> tuple[float, float]:
    """(makespan of a list schedule on `cores` one-thread slots, longest remaining path first;
    critical path length)."""
    n = len(costs)
    children = defaultdict(list)
    for i, ds in enumerate(deps):
        for d in ds:
            children[d].append(i)
    order = _topological(deps)
    tail = [0.0] * n
    for i in reversed(order):
        tail[i] = costs[i] + max((tail[c] for c in children[i]), default=0.0)
    waiting = [len(ds) for ds in deps]
    ready = [i for i in range(n) if waiting[i] == 0]
    running: list[tuple[float, int]] = []
    now, done = 0.0, 0
    while done < n:
        ready.sort(key=lambda i: -tail[i])
        while ready and len(running) < cores:
            i = ready.pop(0)
            running.append((now + costs[i], i))
        running.sort()
        now, i = running.pop(0)
        done += 1
        for c in children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    return now, max(tail) if tail else 0.0


def _topological(deps: list[set[int]]) -> list[int]:
    seen, order = set(), []

    def visit(i: int) -> None:
        stack = [(i, iter(deps[i]))]
        seen.add(i)
        while stack:
            node, it = stack[-1]
            nxt = next((d for d in it if d not in seen), None)
            if nxt is None:
                order.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(deps[nxt])))

    for i in range(len(deps)):
        if i not in seen:
            visit(i)
    return order  # dependencies first


# --------------------------------------------------------------------------- the work model

def _width(cfg: dict) -> int:
    return int(cfg["model"]["width"])


def train_signature(adv: dict, model: dict) -> str:
    """One key per distinct training step cost: the method with its adversary, batch size and width."""
    keep = {k: adv[k] for k in ("method", "batch_size", "attack", "kofm", "shared", "sigma", "attack_label") if k in adv}
    return json.dumps({"model": model, **keep}, sort_keys=True)


def clean_signature(pretrain: dict, model: dict) -> str:
    return json.dumps({"model": model, "method": "clean", "batch_size": pretrain["batch_size"]}, sort_keys=True)


def paper000_counts(rule: str, wc: dict, exp: dict) -> Counter:
    """bench/paper_work.py's unit counts (F, G, D) for one job of paper 000's analysis rules."""
    from paper_work import paper_work

    stdout = f"rule {rule}:\n    wildcards: {', '.join(f'{k}={v}' for k, v in wc.items())}\n"
    rows = paper_work(stdout, exp)
    out = Counter()
    for r in rows:
        for u in ("F", "G", "D", "C", "S"):
            out[u] += r[u]
    return out


def job_work(job: dict, exp: dict) -> Counter:
    """Unit operations of one job, as price keys: ('F', w), ('G', w), ('train', sig), ('D', arch) ..."""
    from advtrace import runs as R
    from advtrace.perturb_plan import needs_by_epoch
    from advtrace.specs import ATTACK_SPECS, kurakin_iterations

    rule, wc = job["rule"], job["wildcards"]
    n = {name: int(s["n"]) for name, s in exp["samples"].items()}
    n_train = int(exp["dataset"]["splits"]["train"]["n"])
    w0 = _width(exp)
    out: Counter = Counter()
    if LIGHT.match(rule) or rule == "prepare_data":
        return out
    if rule == "pretrain":
        out[("train", clean_signature(exp["pretrain"], exp["model"]))] += exp["pretrain"]["epochs"] * n_train
    elif rule == "adv_train_epoch":
        out[("train", train_signature(exp["adv_train"], exp["model"]))] += n_train
    elif rule in ("run_pretrain", "run_adv_train_epoch", "run_adv_train_chained"):
        cfg = R.run_config(exp, wc["run"])
        if rule == "run_pretrain":
            out[("train", clean_signature(cfg["pretrain"], cfg["model"]))] += cfg["pretrain"]["epochs"] * n_train
        else:
            first, last = R.job_span(exp, wc["run"], int(wc["epoch"])) if rule.endswith("chained") else (1, 1)
            out[("train", train_signature(cfg["adv_train"], cfg["model"]))] += (last - first + 1) * n_train
    elif rule == "perturb_epoch":
        t = int(wc["epoch"])
        for attack, set_name in needs_by_epoch(exp).get(t, []):
            att = exp["perturb"]["attacks"][attack]
            spec = ATTACK_SPECS[att["name"]]
            if spec.class_gradients:  # DeepFool: measured per image on a checkpoint of this stage of training
                out[("deepfool", att["name"].split("_")[1], "pretrained" if t == 0 else "adversarial")] += n[set_name]
            else:
                out[("G", w0)] += spec.gradient_steps(att) * n[set_name]
            out[("F", w0)] += 2 * n[set_name]
    elif rule in ("evaluate_epochs", "stability_epochs", "universal_generate", "universal_evaluate",
                  "destruction_sweep", "train_detectors", "evaluate_detectors", "maximise_detector"):
        c = paper000_counts(rule, wc, exp)
        out[("F", w0)] += c["F"]
        out[("G", w0)] += c["G"]
        # paper_work counts detector work in training steps D (a forward as D/3, a maximising
        # input gradient as one D)
        out[("Dtrain", "detect")] += c["D"]
    elif rule == "p001_family":
        out += p001_family_work(exp, wc["family"])
    elif rule == "p001_attack_transfer":
        sec = exp["paper001"]
        k = len(sec["families"])
        out[("Dfwd", "p001_max")] += k * k * 2 * n[sec["test_set"]]
        out[("F", w0)] += k * k * n[sec["test_set"]]
    elif rule == "p001_dynamic":
        out += p001_dynamic_work(exp)
    elif rule == "p002_evaluate":
        out += p002_work(exp)
    elif rule == "p004_evaluate":
        out += p004_work(exp, wc["run"], wc["chunk"])
    else:
        raise ValueError(f"no work model for rule {rule!r}: add it to bench/fashion_budget.py")
    return out


def p001_family_work(exp: dict, family: str) -> Counter:
    from advtrace.specs import ATTACK_SPECS

    sec, w0 = exp["paper001"], _width(exp)
    n = {k: int(exp["samples"][sec[f"{k}_set"]]["n"]) for k in ("train", "val", "test")}
    N = sum(n.values())
    fam = sec["families"][family]
    spec = ATTACK_SPECS[fam["name"]]
    E, P = len(fam["eps"]), len(sec["positions"])
    out: Counter = Counter()
    if spec.eps_as == "linf_bound":  # DeepFool: one run, clipped per ε
        out[("deepfool", fam["name"].split("_")[1], "pretrained")] += N
    else:
        out[("G", w0)] += E * spec.gradient_steps(fam) * N
    out[("F", w0)] += (E + 1) * n["test"]  # accuracies
    # feature maps of the frozen classifier (cached): clean and ε* at every position, every ε at the selected one
    out[("F", w0)] += (P - 1) * 2 * N + (E - 1) * N
    epochs = sec["training"]["epochs"]
    for pos in sec["positions"]:  # the depth experiment: one detector per position at ε*
        out[("Dtrain", f"p001_{pos}")] += epochs * 2 * n["train"]
        out[("Dfwd", f"p001_{pos}")] += epochs * 2 * n["val"] + 2 * n["test"]
    # one detector per other ε at the selected position (unknown before the run: the costliest), ε x ε matrix
    out[("Dtrain", "p001_max")] += (E - 1) * epochs * 2 * n["train"]
    out[("Dfwd", "p001_max")] += (E - 1) * epochs * 2 * n["val"] + E * E * 2 * n["test"]
    return out


def p001_dynamic_work(exp: dict) -> Counter:
    sec, w0 = exp["paper001"], _width(exp)
    dyn, tr = sec["dynamic"], sec["dynamic"]["training"]
    n = {k: int(exp["samples"][sec[f"{k}_set"]]["n"]) for k in ("train", "val", "test")}
    its = int(dyn["iterations"])
    out: Counter = Counter()
    # the dynamic adversary's step: one input gradient through classifier and detector (the detector at
    # the family's selected position; the costliest assumed)
    attacked = tr["epochs"] * n["train"] * tr["p_adv"] + (tr["epochs"] + 1) * n["val"] \
        + 2 * len(dyn["sigmas"]) * n["test"]
    out[("G", w0)] += its * attacked
    out[("Dgrad", "p001_max")] += its * attacked
    out[("Dtrain", "p001_max")] += tr["epochs"] * n["train"]
    out[("Dfwd", "p001_max")] += (tr["epochs"] + 1) * 2 * n["val"] + 2 * len(dyn["sigmas"]) * 2 * n["test"]
    out[("F", w0)] += 2 * len(dyn["sigmas"]) * n["test"]
    return out


def p002_work(exp: dict) -> Counter:
    from advtrace.studies.p002 import plan

    sec = exp["paper002"]
    n = int(exp["samples"][sec["test_set"]]["n"])
    points = plan.eval_points(sec)
    out: Counter = Counter()
    models = plan.models(exp)
    for m in models:
        w = int(m["width"])
        out[("F", w)] += n  # clean
        # fgsm (true label), fgsm_pred (+ a prediction), step_ll (+ the least-likely class), step_rnd; then a prediction
        out[("G", w)] += 4 * len(points) * n
        out[("F", w)] += (2 + 4) * len(points) * n
        if m["iterative"]:  # iter l.l. (+ least-likely class) and basic iterative
            its = sum(i for _, _, i in points)
            out[("G", w)] += 2 * its * n
            out[("F", w)] += 3 * len(points) * n
    by_key = {m["key"]: m for m in models}
    transfer = plan.transfer_models(exp)
    its = sum(i for _, _, i in points)
    for _, key in transfer:  # each source: fgsm, bi, iter l.l. at every ε; every target predicts
        w = int(by_key[key]["width"])
        out[("G", w)] += (len(points) + 2 * its) * n
        out[("F", w)] += len(points) * n
        for _, tkey in transfer:
            out[("F", int(by_key[tkey]["width"]))] += 3 * len(points) * n
    return out


def p004_work(exp: dict, run: str, chunk: str) -> Counter:
    from advtrace import runs as R
    from advtrace.studies.p004 import plan

    sec = exp["paper004"]
    ev = sec["evaluation"]
    n = int(exp["samples"][ev["eval_set"]]["n"])
    w = _width(R.run_config(exp, run))
    epochs = plan.eval_chunks(exp, run)[chunk]
    b = int(ev["search_steps"])
    out: Counter = Counter()
    for t in epochs:
        out[("G", w)] += b * (ev["iterations"] * ev["m"] + ev["adv_iterations"] * n)
        out[("F", w)] += b * 3 * n + n
        risk = sec.get("risk")
        if risk and risk["run"] == run and int(risk["epoch"]) == int(t):
            out[("G", w)] += len(risk["heap_sizes"]) * risk["iterations"] * n
            out[("F", w)] += len(risk["heap_sizes"]) * n
    return out


# --------------------------------------------------------------------------- unit prices

def _cpu(fn, reps: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    t = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - t) / reps


def measure_prices(exp: dict, data: dict, keys: set, checkpoints: dict[str, Path]) -> dict:
    """CPU seconds per image of every price key in `keys` (one thread, this process)."""
    import torch
    import torch.nn.functional as F

    from advtrace import attacks, detectors
    from advtrace.studies.p001 import core as p001
    from advtrace.training import _train_epoch, adversary_from_config, make_optimizer, model_from_data

    prices: dict = {}
    gen = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(data["train_y"]), generator=gen)[:512]
    x_u8, y = data["train_x"][idx], data["train_y"][idx]
    x = x_u8.float() / 255.0

    def model(width: int):
        return model_from_data({**exp["model"], "width": width}, data)

    for key in sorted(k for k in keys if k[0] in ("F", "G")):
        m = model(key[1]).eval()
        if key[0] == "F":
            def fwd():
                with torch.inference_mode():
                    m(x)
            prices[key] = _cpu(fwd, 3) / len(x)
        else:
            xb, yb = x[:128], y[:128]
            prices[key] = _cpu(lambda: attacks.bi(m, xb, yb, 25.5 / 255, 6.375 / 255, 10), 2) / (10 * len(xb))
    for key in sorted(k for k in keys if k[0] == "train"):
        sig = json.loads(key[1])
        m = model(int(sig["model"]["width"]))
        adv = {k: v for k, v in sig.items() if k != "model"}
        n_img = 512 if adv["method"] in ("clean", "kofm") else 256
        cfg = {"batch_size": adv["batch_size"], "augment": exp["adv_train"]["augment"]}
        opt = make_optimizer(m, exp["adv_train"]["optimizer"])
        ctx = None if adv["method"] == "clean" else adversary_from_config(
            {k: v for k, v in adv.items() if k != "batch_size"})
        g = torch.Generator().manual_seed(1)
        prices[key] = _cpu(lambda: _train_epoch(m, opt, x_u8[:n_img], y[:n_img], cfg, g, torch.device("cpu"),
                                                "price", adversary=ctx), 2) / n_img
    # detectors: paper 000's (detect.detector at its position) and paper 001's at every position
    clf = model(_width(exp)).eval()
    archs = {}
    if "detect" in exp:
        archs["detect"] = detectors.architecture(exp["detect"]["detector"], data, clf)
    if "paper001" in exp:
        sec = exp["paper001"]
        for pos in p001.attachment_positions(clf, data, sec["positions"], sec["detector"]["min_side"]):
            archs[f"p001_{pos['position']}"] = detectors.architecture(p001.det_cfg(pos, sec["detector"]["channels"]),
                                                                      data, clf)
    dprice: dict = {}
    for name, arch in archs.items():
        net = p001.inner(detectors.build_detector(arch, clf))  # the trainable part, on its feature maps
        feats = p001.features(clf, str(arch["position"]), x[:256], 256, torch.device("cpu")).clone()
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        lab = torch.randint(0, 2, (128,), generator=gen)

        def step():
            net.train()
            opt.zero_grad()
            F.cross_entropy(net(feats[:128]), lab).backward()
            opt.step()

        def fwd():
            net.eval()
            with torch.inference_mode():
                net(feats)

        def grad():  # an input gradient through the detector (the classifier's part is priced as G)
            net.eval()
            f = feats[:128].clone().requires_grad_(True)
            torch.autograd.grad(net(f).sum(), f)

        dprice[name] = {"Dtrain": _cpu(step, 5) / 128, "Dfwd": _cpu(fwd, 3) / len(feats),
                        "Dgrad": _cpu(grad, 3) / 128}
    p001_names = [k for k in dprice if k.startswith("p001_")]
    for kind in ("Dtrain", "Dfwd", "Dgrad"):
        if p001_names:
            dprice.setdefault("p001_max", {})[kind] = max(dprice[k][kind] for k in p001_names)
    for key in keys:
        if key[0] in ("Dtrain", "Dfwd", "Dgrad"):
            prices[key] = dprice[key[1]][key[0]]
    # DeepFool on the core run's checkpoints (its iterations depend on the model)
    test_idx = torch.randperm(len(data["test_y"]), generator=gen)[:256]
    xt = data["test_x"][test_idx].float() / 255.0
    for key in sorted(k for k in keys if k[0] == "deepfool"):
        from advtrace.training import load_model

        m = load_model(checkpoints[key[2]], data, exp["model"], torch.device("cpu"))
        prices[key] = _cpu(lambda: attacks.deepfool(m, xt, None, norm=key[1], overshoot=0.02, max_iter=50), 1,
                           warmup=0) / len(xt)
    return prices


def probe(data: dict, exp: dict) -> float:
    """CPU seconds per image of PERF.md's probe: one BI-10 adversarial-training step (sigma_mix,
    σ = 0), width-8 pre-act ResNet-18, 28x28, batch 128, one thread."""
    import torch

    from advtrace.training import _train_epoch, adversary_from_config, make_optimizer, model_from_data

    m = model_from_data({"name": "preact_resnet18", "width": 8}, data)
    adv = {"method": "sigma_mix", "sigma": 0.0, "attack_label": "predicted",
           "attack": {"name": "bi", "eps": 25.5, "alpha": 6.375, "iterations": 10}}
    opt = make_optimizer(m, {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4})
    cfg = {"batch_size": 128, "augment": {"crop_padding": 0, "flip": False}}
    g = torch.Generator().manual_seed(2)
    x, y = data["train_x"][:512], data["train_y"][:512]
    return _cpu(lambda: _train_epoch(m, opt, x, y, cfg, g, torch.device("cpu"), "probe",
                                     adversary=adversary_from_config(adv)), 2) / len(y)


def startup_cpu(dataset_path: Path | None, repeats: int = 3) -> float:
    """CPU seconds (user + system, children) of a fresh job start: Python, torch, advtrace.training and
    setup_job (``bench_measure.job_startup_benchmark``'s definition), and with `dataset_path` loading
    dataset.pt as every compute job does."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); import advtrace.training; "
            "from advtrace.runtime import setup_job; from advtrace.data import load_dataset; setup_job(1, 'cpu'); "
            + (f"load_dataset({str(dataset_path)!r})" if dataset_path is not None else ""))
    vals = []
    for _ in range(repeats):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        after = os.times()
        vals.append((after.children_user - before.children_user) + (after.children_system - before.children_system))
    return statistics.median(vals)


# --------------------------------------------------------------------------- the run

def run(cmd: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def benchmark_cpu(wd: Path) -> dict[str, float]:
    """{benchmark TSV path relative to results/<exp>/benchmarks: cpu_time} of every finished job."""
    import pandas as pd

    base = wd / "results" / EXP / "benchmarks"
    out = {}
    for f in sorted(base.rglob("*.tsv")):
        df = pd.read_csv(f, sep="\t")
        out[str(f.relative_to(base))] = float(df["cpu_time"].iloc[-1])
    return out


def bench_name(job: dict) -> str | None:
    """The benchmark TSV (relative path) of a job of the rules the core run executes."""
    r, wc = job["rule"], job["wildcards"]
    simple = {"prepare_data": "prepare_data.tsv", "pretrain": "pretrain.tsv"}
    if r in simple:
        return simple[r]
    if r in ("adv_train_epoch", "perturb_epoch", "universal_generate", "universal_evaluate", "destruction_sweep",
             "train_detectors", "maximise_detector"):
        return f"{r}/{wc['epoch']}.tsv" if "epoch" in wc else None
    if r == "evaluate_epochs":
        return f"evaluate_epochs/{wc['chunk']}.tsv"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advtrace_fashion_budget"))
    ap.add_argument("--core-epochs", type=int, default=None,
                    help="adversarial epochs the core run trains (default: all of adv_train.epochs)")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/fashion.md")
    ap.add_argument("--timeout", type=int, default=4 * 3600)
    ap.add_argument("--from-json", action="store_true",
                    help="no measuring: re-render bench/results/fashion_budget.json (e.g. into docs with --write-docs)")
    ap.add_argument("--prices-cache", type=Path, help="JSON of unit prices to reuse (measured when missing)")
    ap.add_argument("--estimate-from", type=Path, metavar="RESULTS_DIR",
                    help="no core run: model every job, with DeepFool priced on RESULTS_DIR's checkpoints/epoch_000.pt "
                         "and epoch_<core-epochs>.pt and data/dataset.pt (a quick look while choosing the config; "
                         "nothing is written to docs)")
    args = ap.parse_args()
    if args.from_json:
        import pandas as pd

        result = json.loads((HERE / "results" / "fashion_budget.json").read_text())
        curve = pd.DataFrame(result["learning_curve"]) if "learning_curve" in result else None
        write(result, curve, args.write_docs)
        return
    import torch

    from advtrace import workdir
    from advtrace.config import load_yaml
    from advtrace.data import load_dataset
    from advtrace.runtime import setup_job

    wd = args.workdir
    if args.estimate_from is not None and wd.exists():  # a quick look: always the current config and code
        import shutil

        shutil.rmtree(wd)
    if not (wd / "Snakefile").exists():
        workdir.copy_workflow(wd)
    sm = workdir.SNAKEMAKE
    cfg = ["--config", f"experiments=[{EXP}]"]
    dry = run(sm + ["-n", "--cores", str(CORES)] + cfg + ["--forceall"], wd, 600).stdout
    setup_job(1, "cpu", runtime={})
    probes = []
    jobs = parse_jobs(dry)
    exp = load_yaml(wd / "config" / "experiments" / f"{EXP}.yaml")
    top = load_yaml(wd / "config" / "config.yaml")
    T = int(exp["adv_train"]["epochs"])
    k = T if args.core_epochs is None else args.core_epochs
    res = f"results/{EXP}"
    from advtrace.stages import chunk_name, epoch_chunks

    # the learning-curve jobs of the full DAG whose epochs the core run trains
    chunks = [chunk_name(c) for c in epoch_chunks(range(T + 1), int(top["epochs_per_analysis_job"])).values()
              if max(c) <= k]
    targets = [f"{res}/checkpoints/epoch_{k:03d}.pt", f"{res}/perturbations/epoch_000"]
    targets += [f"{res}/metrics/learning_curve/epochs_{c}.parquet" for c in chunks]
    src = args.estimate_from or wd / res
    if args.estimate_from is None:
        run(sm + ["--cores", str(CORES)] + cfg + ["--", f"{res}/data/dataset.pt"], wd, 1800)
    data = load_dataset(src / "data" / "dataset.pt")
    probes.append(probe(data, exp))
    t0 = time.time()
    if args.estimate_from is None:
        run(sm + ["--cores", str(CORES)] + cfg + ["--"] + targets, wd, args.timeout)
    core_wall = time.time() - t0
    measured = benchmark_cpu(wd) if args.estimate_from is None else {}
    probes.append(probe(data, exp))
    ckpts = {"pretrained": src / "checkpoints" / "epoch_000.pt",
             "adversarial": src / "checkpoints" / f"epoch_{k:03d}.pt"}
    works = [job_work(j, exp) for j in jobs]
    keys = set().union(*[set(w) for w in works])
    cache = {}
    if args.prices_cache and args.prices_cache.exists():
        cache = {tuple(json.loads(k)): v for k, v in json.loads(args.prices_cache.read_text()).items()}
    prices = {k: cache[k] for k in keys if k in cache}
    prices.update(measure_prices(exp, data, keys - set(prices), ckpts))
    probes.append(probe(data, exp))  # load drifts: before the core run, after it and after the prices
    for name, fn in (("startup_bench", lambda: startup_cpu(None)),
                     ("startup_job", lambda: startup_cpu(src / "data" / "dataset.pt"))):
        prices[(name,)] = cache.get((name,)) if (name,) in cache else fn()
    if args.prices_cache:
        args.prices_cache.write_text(json.dumps({json.dumps(list(k)): v for k, v in prices.items()}, indent=1))
    probe_here = statistics.mean(probes)
    start_here, start_bench = prices.pop(("startup_job",)), prices.pop(("startup_bench",))
    light_jobs = [v for name, v in measured.items() if name.startswith(("draw_samples", "learning_curve_table"))]
    compute_ratio = (1.0 / AVX2_PROBE_IMG_S) / probe_here
    startup_ratio = AVX2_STARTUP_S / start_bench

    # modelled CPU here per job; measured where the core run ran it (same work: same config, same epoch)
    rows = []
    ratios = defaultdict(list)
    for j, w in zip(jobs, works):
        compute = sum(prices[key] * c for key, c in w.items())
        name = bench_name(j)
        meas = measured.get(name) if name else None
        rows.append({"rule": j["rule"], "wildcards": j["wildcards"], "stage": stage_of(j["rule"], j["wildcards"]),
                     "compute_model": compute, "measured": meas})
        if meas is not None and compute > 0:
            ratios[j["rule"]].append((meas - start_here) / compute)
    rule_ratio = {r: statistics.median(v) for r, v in ratios.items()}
    for r in rows:
        if r["measured"] is not None:
            r["compute_here"] = max(0.0, r["measured"] - start_here)
            r["source"] = "measured"
        else:
            r["compute_here"] = r["compute_model"] * rule_ratio.get(r["rule"], 1.0)
            r["source"] = "model x measured ratio" if r["rule"] in rule_ratio else "model"
        r["startup_here"] = start_here
        r["cpu_here"] = r["compute_here"] + start_here
        r["cpu_avx2"] = r["compute_here"] * compute_ratio + start_here * startup_ratio
    deps = dependencies(jobs)
    makespan, critical = schedule([r["cpu_avx2"] for r in rows], deps, CORES)
    stages: dict[str, dict] = {}
    for r in rows:
        s = stages.setdefault(r["stage"], {"jobs": 0, "measured_jobs": 0, "cpu_here": 0.0, "cpu_avx2": 0.0})
        s["jobs"] += 1
        s["measured_jobs"] += r["source"] == "measured"
        s["cpu_here"] += r["cpu_here"]
        s["cpu_avx2"] += r["cpu_avx2"]
    total_avx2 = sum(r["cpu_avx2"] for r in rows)
    result = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(), "cpu": _cpu_name(), "avx512": _has_avx512(), "torch": torch.__version__,
        "git_commit": _git_commit(), "load_before": os.getloadavg()[0], "core_wall_s": core_wall,
        "core_epochs": k, "probe_s_per_img_here": probe_here, "probe_img_s_here": 1.0 / probe_here,
        "probe_img_s_runs": [1.0 / p for p in probes], "startup_bench_here_s": start_bench,
        "avx2_probe_img_s": AVX2_PROBE_IMG_S, "compute_ratio": compute_ratio,
        "startup_here_s": start_here, "avx2_startup_s": AVX2_STARTUP_S, "startup_ratio": startup_ratio,
        "light_jobs_measured": light_jobs,
        "prices_ms": {str(k): v * 1000 for k, v in sorted(prices.items(), key=str)},
        "rule_ratio_measured_over_model": rule_ratio,
        "measured_jobs": {n: v for n, v in measured.items()},
        "jobs": len(rows), "total_cpu_avx2_s": total_avx2, "critical_path_avx2_s": critical,
        "wall_avx2_2cores_s": makespan, "stages": stages, "T": T,
    }
    curve = learning_curve(src / "metrics" / "learning_curve") if (src / "metrics" / "learning_curve").is_dir() else None
    if curve is not None:
        result["learning_curve"] = curve.to_dict(orient="records")
    result["jobs_detail"] = [{k: r[k] for k in ("rule", "wildcards", "stage", "source", "cpu_here", "cpu_avx2")}
                             for r in rows]
    print("per job (AVX2 s):", file=sys.stderr)
    for r in sorted(rows, key=lambda r: -r["cpu_avx2"])[:40]:
        print(f"  {r['cpu_avx2']:8.1f}  {r['rule']} {r['wildcards']} ({r['source']})", file=sys.stderr)
    if args.estimate_from is not None:
        write(result, curve, False)
        return
    out = HERE / "results" / "fashion_budget.json"
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    write(result, curve, args.write_docs)


def write(result: dict, curve, docs: bool) -> None:
    """Print the tables; with `docs`, put them between the markers of docs/fashion.md."""
    table = render(result)
    print(table)
    text_curve = render_curve(curve, int(result["core_epochs"])) if curve is not None else "(no learning curve)"
    print(text_curve)
    if docs:
        doc = ROOT / "docs" / "fashion.md"
        text = doc.read_text()
        parts = {"budget": table, "curve": text_curve}
        for key, (begin, end) in MARKS.items():
            a, b = text.index(begin) + len(begin), text.index(end)
            text = text[:a] + "\n" + parts[key] + "\n" + text[b:]
        doc.write_text(text)
        print(f"wrote {doc}")


def learning_curve(folder: Path):
    """The core run's learning-curve rows (every chunk the core run evaluated), sorted."""
    import pandas as pd

    from advtrace.tables import read_table

    parts = [read_table(f, "learning_curve") for f in sorted(folder.glob("epochs_*.parquet"))]
    return pd.concat(parts, ignore_index=True).sort_values(["epoch", "split", "attack"]) if parts else None


def render_curve(df, k: int) -> str:
    """Clean / FGSM / BI accuracy per epoch (test and train sample sets) with 95 % Wilson intervals, and
    how much the BI test accuracy still moves over the last three epochs."""
    head = ("| epoch | test clean | test FGSM | test BI | train clean | train BI |", "|---:|---:|---:|---:|---:|---:|")
    lines = [f"The main chain's learning curve measured by the core run (epochs 0-{k}; Fig. 8's table; "
             "95 % Wilson intervals):", "", *head]
    cell = {(r.epoch, r.split, r.attack): r for r in df.itertuples()}

    def fmt(e, split, attack):
        r = cell.get((e, split, attack))
        return "" if r is None else f"{100 * r.accuracy:.1f} % [{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]"

    for e in sorted(df["epoch"].unique()):
        lines.append(f"| {e} | {fmt(e, 'test', 'clean')} | {fmt(e, 'test', 'FGSM')} | {fmt(e, 'test', 'BI')} | "
                     f"{fmt(e, 'train', 'clean')} | {fmt(e, 'train', 'BI')} |")
    n = {s: int(df[df["split"] == s]["n"].iloc[0]) for s in ("test", "train")}
    bi = df[(df["split"] == "test") & (df["attack"] == "BI")].set_index("epoch")["accuracy"].sort_index()
    lines += ["", f"n = {n['test']} test and {n['train']} training inputs."]
    if len(bi) >= 9:  # flattening: the mean BI test accuracy of the last four epochs against the four before
        last, before = bi.iloc[-4:], bi.iloc[-8:-4]
        lines[-1] += (f" Mean BI test accuracy over epochs {last.index[0]}-{last.index[-1]}: {100 * last.mean():.1f} %, "
                      f"over epochs {before.index[0]}-{before.index[-1]}: {100 * before.mean():.1f} % "
                      f"({100 * (last.mean() - before.mean()):+.1f} points); epoch to epoch it moved by "
                      + ", ".join(f"{100 * d:+.1f}" for d in bi.diff().iloc[-4:]) + " points.")
    return "\n".join(lines)


def _fmt(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


def render(r: dict) -> str:
    lines = [
        f"Measured {r['date']} on {r['cpu']} ({'AVX-512' if r['avx512'] else 'AVX2'}; load average "
        f"{r['load_before']:.1f} at the start), torch {r['torch']}, commit {r['git_commit']}, by "
        "`bench/fashion_budget.py` (generated; do not edit by hand).",
        "",
        f"- Calibration: PERF.md's probe (BI-10 adversarial-training step, width-8 ResNet, 28x28, batch 128, "
        f"1 thread) ran at {r['probe_img_s_here']:.0f} img/s (CPU time) here against {r['avx2_probe_img_s']:.0f} "
        f"img/s on the quiet AVX2 host: compute x {r['compute_ratio']:.2f}. A job's start-up (Python, torch, "
        f"advtrace, dataset) took {r['startup_here_s']:.2f} s CPU here against {r['avx2_startup_s']:.2f} s there: "
        f"x {r['startup_ratio']:.2f} (the benchmark's start-up without the dataset: "
        f"{r.get('startup_bench_here_s', float('nan')):.2f} s here).",
        f"- Probe runs (img/s): {', '.join(f'{v:.0f}' for v in r['probe_img_s_runs'])} (before the core run, after "
        "it, after the prices; their mean is used).",
        f"- The core run (data, pretraining, {r['core_epochs']} adversarial epochs with their learning curve, the "
        f"epoch-0 perturbations; {_fmt(r['core_wall_s'])} wall on this shared host) is measured job by job; the other "
        "jobs are modelled (unit prices x work counts) and scaled by their rule's measured/modelled ratio where the "
        "core run has one.",
        "",
        "| stage | jobs | measured jobs | CPU here | CPU projected, AVX2 host |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, _ in STAGES:
        s = r["stages"].get(name)
        if s:
            lines.append(f"| {name} | {s['jobs']} | {s['measured_jobs']} | {_fmt(s['cpu_here'])} | "
                         f"{_fmt(s['cpu_avx2'])} |")
    tot_here = sum(s["cpu_here"] for s in r["stages"].values())
    lines += [
        f"| **total** | {r['jobs']} | {sum(s['measured_jobs'] for s in r['stages'].values())} | {_fmt(tot_here)} | "
        f"{_fmt(r['total_cpu_avx2_s'])} |",
        "",
        f"Projected on the quiet 2-core AVX2 host: **{_fmt(r['wall_avx2_2cores_s'])} wall** (a list schedule of "
        f"the {r['jobs']} jobs, one thread each, 2 at a time; the critical path - data, pretraining, the "
        f"{r['T']} adversarial epochs and what follows the last - is {_fmt(r['critical_path_avx2_s'])}; "
        f"total CPU / 2 = {_fmt(r['total_cpu_avx2_s'] / CORES)}). Budget: {_fmt(BUDGET_S)}.",
    ]
    ratio = r["rule_ratio_measured_over_model"]
    if ratio:
        lines += ["", "Measured / modelled compute of the core run's jobs: " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(ratio.items())) + "."]
    return "\n".join(lines)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
