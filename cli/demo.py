"""`gatepulse demo`: the whole system on the embedded database."""

from __future__ import annotations

import typer

from cli.db import print_table_counts, run_migrations
from core.settings import DatabaseSettings

app = typer.Typer()


@app.command("demo")
def demo_cmd() -> None:
    """Migrate the database (embedded SQLite under var/ by default) and show every table."""
    db = DatabaseSettings()
    run_migrations(db.url)
    print_table_counts(db.url)
