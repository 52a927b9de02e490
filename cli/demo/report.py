"""What the demo prints: the console its parts share, the timed steps and the final report."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from core.owner_links import owner_link
from core.settings import DashboardSettings
from sandbox.simulator.scenario import Scenario

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


def demo_owner(scenario: Scenario) -> tuple[int, list[str]] | None:
    """The demo's owner to sign in as: the person who administers the most groups (creator
    or admin; two or more when the world has such a person), and the titles of their groups."""
    groups: dict[int, list[str]] = {}
    for group in scenario.groups:
        for person in dict.fromkeys([group.creator_id, *group.admin_ids]):
            groups.setdefault(person, []).append(group.title)
    if not groups:
        return None
    person = min(groups, key=lambda p: (-len(groups[p]), p))
    return person, groups[person]


def print_owner_link(settings: DashboardSettings, scenario: Scenario) -> str | None:
    """One owner's sign-in link beside the operator's address (as the bot's /dashboard would
    send it); returns the link."""
    owner = demo_owner(scenario)
    if owner is None:
        return None
    user_id, titles = owner
    link = owner_link(settings, user_id, dt.datetime.now(dt.UTC))
    console.print(
        f"Dashboard, every group (the operator): {settings.link_base_url}\n"
        f"Dashboard as owner {user_id} ({', '.join(titles)}), once, within 10 minutes:\n"
        f"  {link}\n"
        f"  another link: [bold]uv run gatepulse owner-link {user_id}[/]",
        soft_wrap=True,
    )
    return link
