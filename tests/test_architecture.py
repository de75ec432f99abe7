"""The house's shape, checked on the source: layers import downwards only, modules stay small,
the CLI alone knows ``UsageError``, library code neither asserts nor prints.

Layers, bottom to top: core (``neurosim`` but its ``app`` and ``cli`` packages) <- ``mapper``
<- application (``neurosim.app``) <- CLI (``neurosim.cli``, ``neurosim.__main__``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600
#: the parts of the core ``mapper`` may read: the IR, activity, errors, files and figures -- never a
#: backend, a builder or an estimator
MAPPER_MAY_IMPORT = ("neurosim.ir", "neurosim.neurons", "neurosim.conv", "neurosim.activity", "neurosim.errors",
                     "neurosim.io", "neurosim.plots", "neurosim.validation", "neurosim.result")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                pkg = path.relative_to(ROOT).with_suffix("").parts[:-node.level]
                base = ".".join(pkg)
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def layer(module: str) -> str | None:
    if module == "neurosim.__main__" or module == "neurosim.cli" or module.startswith("neurosim.cli."):
        return "cli"
    if module == "neurosim.app" or module.startswith("neurosim.app."):
        return "app"
    if module == "mapper" or module.startswith("mapper."):
        return "mapper"
    if module == "neurosim" or module.startswith("neurosim."):
        return "core"
    return None


ORDER = {"core": 0, "mapper": 1, "app": 2, "cli": 3}


def source_files():
    for pkg in ("neurosim", "mapper"):
        yield from sorted((ROOT / pkg).rglob("*.py"))


def test_layers_import_downwards_only():
    bad = []
    for path in source_files():
        mine = layer(module_name(path))
        for imp in imports_of(path):
            theirs = layer(imp)
            if theirs is not None and ORDER[theirs] > ORDER[mine]:
                bad.append(f"{module_name(path)} ({mine}) imports {imp} ({theirs})")
    assert not bad, "\n".join(bad)


def test_mapper_reads_only_the_ir_activity_and_io_of_the_core():
    bad = []
    for path in (ROOT / "mapper").rglob("*.py"):
        for imp in imports_of(path):
            if imp.startswith("brian2") or (layer(imp) == "core" and not imp.startswith(MAPPER_MAY_IMPORT)):
                bad.append(f"{module_name(path)} imports {imp}")
    assert not bad, "\n".join(bad)


def test_modules_stay_small():
    big = [f"{p.relative_to(ROOT)}: {n} lines" for p in source_files()
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not big, "\n".join(big)


def test_usage_error_is_constructed_only_in_the_cli():
    bad = []
    for path in source_files():
        if layer(module_name(path)) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name) and node.id == "UsageError":
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "UsageError outside the CLI: " + ", ".join(bad)


def test_no_assert_or_print_in_library_code():
    for path in source_files():
        tree = ast.parse(path.read_text())
        in_cli = layer(module_name(path)) == "cli"
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Assert), f"assert in library code: {path}:{node.lineno}"
            if not in_cli and isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                raise AssertionError(f"print() in library code: {path}:{node.lineno}")


def _module_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a package import counts as its ``__init__``)."""
    modules = {module_name(p): p for p in source_files()}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imp in imports_of(path):
            # "from pkg import mod" names the module pkg.mod when it exists
            while imp and imp not in modules:
                imp = imp.rpartition(".")[0]
            if imp and imp != name:
                deps.add(imp)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package ``__init__`` that only re-exports its submodules is not a dependency of them."""
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_no_import_cycles_between_modules():
    cycles = _cycles(_without_package_inits(_module_graph()))
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected
