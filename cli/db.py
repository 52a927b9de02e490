"""`gatepulse migrate` and `gatepulse tables`: the database commands."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of
from core.migrate import run_migrations, table_counts
from core.settings import display_url

app = typer.Typer()


def print_table_counts(url: str, console: Console | None = None) -> dict[str, int | None]:
    counts = asyncio.run(table_counts(url))
    table = Table(title="gatepulse tables", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name in sorted(counts):
        value = counts[name]
        table.add_row(name, "missing" if value is None else f"{value:,}")
    (console or Console()).print(table)
    return counts


@app.command("migrate")
def migrate_cmd(
    ctx: typer.Context,
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    url = settings_of(ctx).db.url
    run_migrations(url, revision)
    typer.echo(f"database at {display_url(url)} is at revision {revision}")


@app.command("tables")
def tables_cmd(ctx: typer.Context) -> None:
    """Print every table with its row count."""
    print_table_counts(settings_of(ctx).db.url)
