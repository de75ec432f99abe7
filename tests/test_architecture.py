"""The dependency points one way: mapper -> neurosim.ir/activity; neurosim (but its CLI) never imports mapper."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def test_neurosim_library_never_imports_mapper():
    for path in (ROOT / "neurosim").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "neurosim").parts:
            continue
        bad = [m for m in imports_of(path) if m == "mapper" or m.startswith("mapper.")]
        assert not bad, f"{path} imports {bad}"


def test_mapper_never_imports_a_backend():
    for path in (ROOT / "mapper").rglob("*.py"):
        bad = [m for m in imports_of(path) if m.startswith("neurosim.backends") or m.startswith("brian2")]
        assert not bad, f"{path} imports {bad}"


def test_no_assert_or_print_in_library_code():
    for pkg in ("neurosim", "mapper"):
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text())
            in_cli = "cli" in path.parts or path.name == "__main__.py"
            for node in ast.walk(tree):
                assert not isinstance(node, ast.Assert), f"assert in library code: {path}:{node.lineno}"
                if not in_cli and isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                    raise AssertionError(f"print() in library code: {path}:{node.lineno}")
