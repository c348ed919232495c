import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

import json
from pathlib import Path

import pandas as pd

from advtrace import detectors
from advtrace.data import load_dataset, sample_set, to_float
from advtrace.runtime import atomic_path, log, save_torch, setup_job
from advtrace.studies.p001 import core
from advtrace.tables import coerce, read_table, write_table
from advtrace.checkpoints import load_checkpoint

device = setup_job(snakemake.threads)
cfg = snakemake.params.cfg
family, fam = snakemake.wildcards.family, cfg["family"]
bs = cfg["chunk_size"]
data = load_dataset(snakemake.input.dataset)
samples = read_table(snakemake.input.samples, "samples")
clf = load_checkpoint(snakemake.input.checkpoint, device)
sets = {k: sample_set(data, samples, cfg["sets"][k]) for k in ("train", "val", "test")}
x = {k: to_float(s.x) for k, s in sets.items()}
y = {k: s.y for k, s in sets.items()}

# adversarial examples of every ε on the three sets, and the classifier's test accuracy
adv = {k: {e: (x[k] + d).clamp_(0.0, 1.0) for e, d in core.perturb(clf, x[k], y[k], fam, bs).items()} for k in x}
grid = sorted(adv["test"])
acc = {e: core.accuracy(clf, adv["test"][e], y["test"], bs) for e in grid}
e_star, reached = core.eps_star({e: c / n for e, (c, n) in acc.items()}, cfg["target_accuracy"])
log.info("%s: test accuracy %s; eps* = %g (%s)", family, {e: round(c / n, 3) for e, (c, n) in acc.items()}, e_star,
         "below target" if reached else "no ε reaches the target: the largest ε")
positions = core.attachment_positions(clf, data, cfg["positions"], cfg["detector"]["min_side"],
                                      min(2, len(cfg["detector"]["channels"]) - 1))

_feats = {}


def feats(pos, split, e=None):
    key = (pos["label"], split, e)
    if key not in _feats:
        _feats[key] = core.features(clf, pos["position"], x[split] if e is None else adv[split][e], bs, device)
    return _feats[key]


out_dir = Path(snakemake.output.detectors)
out_dir.mkdir(parents=True, exist_ok=True)
histories = []


def train(pos, e, filename):
    det, arch, result = core.fit(clf, data, pos, cfg["detector"]["channels"], cfg["training"],
                                 (feats(pos, "train"), feats(pos, "train", e)), (feats(pos, "val"), feats(pos, "val", e)),
                                 cfg["seed"], f"{family} eps {e:g} {pos['label']}", device, bs)
    meta = {"family": family, "attack": fam["name"], "eps": float(e), "position": pos["label"],
            "classifier": snakemake.input.checkpoint}
    core.save(out_dir / filename, det, arch, meta, result)
    histories.append(core.history_rows(result, family, e, pos["label"]))
    return det, arch, result


def test_detectability(det, pos, e):
    net = core.inner(det)
    return detectors.detectability(net, feats(pos, "test"), feats(pos, "test", e), bs, device)


# Fig. 2 right: one detector per attachment position at ε*; the best validation position is kept
depth_rows, depth_dets = [], {}
for i, pos in enumerate(positions):
    det, arch, result = train(pos, e_star, f"depth_ad{i}.pt")
    depth_dets[pos["label"]] = (det, arch, result)
    res = test_detectability(det, pos, e_star)
    depth_rows.append({"family": family, "eps": e_star, "position": pos["label"], "feature": pos["feature"],
                       "channels": pos["channels"], "side": pos["side"], "pools": pos["pools"],
                       "val_detectability": result["val_accuracy"], "val_n": 2 * len(y["val"]),
                       "detectability": res["accuracy"], **core.rate_cols(round(res["accuracy"] * res["n"]), res["n"])})
best_i = max(range(len(depth_rows)), key=lambda i: (depth_rows[i]["val_detectability"], -i))
best = positions[best_i]
for i, row in enumerate(depth_rows):
    row["selected"] = i == best_i
log.info("%s: selected attachment position %s (%s)", family, best["label"], best["feature"])

# Fig. 2 left and Fig. 3: one detector per ε at the selected position, each on every ε_test
dets = {}
for e in grid:
    if e == e_star:  # the depth experiment's detector at the selected position
        dets[e], arch, result = depth_dets[best["label"]]
        core.save(out_dir / f"eps_{e:g}.pt", dets[e], arch, {"family": family, "attack": fam["name"], "eps": float(e),
                  "position": best["label"], "classifier": snakemake.input.checkpoint}, result)
    else:
        dets[e], _, _ = train(best, e, f"eps_{e:g}.pt")
eps_rows = []
for e_fit in grid:
    for e_test in grid:
        res = test_detectability(dets[e_fit], best, e_test)
        eps_rows.append({"family": family, "eps_fit": e_fit, "eps_test": e_test, "position": best["label"],
                         **core.detect_cols(res)})
diag = {r["eps_fit"]: r for r in eps_rows if r["eps_fit"] == r["eps_test"]}
adv_rows = []
for e in grid:
    c, n = acc[e]
    d = diag[e]
    adv_rows.append({"family": family, "attack": fam["name"], "eps": e, "position": best["label"],
                     "eps_star": e == e_star, "accuracy": c / n, **core.rate_cols(c, n, "accuracy_"),
                     **{k: d[k] for k in ("detectability", "n", "ci_low", "ci_high", "accuracy_clean", "accuracy_adv")}})
# the no-adversary point: the "adversarial" half equals the clean half, so any detector scores 0.5
c, n = core.accuracy(clf, x["test"], y["test"], bs)
flags = core.flags(core.inner(dets[e_star]), feats(best, "test"), bs, device)
adv_rows.append({"family": "No", "attack": "none", "eps": 0.0, "position": best["label"], "eps_star": False,
                 "accuracy": c / n, **core.rate_cols(c, n, "accuracy_"),
                 **core.detect_cols(detectors.detectability_from_predictions(flags, flags))})

# the test examples (for the attack x attack job) and what was selected
save_torch({"eps": grid, "delta": [adv["test"][e] - x["test"] for e in grid], "index": sets["test"].index.clone(),
            "split": sets["test"].split}, out_dir / "test_adv.pt")
with atomic_path(out_dir / "selected.json") as tmp:
    tmp.write_text(json.dumps({"family": family, "attack": fam["name"], "eps_star": e_star, "target_reached": reached,
                               "position": best["label"], "position_index": best_i}, indent=1))

write_table(coerce(pd.DataFrame(adv_rows), "p001_adversaries"), snakemake.output.adversaries, "p001_adversaries")
write_table(coerce(pd.DataFrame(depth_rows), "p001_depth"), snakemake.output.depth, "p001_depth")
write_table(coerce(pd.DataFrame(eps_rows), "p001_eps_transfer"), snakemake.output.eps_transfer, "p001_eps_transfer")
write_table(coerce(pd.concat(histories, ignore_index=True), "p001_detector_training"), snakemake.output.training,
            "p001_detector_training")
