"""No import loop between advtrace.config, advtrace.runs and advtrace.stages: each imports alone in a
fresh interpreter, and none of them reaches (by any import statement, at module level or inside a
function, nor through the study modules the registry collects) a module that imports it back."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SRC = ROOT / "src"
CORE = ("advtrace.config", "advtrace.runs", "advtrace.stages")


def _module_file(name: str) -> Path | None:
    path = SRC / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(name: str) -> set[str]:
    """advtrace modules `name` imports anywhere (relative imports resolved; `from pkg import mod` as pkg.mod)."""
    file = _module_file(name)
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("advtrace") and _module_file(m) is not None}


def _collected(name: str) -> set[str]:
    """The study modules advtrace.stages imports by name (importlib): each study's registry and checks."""
    if name != "advtrace.stages":
        return set()
    from advtrace import stages

    parts = ("registry", "checks")  # what stages.py imports (the other parts: tables, claims, perturb_plan)
    return {f"advtrace.studies.{pkg}.{p}" for pkg in stages.STUDIES for p in parts
            if _module_file(f"advtrace.studies.{pkg}.{p}") is not None}


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        mod = todo.pop()
        for nxt in _imports(mod) | _collected(mod):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_runs_imports_neither_stages_nor_config():
    reach = _reach("advtrace.runs")
    assert not reach & set(CORE), reach & set(CORE)


def test_stages_and_the_studies_it_collects_never_import_config_or_stages():
    reach = _reach("advtrace.stages")
    assert "advtrace.config" not in reach and "advtrace.stages" not in reach, sorted(reach)


def test_config_is_imported_by_none_of_what_it_reaches():
    reach = _reach("advtrace.config")
    assert "advtrace.config" not in reach


@pytest.mark.parametrize("module", CORE)
def test_each_imports_alone_in_a_fresh_interpreter(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert proc.returncode == 0, proc.stderr


# The figure, table and report jobs of the workflow: their scripts' advtrace imports must not reach torch,
# whose import is ~2 s of every such job's start-up (3-4 s on an AVX2-only host). The scripts that compute
# on a model import it, and stability_tables reads advtrace.stability (aggregation next to the torch code).
LIGHT_SCRIPTS = sorted(p for p in (ROOT / "workflow" / "scripts").glob("*.py")
                       if p.stem.startswith(("plot_", "x000_", "claims")) or "_plot_" in p.stem
                       or p.stem in ("p001_plots", "p001_tables", "p002_report", "p004_tables", "detect_tables",
                                     "concat_tables"))


def _script_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("advtrace"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}")}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("advtrace")}
    return out


def test_figure_and_table_jobs_do_not_import_torch():
    assert len(LIGHT_SCRIPTS) >= 20, LIGHT_SCRIPTS
    modules = sorted(set().union(*(_script_modules(p) for p in LIGHT_SCRIPTS)))
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]", (modules, out.stdout, out.stderr[-2000:])
