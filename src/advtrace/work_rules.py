"""What each rule's job computes, counted from the experiment config (the registry of
:mod:`advtrace.workmodel`; pure Python, no torch).

One entry per rule name: ``@register(rule, ..., study=...)`` on a function ``(ctx) -> Job`` that
counts the job's unit operations (F forward, G input gradient, C training step, per image, per
network) from the config and the job's wildcards the way the rule's script runs them, or
``light(rule, ..., study=...)`` for a job that imports no torch. See :mod:`advtrace.workmodel` for
the units, the pricing and how to add an entry; ``tests/test_workmodel.py`` checks that every
script rule of the workflow has one.
"""

from __future__ import annotations

from . import perturb_plan, runs, stability_plan
from .specs import ATTACK_SPECS, kofm_k
from .studies.p000 import plan as p000
from .workmodel import BYTES, Ctx, Job, classifier, detector, feature_shape, lazy_dataset, light, register

# Rates of work that is not a network pass (assumed unless stated): decoding and resizing source
# images when a dataset is prepared, per thread.
DECODE_IMG_S = {"digits": 1e6, "fashion_mnist": 2e5, "cifar10": 2e5, "gtsrb": 1500.0, "imagenet": 120.0}
WRITE_MB_S = 300.0  # writing prepared arrays to a shared file system (assumed)
OPTIMISER_SLOTS = {"sgd": 1, "adam": 2, "rmsprop": 2}
# advtrace.studies.p002.evaluate.BLOCK_INPUTS (that module imports torch, which the DAG build must
# not: ~3 s; tests/test_workmodel.py checks the two agree)
P002_BLOCK_INPUTS = 5000
TABLE_BYTES = 1e5  # a Parquet part table (order of magnitude; the plan's disk column)


_MEMO: dict = {}


def _memo(fn, exp, *args):
    """fn(exp, *args) computed once per experiment dict (the DAG build asks once per job: a
    per-experiment plan recomputed for each of thousands of jobs would cost minutes)."""
    key = (fn.__qualname__, id(exp), args)
    hit = _MEMO.get(key)
    if hit is None or hit[0] is not exp:
        hit = _MEMO[key] = (exp, fn(exp, *args))
    return hit[1]


def _needs(exp):
    return perturb_plan.perturbation_needs(exp)


def _view(ctx: Ctx, section: str) -> dict:
    """The experiment as paper-000 section `section` analyses the job's run ({run}, else main): the
    run's config with the section's epoch lists mapped onto its T (advtrace.studies.p000.plan.run_view)."""
    return _memo(p000.run_view, ctx.exp, section, ctx.wc.get("run", runs.MAIN))


def _stability_plan_epochs(exp, run):
    cfg = p000.run_view(exp, "stability", run)
    return stability_plan.plan_epochs(cfg["stability"], int(cfg["adv_train"]["epochs"]))


# --------------------------------------------------------------------------- data and training

def _prepare(ctx: Ctx, threads: int) -> Job:
    ds = ctx.exp["dataset"]
    n = sum(ctx.split(s) for s in ds["splits"])
    job = ctx.job(gpu=False, dataset=False)
    job.threads = threads
    pixels = n * ctx.image_bytes
    job.extra_s = n / DECODE_IMG_S.get(ds["name"], 2e4) + pixels / (WRITE_MB_S * 1e6) * threads
    if not lazy_dataset(ds):
        job.data_bytes = 2 * pixels  # the source arrays and the drawn splits
    else:
        job.array_bytes = 256 * ctx.image_bytes * threads  # one chunk of decoded images per worker
    return job.out(pixels)


@register("prepare_data", study="core")
def _prepare_data(ctx: Ctx) -> Job:
    return _prepare(ctx, 1)


PREPARE_THREADS = 8  # advtrace.datasets.ImageFiles decodes with 8 threads


@register("prepare_data_cluster", study="core")
def _prepare_data_cluster(ctx: Ctx) -> Job:
    return _prepare(ctx, PREPARE_THREADS)


@register("draw_samples", study="core")
def _draw_samples(ctx: Ctx) -> Job:
    return ctx.job(gpu=False).out(TABLE_BYTES)


def _slots(section: dict) -> int:
    return OPTIMISER_SLOTS.get(section["optimizer"]["name"], 1)


