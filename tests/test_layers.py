"""The layers point one way: faces (cli, ui) -> workbench -> harness -> engines -> core -> the
config sections. (``config/loader.py`` gathers every engine's section from the registry, so it
sits above the engines: only the sections themselves are at the bottom.)

Read from the source with ``ast`` (every import, at module level or inside a function or a
``TYPE_CHECKING`` block), so a wrong-way import fails here before a newcomer trips on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "continual_learning"

FORBIDDEN = {
    "core": ("engines", "harness", "workbench", "cli", "ui"),
    "engines": ("harness", "workbench", "cli", "ui"),
    "config/schema.py": ("core", "engines", "harness", "workbench", "cli", "ui"),
    "config/fields.py": ("core", "engines", "harness", "workbench", "cli", "ui"),
}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, and for ``from x import y`` also ``x.y`` (y may be one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "continual_learning" and len(parts) > 1 else None


def test_no_layer_imports_a_layer_above_it() -> None:
    wrong = []
    for layer, above in FORBIDDEN.items():
        where = PACKAGE / layer
        for path in sorted(where.rglob("*.py") if where.is_dir() else [where]):
            for module in _imports(path):
                if _layer_of(module) in above:
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not wrong, "\n".join(wrong)


def _module_name(path: Path) -> str:
    parts = ("continual_learning", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts).removesuffix(".__init__")


def test_no_import_cycle() -> None:
    """A module never reaches itself through what it imports (a package through its
    ``__init__`` too): a cycle means two ideas that cannot be read apart."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {name: (_imports(path) & set(modules)) - {name} for name, path in modules.items()}
    for start in sorted(edges):
        seen, frontier = set(), list(edges[start])
        while frontier:
            module = frontier.pop()
            assert module != start, f"{start} imports itself through {sorted(seen)}"
            if module not in seen:
                seen.add(module)
                frontier += edges[module]
