"""BENCHMARKS.md from every result table in bench/results/, and the paper-scale projection."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench_measure import TARGETS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REPORT = ROOT / "BENCHMARKS.md"

META = ["date", "device_kind", "device_name", "mode", "torch", "torchattacks", "python", "threads",
        "allocator_tuned", "amp", "channels_last", "compile", "git_commit", "load_before", "load_after",
        "run_note", "command"]

# ---------------------------------------------------------------------------------------------
# Paper-scale projection (CIFAR-10, paper 000): training from the measured per-batch times of the
# real training loop; analyses as counts of image forwards (F, inference mode, big batches),
# input-gradient passes (G, one BI iteration of one image) and training-image steps (S), priced
# with the measured per-image costs. Counts marked "assumed" are not fixed by the paper or the
# configs yet; change them here when the CIFAR-10 experiment config lands.
# ---------------------------------------------------------------------------------------------
TRAIN_IMAGES = 45000
PRETRAIN_EPOCHS = 200
ADV_EPOCHS = 250
CHECKPOINTS = ADV_EPOCHS + 1
ANALYSED = 6  # analysis.epochs of the CIFAR-shaped DAG: 0, 1, 5, 15, 51, 250 (assumed)
ANALYSES = [
    # (component, F, G, S, how the count is made)
    ("learning curves (Fig. 8)", CHECKPOINTS * 2000 * 3, CHECKPOINTS * 2000 * 11, 0,
     "251 checkpoints × 1000 train + 1000 test inputs (assumed) × clean, FGSM, BI-10"),
    ("analysis perturbations (BI-10)", CHECKPOINTS * 768, CHECKPOINTS * 768 * 10, 0,
     "every checkpoint: 256 transfer-train + 256 transfer-test + 256 profile inputs (Figs. 1, 9, 10)"),
    ("transfer / T×T profiles (Figs. 1, 9, 10)", CHECKPOINTS * CHECKPOINTS * 256 + CHECKPOINTS * 5 * 512, 0, 0,
     "256 profile inputs × 251 sources × 251 targets + 5 black-box sources × 512 inputs × 251 targets"),
    ("sharedness (Fig. 11)", 4 * 1024 * 5000, 4 * 1024 * 10, 0,
     "1024 perturbations × 5000 other inputs at 4 epochs"),
    ("universal perturbations (Figs. 3, 4, 12, 13)", ANALYSED * CHECKPOINTS * 10000, ANALYSED * 2 * 200 * 10 * 128, 0,
     "App. D: 200 it. × K=10 × m=128 per (epoch, split) at the analysed epochs; each evaluated at every "
     "checkpoint on 10000 test inputs"),
    ("destruction rates (Figs. 5, 14, 15)", ANALYSED * 3 * 1000 * 40, ANALYSED * 1000 * 60, 0,
     "3 attacks × 1000 inputs × 4 transforms × 10 strengths at the analysed epochs; DeepFool ~60 G/input"),
    ("detectability (Figs. 6, 7, 16)", ANALYSED * ANALYSED * 20000, ANALYSED * TRAIN_IMAGES * 10,
     ANALYSED * 20 * 2 * TRAIN_IMAGES,
     "a detector per analysed epoch: BI-10 on the 45000 training inputs, 20 epochs on clean + adversarial "
     "(assumed), evaluated on every analysed epoch's 10000 + 10000 test inputs"),
]


def _fmt_s(s: float) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def _num(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if abs(v) != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.2e}"
    return f"{v:.{digits}g}"


def _pick(df: pd.DataFrame, model: str, name: str) -> pd.Series | None:
    rows = df[(df["model"] == model) & (df["name"] == name) & (df["section"] == "timing")]
    return None if rows.empty else rows.iloc[-1]


def projection(df: pd.DataFrame) -> list[dict]:
    """Rows (component, seconds, basis); empty when the CIFAR-10 timings needed are missing."""
    adv, clean = _pick(df, "cifar10", "adv_epoch"), _pick(df, "cifar10", "clean_epoch")
    fwd, grad = _pick(df, "cifar10", "plain_inference"), _pick(df, "cifar10", "bi10_ours")
    if adv is None or clean is None:
        return []
    bs = int(adv["batch_size"])
    t_adv_img = adv["median_s"] / adv["images"]
    t_clean_img = clean["median_s"] / clean["images"]
    rows = [
        {"component": "one adversarial-training epoch (45000 images)", "seconds": TRAIN_IMAGES * t_adv_img,
         "basis": f"{_fmt_s(adv['median_s'] / adv['n_batches'])} per batch of {bs} (measured)"},
        {"component": "one pretraining epoch (45000 images)", "seconds": TRAIN_IMAGES * t_clean_img,
         "basis": f"{_fmt_s(clean['median_s'] / clean['n_batches'])} per batch of {bs} (measured)"},
        {"component": f"pretraining, {PRETRAIN_EPOCHS} epochs", "seconds": PRETRAIN_EPOCHS * TRAIN_IMAGES * t_clean_img,
         "basis": "measured clean training per image"},
        {"component": f"adversarial training, {ADV_EPOCHS} epochs", "seconds": ADV_EPOCHS * TRAIN_IMAGES * t_adv_img,
         "basis": "measured adversarial training per image"},
    ]
    total = rows[2]["seconds"] + rows[3]["seconds"]
    if fwd is not None and grad is not None:
        t_f = fwd["median_s"] / fwd["images"]
        t_g = grad["median_s"] / (grad["images"] * 10)
        for comp, f, g, s, how in ANALYSES:
            sec = f * t_f + g * t_g + s * t_clean_img
            total += sec
            rows.append({"component": f"analyses: {comp}", "seconds": sec,
                         "basis": f"{_num(f)} F + {_num(g)} G + {_num(s)} S; {how}"})
    start, dag = _pick(df, "workflow", "job_startup"), _pick(df, "workflow", "dag_build")
    if start is not None and dag is not None and dag.get("value", -1) > 0:
        sec = dag["value"] * start["median_s"]
        total += sec
        rows.append({"component": "job start-up (run serially)", "seconds": sec,
                     "basis": f"{int(dag['value'])} jobs in today's DAG × {_fmt_s(start['median_s'])} "
                              "(analysis rules still being added)"})
    rows.append({"component": "**total, one device, serial**", "seconds": total,
                 "basis": "training epochs are a chain; analyses parallelise over devices"})
    return rows


def _meta_lines(df: pd.DataFrame) -> list[str]:
    lines = []
    first = df.iloc[0]
    lines.append(f"- **Device:** {first['device_kind']} — {first['device_name']}, {int(first['threads'])} CPU threads; "
                 f"mode: {first['mode']}")
    lines.append(f"- **Versions:** torch {first['torch']}, torchattacks {first['torchattacks']}, "
                 f"Python {first['python']}")
    lines.append(f"- **Runtime switches:** amp={first['amp']}, channels_last={first['channels_last']}, "
                 f"compile={first['compile']}; glibc allocator tuned: {first['allocator_tuned']}")
    firsts = df.groupby("part", sort=False).head(1)
    shared_note = firsts["run_note"].nunique() == 1
    if shared_note and first["run_note"]:
        lines.append(f"- **Note:** {first['run_note']}")
    for _, r in firsts.iterrows():
        note = "" if shared_note or not r["run_note"] else f"; note: {r['run_note']}"
        lines.append(f"- **{r['part']}:** measured {r['date']}, commit {r['git_commit']}, load average "
                     f"{r['load_before']:.1f} → {r['load_after']:.1f}{note}; `{r['command']}`")
    return lines


PART_ORDER = ("attack", "train", "transfer", "switches", "workflow")


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in part order (a re-measured part keeps its place), stable within a part."""
    rank = df["part"].map({p: i for i, p in enumerate(PART_ORDER)}).fillna(len(PART_ORDER))
    return df.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def render_table(df: pd.DataFrame, title: str) -> str:
    df = _ordered(df)
    out = [f"## {title}", ""]
    out += _meta_lines(df)
    ratios = df[df["section"].isin(["ratio", "check"])]
    if not ratios.empty:
        out += ["", "### Ratios against the targets", "",
                "| model | measurement | value | target | met | note |", "|---|---|---:|---:|:---:|---|"]
        for _, r in ratios.iterrows():
            if r["section"] == "check":
                out.append(f"| {r['model']} | {r['name']} | {_num(r['value'], 4)} | – | – | {r['note']} |")
                continue
            met = "–" if not math.isfinite(r["value"]) else ("yes" if bool(r["meets"]) else "**no**")
            out.append(f"| {r['model']} | {r['name']} | {_num(r['value'], 4)} | {r['target_op']} {_num(r['target'])} "
                       f"| {met} | {r['note']} |")
    timing = df[df["section"] == "timing"]
    if not timing.empty:
        out += ["", "### Timings (median of repeated runs after warm-up)", "",
                "| model | what | batch | images/run | runs | min | median | max | img/s | note |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for _, r in timing.iterrows():
            extra = r["note"] or ""
            if r["name"] == "dag_build" and r["value"] > 0:
                extra = f"{int(r['value'])} jobs"
            out.append(f"| {r['model']} | {r['name']} | {_int(r['batch_size'])} | {_int(r['images'])} | "
                       f"{int(r['repeats'])} | {_fmt_s(r['min_s'])} | {_fmt_s(r['median_s'])} | "
                       f"{_fmt_s(r['max_s'])} | {_num(r['img_per_s'], 4)} | {extra} |")
    sw = df[df["section"] == "switch"]
    if not sw.empty:
        out += ["", "### Runtime switches (one clean training step, one BI-10 attack; fresh model per variant)", "",
                "| model | what | batch | median | speed-up vs first variant | warm-up (compile) | note |",
                "|---|---|---:|---:|---:|---:|---|"]
        for _, r in sw.iterrows():
            out.append(f"| {r['model']} | {r['name']} | {_int(r['batch_size'])} | {_fmt_s(r['median_s'])} | "
                       f"{_num(r['value'], 3)} | {_fmt_s(r['warmup_s'])} | {r['note'] or ''} |")
    proj = projection(df)
    if proj:
        out += ["", "### Projection to the paper's CIFAR-10 run (extrapolated from the per-image times above)", "",
                "| component | time | basis |", "|---|---:|---|"]
        out += [f"| {p['component']} | {_fmt_s(p['seconds'])} | {p['basis']} |" for p in proj]
    return "\n".join(out) + "\n"


def _int(v) -> str:
    try:
        return str(int(v)) if v == v and int(v) > 0 else "–"
    except (TypeError, ValueError):
        return "–"


def target_lines() -> list[str]:
    desc = {
        "attack_vs_limit": "BI-10 throughput / limit throughput (limit = 10 input-gradient passes + 1 forward, same batch)",
        "torchattacks_speed": "torchattacks.BIM time / our BI time (same model, inputs, labels, ε, α, steps)",
        "torchattacks_max_abs_diff": "max \\|x_adv(ours) − x_adv(torchattacks)\\| (agreement up to float error)",
        "adv_epoch_vs_11_clean": "adversarial-training epoch / (11 × clean training epoch), same batches",
        "transfer_vs_inference": "transfer-evaluation throughput / plain `model(x)` throughput (inference mode)",
        "dag_build_s": "`snakemake -n` on a CIFAR-10-shaped config (200 + 250 epochs), seconds",
        "figure_rerender_s": "re-render fig08 of the smoke experiment after editing its plot script, seconds",
    }
    return [f"| {k} | {op} {_num(thr)} | {desc[k]} |" for k, (op, thr) in TARGETS.items()]


def render(results_dir: Path = RESULTS) -> str:
    files = sorted(results_dir.glob("*.parquet"), key=lambda p: ("quick" in p.stem, p.stem))
    out = ["# Benchmarks", "",
           "Generated by `python bench/run_bench.py` (or `--report-only`) from every table in "
           "`bench/results/`; do not edit by hand. How to run: README.md, section *Benchmarks*. Each time "
           "is the median of repeated runs after warm-up (min and max shown); a ratio is a ratio of "
           "medians. CPU results on a shared machine are noisy: check the load average of each part.", "",
           "| ratio | target | definition |", "|---|---:|---|", *target_lines(), ""]
    if not files:
        out.append("No result tables yet.")
    for f in files:
        df = pd.read_parquet(f)
        title = f"`{f.name}`"
        if "quick" in f.stem:
            title += " (quick validation run: reduced sizes and repeats, not a measurement)"
        out.append(render_table(df, title))
    return "\n".join(out)


def write_report(results_dir: Path = RESULTS, path: Path = REPORT) -> Path:
    path.write_text(render(results_dir))
    return path
