"""Which models paper 002's evaluation job reads, and what it computes for each (pure Python, no torch).

Every run the ``paper002`` section names is evaluated at its final epoch; a run named at epoch 0
(``baseline.epoch``, ``transfer.epoch``, or a capacity run without ``capacity.baselines``) is also
evaluated at epoch 0, the model after its pretraining (``pretrain.epochs`` = paper 002's delay of
clean training, shared by the runs of one seed and model); epoch-0 checkpoints shared by several
runs are evaluated once. :mod:`.checks` requires every model the study compares to be trained as
long as the reference, from scratch (paper 002 trains every model, the baselines included, for the
same ~150k iterations). One-step attacks (FGSM with true and with predicted labels, step l.l., step
rnd.) are run on every model; App. A's other one-step methods (:data:`APP_A`) on the reference (its
Fig. 3); the iterative ones (iter l.l., basic iterative) only where a table or figure reads them:
the reference, the baselines, the capacity and activation runs (Tables 2, 7, Figs. 1/4) and runs
trained with an iterative adversary.
"""

from __future__ import annotations

from ... import runs as R
from ...specs import kurakin_iterations

ONE_STEP = ("fgsm", "fgsm_pred", "step_ll", "step_rnd")
# App. A's other one-step methods (Fig. 3: the step l.l.-trained model under every one-step method)
APP_A = ("fast_entropy", "fast_grad_l2", "fast_grad_linf", "rand_sign", "rand_normal")
ITERATIVE = ("iter_ll", "bi")
TRANSFER_ATTACKS = ("fgsm", "bi", "iter_ll")
# attacks whose δ depends on the seeded generator, and whether an attack reads the true label
RANDOM = ("step_rnd", "rand_sign", "rand_normal")
NOISE = ("rand_sign", "rand_normal")  # no gradient step at all
TRUE_LABEL = ("fgsm", "bi", "fast_grad_l2", "fast_grad_linf")


def final_epoch(exp: dict, run: str) -> int:
    return int(R.run_config(exp, run)["adv_train"]["epochs"])


def resolve_epoch(exp: dict, run: str, epoch) -> int:
    """A config epoch (a number or ``final``) of `run`."""
    return final_epoch(exp, run) if epoch == "final" else int(epoch)


def training_label(exp: dict, run: str, epoch: int) -> str:
    """``none`` for epoch 0 and clean training, else the kofm adversary, its label and k/m (e.g.
    ``fgsm (true labels) k=16/32``)."""
    adv = R.run_config(exp, run)["adv_train"]
    if epoch == 0 or adv["method"] == "clean":
        return "none"
    if adv["method"] != "kofm":
        return adv["method"]
    name = adv["attack"]["name"]
    if name == "fgsm":
        name = "fgsm (true labels)" if adv["attack_label"] == "ground_truth" else "fgsm (predicted labels)"
    elif name in ("fast_grad_l2", "fast_grad_linf") and adv["attack_label"] == "predicted":
        name += " (predicted labels)"
    m = adv["batch_size"]
    k = int(adv["kofm"]["k_fraction"] * m + 0.5)
    return f"{name} k={k}/{m}"


def model_label(exp: dict, run: str) -> str:
    """Architecture and width, then any non-default activation and blocks per stage, e.g.
    ``preact_resnet18/8``, ``preact_resnet18/8 relu_decay(0.01)``, ``preact_resnet18/8 blocks 2-3-3-2``."""
    model = R.run_config(exp, run)["model"]
    out = f"{model['name']}/{model['width']}"
    act = model.get("activation", "relu")
    if act != "relu":
        out += f" {act}" + (f"({model['relu_decay_beta']:g})" if act == "relu_decay" else "")
    if "blocks" in model:
        out += " blocks " + "-".join(str(b) for b in model["blocks"])
    return out


def total_epochs(exp: dict, run: str, epoch: int) -> int:
    """Epochs from scratch behind `run`'s model at `epoch`: its pretraining (paper 002's clean delay)
    plus `epoch` epochs of its adv_train method."""
    return int(R.run_config(exp, run)["pretrain"]["epochs"]) + int(epoch)


