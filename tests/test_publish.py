"""Published results and the pages generated from them (advtrace.publish)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from advtrace import publish
from advtrace.publish import END, START
from advtrace.tables import coerce

ROOT = Path(__file__).resolve().parents[1]


def claims(exp, rows):
    return coerce(pd.DataFrame([{
        "experiment": exp, "paper": paper, "claim": claim, "section": "Sec. 3", "statement": f"statement {claim}",
        "paper_value": "62 %", "criterion": "> 3x", "measured": measured, "value": 0.5, "status": status,
    } for paper, claim, measured, status in rows]), "claims")


def publish_fake(root: Path, exp: str, rows, wall_s=431.0):
    d = root / "docs" / "results" / exp
    (d / "tables").mkdir(parents=True)
    claims(exp, rows).to_parquet(d / "tables" / "claims.parquet")
    (d / "provenance.json").write_text(json.dumps({
        "experiment": exp, "commit": "abc123def456", "dirty": False, "date": "2026-12-07 10:00 UTC", "host": "h",
        "cpu": "AMD EPYC", "cpu_flags": ["avx2", "fma"], "cores": 2, "gpu": None, "torch": "2.14.1", "seed": 0,
        "wall_s": wall_s, "jobs": 125, "command": f"snakemake --cores all --config experiments=[{exp}]"}))


@pytest.fixture
def tree(tmp_path):
    publish_fake(tmp_path, "digits", [("000", "bi_raised", "7.8 % -> 73.2 %", "holds"),
                                     ("000", "universal_fools", "57.6 %", "does not hold"),
                                     ("002", "label_leaking", "0 of 500", "not measured")])
    publish_fake(tmp_path, "fashion", [("000", "bi_raised", "2.0 % -> 61.0 %", "holds"),
                                      ("000", "universal_fools", "11.0 %", "holds"),
                                      ("002", "label_leaking", "79 of 2000", "holds")], wall_s=3012.4)
    (tmp_path / "docs" / "results" / "notes.yaml").write_text(
        "universal_fools:\n  kind: proxy effect\n  text: digits' all-black border.\n")
    (tmp_path / "README.md").write_text(f"# x\n\n{START}\nold\n{END}\n\ntail\n")
    return tmp_path


def test_render_writes_every_page_and_check_then_passes(tree):
    assert publish.render(tree, check=True) == 1  # nothing rendered yet: stale
    assert publish.render(tree, check=False) == 0
    assert publish.render(tree, check=True) == 0
    page = (tree / "docs" / "results" / "README.md").read_text()
    # fashion comes first (ORDER), then digits; each cell is the run's measured text with its verdict
    assert "| claim | statement | paper | fashion | digits |" in page
    assert "| `bi_raised` | statement bi_raised | 62 % | ✅ 2.0 % -> 61.0 % | ✅ 7.8 % -> 73.2 % |" in page
    # a claim whose verdict differs is listed with its note; one measured in one run only is not a difference
    assert "**`universal_fools`**" in page and "*proxy effect*: digits' all-black border." in page
    # under the note, each run's measured values, from its claims table
    assert "*proxy effect*: digits' all-black border.\n  - fashion: 11.0 %\n  - digits: 57.6 %\n" in page
    assert "**`label_leaking`**" not in page
    assert "50 min 12 s" in page and "7 min 11 s" in page  # wall times from the provenance files
    readme = (tree / "README.md").read_text()
    assert readme.startswith("# x\n\n" + START) and readme.endswith(END + "\n\ntail\n")
    assert "**Paper 000**" in readme and "fashion: 2 hold, 0 do not hold, 0 inconclusive of 2" in readme
    assert "**Paper 002**" in readme and "digits: 0 hold, 0 do not hold, 0 inconclusive, 1 not measured" in readme


def test_check_fails_when_a_page_is_edited_or_tables_change(tree):
    publish.render(tree, check=False)
    page = tree / "docs" / "results" / "README.md"
    page.write_text(page.read_text().replace("73.2", "75.0"))  # a hand-typed number
    assert publish.render(tree, check=True) == 1
    publish.render(tree, check=False)
    t = tree / "docs" / "results" / "digits" / "tables" / "claims.parquet"
    df = pd.read_parquet(t)
    df.loc[df["claim"] == "bi_raised", "measured"] = "7.8 % -> 80.0 %"
    df.to_parquet(t)  # new tables committed without re-rendering
    assert publish.render(tree, check=True) == 1


def test_a_note_quoting_a_measured_number_is_refused(tree):
    """A note explains a difference in words; a measured value typed into it would drift with the next run
    (the page prints the values from the tables), so rendering names the claim and the number and stops."""
    (tree / "docs" / "results" / "notes.yaml").write_text(
        "universal_fools:\n  kind: proxy effect\n  text: digits' border leaves 57.6 % at ε 25.5.\n")
    with pytest.raises(SystemExit, match=r"quotes measured numbers.*universal_fools: 57.6 %"):
        publish.render(tree, check=False)
    assert publish.quoted_numbers({"a": {"text": "at ε 25.5, ρ 0.5 and σ 0.3, 4 epochs"}}) == {}
    assert publish.quoted_numbers({"a": {"text": "ε_uni 19.9 vs 56; 81 %"}}) == {"a": ["19.9", "81 %"]}


def test_unexplained_difference_is_marked(tree):
    (tree / "docs" / "results" / "notes.yaml").unlink()
    publish.render(tree, check=False)
    assert "*not yet explained*" in (tree / "docs" / "results" / "README.md").read_text()


def test_summary_before_any_run_is_published(tmp_path):
    """With nothing under docs/results/ the README block still comes from the generator: it says how
    to publish and quotes no number; no per-dataset page is written."""
    (tmp_path / "README.md").write_text(f"# x\n\n{START}\nDigits: 14 hold (typed by hand)\n{END}\n\ntail\n")
    assert publish.render(tmp_path, check=True) == 1  # the hand-typed block is stale
    assert publish.render(tmp_path, check=False) == 0
    assert publish.render(tmp_path, check=True) == 0
    readme = (tmp_path / "README.md").read_text()
    block = readme[readme.index(START):readme.index(END)]
    assert "No run is published yet" in block and "python -m advtrace.publish run digits" in block
    assert not any(ch.isdigit() for ch in block.replace("results-summary", "")), block
    assert readme.endswith(END + "\n\ntail\n") and not (tmp_path / "docs").exists()


def test_committed_readme_has_the_generated_block():
    """README.md carries the results-summary markers, so `render` fills (and `--check` checks) its block."""
    text = (ROOT / "README.md").read_text()
    assert text.count(START) == 1 and text.count(END) == 1 and text.index(START) < text.index(END)


def test_copy_results_takes_tables_figures_and_scorecard_only(tmp_path):
    res = tmp_path / "results" / "digits"
    for rel in ("tables/claims.parquet", "tables/learning_curve.parquet", "figures/fig08_x.png", "figures/fig08_x.pdf",
                "claims.md", "reports/p004_table_a1.md", "logs/claims.log", "checkpoints/epoch_000.pt"):
        (res / rel).parent.mkdir(parents=True, exist_ok=True)
        (res / rel).write_text("x")
    dest = tmp_path / "docs" / "results" / "digits"
    dest.mkdir(parents=True)
    (dest / "stale.txt").write_text("old")
    publish.copy_results("digits", res, dest, {"experiment": "digits"})
    got = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert got == ["claims.md", "figures/fig08_x.png", "provenance.json", "reports/p004_table_a1.md",
                   "tables/claims.parquet", "tables/learning_curve.parquet"]


def test_copy_refuses_an_unfinished_run(tmp_path):
    with pytest.raises(SystemExit, match="claims.parquet is missing"):
        publish.copy_results("digits", tmp_path / "results" / "digits", tmp_path / "out", {})


def test_committed_pages_match_their_generator():
    """The pages generated from the committed tables (docs/results/) are what the generator writes now."""
    stale = [str(p.relative_to(ROOT)) for p, text in publish.rendered(ROOT).items()
             if not p.is_file() or p.read_text() != text]
    assert not stale, f"stale generated pages: {stale}; run `python -m advtrace.publish render`"


PLANS = """# Cost plans of every config (h100)

