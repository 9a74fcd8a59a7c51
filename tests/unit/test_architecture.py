"""The layering the README promises, checked on the import graph of the source tree.

Every import counts, including those under `TYPE_CHECKING`: a type-only arrow still couples.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = ("eventstore", "command_processor", "producers", "projections", "processors")
PACKAGES = (*FRAMEWORK, "contexts", "skald")
# What a bounded context may see of the app layer: the contract it is written against.
CONTEXT_CONTRACT = ("skald.context", "skald.runtime")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The project modules `name` imports (a `from package import module` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` depends on the module; `import name` on the package.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _top(m) in FRAMEWORK))
def test_the_framework_never_imports_a_context_or_the_app_layer(module: str) -> None:
    wrong = sorted(t for t in GRAPH[module] if _top(t) in ("contexts", "skald"))
    assert not wrong, f"{module} imports {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _top(m) == "eventstore"))
def test_the_event_store_stands_alone(module: str) -> None:
    wrong = sorted(t for t in GRAPH[module] if _top(t) != "eventstore")
    assert not wrong, f"{module} imports {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _top(m) == "contexts"))
def test_contexts_see_only_the_framework_and_the_runtime_contract(module: str) -> None:
    wrong = sorted(t for t in GRAPH[module] if _top(t) == "skald" and t not in CONTEXT_CONTRACT)
    assert not wrong, f"{module} imports {wrong}: use skald.runtime.Runtime instead"


def test_the_contract_does_not_reach_the_composition_root() -> None:
    for module in CONTEXT_CONTRACT:
        reached = _reachable(module)
        assert not {m for m in reached if _top(m) == "contexts"}, module
        assert not reached & {"skald.services", "skald.settings", "skald.registry"}, module


def test_no_import_cycles() -> None:
    cycles = [sorted(c) for c in _strongly_connected(GRAPH) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in GRAPH[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found
