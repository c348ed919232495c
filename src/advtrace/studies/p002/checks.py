"""Cross-field checks of the ``paper002`` section (pure Python, no torch)."""

from __future__ import annotations

from ... import runs as R


# keys whose runs are models *without* adversarial training (clean-trained; paper 002 trains them the
# same way and as long as the adversarially trained ones)
_CLEAN_KEYS = ("baseline", "capacity.baselines", "transfer", "deeper.baseline")


def _named_runs(sec: dict) -> list[tuple[str, str]]:
    out = [("reference", sec["reference"]), ("baseline.run", sec["baseline"]["run"])]
    out += [(f"capacity.baselines[{i}]", r) for i, r in enumerate(sec["capacity"].get("baselines") or [])]
    out += [(f"methods[{i}]", r) for i, r in enumerate(sec["methods"])]
    out += [(f"k[{i}]", r) for i, r in enumerate(sec["k"])]
    out += [(f"capacity.runs[{i}]", r) for i, r in enumerate(sec["capacity"]["runs"])]
    out += [(f"transfer.models[{i}]", r) for i, r in enumerate(sec["transfer"]["models"])]
    out += [(f"activations[{i}]", r) for i, r in enumerate(sec.get("activations") or [])]
    if sec.get("deeper"):
        out += [("deeper.run", sec["deeper"]["run"]), ("deeper.baseline", sec["deeper"]["baseline"])]
    return out


def _read_epoch(sec: dict, key: str, exp: dict, run: str) -> int:
    """The epoch of `run` the study reads under config key `key` (final unless the key says otherwise)."""
    from .plan import final_epoch, resolve_epoch

    if key == "baseline.run":
        return resolve_epoch(exp, run, sec["baseline"]["epoch"])
    if key.startswith("transfer"):
        return resolve_epoch(exp, run, sec["transfer"]["epoch"])
    if key.startswith("capacity.runs") and not sec["capacity"].get("baselines"):
        return 0  # (also read at its final epoch; its epoch 0 is the model without adversarial training)
    return final_epoch(exp, run)


def length_problems(exp: dict) -> list[str]:
    """Paper 002 trains every compared model from scratch for the same ~150k iterations, the
    baseline ("no adversarial training") and the transfer models included (Sec. 4, 4.4): each model
    the study reads must be trained as many epochs from scratch (pretraining, the clean delay, plus
    the epochs read) as the reference, and the models without adversarial training must be trained
    clean (adv_train.method clean, or the pretraining alone at epoch 0)."""
    from .plan import final_epoch, total_epochs

    sec = exp["paper002"]
    ref = sec["reference"]
    want = total_epochs(exp, ref, final_epoch(exp, ref))
    ref_cfg = R.run_config(exp, ref)
    out: list[str] = []
    for key, run in _named_runs(sec):
        epochs = [_read_epoch(sec, key, exp, run)]
        if key.startswith("capacity.runs") and not sec["capacity"].get("baselines"):
            epochs.append(final_epoch(exp, run))
        for epoch in epochs:
            got = total_epochs(exp, run, epoch)
            if got != want:
                pre = R.run_config(exp, run)["pretrain"]["epochs"]
                out.append(f"paper002.{key}: {run!r} at epoch {epoch} is trained {pre} + {epoch} = {got} epochs from "
                           f"scratch, the reference {ref!r} {ref_cfg['pretrain']['epochs']} + {final_epoch(exp, ref)} = "
                           f"{want}; paper 002 trains every compared model as long (the baseline and the transfer "
                           "models too): give it the reference's pretrain.epochs and adv_train.epochs (a clean run: "
                           "adv_train.method clean)")
        clean_key = key.startswith(_CLEAN_KEYS) or (key.startswith("capacity.runs") and epochs[0] == 0)
        if clean_key and epochs[0] > 0 and R.run_config(exp, run)["adv_train"]["method"] != "clean":
            out.append(f"paper002.{key}: {run!r} is adversarially trained ({R.run_config(exp, run)['adv_train']['method']}) "
                       "but stands for a model without adversarial training; use a run with adv_train.method clean")
    return out


def problems(exp: dict) -> list[str]:
    sec = exp["paper002"]
    out: list[str] = []
    if sec["test_set"] not in exp["samples"]:
        out.append(f"paper002.test_set: {sec['test_set']!r} is not a sample set; allowed: {', '.join(exp['samples'])}")
    if min(sec["eps"]) < sec["alpha"]:
        out.append(f"paper002.alpha: {sec['alpha']} exceeds the smallest eps {min(sec['eps'])}; the step α must "
                   "not exceed ε (both in [0,255] units)")
    try:
        names = R.expand(exp)
    except (KeyError, TypeError, ValueError):  # advtrace.runs.problems reports malformed runs
        return out
    for key, run in _named_runs(sec):
        if run not in names:
            out.append(f"paper002.{key}: no run {run!r}; runs: {', '.join(names)} (a grid run is named "
                       "<name>_<key><value>, e.g. p002_k_k_fraction0p125)")
    if out:
        return out
    for key, run in _named_runs(sec):
        if key.startswith(_CLEAN_KEYS):
            continue
        adv = R.run_config(exp, run)["adv_train"]
        if adv["method"] != "kofm":
            out.append(f"paper002.{key}: run {run!r} trains with method {adv['method']!r}; paper 002's runs use "
                       "adv_train.method: kofm")
    ref = R.run_config(exp, sec["reference"])["adv_train"]
    if not out and ref["attack"]["name"] != "step_ll":
        out.append(f"paper002.reference: run {sec['reference']!r} trains with {ref['attack']['name']!r}; the "
                   "reference of Tables 1-3 is step l.l. (adv_train.attack.name: step_ll)")
    base = sec["capacity"].get("baselines") or []
    widths = sorted(R.run_config(exp, r)["model"]["width"] for r in sec["capacity"]["runs"])
    if base and sorted(R.run_config(exp, r)["model"]["width"] for r in base) != widths:
        out.append(f"paper002.capacity.baselines: one clean run per width of capacity.runs ({widths})")
    archs = {R.run_config(exp, r)["model"]["name"] for r in sec["capacity"]["runs"]}
    if len(archs) > 1:
        out.append(f"paper002.capacity.runs: runs of several architectures {sorted(archs)}; ρ scales the width of "
                   "one architecture - keep one")
    for i, run in enumerate(sec.get("activations") or []):
        adv = R.run_config(exp, run)["adv_train"]
        if adv["method"] == "kofm" and adv["attack"]["name"] != "step_ll":
            out.append(f"paper002.activations[{i}]: run {run!r} trains with {adv['attack']['name']!r}; Table 7's "
                       "models are step l.l.-trained (adv_train.attack.name: step_ll)")
    if sec.get("deeper"):
        ref_model = R.run_config(exp, sec["reference"])["model"]
        for key in ("run", "baseline"):
            model = R.run_config(exp, sec["deeper"][key])["model"]
            if sum(model.get("blocks", (2, 2, 2, 2))) <= sum(ref_model.get("blocks", (2, 2, 2, 2))) \
                    or model["name"] != ref_model["name"]:
                out.append(f"paper002.deeper.{key}: {sec['deeper'][key]!r} must be the reference's architecture "
                           f"({ref_model['name']}) with more blocks (model.blocks)")
    return out + length_problems(exp)
