"""What the demo prints: the console its parts share, the timed steps and the final report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


class Steps:
    """Times each step of the demo for the final report."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times.append((name, time.perf_counter() - started))


def print_report(report: dict[str, Any]) -> None:
    """The rows per table, the time per step, and where to look next."""
    tables = Table(title="rows per table", title_justify="left")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in sorted(report["tables"].items()):
        tables.add_row(name, "missing" if rows is None else f"{rows:,}")
    steps = Table(title="time per step", title_justify="left")
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    for name, seconds in report["steps"].items():
        steps.add_row(name, f"{seconds:.1f}")
    steps.add_row("[bold]total", f"[bold]{sum(report['steps'].values()):.1f}")
    console.print(tables)
    console.print(steps)
    console.print(
        "Dagster UI: run [bold]uv run gatepulse pipelines[/] and open http://127.0.0.1:3000\n"
        "Database tables: [bold]uv run gatepulse tables[/]"
    )