Generated by `python -m advtrace.plan --docs docs/cluster_plans.md`; do not edit by hand.

## big_gpu

| study | jobs | GPU-hours (h100) | CPU-hours (cpu) | longest job | disk | peak host memory | peak GPU memory |
|---|---:|---:|---:|---:|---:|---:|---:|
| core | 254 | 6.2 h | 0.1 min | 0.4 h | 22.7 GB | 3.4 GB | 1.8 GB |
| paper 000 | 457 | 6.8 h | 0.5 min | 0.3 h | 14.9 GB | 6.4 GB | 10.7 GB |
| paper 001 | 3 | 1.0 h | 0.0 min | 0.3 h | 1 GB | 6.4 GB | 10.7 GB |
| claims | 1 | 0 | 0.0 min | 0.0 min | 0 | 206 MB | 0 |
| **total** | 715 | 14.0 h | 0.6 min | 0.4 h | 38.6 GB | 6.4 GB | 10.7 GB |

Critical path (unlimited devices, no queue wait): **6.6 h**: prepare_data, pretrain, adv_train_epoch × 251.

| rule | jobs | GPU-hours (h100) | CPU-hours (cpu) | longest job | disk | peak host memory | peak GPU memory |
|---|---:|---:|---:|---:|---:|---:|---:|
| paper_rule | 1 | 0 | 0.0 min | 0.0 min | 0 | 206 MB | 0 |

## digits

