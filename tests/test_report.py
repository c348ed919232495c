"""The HTML report (`snakemake --report`): every catalogued figure and table of every study, grouped by
paper, each with a caption naming the paper's figure or table and what the digits version changes
(advtrace.report_catalogue, report_file in rules/common.smk, workflow/report/*.rst), and the Markdown
tables' HTML renderings (advtrace.mdhtml)."""

import copy
import re
import warnings
import zipfile
from html.parser import HTMLParser

import pytest
import yaml

from advtrace import mdhtml, report_catalogue, stages
from conftest import ROOT, copy_workflow, snakemake, write_exp

CATALOGUE = yaml.safe_load((ROOT / "config" / "figures.yaml").read_text())
# the paper's figure or table a catalogue name refers to ("Fig. 3 right" -> "Fig. 3", "Sec. 6.1 (cost ...)" ->
# "Sec. 6.1"); names without one (a figure no paper has) say so in the caption instead
ITEM = re.compile(r"^(Figs?\.|Table|Sec\.) ?([0-9A-Z][0-9.\-]*[0-9A-Z]?|[0-9])")


def _entries():
    return report_catalogue.entries(CATALOGUE)


# --------------------------------------------------------------------------- the catalogue (fast)

def test_every_registered_figure_and_table_is_an_entry_of_its_papers_category():
    entries = _entries()
    files = [e.file for e in entries]
    assert len(files) == len(set(files))
    expected = set()
    for s in stages.all_stages():
        expected |= {f"figures/{slug}.png" for slug in s.figures}
        expected |= {report_catalogue.html_rendering(r) for r in s.reports if r.endswith(".md")}
    assert set(files) == expected
    assert report_catalogue.missing_renderings() == []
    papers = {e.paper for e in entries}
    assert papers == {"000", "001", "002", "004", "x000"}  # every study, the four papers and beyond
    for e in entries:
        name = "Beyond the papers" if e.paper == "x000" else f"Paper {e.paper}"
        assert e.category.startswith(name) and e.category == stages.REPORT_CATEGORIES[e.paper], e
        assert e.category != report_catalogue.CLAIMS_CATEGORY
    assert len({stages.REPORT_CATEGORIES[p] for p in papers}) == len(papers)
    # paper 000: labelled with its figure kind (the paper's CIFAR-10 figure), zero-padded so that they sort
    p000 = {e.file: e.item for e in entries if e.paper == "000"}
    assert p000 == {f"figures/{slug}.png": f"Fig. {kind:02d}" for kind, slug in CATALOGUE["kinds"].items()}
    # the companion papers: the catalogue's name of the file (the .md for a table's HTML rendering)
    by_file = {(e.paper, e.file): e.item for e in entries}
    assert by_file[("004", "reports/p004_table_a1.html")] == "Table A1"
    assert by_file[("002", "reports/p002_table7.html")] == "Table 7"
    assert by_file[("004", "figures/p004_fig03_deepfool_front.png")] == "Fig. 3 right"


def test_a_registered_figure_the_catalogue_does_not_name_is_refused():
    cat = copy.deepcopy(CATALOGUE)
    del cat["studies"]["004"]["Table A1"]
    del cat["studies"]["004"]["Table A1 with baselines"]
    with pytest.raises(ValueError, match=r"reports/p004_table_a1\.md \(stage paper004, paper 004\)"):
        report_catalogue.entries(cat)


def test_every_caption_names_the_papers_figure_or_table_and_what_digits_changes():
    for e in _entries():
        path = ROOT / e.caption
        assert path.exists(), f"{e.caption} ({e.file}) is missing"
        text = path.read_text()
        assert "{{ snakemake.wildcards.exp }}" in text, e.caption  # names the experiment it shows
        assert f"[paper {e.paper}]" in text if e.paper != "x000" else "Beyond the papers" in text, e.caption
        m = ITEM.match(e.item)
        if e.paper == "000":
            assert re.search(rf"Fig\. {int(e.item.split()[-1])}(?!\d)", text), e.caption
        elif m:
            assert f"{m.group(1)} {m.group(2)}" in text, (e.caption, e.item)
        else:  # a figure the paper does not have
            assert "No figure in the paper" in text or "No paper has this figure" in text, e.caption
        assert "**Digits version** (``config/experiments/digits.yaml``" in text, e.caption
        assert "The settings of this experiment ({{ snakemake.wildcards.exp }})" in text, e.caption


