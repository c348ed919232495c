"""Fingerprints of the library code a job script uses, so that cached results follow code changes.

``rules/common.smk`` gives every script rule a ``code`` param: :func:`script_fingerprint` of its
script. Snakemake re-runs a job whose params changed, and with it everything downstream, so editing
``training.py`` re-runs training and what depends on it, editing ``plotting/`` re-runs plots, and a
cached result never silently stays behind the code that made it. (Snakemake itself tracks the script
file, by modification time, but not the modules it imports.)

What is hashed, per script: the definitions of the ``advtrace`` package the script can reach, found
statically from its imports, symbol by symbol:

* the top-level functions, classes and assignments of ``advtrace`` modules the script imports by
  name, and, transitively, every top-level name of the package those definitions refer to (a
  ``from .config import attack_kwargs`` in ``training.py`` pulls in ``attack_kwargs``, not the
  config validation next to it, so editing an error message in ``config.py`` re-trains nothing);
* a module used as a value (``from advtrace import perturbations`` then ``perturbations.load``)
  contributes the attributes used; a module passed around whole, or one that looks names up
  dynamically (``globals()``, ``importlib``, ``__import__``), contributes everything;
* the module-level statements that run on import (everything but definitions and imports) of every
  module reached and of the packages above it.

Each definition is hashed as its syntax tree with docstrings (and every other bare string
statement) removed; comments are not part of the tree and line numbers are not hashed. Editing a
comment or a docstring, or moving code around, therefore changes no fingerprint. Anything else that
changes the tree (a renamed local variable, a reformatted expression that parses differently)
does: the fingerprint cannot tell a refactoring from a change of results, and errs on re-running.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PACKAGE = "advtrace"
DYNAMIC = {"globals", "vars", "importlib", "__import__", "locals"}  # name lookups the analysis cannot follow


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``"""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def normalized_dump(node: object) -> str:
    """The syntax tree without docstrings, positions, contexts or empty fields (stable across Python
    versions that only add optional fields)."""
    if isinstance(node, list):
        return "[" + ",".join(normalized_dump(x) for x in node if not _is_docstring(x)) + "]"
    if isinstance(node, ast.Constant):
        return f"Constant({node.value!r})"
    if isinstance(node, ast.AST):
        parts = []
        for name in node._fields:
            if name in ("ctx", "type_comment", "kind"):
                continue
            value = getattr(node, name, None)
            if value is None or value == []:
                continue
            parts.append(f"{name}={normalized_dump(value)}")
        return f"{type(node).__name__}({','.join(parts)})"
    return repr(node)


@dataclass
class _Refs:
    names: set[str] = field(default_factory=set)  # bare names read
    attrs: set[tuple[str, str]] = field(default_factory=set)  # (name, attribute) of `name.attribute`


class _RefCollector(ast.NodeVisitor):
    def __init__(self):
        self.refs = _Refs()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            self.refs.attrs.add((node.value.id, node.attr))
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.refs.names.add(node.id)


def _refs(nodes: list[ast.AST]) -> _Refs:
    collector = _RefCollector()
    for node in nodes:
        collector.visit(node)
    return collector.refs