| study | jobs | GPU-hours (h100) | CPU-hours (cpu) | longest job | disk | peak host memory | peak GPU memory |
|---|---:|---:|---:|---:|---:|---:|---:|
| paper 000 | 140 | 0.7 h | 0.5 min | 0.3 min | 25 MB | 3.2 GB | 760 MB |
| **total** | 204 | 1.0 h | 0.9 min | 0.4 min | 970 MB | 3.2 GB | 760 MB |

Critical path (unlimited devices, no queue wait): **4.8 min**: prepare_data.

## Constants

| kind | value |
|---|---|
"""


def test_plan_summary_copies_the_generated_plans(tmp_path):
    """The README's cost table is the plans page's totals and critical paths, one row per paper-scale
    config (the CPU experiments left out), each paper linked to its page where one exists; a changed
    plans page makes the README stale."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cluster_plans.md").write_text(PLANS)
    (tmp_path / "docs" / "paper000.md").write_text("# 000\n")
    exps = tmp_path / "config" / "experiments"
    exps.mkdir(parents=True)
    (exps / "big_gpu.yaml").write_text("dataset: {name: cifar10}\n")
    (exps / "digits.yaml").write_text("dataset: {name: digits}\n")
    (tmp_path / "README.md").write_text(f"# x\n\n{publish.PLAN_START}\nold\n{publish.PLAN_END}\n\ntail\n")
    assert publish.render(tmp_path, check=True) == 1
    assert publish.render(tmp_path, check=False) == 0
    assert publish.render(tmp_path, check=True) == 0
    readme = (tmp_path / "README.md").read_text()
    assert "| experiment | papers | jobs | GPU-hours (h100) | CPU-hours | disk | longest job | critical path |" in readme
    assert "| `big_gpu` | [000](docs/paper000.md), 001 | 715 | 14.0 h | 0.6 min | 38.6 GB | 0.4 h | 6.6 h |" in readme
    assert "`digits`" not in readme and "Constants" not in readme and readme.endswith(publish.PLAN_END + "\n\ntail\n")
    (tmp_path / "docs" / "cluster_plans.md").write_text(PLANS.replace("**6.6 h**", "**7.0 h**"))
    assert publish.render(tmp_path, check=True) == 1  # plans regenerated, README not re-rendered


def test_a_replicate_lists_the_verdicts_that_differ_and_survives_the_next_publish(tree, tmp_path):
    """`publish replicate digits <other run's folder> --name avx2_kernels` keeps that run's provenance and claims
    apart from the run's own folder; the digits run page then lists each claim whose verdict differs, both
    measured values, and the replicate's host (the kernel cap included); a bad source is refused."""
    other = tmp_path / "clone"
    publish_fake(other, "digits", [("000", "bi_raised", "7.0 % -> 70.1 %", "holds"),
                                   ("000", "universal_fools", "48.0 %", "holds"),
                                   ("002", "label_leaking", "0 of 500", "not measured")], wall_s=740.0)
    prov = json.loads((other / "docs/results/digits/provenance.json").read_text())
    prov["onednn_max_cpu_isa"] = "AVX2"
    (other / "docs/results/digits/provenance.json").write_text(json.dumps(prov))
    dest = publish.add_replicate("digits", other / "docs/results/digits", "avx2_kernels", tree / "docs" / "results")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        "provenance.json", "tables/claims.parquet"]
    assert publish.render(tree, check=False) == 0
    page = (tree / "docs/results/digits/README.md").read_text()
    assert "## Replicates" in page and "| `avx2_kernels` |" in page and "oneDNN capped at AVX2" in page
    assert "| 1 of 3 |" in page  # universal_fools only: label_leaking is 'not measured' in both
    assert ("- `universal_fools`: ❌ does not hold: 57.6 % — `avx2_kernels`: ✅ holds: 48.0 %") in page
    assert "bi_raised`:" not in page.split("## Replicates")[1]
    results = (tree / "docs/results/README.md").read_text()
    assert "Replicate `digits` / `avx2_kernels` (AMD EPYC (AVX2 only, oneDNN capped at AVX2)" in results
    assert "1 of 3 verdicts differ" in results
    # the published run's folder is replaced by the next publish; the replicate is not inside it
    shutil.rmtree(tree / "docs/results/digits/tables")
    assert publish.replicates(tree / "docs" / "results", "digits")["avx2_kernels"]["prov"]["wall_s"] == 740.0
    with pytest.raises(SystemExit, match="is a run of 'fashion', not of 'digits'"):
        publish.add_replicate("digits", tree / "docs/results/fashion", "x", tree / "docs" / "results")
    with pytest.raises(SystemExit, match="has no provenance.json"):
        publish.add_replicate("digits", tmp_path / "nowhere", "x", tree / "docs" / "results")
    with pytest.raises(SystemExit, match="letters, digits and underscores"):
        publish.add_replicate("digits", other / "docs/results/digits", "../x", tree / "docs" / "results")
