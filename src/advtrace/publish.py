"""Committed results and the pages generated from them (pure Python + pandas, no torch).

A run a reader should see without running it is *published*: its aggregated tables (Parquet),
claims scorecard, rendered paper tables and figures (PNG) are copied from ``results/<exp>/`` to
``docs/results/<exp>/`` with a ``provenance.json`` (commit, host, CPU flags, date, seed, wall time,
jobs). Every number that the documentation quotes from a run is then *rendered* from those
committed tables by this module — never typed by hand:

* ``docs/results/README.md``: the per-dataset view, for every claim of every paper, the paper's
  value next to each published experiment's measurement and verdict, and, for every claim whose
  verdict differs between experiments, the explanation kept in ``docs/results/notes.yaml``;
* the block between ``<!-- results-summary:start -->`` and ``<!-- results-summary:end -->`` of
  ``README.md``: one generated line per paper;
* ``docs/results/<exp>/README.md``: the run's provenance and scorecard.

Commands (from the repository root)::

    python -m advtrace.publish run digits          # snakemake --cores all for digits, timed, then copy
    python -m advtrace.publish copy digits --wall-s 431 --jobs 125   # copy an existing results/digits
    python -m advtrace.publish render              # regenerate every generated page
    python -m advtrace.publish render --check      # exit 1 if a generated page is stale

``tests/test_publish.py`` runs ``render --check`` on the committed tables, so a page edited by
hand, or tables committed without re-rendering, fail the tests.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = Path("docs") / "results"
START, END = "<!-- results-summary:start -->", "<!-- results-summary:end -->"
# the order experiments appear in, as columns; others follow alphabetically
ORDER = ("fashion", "digits")
MARK = {"holds": "✅", "does not hold": "❌", "inconclusive": "❔", "not measured": "–", "measured": "·"}
VERDICTS = ("holds", "does not hold", "inconclusive")
SKIP = ("logs", "benchmarks", "metrics", "checkpoints", "perturbations", "runs", "data", "tables", "figures")
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "fma")


# --- provenance -------------------------------------------------------------------------------

def git(*args: str, cwd: Path = ROOT) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_facts() -> dict:
    """CPU model, the SIMD flags that change oneDNN's kernels, and the core count."""
    model, flags = platform.processor() or "cpu", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cpu_flags": [f for f in FLAGS if f in flags], "cores": os.cpu_count()}


