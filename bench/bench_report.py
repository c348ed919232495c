"""BENCHMARKS.md from every result table in bench/results/, and the paper-scale projection."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bench_measure import TARGETS
from paper_work import WORK_UNITS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REPORT = ROOT / "BENCHMARKS.md"

META = ["date", "device_kind", "device_name", "mode", "torch", "torchattacks", "python", "threads",
        "allocator_tuned", "amp", "channels_last", "compile", "attack_amp", "compile_mode", "git_commit",
        "load_before", "load_after", "run_note", "command"]

# Paper-scale projection (CIFAR-10, paper 000): the workflow part counts the work of every job of
# the paper config's DAG in unit operations on single images (bench/paper_work.py, stored as rows
# of section "work"); here each unit is priced with a measured per-image CIFAR-10 time.
PRICES = {  # unit -> (timing row of the cifar10 model that prices it, unit operations per image of that row)
    "F": ("plain_inference", 1),  # classifier forward
    "G": ("bi10_ours", 10),       # input-gradient pass: BI-10 is 10 of them
    "S": ("adv_epoch", 1),        # adversarial-training step
    "C": ("clean_epoch", 1),      # clean training step
    "D": ("detector_epoch", 1),   # detector training step
}


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


def unit_prices(df: pd.DataFrame) -> dict[str, float]:
    """Seconds per image of each work unit, from the CIFAR-10 timings present in `df`."""
    out = {}
    for unit, (name, per) in PRICES.items():
        r = _pick(df, "cifar10", name)
        if r is not None and r["images"] and r["images"] > 0:
            out[unit] = float(r["median_s"]) / (float(r["images"]) * per)
    return out


def projection(df: pd.DataFrame, work: pd.DataFrame | None = None) -> list[dict]:
    """Rows (component, seconds, basis) of the paper run; empty without the CIFAR-10 training
    timings. `work`: the work rows (default: this table's section "work")."""
    prices = unit_prices(df)
    if "S" not in prices or "C" not in prices:
        return []
    if work is None:
        work = df[df["section"] == "work"]
    rows, total, missing = [], 0.0, set()
    adv, clean = _pick(df, "cifar10", "adv_epoch"), _pick(df, "cifar10", "clean_epoch")
    training = work[(work["name"] == "adversarial training") & (work["value"] > 0)]
    if not training.empty:  # images per epoch = adversarial steps / epochs (jobs)
        per_epoch = float(training[WORK_UNITS["S"]].iloc[-1]) / float(training["value"].iloc[-1])
        bs = int(adv["batch_size"])
        rows += [
            {"component": f"one adversarial-training epoch ({per_epoch:.0f} images)", "seconds": per_epoch * prices["S"],
             "basis": f"{_fmt_s(adv['median_s'] / adv['n_batches'])} per batch of {bs} (measured)"},
            {"component": f"one pretraining epoch ({per_epoch:.0f} images)", "seconds": per_epoch * prices["C"],
             "basis": f"{_fmt_s(clean['median_s'] / clean['n_batches'])} per batch of {bs} (measured)"}]
    for _, w in work.iterrows():
        counts = {u: float(w[c]) for u, c in WORK_UNITS.items() if c in w and w[c] == w[c] and float(w[c]) > 0}
        lacking = sorted(u for u in counts if u not in prices)
        terms = " + ".join(f"{_num(v)} {u}" for u, v in counts.items())
        if lacking:
            missing.update(lacking)
            rows.append({"component": w["name"], "seconds": float("nan"),
                         "basis": f"{terms}; not priced: no {', '.join(PRICES[u][0] for u in lacking)} timing. {w['note']}"})
            continue
        sec = sum(v * prices[u] for u, v in counts.items())
        total += sec
        rows.append({"component": w["name"], "seconds": sec,
                     "basis": f"{int(w['value'])} jobs; {terms}; {w['note']}"})
    start, dag = _pick(df, "workflow", "job_startup"), _pick(df, "workflow", "dag_build")
    if start is not None and dag is not None and dag.get("value", -1) > 0:
        sec = dag["value"] * start["median_s"]
        total += sec
        rows.append({"component": "job start-up (run serially)", "seconds": sec,
                     "basis": f"{int(dag['value'])} jobs × {_fmt_s(start['median_s'])} (Python + torch import per job)"})
    if not work.empty:
        note = "the training epochs are a chain; the analyses parallelise over devices"
        if missing:
            note += f"; without the unpriced components ({', '.join(sorted(missing))} not measured here)"
        rows.append({"component": "**total, one device, serial**", "seconds": total, "basis": note})
    return rows


def _meta_lines(df: pd.DataFrame) -> list[str]:
    lines = []
    first = df.iloc[0]
    lines.append(f"- **Device:** {first['device_kind']} — {first['device_name']}, {int(first['threads'])} CPU threads; "
                 f"mode: {first['mode']}")
    lines.append(f"- **Versions:** torch {first['torch']}, torchattacks {first['torchattacks']}, "
                 f"Python {first['python']}")
    extra = "".join(f", {k}={first[k]}" for k in ("attack_amp", "compile_mode") if k in first and first[k])
    lines.append(f"- **Runtime switches:** amp={first['amp']}, channels_last={first['channels_last']}, "
                 f"compile={first['compile']}{extra}; glibc allocator tuned: {first['allocator_tuned']}")
    firsts = df.groupby("part", sort=False).head(1)
    shared_note = firsts["run_note"].nunique() == 1
    if shared_note and first["run_note"]:
        lines.append(f"- **Note:** {first['run_note']}")
    for _, r in firsts.iterrows():
        note = "" if shared_note or not r["run_note"] else f"; note: {r['run_note']}"
        lines.append(f"- **{r['part']}:** measured {r['date']}, commit {r['git_commit']}, load average "
                     f"{r['load_before']:.1f} → {r['load_after']:.1f}{note}; `{r['command']}`")
    return lines


PART_ORDER = ("attack", "train", "transfer", "switches", "workflow", "at_epoch", "smoke")


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in part order (a re-measured part keeps its place), stable within a part."""
    rank = df["part"].map({p: i for i, p in enumerate(PART_ORDER)}).fillna(len(PART_ORDER))
    return df.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


# ratio -> the two timings it compares (a ratio whose two timings' min..max ranges overlap is
# within run-to-run noise: the report says so next to it)
COMPARED = {"attack_vs_limit": ("bi10_limit", "bi10_attack"), "torchattacks_speed": ("bi10_torchattacks", "bi10_ours"),
            "transfer_vs_inference": ("plain_inference", "transfer_eval")}


def spread_note(df: pd.DataFrame, r: pd.Series) -> str:
    """'within run-to-run spread …' when the compared timings' min..max ranges overlap, else ''."""
    if r["name"] not in COMPARED:
        return ""
    a, b = (_pick(df, r["model"], n) for n in COMPARED[r["name"]])
    if a is None or b is None or a["max_s"] < b["min_s"] or b["max_s"] < a["min_s"]:
        return ""
    return (f"within run-to-run spread: {a['name']} {_fmt_s(a['min_s'])}–{_fmt_s(a['max_s'])} vs "
            f"{b['name']} {_fmt_s(b['min_s'])}–{_fmt_s(b['max_s'])}")


def render_table(df: pd.DataFrame, title: str, work: pd.DataFrame | None = None) -> str:
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
            note = r["note"] or spread_note(df, r)
            out.append(f"| {r['model']} | {r['name']} | {_num(r['value'], 4)} | {r['target_op']} {_num(r['target'])} "
                       f"| {met} | {note} |")
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
    out += _at_epoch_lines(df[df["section"] == "at_epoch"])
    out += _compare_lines(df[df["section"] == "compare"])
    own = df[df["section"] == "work"]
    proj = projection(df, own if not own.empty or work is None else work)
    if proj:
        out += ["", "### Projection to the paper's CIFAR-10 run (extrapolated from the per-image times above)", "",
                "| component | time | basis |", "|---|---:|---|"]
        out += [f"| {p['component']} | {_fmt_s(p['seconds'])} | {p['basis']} |" for p in proj]
    return "\n".join(out) + "\n"


def _at_epoch_lines(at: pd.DataFrame) -> list[str]:
    """bench/gpu_check.sh part (c): the real adv_train_epoch job, then one row per runtime setting
    (value = the epoch's seconds for 45000 images, extrapolated from the images timed)."""
    if at.empty:
        return []
    base = at.loc[at["variant"] == "as configured", "value"]
    base = float(base.iloc[-1]) if not base.empty else float("nan")
    out = ["", "### Adversarial-training epoch, CIFAR-10 shape (bench/gpu_check.sh; 45000 images, pre-act "
               "ResNet-18, BI-10; target ≤ 5 s on one H200)", "",
           "| setting | batch | images timed | timed | epoch (45000 images) | speed-up vs as configured "
           "| warm-up (compile) | note |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for _, r in at.iterrows():
        speed = base / r["value"] if r["value"] == r["value"] and r["value"] > 0 else float("nan")
        out.append(f"| {r['name']} | {_int(r['batch_size'])} | {_int(r['images'])} | {_fmt_s(r['median_s'])} | "
                   f"{_fmt_s(r['value'])} | {_num(speed, 3)} | {_fmt_s(r['warmup_s'])} | {r['note'] or ''} |")
    return out


def _compare_lines(cmp: pd.DataFrame) -> list[str]:
    """bench/gpu_check.sh part (b): the smoke experiment's tables, GPU run against CPU run (value = the
    largest accuracy difference in percentage points, target = the tolerance)."""
    if cmp.empty:
        return []
    out = ["", "### Smoke experiment through Snakemake: GPU run against CPU run (bench/gpu_check.sh)", "",
           "| table | rows | accuracies: max \\|Δ\\| (points) | tolerance | within | note |",
           "|---|---:|---:|---:|:---:|---|"]
    for _, r in cmp.iterrows():
        ok = "–" if pd.isna(r["meets"]) else ("yes" if bool(r["meets"]) else "**no**")
        out.append(f"| {r['name']} | {_int(r['images'])} | {_num(r['value'], 3)} | {_num(r['target'])} | "
                   f"{ok} | {r['note'] or ''} |")
    return out


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
        "dag_build_s": "`snakemake -n` on the CIFAR-10 paper config `cifar10_preact18` (200 + 251 epochs, every figure), seconds",
        "figure_rerender_s": "re-render fig08 of the smoke experiment after editing its plot script, seconds",
        "adv_epoch_45k_s": "one adversarial-training epoch, CIFAR-10 shape (45000 images, pre-act ResNet-18 width 64, "
                           "BI-10 ε=4 α=1, batch 128), seconds on one H200 (`bench/gpu_check.sh`)",
        "smoke_gpu_cpu_acc_points": "smoke experiment through Snakemake on the GPU vs on the CPU: largest accuracy "
                                    "difference in any table, percentage points (`bench/gpu_check.sh`)",
    }
    return [f"| {k} | {op} {_num(thr)} | {desc[k]} |" for k, (op, thr) in TARGETS.items()]


def latest_work(tables) -> pd.DataFrame | None:
    """The most recently measured work rows of any table (the counts do not depend on the device),
    used to project tables measured without the workflow part."""
    best = None
    for df in tables:
        if "section" not in df:
            continue
        w = df[df["section"] == "work"]
        if not w.empty and (best is None or str(w["date"].max()) > str(best["date"].max())):
            best = w
    return best


GPU_HOWTO = [
    "## On a GPU: `bench/gpu_check.sh`",
    "",
    "One command for a GPU machine without Snakemake or internet, ≤ 10 minutes on one H100/H200 (step "
    "limits 110 + 300 + 150 s). Prepare here once: `bash bench/gpu_check.sh --prepare-wheels` (Snakemake "
    "and the other packages a PyTorch image lacks, as wheels in `.whl/`, ~28 MiB). There, with `.whl/` "
    "carried along: `bash bench/gpu_check.sh` (results under `$OUT`). Back here: "
    "`python bench/run_bench.py --import $OUT/results/*.parquet` merges the device's table into "
    "`bench/results/` and this file. Steps, each in its own process under its own limit (a failing "
    "step prints why; the others run and keep their results; `$OUT/summary.json` lists every step's "
    "status):",
    "",
    "* **bench** — `run_bench.py --device cuda`, parts attack, train, transfer, switches;",
    "* **at_epoch** — a CIFAR-10-shaped adversarial-training epoch: 45000 + 5000 + 10000 fabricated, "
    "learnable 32×32×3 images written in CIFAR-10's on-disk pickle format and read by the real "
    "`prepare_dataset` (torchvision's reader; MD5 check off, fabricated files cannot match), then the "
    "real `pretrain` (1 epoch) and `adv_train_epoch` jobs through Snakemake with the paper's pre-act "
    "ResNet-18, BI-10 ε=4 α=1, batch 128 and the switches of `config/config.yaml` (epoch time from the "
    "job's own log); then the same `adv_train_epoch` in-process once per runtime setting, warm (a "
    "warm-up run meets every batch shape first), over about 12800 images extrapolated to 45000 (settings in "
    "priority order, the later ones skipped when the step's time runs out; `GPU_CHECK_VARIANTS` and "
    "`GPU_CHECK_PARTS=at_epoch` run the rest in a second window); and how far bf16 BI-10 "
    "perturbations agree with fp32 ones (signs, equal elements, labels, adversarial accuracy);",
    "* **smoke** — the `smoke` experiment through Snakemake on the GPU and, at the same time, on the "
    "CPU, each from its own copy of the tree (every table's jobs; the figures are CPU plots of those "
    "tables), and every table compared: accuracy-like columns within one point;",
    "* `--reduced` runs all of it on tiny sizes (also on a CPU: `tests/test_gpu_check.py`).",
    "",
    "Runtime switches for the adversarial-training epoch (top level of `config/config.yaml`; every default "
    "is the science-preserving one): `attack_amp` (bf16 autocast of the adversary's forward/backward "
    "passes; δ, its sign steps and clipping stay fp32, the update fp32), `amp` (the update too), "
    "`channels_last`, `compile` with `compile_mode: reduce-overhead` (CUDA graphs of the fixed-shape "
    "passes; while the attack runs the weights are frozen, so the compiled backward computes input "
    "gradients only). Not switches, and why: the uint8 training set already lives on the device (batches "
    "are index slices, augmentation is batched; its random numbers come from the CPU generator so CPU "
    "and GPU runs draw the same crops); and the attack cannot take a larger batch than the SGD step, "
    "because each batch's perturbations must be computed against the weights of that step — attacking "
    "several batches at once against stale weights changes the adversary, and a larger SGD batch changes "
    "the optimisation (the row \"SGD batch ×4\" is a reference only).",
]


def render(results_dir: Path = RESULTS) -> str:
    files = sorted(results_dir.glob("*.parquet"), key=lambda p: ("quick" in p.stem, p.stem))
    out = ["# Benchmarks", "",
           "Generated by `python bench/run_bench.py` (or `--report-only`) from every table in "
           "`bench/results/`; do not edit by hand. How to run: docs/benchmarks.md. Each time "
           "is the median of repeated runs after warm-up (min and max shown); a ratio is a ratio of "
           "medians. CPU results on a shared machine are noisy: check the load average of each part.", "",
           "| ratio | target | definition |", "|---|---:|---|", *target_lines(), "", *GPU_HOWTO, ""]
    if not files:
        out.append("No result tables yet.")
    tables = {f: pd.read_parquet(f) for f in files}
    work = latest_work(tables.values())
    for f, df in tables.items():
        title = f"`{f.name}`"
        if "quick" in f.stem:
            title += " (quick validation run: reduced sizes and repeats, not a measurement)"
        out.append(render_table(df, title, work))
    return "\n".join(out)


def write_report(results_dir: Path = RESULTS, path: Path = REPORT) -> Path:
    path.write_text(render(results_dir))
    return path
