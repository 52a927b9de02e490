"""The settings of a ``gatepulse`` invocation: read once by the root command, then passed on."""

from __future__ import annotations

import typer

from core.settings import Settings, SettingsError, load_settings


def load_or_exit() -> Settings:
    """:func:`load_settings`, or one red line naming the bad variable and exit code 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback read (a sub-app run alone reads them here, once)."""
    if not isinstance(ctx.obj, Settings):
        ctx.obj = load_or_exit()
    return ctx.obj
