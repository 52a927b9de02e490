"""`gatepulse bot [--webhook] [--once]`: run the gate bot."""

from __future__ import annotations

import asyncio
import logging

import typer

from cli.context import settings_of

app = typer.Typer()


@app.command("bot")
def bot_cmd(
    ctx: typer.Context,
    webhook: bool = typer.Option(
        False,
        "--webhook",
        help="Serve a webhook on BOT_WEBHOOK_HOST:BOT_WEBHOOK_PORT (BOT_WEBHOOK_PATH) instead "
        "of long polling; requests must carry BOT_WEBHOOK_SECRET. BOT_MODE=webhook does the same.",
    ),
    once: bool = typer.Option(
        False,
        "--once",
        help="Exit at once when the Bot API or the database cannot be reached at start-up, "
        "instead of retrying (BOT_START_RETRY=false does the same).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
) -> None:
    """Run the gate bot (polling by default) against BOT_API_BASE, logging to DATABASE_URL.

    A start-up failure (bad or refused token, Bot API or database unreachable, database not
    migrated, webhook URL refused) ends with one line saying what to do, and exit code 1.
    """
    # lazy: the bot (aiogram, aiohttp, redis) would double `gatepulse --help` (measured with
    # -X importtime: +11 s over cli.main's 10 s on the shared 2-core machine)
    from bot.runtime.app import run_polling, run_webhook
    from bot.runtime.startup import StartupError

    settings = settings_of(ctx)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    use_webhook = webhook or settings.bot.mode == "webhook"
    runner = run_webhook if use_webhook else run_polling
    try:
        asyncio.run(runner(settings, once=once or not settings.bot.start_retry))
    except StartupError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("stopped")
