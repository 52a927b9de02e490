"""`gatepulse fake-telegram`: serve the bundled fake Telegram Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import typer

from core.settings import BotSettings

if TYPE_CHECKING:  # aiogram is imported when the command runs, not when `gatepulse` starts
    from sandbox.fake_telegram.world import FakeWorld

app = typer.Typer()
DEFAULT_TOKEN = BotSettings.model_fields["token"].get_default().get_secret_value()
SCENARIOS = ("demo", "empty")  # sandbox.fake_telegram.scenarios.SCENARIOS; a test keeps them equal


@app.command("fake-telegram")
def fake_telegram_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8081, min=0, max=65535, help="Port to listen on (0: any free port)."),
    token: str = typer.Option(
        DEFAULT_TOKEN,
        help="The bot token the server accepts (give the bot the same BOT_TOKEN).",
        show_default=False,
    ),
    fault_rate: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Share of calls (0..1) that fail: 429, 403, chat not found, 400, 500 or a timeout.",
    ),
    latency_ms: float = typer.Option(0.0, min=0.0, help="Added latency of every call, in ms."),
    latency_spread: float = typer.Option(
        0.0,
        min=0.0,
        max=3.0,
        help="Spread of the latency (sigma of a log-normal factor; 0: always --latency-ms).",
    ),
    flood_limits: bool = typer.Option(
        False,
        "--flood-limits",
        help="Answer 429 like Telegram past 20 messages a minute per group or 30 a second.",
    ),
    seed: int = typer.Option(0, help="Seed of the fault draws and invite links (deterministic)."),
    scenario: str = typer.Option("demo", help=f"Pre-populated world: {' or '.join(SCENARIOS)}."),
) -> None:
    """Serve a fake Telegram Bot API with a small pre-populated world.

    Point the bot at it with BOT_API_BASE=<the printed URL> and the same BOT_TOKEN.

    It answers the methods the bot and the pipelines use (getMe, getUpdates, webhooks,
    sendMessage, getChatMember, restrictChatMember, getChat, invite links, ...) with replies
    aiogram accepts, and injects faults at --fault-rate. Stop it with Ctrl-C.
    """
    if ":" not in token or not token.split(":", 1)[0].isdigit():
        typer.secho(
            "error: --token must look like 123456:ABC-DEF (digits, colon, secret)",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    # lazy: the fake server (aiohttp, aiogram) would double `gatepulse --help` (measured with
    # -X importtime: +13 s over cli.main's 11 s on the shared 2-core machine)
    from sandbox.fake_telegram.scenarios import build_world

    try:
        world = build_world(
            scenario,
            seed=seed,
            fault_rate=fault_rate,
            latency_s=latency_ms / 1000,
            latency_spread=latency_spread,
            bot_id=int(token.split(":", 1)[0]),
        )
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    world.enforce_flood_limits = flood_limits
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(world, token, host, port, scenario))


async def _serve(world: FakeWorld, token: str, host: str, port: int, scenario: str) -> None:
    # lazy, as build_world in the command above
    from sandbox.fake_telegram.server import FakeTelegramServer

    server = FakeTelegramServer(world, token=token, host=host, port=port)
    try:
        await server.start()
    except OSError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    chats = ", ".join(f"{c.title} ({c.id})" for c in world.chats.values() if c.title)
    typer.echo(f"fake Telegram Bot API serving scenario {scenario!r} on {server.base_url}")
    typer.echo(f"  chats: {chats or 'none'}")
    typer.echo(f"  faults: rate {world.faults.rate:g}, latency {world.latency_s * 1000:g} ms")
    typer.echo(f"BOT_API_BASE={server.base_url}")
    await server.serve_forever()
