"""`gatepulse retention [--dry-run]`: prune raw rows past their retention now, or show what
would go."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of
from core.db import create_sync_engine

app = typer.Typer()


@app.command("retention")
def retention_cmd(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Delete nothing: print per table its retention, cutoff, the rows that would go and "
        "stay, and (PostgreSQL) the day partitions that would be dropped whole.",
    ),
) -> None:
    """Prune raw rows past their retention now, as the nightly raw_log_retention asset does.

    Each table keeps RETENTION_DAYS days (RETENTION_DAYS_OVERRIDES per table, e.g.
    '{"messages": 30}'): the raw logs, alert deliveries, lifted mutes, users not seen since,
    and private chats that blocked the bot. Configuration, active mutes, alerts, analytics
    and summaries are never pruned (docs/PRIVACY.md). On PostgreSQL the day partitions of the
    large raw logs wholly past the cutoff are dropped at once; the rest is deleted in batches
    of PIPELINES_RETENTION_BATCH_SIZE rows, each committed on its own, so a running bot waits
    at most one short batch. Run it with --dry-run first to see what would go.
    """
    # lazy: the pipelines (Dagster assets, polars) would nearly double `gatepulse --help`
    # (measured with -X importtime: +14 s over cli.main's 19 s on the shared 2-core machine)
    from pipelines.assets.maintenance import count_expired, partitions_to_drop, prune
    from pipelines.transforms.retention import cutoffs, retention_days

    settings = settings_of(ctx).pipelines
    engine = create_sync_engine(settings_of(ctx).db.url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        days = retention_days(settings.retention_days, settings.retention_overrides)
    except ValueError as exc:
        typer.secho(f"error: RETENTION_DAYS_OVERRIDES: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    table_cutoffs = cutoffs(now, settings.retention_days, settings.retention_overrides)
    console = Console()
    try:
        if dry_run:
            counts = count_expired(engine, table_cutoffs)
            to_drop = partitions_to_drop(engine, table_cutoffs)
        else:
            dropped: dict[str, list[str]] = {}
            deleted = prune(engine, table_cutoffs, settings.retention_batch_size, dropped)
    except Exception as exc:  # no schema yet, unreachable server...
        what = "read" if dry_run else "prune"
        typer.secho(f"error: cannot {what} the database: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if dry_run:
        table = Table(
            title=f"retention dry run at {now:%Y-%m-%d %H:%M} UTC: nothing deleted",
            title_justify="left",
        )
        columns = ("table", "days", "cutoff (UTC)", "would go", "kept", "partitions dropped")
        for column in columns:
            table.add_column(column, justify="left" if column == "table" else "right")
        for name, (gone, kept) in counts.items():
            cutoff = f"{table_cutoffs[name]:%Y-%m-%d %H:%M}"
            parts = to_drop.get(name, [])
            table.add_row(name, str(days[name]), cutoff, f"{gone:,}", f"{kept:,}", _dropped(parts))
        table.add_section()
        every = [p for parts in to_drop.values() for p in parts]
        table.add_row(
            "total", "", "", f"{sum(g for g, _ in counts.values()):,}",
            f"{sum(k for _, k in counts.values()):,}", _dropped(every),
        )  # fmt: skip
    else:
        table = Table(title=f"retention at {now:%Y-%m-%d %H:%M} UTC", title_justify="left")
        table.add_column("table")
        table.add_column("rows deleted", justify="right")
        table.add_column("partitions dropped", justify="right")
        for name, n in deleted.items():
            table.add_row(name, f"{n:,}", str(len(dropped.get(name, []))))
        table.add_section()
        table.add_row(
            "total", f"{sum(deleted.values()):,}", str(sum(len(p) for p in dropped.values()))
        )
    console.print(table)
    if dry_run:
        for name, parts in to_drop.items():
            listed = ", ".join(f"{p} ({rows:,} rows)" for p, rows in parts)
            console.print(f"{name}: would drop {listed}", soft_wrap=True)


def _dropped(parts: list[tuple[str, int]]) -> str:
    """``"2 (1,234 rows)"``: partitions that would be dropped whole and the rows they hold."""
    return f"{len(parts)} ({sum(rows for _, rows in parts):,} rows)" if parts else "0"