def _render_caption(path, exp="digits") -> str:
    """A caption as the report renders it (jinja with the job's `snakemake`, then docutils), with
    docutils' warnings raised (a broken caption would show a system message in the report)."""
    import jinja2
    from docutils.core import publish_parts

    class Snakemake:
        class wildcards:  # noqa: N801 (the attribute the captions read)
            pass

        config = {"experiments": [exp]}

    Snakemake.wildcards.exp = exp
    rst = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(path.read_text()).render(
        snakemake=Snakemake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # the call as snakemake.report makes it
        return publish_parts(rst, writer_name="html", settings_overrides={"halt_level": 2, "report_level": 5})["body"]


def test_every_caption_renders_without_a_docutils_warning():
    captions = sorted((ROOT / "workflow" / "report").glob("*.rst"))
    used = {ROOT / e.caption for e in _entries()} | {ROOT / "workflow" / "report" / n for n in ("claims.rst",
                                                                                                 "workflow.rst")}
    assert set(captions) == used  # no caption left over from a renamed figure
    for path in captions:
        body = _render_caption(path)
        assert "digits" in body and "{{" not in body and "system-message" not in body, path.name


# --------------------------------------------------------------------------- Markdown -> HTML (fast)

class _Cells(HTMLParser):
    """Table rows of an HTML page as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


MD = """# Paper 004, Table A1 — Pareto-front entries (digits)

Clean accuracy and ε_uni(δ = 0.75) ([0,255] units); 95 % intervals. Paper 004's σ is `adv_weight`
(a continuation line) with **bold** text & <tags>.

## s = 1 (hypervolume 18.1 [16.6, 18.9])

| ε (train) | σ (adv_weight) | clean accuracy | run |
|---|:---:|---|---|
| 16 | 0.5 | 99.4 % [97.9, 99.8] | `p004_eps16_heap_size1` |
| 32 | 0.5 | 98.8 % [97.1, 99.6] | `p004_eps32_heap_size1` |

- a note with ε* = 32 and x < y
- another note
"""


def test_markdown_tables_render_cell_for_cell():
    page = mdhtml.page(MD)
    parser = _Cells()
    parser.feed(page)
    md_rows = [[c.strip().strip("`") for c in line.strip().strip("|").split("|")]
               for line in MD.splitlines() if line.startswith("|") and not line.startswith("|---")]
    assert parser.rows == md_rows
    assert page.count("<th>") == 4 and "<td>16</td>" in page  # the head row, then the body
    assert "<title>Paper 004, Table A1 — Pareto-front entries (digits)</title>" in page
    assert "<h2>s = 1 (hypervolume 18.1 [16.6, 18.9])</h2>" in page
    assert "<code>adv_weight</code> (a continuation line) with <strong>bold</strong> text &amp; &lt;tags&gt;." in page
    assert "<ul><li>a note with ε* = 32 and x &lt; y</li><li>another note</li></ul>" in page


def test_several_tables_on_one_page_keep_their_order():
    docs = ["# Table 1\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "# Table 2\n\n| c |\n|---|\n| 3 |\n"]
    page = mdhtml.page(docs, "Paper 002 tables")
    assert "<title>Paper 002 tables</title>" in page
    assert page.index("<h1>Table 1</h1>") < page.index("<td>2</td>") < page.index("<h1>Table 2</h1>")
    parser = _Cells()
    parser.feed(page)
    assert parser.rows == [["a", "b"], ["1", "2"], ["c"], ["3"]]


# --------------------------------------------------------------------------- the report itself (e2e)

def report_data(path):
    """(categories, results) of a Snakemake report (``--report report.zip``), as its page holds them:
    {category: {subcategory: [file path]}} and {file path: {"labels", "caption", ...}}; and the archive's
    file names."""
    import json

    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        page = z.read(next(n for n in names if n.endswith("/report.html"))).decode()

    def var(name):
        line = next(ln for ln in page.splitlines() if ln.strip().startswith(f"var {name} = {{"))
        return json.loads(line.strip().removeprefix(f"var {name} = ").removesuffix(";"))

    return var("categories"), var("results"), names


def check_report(path, exp, entries):
    """The report at `path` holds exactly `entries` of experiment `exp` (each in its paper's category and
    the experiment's subcategory, labelled with the paper's figure or table, its caption rendered, its
    file archived) and the claims scorecard."""
    categories, results, names = report_data(path)
    expected = {f"results/{exp}/{e.file}": e for e in entries}
    claims = f"results/{exp}/claims.html"
    assert set(results) == set(expected) | {claims}
    for file, e in expected.items():
        assert file in categories[e.category][exp], (file, e.category)
        assert results[file]["labels"] == {report_catalogue.LABEL: e.item}, file
        caption = results[file]["caption"]
        assert exp in caption and "Digits version" in caption, file  # the experiment's caption, rendered
        assert any(n.endswith(f"/{file.rsplit('/', 1)[1]}") for n in names), file
    assert categories[report_catalogue.CLAIMS_CATEGORY] == {exp: [claims]}
    assert "Claims scorecard" in results[claims]["caption"]
    return categories


def entries_of(cfg):
    """The report entries of an experiment's active stages."""
    files = set()
    for s in stages.active(cfg):
        files |= {f"figures/{f}.png" for f in s.figures} | set(s.reports)
    return [e for e in _entries() if e.file in files]


def tiny_paper001():
    """A paper001 section on smoke's sample sets: two families of two ε, two positions, a small detector."""
    train = {"epochs": 2, "batch_size": 64, "lr": 1.0e-3, "beta1": 0.99, "beta2": 0.999}
    return {
        "train_set": "detector_train", "val_set": "detector_val", "test_set": "detector_test", "chunk_size": 256,
        "families": {"Fast": {"name": "fgsm", "eps": [16, 32]},
                     "Iterative_linf": {"name": "bi", "eps": [16, 32], "alpha": 8, "iterations": 4}},
        "target_accuracy": 0.3, "positions": ["input", 0], "detector": {"channels": [8, 8, 8], "min_side": 2},
        "training": train,
        "dynamic": {"family": "Iterative_linf", "eps": 32, "alpha": 8, "iterations": 4, "sigmas": [0.0, 1.0],
                    "training": {**train, "epochs": 1, "p_adv": 0.5, "init": "static", "select": "all",
                                 "batchnorm": "running"}},
    }


def every_paper_experiment(wd, digits_cfg):
    """One experiment with every paper: test_p004's tiny study (smoke's core, 2 pretraining epochs, one
    adversarial epoch, paper 004's runs), paper 000's learning curves (Fig. 8), the paper001 section above
    and test_p002's tiny paper002 section, on smoke's sample sets."""
    import test_p002
    import test_p004

    smoke = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg = test_p004.tiny_study(wd, digits_cfg)
    cfg["samples"] = {**smoke["samples"], **cfg["samples"]}
    cfg["evaluation"] = smoke["evaluation"]
    cfg["paper001"] = tiny_paper001()
    cfg["paper002"] = test_p002.tiny_study(wd)["paper002"]
    return cfg


@pytest.mark.e2e
def test_report_holds_every_paper_with_its_captions(tmp_path, digits_cfg):
    """The report of an experiment running every paper's study holds each of their catalogued figures and
    tables, in its paper's category and the experiment's subcategory, labelled and captioned, and the
    claims scorecard."""
    wd = copy_workflow(tmp_path)
    cfg = every_paper_experiment(wd, digits_cfg)
    write_exp(wd, "every_paper", cfg)
    args = ("--cores", "2", "--config", "experiments=[every_paper]")
    proc = snakemake(wd, *args, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    proc = snakemake(wd, *args, "--report", "report.zip", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    entries = entries_of(cfg)
    assert {e.paper for e in entries} == {"000", "001", "002", "004"}
    assert {"figures/fig08_learning_curves.png", "reports/p001_tables.html", "reports/p002_table1.html",
            "reports/p004_table_a1.html", "reports/p004_cost.html"} <= {e.file for e in entries}
    categories = check_report(wd / "report.zip", "every_paper", entries)
    assert set(categories) == {stages.REPORT_CATEGORIES[p] for p in ("000", "001", "002", "004")} | {
        report_catalogue.CLAIMS_CATEGORY}


@pytest.mark.e2e
def test_report_of_the_smoke_run_holds_paper_000s_sixteen_figures(smoke_run):
    """The smoke run (every paper-000 stage): its report holds the 16 figure kinds and the scorecard."""
    cfg = yaml.safe_load((smoke_run / "config" / "experiments" / "smoke.yaml").read_text())
    proc = snakemake(smoke_run, "--cores", "1", "--config", "experiments=[smoke]", "--report",
                     "report_smoke.zip", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    entries = entries_of(cfg)
    assert len(entries) == 16 and {e.paper for e in entries} == {"000"}
    check_report(smoke_run / "report_smoke.zip", "smoke", entries)


@pytest.mark.e2e
def test_a_catalogued_output_without_its_report_flag_is_refused_at_parse_time(tmp_path):
    wd = copy_workflow(tmp_path)
    rules = wd / "rules" / "paper004.smk"
    text = rules.read_text()
    assert 'png=report_figure("p004_risk_ordering")' in text
    rules.write_text(text.replace('png=report_figure("p004_risk_ordering")', 'png=figure("p004_risk_ordering", "png")'))
    proc = snakemake(wd, "-n", "--cores", "1", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "results/{exp}/figures/p004_risk_ordering.png (rule plot_p004_risk_ordering)" in out, out[-3000:]
    assert "not flagged for it (wrap them in report_file()" in out
