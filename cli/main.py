"""The ``gatepulse`` command. Each area registers its commands from its own module."""

from __future__ import annotations

import importlib
import signal
import sys

import typer

from cli.context import load_or_exit

app = typer.Typer(
    name="gatepulse",
    help="gatepulse: a Telegram group gate and the analytics platform behind it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _signals_not_ignored() -> None:
    """Ctrl+C and SIGTERM stop a command even when it was started with them ignored (a shell's
    background job ignores Ctrl+C). Left ignored, every Dagster run gives SIGTERM that same
    disposition as it ends, and the `tail` processes that capture a later run's output (the
    demo materializes in a worker thread, where Dagster leaves signals alone) inherit it: they
    outlive their run, each costing a minute of waiting, and keep the command's output open."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@app.callback()
def _load_settings(ctx: typer.Context) -> None:
    """Read every setting once, before any command runs: one clear line on a bad value."""
    _signals_not_ignored()
    ctx.obj = load_or_exit()


COMMAND_MODULES = ("bot", "dashboard", "db", "demo", "doctor", "owner", "pipelines", "privacy",
                   "production", "rehearse", "retention", "telegram")  # fmt: skip
"""The ``cli`` modules whose commands make up ``gatepulse``."""


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"cli.{name}")
        app.registered_commands.extend(module.app.registered_commands)


_register()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