def provenance(exp: str, cfg: dict, wall_s: float | None, jobs: int | None, command: str) -> dict:
    import torch  # noqa: PLC0415  (only the `copy`/`run` commands need it, for its version)

    dirty = git("status", "--porcelain", "--", "src", "rules", "workflow", "config", "Snakefile")
    return {
        "experiment": exp,
        "commit": git("rev-parse", "--short=12", "HEAD") or "unknown",
        "dirty": bool(dirty),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": socket.gethostname(),
        **cpu_facts(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "seed": cfg.get("seed"),
        "wall_s": None if wall_s is None else round(float(wall_s), 1),
        "jobs": jobs,
        "command": command,
    }


# --- publishing a run ---------------------------------------------------------------------------

def _copy_tree(src: Path, dst: Path, pattern: str) -> list[Path]:
    out = []
    for f in sorted(src.rglob(pattern)) if src.is_dir() else []:
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
        out.append(target)
    return out


def copy_results(exp: str, results: Path, dest: Path, prov: dict) -> None:
    """Replace ``dest`` with the tables, scorecard, rendered tables and PNG figures of ``results``."""
    if not (results / "tables" / "claims.parquet").is_file():
        raise SystemExit(f"publish: {results}/tables/claims.parquet is missing: run the experiment to its end first "
                         f"(snakemake --cores all --config experiments='[{exp}]')")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _copy_tree(results / "tables", tmp / "tables", "*.parquet")
    _copy_tree(results / "figures", tmp / "figures", "*.png")
    # the scorecard and the rendered paper tables (Markdown), wherever the stages write them
    for f in sorted(results.rglob("*.md")):
        rel = f.relative_to(results)
        if rel.parts[0] not in SKIP:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, tmp / rel)
    (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def experiment_config(exp: str) -> dict:
    for base in (Path.cwd(), ROOT):
        path = base / "config" / "experiments" / f"{exp}.yaml"
        if path.is_file():
            return yaml.safe_load(path.read_text())
    return {}


def count_jobs(stdout: str) -> int | None:
    """The 'total' row of the job-count table snakemake prints at the start of a run."""
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "total" and parts[1].isdigit():
            return int(parts[1])
    return None


def run_and_copy(exp: str, cores: str, extra: list[str]) -> dict:
    """Run the experiment from scratch-or-cache with snakemake, timed, then publish it."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", cores, "--config", f"experiments=[{exp}]", *extra]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    sys.stdout.write(proc.stdout[-4000:])
    if proc.returncode:
        raise SystemExit(f"publish: snakemake failed ({proc.returncode}); nothing published")
    jobs = count_jobs(proc.stdout)
    command = "snakemake --cores " + cores + f" --config experiments=[{exp}]" + (" " + " ".join(extra) if extra else "")
    prov = provenance(exp, experiment_config(exp), wall, jobs, command)
    copy_results(exp, Path("results") / exp, DOCS / exp, prov)
    return prov


# --- rendering --------------------------------------------------------------------------------

def published(docs: Path) -> dict[str, dict]:
    """{experiment: {"prov": provenance, "claims": claims table}} of every published run."""
    out = {}
    for d in sorted(p for p in docs.iterdir() if (p / "provenance.json").is_file()) if docs.is_dir() else []:
        claims = d / "tables" / "claims.parquet"
        if claims.is_file():
            out[d.name] = {"prov": json.loads((d / "provenance.json").read_text()), "claims": pd.read_parquet(claims)}
    order = [e for e in ORDER if e in out] + sorted(e for e in out if e not in ORDER)
    return {e: out[e] for e in order}


def _wall(prov: dict) -> str:
    s = prov.get("wall_s")
    if s is None:
        return "not measured"
    return f"{int(s // 60)} min {int(round(s % 60)):02d} s"


def _host(prov: dict) -> str:
    flags = "AVX-512" if "avx512f" in prov.get("cpu_flags", []) else ("AVX2 only" if "avx2" in prov.get("cpu_flags", []) else "no AVX2")
    gpu = f", {prov['gpu']}" if prov.get("gpu") else ", no GPU"
    return f"{prov.get('cpu', '?')} ({flags}), {prov.get('cores', '?')} cores{gpu}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def tally(claims: pd.DataFrame) -> dict[str, int]:
    return {v: int((claims["status"] == v).sum()) for v in (*VERDICTS, "not measured", "measured")}


def tally_text(claims: pd.DataFrame) -> str:
    t = tally(claims)
    text = f"{t['holds']} hold, {t['does not hold']} do not hold, {t['inconclusive']} inconclusive"
    rest = t["not measured"] + t["measured"]
    return text + (f", {rest} not measured or measured only" if rest else "")


def load_notes(docs: Path) -> dict[str, dict]:
    path = docs / "notes.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def differing(runs: dict[str, dict]) -> list[tuple[str, str, dict[str, str]]]:
    """(paper, claim, {experiment: status}) of every claim whose verdict differs between experiments
    that both gave a verdict (holds / does not hold / inconclusive)."""
    by_claim: dict[tuple[str, str], dict[str, str]] = {}
    for exp, r in runs.items():
        for row in r["claims"].itertuples():
            by_claim.setdefault((row.paper, row.claim), {})[exp] = row.status
    out = []
    for (paper, claim), st in by_claim.items():
        verdicts = {e: s for e, s in st.items() if s in VERDICTS}
        if len(set(verdicts.values())) > 1:
            out.append((paper, claim, st))
    return sorted(out)


def render_results_page(runs: dict[str, dict], notes: dict[str, dict]) -> str:
    from .stages import PAPERS  # noqa: PLC0415

    exps = list(runs)
    lines = ["# Results per dataset", "",
             "<!-- Generated by `python -m advtrace.publish render` from the committed tables under docs/results/; "
             "do not edit by hand. -->", "",
             "Every claim of the four papers, the paper's value next to what each published run measured (rates with "
             "their n and 95 % interval) and its verdict: ✅ holds, ❌ does not hold, ❔ inconclusive (the intervals "
             "overlap), – not measured (the tables are not produced, the model did not train, or every compared number "
             "sits at chance), · measured only. Each run's full scorecard, tables and figures are in its folder.", "",
             "## Runs", "",
             "| experiment | commit | date | host | seed | wall time | jobs | scorecard |", "|---|---|---|---|---|---|---|---|"]
    for e, r in runs.items():
        p = r["prov"]
        dirty = "+dirty" if p.get("dirty") else ""
        lines.append(f"| `{e}` | `{p.get('commit')}{dirty}` | {p.get('date')} | {_host(p)} | {p.get('seed')} | "
                     f"{_wall(p)} | {p.get('jobs') or 'n/a'} | [{e}/claims.md]({e}/claims.md) |")
    lines.append("")
    tables = {e: r["claims"].set_index("claim") for e, r in runs.items()}
    papers = sorted({p for r in runs.values() for p in r["claims"]["paper"]})
    for paper in papers:
        lines += [f"## Paper {paper}: {PAPERS.get(paper, '')}", ""]
        lines.append(" · ".join(f"{e}: {tally_text(r['claims'][r['claims']['paper'] == paper])}" for e, r in runs.items()))
        lines += ["", "| claim | statement | paper | " + " | ".join(exps) + " |", "|---|---|---|" + "---|" * len(exps)]
        order = list(dict.fromkeys(c for r in runs.values() for c in r["claims"][r["claims"]["paper"] == paper]["claim"]))
        for claim in order:
            first = next(tables[e].loc[claim] for e in exps if claim in tables[e].index)
            cells = []
            for e in exps:
                if claim in tables[e].index:
                    row = tables[e].loc[claim]
                    cells.append(f"{MARK.get(row['status'], row['status'])} {_cell(row['measured'])}")
                else:
                    cells.append("– (not in this run)")
            lines.append(f"| `{claim}` | {_cell(first['statement'])} | {_cell(first['paper_value'])} | " + " | ".join(cells) + " |")
        lines.append("")
    diff = differing(runs)
    if len(exps) > 1:
        lines += ["## Where the verdicts differ", "",
                  "A verdict that differs between datasets is either a *proxy effect* (the small dataset or short "
                  "schedule cannot show what the paper measured at scale) or a *real* difference; the explanation of "
                  "each is kept in `docs/results/notes.yaml` and shown here.", ""]
        for paper, claim, st in diff:
            note = notes.get(claim) or {}
            kind = note.get("kind", "not yet explained")
            verdicts = ", ".join(f"{e} {MARK.get(s, s)} {s}" for e, s in st.items())
            lines.append(f"- **`{claim}`** (paper {paper}; {verdicts}) — *{kind}*: {note.get('text', '').strip()}")
        if not diff:
            lines.append("No claim's verdict differs between the published runs.")
        lines.append("")
    return "\n".join(lines)


def render_summary(runs: dict[str, dict]) -> str:
    """The README's generated block: one line per paper, each run's tally, and the runs' provenance."""
    from .stages import PAPERS  # noqa: PLC0415

    if not runs:  # nothing published yet: say how to publish, and quote no number
        return "\n".join([START, "", "No run is published yet. `python -m advtrace.publish run digits` runs the default "
                           "experiment and commits its tables, scorecard and figures to `docs/results/digits/`; this "
                           "block then gives one generated line per paper and the per-claim page "
                           "`docs/results/README.md`.", "", END])
    lines = [START, ""]
    papers = sorted({p for r in runs.values() for p in r["claims"]["paper"]})
    for paper in papers:
        parts = []
        for e, r in runs.items():
            d = r["claims"][r["claims"]["paper"] == paper]
            if len(d):
                parts.append(f"{e}: {tally_text(d)} of {len(d)}")
        lines.append(f"- **Paper {paper}** ({PAPERS.get(paper, '').split(',')[0]}): " + "; ".join(parts) + ".")
    lines.append("")
    runs_text = "; ".join(f"`{e}` {_wall(r['prov'])} ({r['prov'].get('jobs') or '?'} jobs, commit "
                          f"`{r['prov'].get('commit')}`, {r['prov'].get('date')}, seed {r['prov'].get('seed')}, "
                          f"{_host(r['prov'])})" for e, r in runs.items())
    lines += [f"Measured runs: {runs_text}. Per claim: [docs/results/README.md](docs/results/README.md).", "", END]
    return "\n".join(lines)


def render_run_page(exp: str, run: dict) -> str:
    p = run["prov"]
    lines = [f"# Published run: `{exp}`", "",
             "<!-- Generated by `python -m advtrace.publish render`; do not edit by hand. -->", "",
             "| | |", "|---|---|"]
    for key, label in (("commit", "commit"), ("date", "date"), ("seed", "seed"), ("command", "command"),
                       ("torch", "torch")):
        lines.append(f"| {label} | `{p.get(key)}` |")
    lines += [f"| host | {_host(p)} |", f"| wall time | {_wall(p)} |", f"| jobs | {p.get('jobs') or 'n/a'} |", "",
              f"Claims: {tally_text(run['claims'])} ([claims.md](claims.md)). Tables: `tables/*.parquet` (schemas in "
              "TABLES.md); figures: `figures/*.png`.", ""]
    return "\n".join(lines)


def splice(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"publish: README.md has no {START} … {END} block to fill")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + block + tail


def rendered(root: Path) -> dict[Path, str]:
    """{path: text} of every generated page, from the committed tables under root/docs/results."""
    docs = root / DOCS
    runs = published(docs)
    out = {}
    if runs:
        out[docs / "README.md"] = render_results_page(runs, load_notes(docs)) + "\n"
        for e, r in runs.items():
            out[docs / e / "README.md"] = render_run_page(e, r) + "\n"
    readme = root / "README.md"
    if readme.is_file() and START in readme.read_text():
        out[readme] = splice(readme.read_text(), render_summary(runs))
    return out


def render(root: Path, check: bool) -> int:
    stale = []
    for path, text in rendered(root).items():
        if not path.is_file() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    if check and stale:
        print("publish: stale generated pages (run `python -m advtrace.publish render`): "
              + ", ".join(str(p.relative_to(root)) for p in stale), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m advtrace.publish", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run an experiment with snakemake (timed), then publish it")
    r.add_argument("experiment")
    r.add_argument("--cores", default="all")
    r.add_argument("snakemake_args", nargs="*", help="more snakemake arguments (after --)")
    c = sub.add_parser("copy", help="publish an existing results/<experiment>")
    c.add_argument("experiment")
    c.add_argument("--wall-s", type=float, default=None, help="measured wall time of the run, in seconds")
    c.add_argument("--jobs", type=int, default=None)
    c.add_argument("--command", default="")
    g = sub.add_parser("render", help="regenerate the pages generated from docs/results/")
    g.add_argument("--check", action="store_true", help="exit 1 if a generated page is stale; write nothing")
    a = ap.parse_args(argv)
    if a.cmd == "run":
        run_and_copy(a.experiment, a.cores, a.snakemake_args)
        return render(Path.cwd(), check=False)
    if a.cmd == "copy":
        prov = provenance(a.experiment, experiment_config(a.experiment), a.wall_s, a.jobs, a.command)
        copy_results(a.experiment, Path("results") / a.experiment, DOCS / a.experiment, prov)
        return render(Path.cwd(), check=False)
    return render(Path.cwd(), check=a.check)


if __name__ == "__main__":
    sys.exit(main())