@register("pretrain", study="core")
def _pretrain(ctx: Ctx) -> Job:
    cfg = ctx.run()
    pre = cfg["pretrain"]
    model = ctx.model()
    job = ctx.job(train_on_device=True)
    epochs, train, batch = int(pre["epochs"]), ctx.split("train"), int(pre["batch_size"])
    job.add(model, "C", epochs * train, batch)
    if pre.get("select", "last") == "best_val":
        job.add(model, "F", epochs * ctx.split("val"), 1000)  # training._accuracy's batch
    job.train(model, batch, _slots(pre))
    # the vanilla epochs kept for the learning curve of a run that starts from this pretraining
    # (rules/common.smk pretrain_keep_epochs)
    run = ctx.wc.get("run", runs.MAIN)
    kept = 0
    if "evaluation" in ctx.exp and any(runs.epoch_owner(ctx.exp, r, 0) == run
                                       for r in p000.section_runs(ctx.exp, "evaluation")):
        kept = len(p000.pretrain_eval_epochs(cfg))
    job.out(ctx.checkpoint_bytes(model, _slots(pre)) + kept * model.params * BYTES)
    return job


def adv_epoch_ops(ctx: Ctx, adv: dict, model, images: int, epochs: int = 1) -> Job:
    """`epochs` epochs of the training method of `adv` (advtrace.methods) over `images` inputs in all."""
    job = ctx.job(train_on_device=True)
    method, b = adv["method"], int(adv["batch_size"])
    step = b  # images per training forward/backward
    if method == "clean":
        job.add(model, "C", images, b)
    elif method == "sigma_mix":
        job.attack(model, adv["attack"], images, b, ctx.classes)
        if adv.get("attack_label") == "predicted":
            job.add(model, "F", images, b)
        if float(adv.get("sigma", 0.0)) > 0:  # clean and adversarial halves in one pass
            step = 2 * b
        job.add(model, "C", images * step / b, step)
    elif method == "kofm":
        k = kofm_k(b, float(adv["kofm"]["k_fraction"]))
        job.attack(model, adv["attack"], images * k / b, k, ctx.classes)
        if adv.get("attack_label") == "predicted":
            job.add(model, "F", images * k / b, k)
        job.add(model, "C", images, b)
    elif method == "shared":
        job.add(model, "G", images * int(adv["shared"]["iterations"]), b)
        step = 2 * b  # (1-w)·J(x, y) + w·J(x+δ, y): the clean and the perturbed batch
        job.add(model, "C", images * 2, step)
    elif method in ("deepfool_uad", "fictitious_play"):  # paper 004's universal-perturbation baselines
        u = adv["uap"]
        job.add(model, "C", images, b)
        # every round_epochs epochs, pool_size DeepFool universal perturbations, each from up to max_passes
        # passes over generation_n inputs of DeepFool (its steps per input as the attack registry assumes)
        rounds = epochs / max(1, int(u["round_epochs"]))
        inputs = rounds * int(u["pool_size"]) * int(u["generation_n"]) * int(u["max_passes"])
        job.attack(model, {"name": "deepfool_l2", "max_iter": int(u["max_iter"])}, inputs, int(u["chunk_size"]),
                   int(u.get("num_classes", ctx.classes)))
    else:
        raise KeyError(f"advtrace.work_rules has no work model for training method {method!r}")
    job.train(model, step, _slots(adv))
    return job


@register("adv_train_epoch", study="core")
def _adv_train_epoch(ctx: Ctx) -> Job:
    cfg = ctx.run()
    model = ctx.model()
    job = adv_epoch_ops(ctx, cfg["adv_train"], model, ctx.split("train"))
    return job.out(ctx.checkpoint_bytes(model, _slots(cfg["adv_train"])))


@register("adv_train_chained", study="core")
def _adv_train_chained(ctx: Ctx) -> Job:
    cfg = ctx.run()
    run = ctx.wc.get("run", runs.MAIN)
    first, last = runs.job_span(ctx.exp, run, int(ctx.wc["epoch"]))
    model = ctx.model()
    k = last - first + 1
    job = adv_epoch_ops(ctx, cfg["adv_train"], model, ctx.split("train") * k, k)
    return job.out(k * ctx.checkpoint_bytes(model, _slots(cfg["adv_train"])))


