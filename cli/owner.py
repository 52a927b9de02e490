"""`gatepulse owner-link USER_ID`: a fresh dashboard sign-in link for one Telegram user."""

from __future__ import annotations

import datetime as dt

import typer

from cli.context import settings_of
from core.erasure import parse_user_id
from core.owner_links import LINK_TTL, KeyFileError, owner_link

app = typer.Typer()


@app.command("owner-link", context_settings={"ignore_unknown_options": True})
def owner_link_cmd(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., help="The owner's Telegram user id (digits)."),
) -> None:
    """Print a fresh sign-in link to the dashboard for USER_ID, exactly as the bot's /dashboard
    sends it: it works once, within 10 minutes, and shows that user the groups they administer.

    Needs the key the bot and the dashboard use: DASHBOARD_LINK_KEY, or the key generated in
    GATEPULSE_VAR_DIR (run it where they run). The link points at DASHBOARD_PUBLIC_URL
    (default http://DASHBOARD_HOST:DASHBOARD_PORT). Anyone holding the link signs in as that
    user: hand it over privately."""
    try:
        uid = parse_user_id(user_id)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    try:
        link = owner_link(settings_of(ctx).dashboard, uid, dt.datetime.now(dt.UTC))
    except (KeyFileError, OSError) as exc:
        typer.secho(f"error: cannot read or make the link key: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(link)
    minutes = int(LINK_TTL.total_seconds() // 60)
    typer.secho(f"valid once, for {minutes} minutes, for user {uid}", err=True, dim=True)
