"""Production helpers: `gatepulse wait-db` and `gatepulse create-readonly-user`.

The compose stack's one-shot ``migrate`` service runs, in order::

    gatepulse wait-db && gatepulse migrate &&
    gatepulse create-readonly-user "$DASHBOARD_DB_USER" --password-env DASHBOARD_DB_PASSWORD

The read-only group role itself (``gatepulse_readonly``) is made by a migration; this module only
adds login users to it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass

import sqlalchemy as sa
import typer
from sqlalchemy.engine import make_url

from core.db import backend_of, create_engine
from core.settings import DatabaseSettings

READONLY_ROLE = "gatepulse_readonly"
"""The NOLOGIN group role made by migration ce1097037c19."""

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

app = typer.Typer()


class ReadonlyUserError(ValueError):
    """The read-only user cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class ReadonlyUserResult:
    name: str
    role: str
    created: bool


def _display(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _ping(url: str) -> None:
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    finally:
        await engine.dispose()


def wait_for_database(url: str, timeout_s: float = 60.0, interval_s: float = 1.0) -> int:
    """Block until ``url`` answers ``SELECT 1``; return the number of attempts.

    Raises ``TimeoutError`` (with the last error in the message) once ``timeout_s`` has passed.
    """
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        attempt += 1
        try:
            asyncio.run(asyncio.wait_for(_ping(url), timeout=max(interval_s, 5.0)))
            return attempt
        except Exception as exc:
            if time.monotonic() + interval_s > deadline:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
                raise TimeoutError(
                    f"database at {_display(url)} did not answer within {timeout_s:g}s "
                    f"({attempt} attempts; last error: {reason})"
                ) from None
            time.sleep(interval_s)


def _check_name(kind: str, name: str) -> None:
    if not _ROLE_NAME.match(name):
        raise ReadonlyUserError(
            f"{kind} {name!r} is not a plain PostgreSQL role name: use lower-case letters, "
            "digits and underscores, starting with a letter or underscore (at most 63)"
        )


async def ensure_readonly_user(
    url: str, name: str, password: str, *, role: str = READONLY_ROLE
) -> ReadonlyUserResult:
    """Create (or update) login user ``name`` as a member of the read-only group ``role``.

    Idempotent: an existing user gets the new password and the membership again. Sessions of the
    user default to read-only transactions; its privileges come only from ``role``. Refuses the
    connecting user itself, superusers, and roles that own tables.
    """
    _check_name("user name", name)
    _check_name("role", role)
    if not password:
        raise ReadonlyUserError("the password is empty")
    if backend_of(url) != "postgresql":
        raise ReadonlyUserError(
            "read-only users exist only on PostgreSQL; SQLite has no roles "
            "(the dashboard opens the same file)"
        )
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.begin() as conn:
            if not await conn.scalar(
                sa.text("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :r"), {"r": role}
            ):
                raise ReadonlyUserError(
                    f"role {role} does not exist: run `gatepulse migrate` first"
                )
            existing = (
                await conn.execute(
                    sa.text(
                        "SELECT rolsuper, rolname = current_user AS is_me, "
                        "EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                        "        WHERE c.relowner = r.oid) AS owns "
                        "FROM pg_catalog.pg_roles r WHERE rolname = :n"
                    ),
                    {"n": name},
                )
            ).first()
            if existing is not None and (existing.rolsuper or existing.is_me or existing.owns):
                raise ReadonlyUserError(
                    f"{name} is a superuser, the connecting user or an owner of tables: "
                    "pick another name for the read-only user"
                )
            verb = "ALTER ROLE %I WITH" if existing is not None else "CREATE ROLE %I"
            statements = [
                (
                    f"{verb} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %L",
                    (name, password),
                ),
                ("GRANT %I TO %I", (role, name)),
                ("ALTER ROLE %I SET default_transaction_read_only = on", (name,)),
            ]
            for template, args in statements:
                params = {f"a{i}": value for i, value in enumerate(args)}
                placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
                sql = await conn.scalar(
                    sa.text(f"SELECT format(CAST(:template AS text), {placeholders})"),
                    {"template": template, **params},
                )
                await conn.exec_driver_sql(str(sql))  # quoted by the server's format()
    finally:
        await engine.dispose()
    return ReadonlyUserResult(name=name, role=role, created=existing is None)


@app.command("wait-db")
def wait_db_cmd(
    timeout: float = typer.Option(60.0, "--timeout", min=0, help="Give up after this many s."),
    interval: float = typer.Option(1.0, "--interval", min=0.1, help="Seconds between tries."),
) -> None:
    """Wait until the database (DATABASE_URL) accepts connections; exit 1 on timeout."""
    url = DatabaseSettings().url
    typer.echo(f"waiting for the database at {_display(url)} ...", err=True)
    try:
        attempts = wait_for_database(url, timeout_s=timeout, interval_s=interval)
    except TimeoutError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database is up (after {attempts} attempt{'s' if attempts > 1 else ''})")


@app.command("create-readonly-user")
def create_readonly_user_cmd(
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
        _check_name("user name", name)
        _check_name("role", role)
    except ReadonlyUserError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    password = os.environ.get(password_env, "")
    if not password:
        typer.secho(f"error: environment variable {password_env} is unset or empty", err=True,
                    fg="red")  # fmt: skip
        raise typer.Exit(2)
    url = DatabaseSettings().url
    try:
        result = asyncio.run(ensure_readonly_user(url, name, password, role=role))
    except ReadonlyUserError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.secho(f"error: cannot reach {_display(url)}: {first}", fg="red", err=True)
        raise typer.Exit(1) from None
    state = "created" if result.created else "updated"
    typer.echo(f"read-only user {result.name} {state} (member of {result.role})")