# --------------------------------------------------------------------------- paper 000 analyses

def _eval_images(ctx: Ctx, ev: dict, model, epochs: int, job: Job) -> None:
    """Per epoch, each of the two evaluation sets: a clean prediction, then each attack of `ev` and
    a prediction of its result (advtrace.evaluation), in chunks of ``chunk_size``."""
    for set_name in (ev["train_set"], ev["test_set"]):
        n = ctx.n(set_name)
        chunk = min(n, int(ev["chunk_size"]))
        job.add(model, "F", epochs * n, chunk)
        for att in ev["attacks"].values():
            job.attack(model, att, epochs * n, chunk, ctx.classes)
            job.add(model, "F", epochs * n, chunk)


@register("evaluate_epochs", study="000")
def _evaluate_epochs(ctx: Ctx) -> Job:
    cfg, model = _view(ctx, "evaluation"), ctx.model()
    ev = cfg["evaluation"]
    epochs = runs.in_chunk(range(int(cfg["adv_train"]["epochs"]) + 1), ctx.wc["chunk"])
    job = ctx.job().holds(model, int(ev["chunk_size"]))
    _eval_images(ctx, ev, model, len(epochs), job)
    return job.out(TABLE_BYTES)


@register("evaluate_pretrain_epochs", study="000")
def _evaluate_pretrain_epochs(ctx: Ctx) -> Job:
    cfg, model = _view(ctx, "evaluation"), ctx.model()
    ev = cfg["evaluation"]
    epochs = runs.in_chunk(p000.pretrain_eval_epochs(cfg), ctx.wc["chunk"])
    job = ctx.job().holds(model, int(ev["chunk_size"]))
    _eval_images(ctx, ev, model, len(epochs), job)
    return job.out(TABLE_BYTES)


def _perturbation_bytes(ctx: Ctx, att: dict, n: int) -> float:
    from .specs import int8_exact

    return n * ctx.image_bytes * (1 if int8_exact(att) else BYTES)


@register("perturb_epochs", study="000")
def _perturb_epochs(ctx: Ctx) -> Job:
    model = ctx.model()
    attacks = ctx.exp["perturb"]["attacks"]
    chunk = int(ctx.exp["perturb"]["chunk_size"])
    job = ctx.job().holds(model, chunk)
    needs, run = _memo(_needs, ctx.exp), ctx.wc.get("run", runs.MAIN)
    for t in runs.in_chunk(sorted(e for r, e in needs if r == run), ctx.wc["chunk"]):  # each model of the chunk
        for attack, set_name in needs[(run, t)]:
            n = ctx.n(set_name)
            job.attack(model, attacks[attack], n, min(n, chunk), ctx.classes)
            job.add(model, "F", 2 * n, min(n, chunk))  # clean and adversarial predictions
            job.out(_perturbation_bytes(ctx, attacks[attack], n))
    return job


@register("universal_generate", study="000")
def _universal_generate(ctx: Ctx) -> Job:
    view, model = _view(ctx, "universal"), ctx.model()
    u = view["universal"]
    job = ctx.job().holds(model, int(u["m"]))
    per_split = int(u["iterations"]) * int(u["batches"]) * int(u["m"])
    generated = set(view["analysis"]["epochs"]) | set(u["source_epochs"]) | set(u["image_epochs"])
    epochs = max(1, len(runs.in_chunk(generated, ctx.wc["chunk"])))  # the chunk's epochs (main's 0 for a run it owns)
    job.add(model, "G", 2 * per_split * epochs, int(u["m"]))  # train- and test-generated
    return job.out(epochs * (2 * ctx.image_bytes * BYTES + 2 * TABLE_BYTES))


@register("universal_evaluate", study="000")
def _universal_evaluate(ctx: Ctx) -> Job:
    view, model = _view(ctx, "universal"), ctx.model()
    u = view["universal"]
    job = ctx.job().holds(model, int(u["chunk_size"]))
    for t in runs.in_chunk(view["analysis"]["epochs"], ctx.wc["chunk"]):  # each model of the chunk
        k = 1 + int(u["random_draws"]) + 2 * len({int(t)} | {int(s) for s in u["source_epochs"]})
        job.add(model, "F", ctx.n(u["eval_set"]) * k, min(ctx.n(u["eval_set"]), int(u["chunk_size"])))
    return job.out(TABLE_BYTES)


