"""The ``gatepulse`` command. Each area registers its commands from its own module."""

from __future__ import annotations

import sys

import typer

from core.settings import SettingsError, load_settings

app = typer.Typer(
    name="gatepulse",
    help="gatepulse: a Telegram group gate and the analytics platform behind it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _check_settings() -> None:
    """Validate every setting before any command runs: one clear line on a bad value."""
    try:
        load_settings()
    except SettingsError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def _register() -> None:
    from cli import bot, dashboard, db, demo, pipelines, production, telegram

    for module in (bot, dashboard, db, demo, pipelines, production, telegram):
        app.registered_commands.extend(module.app.registered_commands)


_register()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
