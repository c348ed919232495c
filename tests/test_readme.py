"""README.md stays short and true (issue 28): its first commands are the main job and CI's test
command, every link of it and of docs/*.md leads somewhere, and no run number is typed into it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- results-summary:start -->", "<!-- results-summary:end -->"
SECTIONS = ("Quick start", "What you get", "Datasets", "Configuration", "Profiles and SLURM",
            "Paper runs with the plan's costs", "Re-rendering figures", "The Python API", "Tests", "References")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_readme_is_short_and_has_its_sections():
    text = README.read_text()
    # 300 at most once the generated results block is filled (one line per paper and a provenance line)
    assert len(text.splitlines()) <= 300, f"README.md has {len(text.splitlines())} lines (at most 300)"
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == list(SECTIONS), headings


def test_first_commands_are_the_main_job_and_ci_test_command():
    """On a fresh machine the README's first command sets up and runs the main job, its second is
    exactly the test command CI runs (the last line of .ci/run)."""
    blocks = bash_blocks(README.read_text())
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1].strip()
    assert blocks[0].strip() == "bash workflow/setup.sh && .venv/bin/snakemake --cores all"
    assert blocks[1].strip() == ci == "bash workflow/setup.sh && .venv/bin/python -m pytest -q"


def test_both_test_tiers_are_documented():
    tests = README.read_text().split("## Tests", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#")[0].strip() for block in bash_blocks(tests) for line in block.splitlines()]
    assert '.venv/bin/python -m pytest -q -m "not e2e"' in commands
    assert ".venv/bin/python -m pytest -q" in commands


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(h.replace("`", "")) for h in re.findall(r"^#+ (.+)$", text, re.M)}


DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_link_leads_somewhere(page):
    """Every relative link (and #anchor) of README.md and docs/*.md names a file and heading that exist."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_no_run_number_typed_by_hand():
    """Outside the generated blocks the README quotes no measured rate or duration: those come from
    docs/results/ and docs/cluster_plans.md through `python -m advtrace.publish render`. 95 % (the
    interval level) is a setting, "≤ 15 min" a budget."""
    outside = README.read_text()
    for start, end in ((START, END), ("<!-- plan-summary:start -->", "<!-- plan-summary:end -->")):
        head, _, rest = outside.partition(start)
        outside = head + rest.partition(end)[2]
    outside = re.sub(r"```python.*?```", "", outside, flags=re.S)  # the example's code (units, not results)
    rates = [m for m in re.findall(r"\d+(?:\.\d+)? ?%", outside) if m.replace(" ", "") != "95%"]
    # a duration may only be a budget ("≤ 15 min"), never a measured time
    durations = [d for bound, d in re.findall(r"(≤ *)?(\d+(?:\.\d+)? ?(?:s|min|h|GPU-hours?|CPU-hours?))\b", outside)
                 if not bound]
    assert not rates, rates
    assert not durations, durations
