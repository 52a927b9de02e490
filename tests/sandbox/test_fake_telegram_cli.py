"""The `gatepulse fake-telegram` command: its arguments, and the demo world it serves."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from sandbox.fake_telegram import DEFAULT_TOKEN
from sandbox.fake_telegram.scenarios import DEMO_GROUP_ID, build_world
from tests.support.bots import close_bot
from tests.support.waiting import eventually


def test_cli_help_and_bad_arguments() -> None:
    from typer.testing import CliRunner

    from cli.telegram import app

    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "BOT_API_BASE" in result.output and "--fault-rate" in result.output
    result = runner.invoke(app, ["--scenario", "nope"])
    assert result.exit_code == 2 and "unknown scenario 'nope'" in result.output
    result = runner.invoke(app, ["--token", "no-colon"])
    assert result.exit_code == 2 and "--token must look like" in result.output
    result = runner.invoke(app, ["--fault-rate", "3"])
    assert result.exit_code == 2


async def test_cli_serves_the_demo_world(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.telegram import _serve

    world = build_world("demo")
    serving = asyncio.create_task(_serve(world, DEFAULT_TOKEN, "127.0.0.1", 0, "demo"))
    try:
        printed: list[str] = []

        def announced_base() -> str | None:
            printed.append(capsys.readouterr().out)
            _, found, rest = "".join(printed).partition("BOT_API_BASE=")
            return rest.strip() if found else None

        base = await eventually(announced_base, what="the BOT_API_BASE= line")
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
        demo_bot = Bot(DEFAULT_TOKEN, session=session)
        try:
            chat = await demo_bot.get_chat(DEMO_GROUP_ID)
            assert chat.title == "gatepulse demo group"
        finally:
            await close_bot(demo_bot)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def test_the_command_knows_the_real_scenarios_and_token() -> None:
    from cli import telegram
    from sandbox.fake_telegram import scenarios, server

    assert telegram.SCENARIOS == scenarios.SCENARIOS
    assert telegram.DEFAULT_TOKEN == server.DEFAULT_TOKEN
