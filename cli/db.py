"""`gatepulse migrate` and `gatepulse tables`: the database commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
import typer
from alembic import command
from alembic.config import Config
from rich.console import Console
from rich.table import Table

import core.models
from core.db import create_engine
from core.settings import DatabaseSettings

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "alembic.ini"

app = typer.Typer()


def alembic_config(url: str) -> Config:
    """Alembic's config for ``url`` (the repo's ``alembic.ini`` and ``migrations/``)."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def run_migrations(url: str, revision: str = "head") -> None:
    """``alembic upgrade revision`` on ``url`` (blocking; not inside a running event loop)."""
    command.upgrade(alembic_config(url), revision)


async def table_counts(url: str) -> dict[str, int | None]:
    """Row count of every table in the schema (None where the table does not exist yet)."""
    engine = create_engine(url=url, pool=False)
    counts: dict[str, int | None] = {}
    try:
        async with engine.connect() as conn:
            existing = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            for table in core.models.Base.metadata.sorted_tables:
                if table.name not in existing:
                    counts[table.name] = None
                    continue
                result = await conn.execute(sa.select(sa.func.count()).select_from(table))
                counts[table.name] = int(result.scalar_one())
    finally:
        await engine.dispose()
    return counts


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
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    db = DatabaseSettings()
    run_migrations(db.url, revision)
    typer.echo(f"database at {_display(db.url)} is at revision {revision}")


@app.command("tables")
def tables_cmd() -> None:
    """Print every table with its row count."""
    print_table_counts(DatabaseSettings().url)


def _display(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
