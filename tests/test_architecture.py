"""The house matches the picture (docs/architecture.md): no import cycles, no reaching into
another module's private names, dependencies pointing down the pipeline and into the core."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "degradations", "baselines", "metrics", "dr2", "reports")
PLUGINS = ("degradations", "baselines", "metrics", "dr2")
FRONT_DOORS = ("bench.cli", "bench.commands")  # the command line calls every stage


def modules() -> dict[str, ast.Module]:
    """Every module of the project, parsed, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"))
    return found


MODULES = modules()


def owner(name: str) -> str | None:
    """The project module a dotted import name refers to (``bench.run.plan.Cell`` -> the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import, at any depth (functions, ``TYPE_CHECKING`` too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, tree in MODULES.items():
        for module, names in imports(tree):
            targets = [owner(f"{module}.{n}") for n in names] if names else [owner(module)]
            edges[name] |= {t for t in targets if t and t != name}
    return edges


def test_no_import_cycles():
    edges, state, cycles = graph(), {}, []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def private_names() -> dict[str, set[str]]:
    """The underscore-prefixed names each module defines at its top level or in its classes."""
    names: dict[str, set[str]] = defaultdict(set)
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined = node.name
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined = node.id
            else:
                continue
            if defined.startswith("_") and not defined.startswith("__"):
                names[module].add(defined)
    return names


def test_no_module_uses_another_modules_private_names():
    private = private_names()
    problems = []
    for name, tree in MODULES.items():
        for module, imported in imports(tree):
            target = owner(module)
            for alias in imported:
                private_alias = alias.startswith("_") and not alias.startswith("__")
                if target and target != name and private_alias:
                    problems.append(f"{name}: imports {module}.{alias}")
        others = set().union(*(names for module, names in private.items() if module != name))
        own = private[name]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if base in ("self", "cls") or node.attr.startswith("__"):
                continue
            if node.attr in others and node.attr not in own:
                problems.append(f"{name}:{node.lineno}: uses {ast.unparse(node)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("bench", (*PLUGINS, "reports")),  # the core loads plugins through the registries
        ("reports", PLUGINS),  # reports read run folders through the core
    ],
)
def test_dependencies_point_into_the_core(layer, forbidden):
    edges = graph()
    problems = [
        f"{name} imports {target}"
        for name in MODULES
        if name.split(".")[0] == layer and not name.startswith(FRONT_DOORS)
        for target in edges[name]
        if target.split(".")[0] in forbidden
    ]
    assert not problems, "\n".join(problems)


def test_plugins_import_no_other_plugin_package():
    edges = graph()
    problems = [
        f"{name} imports {target}"
        for name in MODULES
        if name.split(".")[0] in PLUGINS
        for target in edges[name]
        if target.split(".")[0] in PLUGINS and target.split(".")[0] != name.split(".")[0]
    ]
    assert not problems, "\n".join(problems)


def test_the_checks_see_what_they_look_for():
    """Not vacuous: the graph holds known edges and the private-name scan finds known names."""
    edges = graph()
    assert "bench.run.folder" in edges["bench.run.runner"]
    assert "bench.registry" in edges["bench.run.config"]
    assert "_json" in private_names()["bench.run.records"]
