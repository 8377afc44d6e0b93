"""The package layout keeps its shape: imports only go down the layers, and no module cycles.

README's "How it is built" draws the same layers; a new module gets a rank here on purpose.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tracker"

# Lower numbers sit lower; a package may import only packages of a lower rank.
RANK = {
    "tracker": 0, "tracker.errors": 0, "tracker.clock": 0, "tracker.cron": 0,
    "tracker.models": 1, "tracker.history": 2,
    "tracker.query": 2, "tracker.normalize": 2, "tracker.roles": 2,
    "tracker.demo_mode": 1,
    "tracker.config": 3, "tracker.policy": 3, "tracker.parse": 3, "tracker.match": 3, "tracker.export": 3,
    "tracker.deadline": 3.5,  # fetch's watchdog: requests and urllib3 only
    # stories: outlet identity and the story index, pure (match, models); the store names outlets with it.
    "tracker.stories": 3.7,
    "tracker.fetch": 4, "tracker.store": 4,
    "tracker.health": 5, "tracker.publish": 5, "tracker.rematch": 5, "tracker.enrich": 5, "tracker.demo": 5,
    "tracker.users": 5, "tracker.backup": 5, "tracker.resolve": 5, "tracker.syndication": 5,
    # notify (digests, alerts) reads feed health and stories and is called by the scheduler: between them.
    "tracker.notify": 5.5,
    "tracker.review": 6, "tracker.ingest": 6, "tracker.report": 6,
    "tracker.cli": 9,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, *, top_level_only: bool) -> set[str]:
    """What a module imports: `from tracker.x import y` names tracker.x.y when y is a module."""
    found: set[str] = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tracker"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tracker"))
    return found


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8"))
            for p in ROOT.rglob("*.py") if "migrations" not in p.parts}


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_package_has_a_rank() -> None:
    assert {_package(m) for m in _modules()} <= set(RANK)


def test_imports_only_go_down_the_layers() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, tree in _modules().items()
        for target in _imports(tree, top_level_only=False)
        if _package(module) != _package(target) and RANK[_package(target)] >= RANK[_package(module)]
    )
    assert upward == []


def test_no_import_cycles_between_modules() -> None:
    # Module-level imports only: an import inside a function runs later, by design.
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, tree in modules.items():
        for target in _imports(tree, top_level_only=True):
            graph[module].add(target)
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_layer_test_sees_a_violation() -> None:
    """Guard against a test that cannot fail: a made-up upward import is caught."""
    tree = ast.parse("from tracker.cli import main\n")
    assert any(RANK[_package(t)] >= RANK["tracker.models"] for t in _imports(tree, top_level_only=False))
