"""The sandbox's place among the layers (DESIGN.md): it imports ``core`` and ``bot`` only, never
``pipelines``, ``dashboards``, ``cli``, ``bench`` or ``tests`` (the demo's orchestration that
wires those lives in :mod:`cli.demo`)."""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

ABOVE = frozenset({"pipelines", "dashboards", "cli", "bench", "tests"})


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # inside functions and TYPE_CHECKING blocks too
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_sandbox_imports_nothing_above_core_and_bot() -> None:
    root = Path(sandbox.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 20  # the whole package is read
    upward = [
        f"{path.relative_to(root.parent)}:{line}: {name}"
        for path in modules
        for line, name in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in ABOVE
    ]
    assert upward == []
