"""`gatepulse doctor [--json]`: check a deployment end to end; exit 0 only when all pass.

The checks are :func:`bot.runtime.doctor.diagnose`'s; this module prints them (a table, or JSON for
scripts) and sets the exit code.
"""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of

app = typer.Typer()

STYLES = {"ok": "green", "FAIL": "bold red", "skip": "dim", "warn": "bold yellow"}


@app.command("doctor")
def doctor_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.5, help="Seconds each database or Bot API call may take."
    ),
) -> None:
    """Check the database, the token, the Bot API, the webhook, the bot's rights in every
    protected group and linked channel, Redis and the dashboard's read-only role."""
    # lazy: the bot (aiogram, aiohttp, redis) would more than double `gatepulse --help`
    # (measured with -X importtime: +22 s over cli.main's 16 s on the shared 2-core machine)
    from bot.runtime.doctor import diagnose, healthy

    checks = asyncio.run(diagnose(settings_of(ctx), timeout_s=timeout))
    ok = healthy(checks)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        table = Table(title="gatepulse doctor", title_justify="left")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for c in checks:
            table.add_row(c.check, f"[{STYLES[c.status]}]{c.status}[/]", c.detail, c.fix)
        console = Console()
        console.print(table)
        warned = any(c.status == "warn" for c in checks)
        if not ok:
            console.print("some checks FAILED: see the fix column")
        else:
            console.print(
                "all checks passed" + (", with warnings: see the fix column" if warned else "")
            )
    raise typer.Exit(0 if ok else 1)
