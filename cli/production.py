"""Production helpers: `gatepulse wait-db` and `gatepulse create-readonly-user`.

The compose stack's one-shot ``migrate`` service runs, in order::

    gatepulse wait-db && gatepulse migrate &&
    gatepulse create-readonly-user "$DASHBOARD_DB_USER" --password-env DASHBOARD_DB_PASSWORD

The work is done by :func:`core.db.wait_for_database` and :mod:`core.roles`; these commands
only read the options and report.
"""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
import typer

from cli.context import settings_of
from core.db import wait_for_database
from core.roles import READONLY_ROLE, ReadonlyUserError, check_role_name, ensure_readonly_user
from core.settings import display_url

app = typer.Typer()


@app.command("wait-db")
def wait_db_cmd(
    ctx: typer.Context,
    timeout: float = typer.Option(60.0, "--timeout", min=0, help="Give up after this many s."),
    interval: float = typer.Option(1.0, "--interval", min=0.1, help="Seconds between tries."),
) -> None:
    """Wait until the database (DATABASE_URL) accepts connections; exit 1 on timeout."""
    url = settings_of(ctx).db.url
    typer.echo(f"waiting for the database at {display_url(url)} ...", err=True)
    try:
        attempts = wait_for_database(url, timeout_s=timeout, interval_s=interval)
    except TimeoutError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database is up (after {attempts} attempt{'s' if attempts > 1 else ''})")


@app.command("create-readonly-user")
def create_readonly_user_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Login name, e.g. gatepulse_dashboard."),
    password_env: str = typer.Option(
        ...,
        "--password-env",
        help="Name of the environment variable holding the password (never a command argument).",
    ),
    role: str = typer.Option(READONLY_ROLE, "--role", help="The read-only group role to join."),
) -> None:
    """Create or update a login user that can only read what the dashboard shows (PostgreSQL).

    Uses DATABASE_URL, whose user must be allowed to create roles (the owner from the compose
    stack is). Run it after `gatepulse migrate`. Safe to re-run: it resets the password.
    """
    try:
        check_role_name("user name", name)
        check_role_name("role", role)
    except ReadonlyUserError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    password = os.environ.get(password_env, "")
    if not password:
        typer.secho(f"error: environment variable {password_env} is unset or empty", err=True,
                    fg="red")  # fmt: skip
        raise typer.Exit(2)
    url = settings_of(ctx).db.url
    try:
        result = asyncio.run(ensure_readonly_user(url, name, password, role=role))
    except ReadonlyUserError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.secho(f"error: cannot reach {display_url(url)}: {first}", fg="red", err=True)
        raise typer.Exit(1) from None
    state = "created" if result.created else "updated"
    typer.echo(f"read-only user {result.name} {state} (member of {result.role})")
