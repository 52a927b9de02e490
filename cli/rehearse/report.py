"""The rehearsal's printed parts: the schedule at the start, the live progress, the report at
the end (PASS/FAIL table, figures, and last the line ``lost N duplicated N``)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from cli.rehearse.faults import Step

REPLICA_DRAIN_S = 30.0
"""Target: the updates pending when a replica restarts are delivered within this."""
P99_MS = 1000.0
"""Target: p99 of the webhook's answer time at the default rate, outside the raid."""


@dataclass
class Figures:
    """What the rehearsal measured."""

    traffic_s: float = 0.0
    pushed: int = 0
    per_replica: dict[str, float] = field(default_factory=dict)  # 2xx answers per second
    answer_ms: list[float] = field(default_factory=list)  # successful deliveries, outside raid
    peak_pending: int = 0
    recovery: list[tuple[str, float | None]] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        if len(self.answer_ms) < 2:
            return self.answer_ms[0] if self.answer_ms else None
        return statistics.quantiles(self.answer_ms, n=100, method="inclusive")[int(q) - 1]


def schedule_table(steps: Sequence[Step]) -> Table:
    table = Table(title="Schedule (seconds from the start of traffic)", title_justify="left")
    table.add_column("at", justify="right")
    table.add_column("for", justify="right")
    table.add_column("what")
    for step in steps:
        table.add_row(
            f"{step.at_s:.0f}",
            f"{step.length_s:.0f}" if step.length_s else "",
            f"[bold]{step.name}[/]: {step.what}",
        )
    return table


def checks_table(checks: Sequence[tuple[str, bool, str]]) -> Table:
    table = Table(title="Verdict", title_justify="left")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail")
    for name, passed, detail in checks:
        table.add_row(name, "[green]PASS[/]" if passed else "[red]FAIL[/]", detail)
    return table


def figures_table(figures: Figures) -> Table:
    table = Table(title="Figures", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for name, rate in sorted(figures.per_replica.items()):
        table.add_row(f"updates/s answered by {name}", f"{rate:.1f}", "")
    p50, p99 = figures.percentile(50), figures.percentile(99)
    p99_target = f"<= {P99_MS:.0f} ms " + (
        "(met)" if p99 is not None and p99 <= P99_MS else "[red](missed)[/]"
    )
    table.add_row(
        "webhook answer p50 (outside the raid)", f"{p50:.0f} ms" if p50 is not None else "-", ""
    )
    table.add_row(
        "webhook answer p99 (outside the raid)",
        f"{p99:.0f} ms" if p99 is not None else "-",
        p99_target,
    )
    table.add_row("peak pending_update_count", str(figures.peak_pending), "")
    for name, seconds in figures.recovery:
        shown = f"{seconds:.1f} s" if seconds is not None else "not recovered"
        target = ""
        if name == "replica":  # the target: drained <= 30 s after a replica restarts
            met = seconds is not None and seconds <= REPLICA_DRAIN_S
            target = f"<= {REPLICA_DRAIN_S:.0f} s " + ("(met)" if met else "[red](missed)[/]")
        table.add_row(f"recovery after {name}", shown, target)
    return table


def print_report(
    console: Console,
    checks: Sequence[tuple[str, bool, str]],
    figures: Figures,
    lost: int,
    duplicated: int,
) -> None:
    console.print(checks_table(checks))
    console.print(figures_table(figures))
    passed = all(c[1] for c in checks)
    console.print(
        ("[green]PASS[/]" if passed else "[red]FAIL[/]")
        + f": {sum(c[1] for c in checks)}/{len(checks)} checks passed",
        highlight=False,
    )
    # the last line, plain (scripts read it)
    console.print(f"lost {lost} duplicated {duplicated}", highlight=False, markup=False)
