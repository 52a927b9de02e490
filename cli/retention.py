"""`gatepulse retention [--dry-run]`: prune raw rows past their retention now, or show what
would go."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of

app = typer.Typer()


@app.command("retention")
def retention_cmd(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Delete nothing: print per table its retention, cutoff, and the rows that would "
        "go and stay.",
    ),
) -> None:
    """Prune raw rows past their retention now, as the nightly raw_log_retention asset does.

    Each table keeps RETENTION_DAYS days (RETENTION_DAYS_OVERRIDES per table, e.g.
    '{"messages": 30}'): the raw logs, alert deliveries, lifted mutes, users not seen since,
    and private chats that blocked the bot. Configuration, active mutes, alerts, analytics
    and summaries are never pruned (docs/PRIVACY.md). Deletes in batches of
    PIPELINES_RETENTION_BATCH_SIZE rows, each committed on its own, so a running bot waits
    at most one short batch. Run it with --dry-run first to see what would go.
    """
    from pipelines.assets.maintenance import count_expired, prune
    from pipelines.transforms.retention import cutoffs, retention_days

    settings = settings_of(ctx).pipelines
    url = settings_of(ctx).db.url
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
            counts = count_expired(url, table_cutoffs)
        else:
            deleted = prune(url, table_cutoffs, settings.retention_batch_size)
    except Exception as exc:  # no schema yet, unreachable server...
        what = "read" if dry_run else "prune"
        typer.secho(f"error: cannot {what} the database: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if dry_run:
        table = Table(
            title=f"retention dry run at {now:%Y-%m-%d %H:%M} UTC: nothing deleted",
            title_justify="left",
        )
        for column in ("table", "days", "cutoff (UTC)", "would go", "kept"):
            table.add_column(column, justify="left" if column == "table" else "right")
        for name, (gone, kept) in counts.items():
            cutoff = f"{table_cutoffs[name]:%Y-%m-%d %H:%M}"
            table.add_row(name, str(days[name]), cutoff, f"{gone:,}", f"{kept:,}")
        table.add_section()
        table.add_row(
            "total", "", "", f"{sum(g for g, _ in counts.values()):,}",
            f"{sum(k for _, k in counts.values()):,}",
        )  # fmt: skip
    else:
        table = Table(title=f"retention at {now:%Y-%m-%d %H:%M} UTC", title_justify="left")
        table.add_column("table")
        table.add_column("rows deleted", justify="right")
        for name, n in deleted.items():
            table.add_row(name, f"{n:,}")
        table.add_section()
        table.add_row("total", f"{sum(deleted.values()):,}")
    console.print(table)
