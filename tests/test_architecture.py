"""The shape of the package, checked: no import cycles between store's
modules (an import inside a function counts: it is a cycle postponed)."""
from __future__ import annotations

import ast
from pathlib import Path

import store

ROOT = Path(store.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str, modules: set) -> set:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            # the package itself is not an edge: ``from . import x`` names x
            if target in modules and target != "store" and target != name:
                found.add(target)
    return found


def graph() -> dict:
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: imports(path, name, set(files)) for name, path in files.items()}


def cycles(edges: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_store_modules():
    assert cycles(graph()) == []


def test_public_exceptions_live_in_errors():
    """Every public exception class is defined in store.errors (the modules
    that raise them re-export them); the CLI's click wrappers excepted."""
    import importlib
    outside = []
    for name in sorted(graph()):
        if name in ("store.cli", "store.errors") or name.startswith("store.apps"):
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseException) \
                    and value.__module__ == name and not attr.startswith("_"):
                outside.append(f"{name}.{attr}")
    assert outside == []


def test_what_the_readme_names_is_reachable_from_store():
    """``store.fast.bulk_insert``, ``store.transfer.copy_database``,
    ``store.bind_app``, ``store.SqliteStore``: after ``import store`` alone."""
    import subprocess
    import sys
    code = ("import store\n"
            "assert callable(store.fast.bulk_insert) and callable(store.transfer.copy_database)\n"
            "assert callable(store.bind_app) and store.SqliteStore.__name__ == 'SqliteStore'\n"
            "assert store.namespaces.bind_app is store.bind_app\n"
            "assert all(hasattr(store, n) for n in store.__all__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-600:]
