"""The house's floors: which folder may import which (DESIGN.md, "Layout").

Every import statement of the project's own code is read with :mod:`ast` (at module level and
inside functions alike), so an arrow that runs up a floor fails here whatever hides it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core",
    "bot",
    "sandbox",
    "pipelines",
    "dashboards",
    "reference",
    "cli",
    "migrations",
    "bench",
    "tests",
)

# DESIGN.md's table; a folder may always import itself.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "bot": {"core"},
    "sandbox": {"core", "bot"},
    "pipelines": {"core", "bot"},
    "dashboards": {"core"},
    "reference": {"core", "pipelines"},
    "migrations": {"core"},
    "cli": {"core", "bot", "sandbox", "pipelines", "dashboards", "reference", "migrations"},
    "bench": set(PACKAGES) - {"bench", "tests"},  # anything but the suite
}


# pipelines/ may use the bot's Telegram client factory, and nothing else of the bot (DESIGN.md)
PIPELINES_FROM_BOT = {"bot.runtime.client"}


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if ".venv" not in p.parts)


def _imported_packages(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in PACKAGES]
    return found


def _imported_modules(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def _local_imports(tree: ast.AST) -> list[ast.stmt]:
    """Import statements inside a function body (not under ``if TYPE_CHECKING``)."""
    found: list[ast.stmt] = []
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [n for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def _explained(lines: list[str], index: int) -> bool:
    """A comment on the import's line, or just above the block of imports it belongs to."""
    if "#" in lines[index]:
        return True
    above = index - 1
    while above >= 0 and (
        lines[above].strip().startswith(("from ", "import ", ")"))
        or not lines[above].strip()
        or lines[above].rstrip().endswith(",")
    ):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_import_runs_up_a_floor(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in _modules(package)
        for line, target in _imported_packages(ast.parse(path.read_text(), str(path)))
        if target != package and target not in ALLOWED[package]
    ]
    assert wrong == []


def test_pipelines_use_only_the_bots_client_factory() -> None:
    used = {
        name
        for path in _modules("pipelines")
        for name in _imported_modules(ast.parse(path.read_text(), str(path)))
        if name.split(".")[0] == "bot"
    }
    assert used <= PIPELINES_FROM_BOT


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_inside_functions_say_why(package: str) -> None:
    """An import inside a function is kept only for a measured start-up reason, given in a
    comment on the line itself or on the lines just above it."""
    unexplained = []
    for path in _modules(package):
        lines = path.read_text().splitlines()
        for node in _local_imports(ast.parse("\n".join(lines), str(path))):
            if not _explained(lines, node.lineno - 1):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []


def test_the_rules_hold_for_a_planted_arrow() -> None:
    """The reader finds an upward import hidden inside a function."""
    tree = ast.parse("def f():\n    from pipelines.io import x\n    import cli.main\n")
    assert _imported_packages(tree) == [(2, "pipelines"), (3, "cli")]
    assert len(_local_imports(tree)) == 2
    block = [
        "def f():",
        "    # lazy: measured",
        "    from a import b",
        "",
        "    import c",
        "    x = 1",
    ]
    assert _explained(block, 2) and _explained(block, 4)
    assert not _explained(["def f():", "    x = 1", "    import c"], 2)