def eval_points(sec: dict) -> list[tuple[float, float, int]]:
    """(ε, ε in paper units, iterations of the iterative attacks) for each ε of the grid."""
    return [(float(e), e / sec["alpha"], kurakin_iterations(e, sec["alpha"])) for e in sec["eps"]]


def models(exp: dict) -> list[dict]:
    """The evaluated models: ``key`` (run@epoch), run, epoch, checkpoint path, model label, training
    label and whether the iterative attacks run on it. Epoch-0 models are keyed by the run that owns
    the checkpoint (main for the shared pretrained model)."""
    sec = exp["paper002"]
    activations = sec.get("activations") or []
    deeper = sec.get("deeper")
    deeper_runs = [deeper["run"], deeper["baseline"]] if deeper else []
    iterative = {sec["reference"], *sec["capacity"]["runs"], *activations}
    iterative |= {r for r in sec["methods"] if R.run_config(exp, r)["adv_train"]["attack"]["name"] in ITERATIVE}
    base_run, base_epoch = sec["baseline"]["run"], resolve_epoch(exp, sec["baseline"]["run"], sec["baseline"]["epoch"])
    cap_base = sec["capacity"].get("baselines") or []
    iterative |= {base_run, *cap_base}
    named = [sec["reference"], *sec["methods"], *sec["k"], *sec["capacity"]["runs"], *cap_base,
             *sec["transfer"]["models"], base_run, *activations, *deeper_runs]
    roles = {sec["reference"]: ["reference"]}
    for role in ("methods", "k"):
        for r in sec[role]:
            roles.setdefault(r, []).append(role)
    for r in [*sec["capacity"]["runs"], *cap_base]:
        roles.setdefault(r, []).append("capacity")
    for r in activations:
        roles.setdefault(r, []).append("activations")
    if deeper:
        roles.setdefault(deeper["run"], []).append("deeper")
        roles.setdefault(deeper["baseline"], []).append("deeper_baseline")
    transfer_epochs = {r: resolve_epoch(exp, r, sec["transfer"]["epoch"]) for r in sec["transfer"]["models"]}
    out: dict[str, dict] = {}
    for run in dict.fromkeys(named):
        zero = ((run in sec["capacity"]["runs"] and not cap_base) or transfer_epochs.get(run) == 0
                or (run == base_run and base_epoch == 0))
        # a run named only as a transfer model at epoch 0 needs no final-epoch evaluation
        only_transfer = run in transfer_epochs and run not in roles and run != base_run
        epochs = ([0] if zero else []) + ([] if only_transfer and transfer_epochs[run] == 0 else [final_epoch(exp, run)])
        for epoch in epochs:
            owner = R.pretraining_owner(exp, run) if epoch == 0 else run
            key = f"{owner}@{epoch}"
            entry = out.setdefault(key, {
                "key": key, "run": owner, "epoch": epoch, "path": R.checkpoint_path(exp, run, epoch),
                "model": model_label(exp, run), "width": int(R.run_config(exp, run)["model"]["width"]),
                "training": training_label(exp, run, epoch), "iterative": False, "app_a": False,
                "epochs_total": total_epochs(exp, run, epoch), "roles": [],
            })
            entry["iterative"] = entry["iterative"] or run in iterative
            entry["app_a"] = entry["app_a"] or (run == sec["reference"] and epoch != 0)
            mine = roles.get(run, [])
            if epoch == 0:
                mine = ["capacity"] if ("capacity" in mine and not cap_base) else []
            if run == base_run and epoch == base_epoch:
                mine = ["baseline", *[r for r in mine if r != "reference"]]
            entry["roles"] = list(dict.fromkeys(entry["roles"] + mine))
    return list(out.values())


def model_key(exp: dict, run: str, epoch: int) -> str:
    """The key of `run`'s model at `epoch` in :func:`models`."""
    return f"{R.pretraining_owner(exp, run) if epoch == 0 else run}@{epoch}"


def transfer_models(exp: dict) -> list[tuple[str, str]]:
    """(letter, model key) of the transfer models A, B, C, …"""
    t = exp["paper002"]["transfer"]
    return [(chr(ord("A") + i), model_key(exp, r, resolve_epoch(exp, r, t["epoch"]))) for i, r in enumerate(t["models"])]