@dataclass
class _Module:
    name: str  # dotted
    defs: dict[str, tuple[str, _Refs]]  # top-level name -> (normalised dump, references)
    always: tuple[str, _Refs]  # module-level statements that run on import (not definitions or imports)
    imports: dict[str, set[tuple[str, str | None]]]  # local name -> {(module, symbol or None = the module)}
    module_imports: set[str]  # package modules imported at module level (they run on import too)
    dynamic: bool


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _parse(path: Path, name: str, is_package: bool) -> _Module:
    tree = ast.parse(path.read_text(), filename=str(path))
    imports: dict[str, set[tuple[str, str | None]]] = {}
    for node in ast.walk(tree):  # imports anywhere (also inside functions) bind names; all are kept
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports.setdefault(alias.asname, set()).add((alias.name, None))
                else:  # `import a.b` binds `a`
                    top = alias.name.split(".")[0]
                    imports.setdefault(top, set()).add((top, None))
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_from(name, is_package, node)
            for alias in node.names:
                imports.setdefault(alias.asname or alias.name, set()).add((source, alias.name))
    defs: dict[str, tuple[str, _Refs]] = {}
    always: list[ast.stmt] = []
    module_imports: set[str] = set()
    for stmt in tree.body:
        targets: list[str] = []
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [stmt.name]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            raw = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            flat = [e for t in raw for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if all(isinstance(e, ast.Name) for e in flat):
                targets = [e.id for e in flat]
        elif isinstance(stmt, ast.Import):
            module_imports |= {alias.name for alias in stmt.names}
            continue
        elif isinstance(stmt, ast.ImportFrom):
            source = _resolve_from(name, is_package, stmt)
            module_imports.add(source)
            module_imports |= {f"{source}.{alias.name}" for alias in stmt.names}  # `from pkg import module`
            continue
        elif _is_docstring(stmt) or _is_main_guard(stmt):  # neither runs on import
            continue
        if targets:
            entry = (normalized_dump(stmt), _refs([stmt]))
            for target in targets:
                defs[target] = entry
        else:
            always.append(stmt)
    all_refs = _refs([tree])
    dynamic = bool(all_refs.names & DYNAMIC) or ("sys", "modules") in all_refs.attrs
    return _Module(name, defs, (normalized_dump(always), _refs(always)), imports, module_imports, dynamic)


class _Package:
    """The ``advtrace`` sources under `src_dir`, parsed once each."""

    def __init__(self, src_dir: Path):
        self.src_dir = Path(src_dir)

    def path(self, module: str) -> tuple[Path, bool] | None:
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            return None
        base = self.src_dir.joinpath(*module.split("."))
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
        return None

    def module(self, module: str) -> _Module | None:
        found = self.path(module)
        return None if found is None else _parse_file(found[0], module, found[1])


def _parse_file(path: Path, name: str, is_package: bool) -> _Module:
    st = path.stat()
    return _parse_cached(str(path), name, is_package, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=None)
def _parse_cached(path: str, name: str, is_package: bool, mtime_ns: int, size: int) -> _Module:
    """Parsed once per file version (a long-lived process sees edits: the key has mtime and size)."""
    return _parse(Path(path), name, is_package)


def _closure(pkg: _Package, start: _Module) -> list[str]:
    """Hashed entries reachable from everything in `start` (a script)."""
    entries: set[str] = set()
    done: set[tuple[str, str | None]] = set()
    touched: set[str] = set()
    work: list[tuple[str, str | None]] = []

    def resolve_refs(mod: _Module, refs: _Refs) -> None:
        for name in refs.names:
            if name in mod.defs:
                work.append((mod.name, name))
            for target in mod.imports.get(name, ()):
                work.append(target)  # a module passed around whole: (module, None)
        for name, attr in refs.attrs:
            if name in mod.defs:
                work.append((mod.name, name))
            for source, symbol in mod.imports.get(name, ()):
                target = source if symbol is None else f"{source}.{symbol}"
                if pkg.module(target) is not None:  # `module.attr`: only that attribute
                    work.append((target, attr))
                else:
                    work.append((source, symbol))

    def touch(module: str) -> None:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b and a.b.c
            name = ".".join(parts[:i])
            if name in touched:
                continue
            mod = pkg.module(name)
            if mod is None:
                continue
            touched.add(name)
            entries.add(f"{name}:<module>:{mod.always[0]}")
            resolve_refs(mod, mod.always[1])
            for imported in mod.module_imports:
                if pkg.module(imported) is not None:
                    touch(imported)

    resolve_refs(start, _refs_of_all(start))
    for imported in start.module_imports:  # importing runs module-level code even if nothing is used
        if pkg.module(imported) is not None:
            touch(imported)
    while work:
        module, symbol = work.pop()
        if (module, symbol) in done:
            continue
        done.add((module, symbol))
        mod = pkg.module(module)
        if mod is None:
            if symbol is not None and pkg.module(f"{module}.{symbol}") is not None:
                work.append((f"{module}.{symbol}", None))  # `from advtrace import perturbations`
            continue
        touch(module)
        if symbol is None or mod.dynamic:  # the whole module
            work.extend((module, name) for name in mod.defs)
            if symbol is None:
                continue
        if symbol in mod.defs:
            dump, refs = mod.defs[symbol]
            entries.add(f"{module}:{symbol}:{dump}")
            resolve_refs(mod, refs)
        elif symbol in mod.imports:  # re-exported: `from .stability_plan import epoch_plan` in stability.py
            work.extend(mod.imports[symbol])
        elif pkg.module(f"{module}.{symbol}") is not None:  # a submodule of a package
            work.append((f"{module}.{symbol}", None))
        else:  # defined some other way (in an `if`/`try` at module level): take the whole module
            work.append((module, None))
    return sorted(entries)


def _refs_of_all(mod: _Module) -> _Refs:
    refs = _Refs(set(mod.always[1].names), set(mod.always[1].attrs))
    for _, r in mod.defs.values():
        refs.names |= r.names
        refs.attrs |= r.attrs
    return refs


def code_entries(script: str | Path, src_dir: str | Path) -> list[str]:
    """The normalised definitions :func:`script_fingerprint` hashes (for inspection and tests)."""
    start = _parse_file(Path(script), "__script__", False)
    return _closure(_Package(Path(src_dir)), start)


def script_fingerprint(script: str | Path, src_dir: str | Path) -> str:
    """16 hex digits of sha256 over the ``advtrace`` code `script` can reach (see the module doc)."""
    h = hashlib.sha256()
    for entry in code_entries(script, src_dir):
        h.update(entry.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]