@register("destruction_sweep", study="000")
def _destruction_sweep(ctx: Ctx) -> Job:
    from .studies.p000.plan import DESTRUCTION_ATTACKS

    tr, model = _view(ctx, "destruction")["destruction"], ctx.model()
    settings = sum(len(v) for v in tr["sweeps"].values())
    n = ctx.n(tr["sample_set"])
    job = ctx.job().holds(model, int(tr["chunk_size"]))
    job.array_bytes = (len(DESTRUCTION_ATTACKS) + 1) * n * ctx.image_bytes * BYTES
    return job.add(model, "F", n * settings * (len(DESTRUCTION_ATTACKS) + 1), min(n, int(tr["chunk_size"]))).out(TABLE_BYTES)


@register("stability_epochs", study="000")
def _stability_epochs(ctx: Ctx) -> Job:
    cfg, run = _view(ctx, "stability"), ctx.wc.get("run", runs.MAIN)
    stab, T = cfg["stability"], int(cfg["adv_train"]["epochs"])
    model = ctx.model()
    job = ctx.job().holds(model, int(stab["chunk_size"]))
    files = set()
    forwards = 0
    for t in runs.in_chunk(_memo(_stability_plan_epochs, ctx.exp, run), ctx.wc["chunk"]):
        plan = stability_plan.epoch_plan(stab, T, t)
        forwards += sum(ctx.n(s) * len(src) for s, src in plan["transfer"].items())
        forwards += sum(ctx.n(p["perturbations"]) * ctx.n(p["inputs"]) for p in plan["pairwise"])
        files.update(stability_plan.perturbation_needs(plan, t))
    job.array_bytes = sum(ctx.n(s) for s, _ in files) * ctx.image_bytes * BYTES
    return job.add(model, "F", forwards, int(stab["chunk_size"])).out(2 * TABLE_BYTES)


@register("stability_tables", study="000")
def _stability_tables(ctx: Ctx) -> Job:
    return ctx.job(gpu=False, dataset=False).out(8 * TABLE_BYTES)


def _detector_profile(ctx: Ctx, det_cfg: dict, position="input"):
    ch, side = feature_shape(ctx.run()["model"], ctx.exp["dataset"], position)  # the analysed run's model
    return detector(ch, side, tuple(int(c) for c in det_cfg["channels"]), int(det_cfg.get("pools", 2)))


def _detector_training(ctx: Ctx, job: Job, det, train_cfg: dict, train_n: int, val_n: int, chunk: int,
                       count: int = 1, model=None) -> None:
    """`count` detectors trained on 2·train_n (clean, adversarial) inputs per epoch, validated on
    2·val_n after every epoch (advtrace.detectors.train_detector); attached ones forward the
    classifier to their feature map on every pass."""
    epochs, b = int(train_cfg["epochs"]), int(train_cfg["batch_size"])
    job.add(det, "C", count * epochs * 2 * train_n, b)
    job.add(det, "F", count * epochs * 2 * val_n, min(chunk, val_n))
    if model is not None:
        job.add(model, "F", count * epochs * 2 * train_n, b)
        job.add(model, "F", count * epochs * 2 * val_n, min(chunk, val_n))
    job.train(det, b, 2)


@register("train_detectors", study="000")
def _train_detectors(ctx: Ctx) -> Job:
    d = ctx.exp["detect"]
    det = _detector_profile(ctx, d["detector"], d["detector"]["position"])
    attached = d["detector"]["position"] != "input"
    job = ctx.job()
    train_n, val_n = ctx.n(d["train_set"]), ctx.n(d["val_set"])
    _detector_training(ctx, job, det, d["training"], train_n, val_n, int(d["chunk_size"]), len(d["attacks"]),
                       ctx.model() if attached else None)
    job.array_bytes = 4 * (train_n + val_n) * ctx.image_bytes * BYTES  # clean, adversarial, balanced copies
    return job.out(len(d["attacks"]) * (det.params * BYTES + TABLE_BYTES))


