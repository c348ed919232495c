"""Test tiers (README "Tests"): every test that starts Snakemake is marked ``e2e``, so that
``pytest -m "not e2e"`` is the fast tier. Checked statically here (a test or a fixture it uses, in its
module or in conftest.py, calls the `snakemake` helper, runs ``python -m snakemake`` or
``bench/gpu_check.sh``); conftest.py also refuses the helper at run time inside an unmarked test."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HELPERS = {"snakemake", "run_snakemake"}  # conftest's helper (advtrace.workdir.run_snakemake)


def _starts_snakemake(fn: ast.AST) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HELPERS:
            return True
        if isinstance(node, ast.Name) and node.id == "SNAKEMAKE":
            return True
        if isinstance(node, (ast.List, ast.Tuple)):
            consts = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if "-m" in consts and "snakemake" in consts:
                return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith("gpu_check.sh"):
            return True
    return False


def _is_e2e(decorators) -> bool:
    return any("e2e" in ast.unparse(d) for d in decorators)


def _is_fixture(fn: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in fn.decorator_list)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _snakemake_fixtures(funcs: dict[str, ast.FunctionDef], inherited: set[str]) -> set[str]:
    """Fixtures that start Snakemake, directly or through the fixtures they request (to a fixed point)."""
    fixtures = {name: f for name, f in funcs.items() if _is_fixture(f)}
    found = set(inherited) | {name for name, f in fixtures.items() if _starts_snakemake(f)}
    changed = True
    while changed:
        changed = False
        for name, f in fixtures.items():
            if name not in found and {a.arg for a in f.args.args} & found:
                found.add(name)
                changed = True
    return found


def unmarked_snakemake_tests() -> list[str]:
    conftest = _functions(ast.parse((TESTS / "conftest.py").read_text()))
    shared = _snakemake_fixtures(conftest, set())
    out = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        module_e2e = any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
                         and "e2e" in ast.unparse(n.value) for n in tree.body)
        funcs = _functions(tree)
        fixtures = _snakemake_fixtures(funcs, shared)
        for name, f in funcs.items():
            if not name.startswith("test_") or module_e2e or _is_e2e(f.decorator_list):
                continue
            if _starts_snakemake(f) or {a.arg for a in f.args.args} & fixtures:
                out.append(f"{path.name}::{name}")
    return out


def test_every_test_that_starts_snakemake_is_marked_e2e():
    assert unmarked_snakemake_tests() == [], "mark these @pytest.mark.e2e (they start Snakemake)"


def test_the_check_finds_a_helper_call_a_fixture_chain_and_a_subprocess(tmp_path):
    src = '''
import pytest
@pytest.fixture
def wf(tmp_path):
    return snakemake(tmp_path, "-n")
@pytest.fixture
def later(wf):
    return wf
def test_direct(tmp_path):
    snakemake(tmp_path)
def test_chain(later):
    pass
def test_subprocess():
    subprocess.run([sys.executable, "-m", "snakemake", "-n"])
@pytest.mark.e2e
def test_marked(later):
    pass
def test_plain():
    assert "snakemake --unlock" in text
'''
    tree = ast.parse(src)
    funcs = _functions(tree)
    fixtures = _snakemake_fixtures(funcs, set())
    assert fixtures == {"wf", "later"}
    flagged = [n for n, f in funcs.items() if n.startswith("test_") and not _is_e2e(f.decorator_list)
               and (_starts_snakemake(f) or {a.arg for a in f.args.args} & fixtures)]
    assert flagged == ["test_direct", "test_chain", "test_subprocess"]
