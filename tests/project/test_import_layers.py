"""No import cycles in beexbench, read from the source with `ast` (no import-linter needed).

Every import counts, at module level or inside a function (a function-local import is a
dependency all the same). Two graphs are checked: between modules, and between the
subpackages of beexbench (core, config, data, ...), whose order pyproject.toml's
import-linter contract spells out.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

from conftest import REPO

PACKAGE = "beexbench"
SOURCE = REPO / PACKAGE

# importer -> imported -> where the importer imports it ("module:line", one per import)
Graph = dict[str, dict[str, list[str]]]


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under the package directory `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
              modules: dict[str, Path]) -> list[str]:
    """The dotted names an import statement names, resolved against `modules`."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    # `from package import module` imports the module; `from module import name` the module.
    return [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
            for alias in node.names]


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that a dotted name lives in (None: not ours)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path) -> Graph:
    """Module -> the modules of the same package it imports, anywhere in its source."""
    modules = module_files(root)
    graph: Graph = {}
    for module, path in modules.items():
        edges: dict[str, list[str]] = {}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in _imported(node, module, path.name == "__init__.py", modules):
                target = _owner(name, modules)
                if target is None or target == module:
                    continue
                found = edges.setdefault(target, [])
                if f"{module}:{node.lineno}" not in found:
                    found.append(f"{module}:{node.lineno}")
        graph[module] = edges
    return graph


def subpackage_graph(graph: Graph, package: str) -> Graph:
    """The graph between the children of `package` (subpackages and top-level modules)."""
    def child(module: str) -> str:
        return ".".join(module.split(".")[:2]) if module != package else module

    squashed: Graph = {}
    for module, edges in graph.items():
        for target, found in edges.items():
            a, b = child(module), child(target)
            if a != b:
                squashed.setdefault(a, {}).setdefault(b, []).extend(found)
    return squashed


def find_cycle(graph: Graph) -> list[str] | None:
    """One shortest cycle of `graph` (its nodes in order, the first repeated last), or None."""
    best: list[str] | None = None
    for start in sorted(graph):
        # Breadth-first from each node: the shortest path back to it is its shortest cycle.
        parent: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if start in graph.get(node, {}):
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                cycle = [*reversed(path), start]
                if best is None or len(cycle) < len(best):
                    best = cycle
                break
            for target in sorted(graph.get(node, {})):
                if target not in parent and target != start:
                    parent[target] = node
                    queue.append(target)
    return best


def describe(cycle: list[str], graph: Graph) -> str:
    """Each step of a cycle, with where the imports are (the first three)."""
    def where(found: list[str]) -> str:
        return ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")

    return "\n".join(f"  {a} -> {b}  ({where(graph[a][b])})"
                      for a, b in zip(cycle, cycle[1:], strict=False))


def test_no_module_import_cycle() -> None:
    graph = import_graph(SOURCE)
    assert len(graph) > 50, f"found only {len(graph)} modules under {SOURCE}"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between modules:\n" + describe(cycle, graph)


def test_no_subpackage_import_cycle() -> None:
    squashed = subpackage_graph(import_graph(SOURCE), PACKAGE)
    assert "beexbench.core" in squashed["beexbench.cli"]
    cycle = find_cycle(squashed)
    assert cycle is None, "import cycle between subpackages:\n" + describe(cycle, squashed)


def test_a_cycle_is_found(tmp_path: Path) -> None:
    """The checks can fail: a cycle through a function-local import is reported."""
    root = tmp_path / "pkg"
    (root / "low").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "low" / "__init__.py").write_text("")
    (root / "low" / "a.py").write_text("from pkg.high import b\n")
    (root / "high.py").write_text("import os\n\n\ndef f():\n    from .low.a import x\n")
    (root / "b.py").write_text("from . import high\n")
    graph = import_graph(root)
    assert graph["pkg.low.a"] == {"pkg.high": ["pkg.low.a:1"]}
    assert graph["pkg.high"] == {"pkg.low.a": ["pkg.high:5"]}
    assert find_cycle(graph) == ["pkg.high", "pkg.low.a", "pkg.high"]
    assert find_cycle(subpackage_graph(graph, "pkg")) == ["pkg.high", "pkg.low", "pkg.high"]
    del graph["pkg.high"]["pkg.low.a"]
    assert find_cycle(graph) is None