@register("evaluate_detectors", study="000")
def _evaluate_detectors(ctx: Ctx) -> Job:
    d = _view(ctx, "detect")["detect"]
    det = _detector_profile(ctx, d["detector"], d["detector"]["position"])
    E = len(d["epochs"])
    pairs = E * E if d["attacks"][ctx.wc["attack"]] == "matrix" else E
    n = ctx.n(d["test_set"])
    chunk = min(n, int(d["chunk_size"]))
    job = ctx.job().holds(det, chunk)
    job.add(det, "F", pairs * 2 * n, chunk)
    if d["detector"]["position"] != "input":
        job.add(ctx.model(), "F", pairs * 2 * n, chunk)
    job.array_bytes = 2 * E * n * ctx.image_bytes * BYTES
    return job.out(TABLE_BYTES)


@register("maximise_detector", study="000")
def _maximise_detector(ctx: Ctx) -> Job:
    d = ctx.exp["detect"]
    mx = d["maximise"]
    det = _detector_profile(ctx, d["detector"], d["detector"]["position"])
    job = ctx.job().holds(det, int(mx["m"]))
    n = ctx.n(d["test_set"])
    job.add(det, "G", int(mx["iterations"]) * int(mx["batches"]) * int(mx["m"]), int(mx["m"]))
    job.add(det, "F", (2 + 8) * n, min(n, int(d["chunk_size"])))  # with Ξ, clean, 8 random sign draws
    return job.out(2 * TABLE_BYTES)


# --------------------------------------------------------------------------- paper 001

def _p001_sets(ctx: Ctx) -> tuple[int, int, int]:
    sec = ctx.exp["paper001"]
    return ctx.n(sec["train_set"]), ctx.n(sec["val_set"]), ctx.n(sec["test_set"])


def _p001_detector(ctx: Ctx, position) -> object:
    sec = ctx.exp["paper001"]
    ch, side = feature_shape(ctx.exp["model"], ctx.exp["dataset"], position)
    widths = tuple(int(c) for c in sec["detector"]["channels"])
    # advtrace.studies.p001.core.pools_for (which imports torch): as many max-pools (at most one after
    # each convolution but the last) as leave a map of at least min_side
    pools = 0
    while pools < len(widths) - 1 and side // 2 ** (pools + 1) >= int(sec["detector"]["min_side"]):
        pools += 1
    return detector(ch, side, widths, pools)


@register("p001_family", study="001")
def _p001_family(ctx: Ctx) -> Job:
    sec = ctx.exp["paper001"]
    fam = sec["families"][ctx.wc["family"]]
    model = ctx.model()
    tr, va, te = _p001_sets(ctx)
    grid = len(fam["eps"])
    chunk = int(sec["chunk_size"])
    job = ctx.job().holds(model, chunk)
    spec = ATTACK_SPECS[fam["name"]]
    runs_of_attack = 1 if spec.eps_as == "linf_bound" else grid  # DeepFool runs once, every ε clips it
    att = {k: v for k, v in fam.items() if k != "eps"}
    for n in (tr, va, te):
        job.attack(model, {**att, "eps": fam["eps"][0]}, runs_of_attack * n, min(n, chunk), ctx.classes)
    job.add(model, "F", (grid + 1) * te, min(te, chunk))  # accuracy per ε and clean
    positions = [str(p) for p in sec["positions"]]
    for p in positions:  # features of clean and every ε's examples at each attached position
        if p != "input":
            for n in (tr, va, te):
                job.add(model, "F", (grid + 1) * n, min(n, chunk))
    dets = {p: _p001_detector(ctx, p) for p in positions}
    for p in positions:  # Fig. 2 right: one detector per position at ε*
        _detector_training(ctx, job, dets[p], sec["training"], tr, va, chunk)
        job.add(dets[p], "F", 2 * te, min(te, chunk))
    best = dets[positions[0]]  # the selected position is data dependent: priced as the first
    _detector_training(ctx, job, best, sec["training"], tr, va, chunk, grid - 1)
    job.add(best, "F", grid * grid * 2 * te + te, min(te, chunk))
    job.array_bytes = (grid + 1) * (tr + va + te) * ctx.image_bytes * BYTES * (1 + len(positions) // 2)
    job.out((len(positions) + grid) * best.params * BYTES + grid * te * ctx.image_bytes * BYTES + 4 * TABLE_BYTES)
    return job


@register("p001_attack_transfer", study="001")
def _p001_attack_transfer(ctx: Ctx) -> Job:
    sec = ctx.exp["paper001"]
    _, _, te = _p001_sets(ctx)
    nf = len(sec["families"])
    det = _p001_detector(ctx, sec["positions"][0])
    chunk = min(te, int(sec["chunk_size"]))
    job = ctx.job().holds(ctx.model(), chunk)
    job.add(det, "F", nf * (1 + nf) * te, chunk)
    job.add(ctx.model(), "F", nf * (1 + nf) * te, chunk)  # attached detectors read the classifier's features
    job.array_bytes = nf * te * ctx.image_bytes * BYTES
    return job.out(TABLE_BYTES)


@register("p001_dynamic", study="001")
def _p001_dynamic(ctx: Ctx) -> Job:
    sec = ctx.exp["paper001"]
    dyn = sec["dynamic"]
    t = dyn["training"]
    model = ctx.model()
    tr, va, te = _p001_sets(ctx)
    det = _p001_detector(ctx, sec["positions"][0])
    its, b = int(dyn["iterations"]), int(t["batch_size"])
    chunk = int(sec["chunk_size"])
    job = ctx.job().holds(model, chunk)
    epochs = int(t["epochs"])
    p_adv = float(t["p_adv"])
    # the dynamic adversary (classifier and detector gradients per step): in training, on a
    # p_adv share of each mini-batch; on the validation set before and after every epoch; on the
    # test set per σ and detector
    for n, batch in ((epochs * tr * p_adv, max(1, int(b * p_adv))), ((epochs + 1) * va, min(va, chunk)),
                     (2 * len(dyn["sigmas"]) * te, min(te, chunk))):
        job.add(model, "G", n * its, batch)
        job.add(det, "G", n * its, batch)
    job.add(model, "F", (epochs + 1) * va + 2 * len(dyn["sigmas"]) * te, min(te, chunk))
    job.add(det, "C", epochs * tr, b)
    job.add(det, "F", 2 * (epochs + 1) * va + 2 * (1 + len(dyn["sigmas"])) * te, min(te, chunk))
    job.train(det, b, 2)
    return job.out(det.params * BYTES + 2 * TABLE_BYTES)


# --------------------------------------------------------------------------- paper 002

@register("p002_evaluate", study="002")
def _p002_evaluate(ctx: Ctx) -> Job:
    from .studies.p002 import plan as p002_plan

    sec = ctx.exp["paper002"]
    n = ctx.n(sec["test_set"])
    chunk = min(n, int(sec["chunk_size"]))
    job = ctx.job()
    points = p002_plan.eval_points(sec)
    models = p002_plan.models(ctx.exp)
    profiles = {m["key"]: classifier(runs.run_config(ctx.exp, m["run"])["model"], ctx.exp["dataset"]) for m in models}
    job.holds(max(profiles.values(), key=lambda p: p.params), chunk)  # one model at a time
    for m in models:
        prof = profiles[m["key"]]
        job.add(prof, "F", n, chunk)
        for attack in p002_plan.ONE_STEP:
            job.add(prof, "G", len(points) * n, chunk)
            job.add(prof, "F", len(points) * n * (2 if attack in ("fgsm_pred", "step_ll") else 1), chunk)
        if m["iterative"]:
            for _ in p002_plan.ITERATIVE:
                job.add(prof, "G", sum(its for _, _, its in points) * n, chunk)
                job.add(prof, "F", len(points) * n * 2, chunk)
    transfer = p002_plan.transfer_models(ctx.exp)
    for _, key in transfer:
        src = profiles[key]
        for attack in p002_plan.TRANSFER_ATTACKS:
            steps = sum(its for _, _, its in points) if attack in p002_plan.ITERATIVE else len(points)
            job.add(src, "G", steps * n, chunk)
            for _, tkey in transfer:
                job.add(profiles[tkey], "F", len(points) * n, chunk)
    job.array_bytes = n * ctx.image_bytes  # the test set, uint8
    job.compute_bytes = 3 * min(n, P002_BLOCK_INPUTS) * ctx.image_bytes * BYTES  # a block's x, δ, x + δ
    return job.out(4 * TABLE_BYTES)


# --------------------------------------------------------------------------- paper 004

# Extra ε visited by p004_evaluate's bootstrap re-runs of the binary search, per bisection step of the
# search itself (measured: the fashion run of 2026-12-07, table p004_search, rows of origin "bootstrap" /
# rows of origin "search" per measure: universal 148 / 88, adversarial 44 / 88, random 240 / 88)
P004_BOOTSTRAP_EXTRA = {"universal": 1.7, "adversarial": 0.5, "random": 2.7}


@register("p004_evaluate", study="004")
def _p004_evaluate(ctx: Ctx) -> Job:
    from .studies.p004 import plan as p004_plan

    sec = ctx.exp["paper004"]
    ev = sec["evaluation"]
    run = ctx.wc["run"]
    model = ctx.model(run)
    epochs = runs.in_chunk(p004_plan.eval_epochs(ctx.exp, run), ctx.wc["chunk"])  # the chunk's evaluated epochs
    n_eval = ctx.n(ev["eval_set"])
    b, K, m = int(ev["search_steps"]), int(ev["iterations"]), int(ev["m"])
    chunk = min(n_eval, int(ev["chunk_size"]))
    job = ctx.job().holds(model, chunk)
    # per evaluated epoch, b bisection steps of: the S-PGD universal perturbation (K iterations of
    # m inputs), per-input PGD on the evaluation set, random noise; each followed by a prediction. The
    # bootstrap interval re-runs each search on resamples and visits further ε (P004_BOOTSTRAP_EXTRA)
    x = P004_BOOTSTRAP_EXTRA
    job.add(model, "G", len(epochs) * b * (1 + x["universal"]) * K * m, m)
    job.add(model, "G", len(epochs) * b * (1 + x["adversarial"]) * int(ev["adv_iterations"]) * n_eval, chunk)
    job.add(model, "F", len(epochs) * n_eval * (1 + b * (3 + sum(x.values()))), chunk)
    # Fig. 3 right: the DeepFool universal perturbation (up to max_passes passes of DeepFool over the
    # generation set; a robust model never reaches the fooling rate, so every pass runs) at its epochs
    df = ev.get("deepfool")
    df_epochs = [e for e in epochs if e in p004_plan.deepfool_epochs(ctx.exp, run)] if df else []
    if df_epochs:
        inputs = len(df_epochs) * ctx.n(ev["generation_set"]) * int(df["max_passes"])
        job.attack(model, {"name": "deepfool_l2", "max_iter": int(df["max_iter"])}, inputs, int(df["chunk_size"]),
                   ctx.classes)
        job.add(model, "F", len(df_epochs) * n_eval, chunk)
    risk = sec["risk"]
    if risk["run"] == run and int(risk["epoch"]) in epochs:
        hs = len(risk["heap_sizes"])
        job.add(model, "G", hs * int(risk["iterations"]) * n_eval, n_eval)
        job.add(model, "G", K * m, m)
        job.add(model, "F", (hs + 2) * n_eval, chunk)
    job.array_bytes = (1 + 2) * n_eval * ctx.image_bytes * BYTES
    return job.out(4 * TABLE_BYTES)


# --------------------------------------------------------------------------- light jobs (no torch)

light("learning_curve_table", "plot_learning_curves", "universal_accuracy_table", "universal_images_table",
      "plot_universal_accuracy", "plot_universal_images", "destruction_table", "plot_destruction",
      "plot_stability_profiles", "plot_sharedness_vs_stability", "plot_transfer_error", "plot_maxmin_minmax",
      "plot_sharedness", "detect_tables", "plot_detectability", "plot_detector_max", study="000")
light("stability_manifest", study="000")  # a `run:` rule (Python in the Snakemake process): listing files
light("claims", "claims_seeds_table", study="claims")
light("p001_tables", "p001_plots", study="001")
light("p002_report", study="002")
light("p004_tables", "plot_p004_fig03_pareto_front", "plot_p004_fig05_learning_curves", "plot_p004_risk_ordering",
      "plot_p004_fig01_perturbations", "plot_p004_fig03_deepfool_front", study="004")
light("x000_tables", "x000_figures", study="x000")  # the cross-method study reads paper 000's tables only

