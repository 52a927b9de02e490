"""How fast the fake answers: ``uv run python -m bench.fake_telegram [calls]``.

Measures getChatMember calls per second through the full client (``create_bot``: limiter and
API-call logging into a no-op sink) on the in-process :class:`FakeTelegramSession` and on the
real ``AiohttpSession`` against :class:`FakeTelegramServer` on 127.0.0.1, in one run. The last
line is ``fake_session_vs_http: <ratio>``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import Any

from aiogram import Bot

from bot.runtime.client import create_bot
from core.clock import ManualClock
from core.settings import BotSettings
from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.session import FakeTelegramSession
from sandbox.fake_telegram.world import FakeWorld

RUNTIME = "Runtime here: about 10 seconds at the defaults."

CHANNEL = -1002000000001
USER = 42


class _Sink:
    def __init__(self) -> None:
        self.rows = 0

    def put(self, table: object, /, **columns: Any) -> None:
        self.rows += 1


def _world() -> FakeWorld:
    world = FakeWorld()
    world.add_user(1, "Owner")
    world.add_user(USER, "Member")
    world.add_channel(CHANNEL, "News", username="news", creator_id=1)
    world.set_member(CHANNEL, USER, "member")
    return world


async def _rate(bot: Bot, calls: int) -> float:
    for _ in range(50):  # warm up
        await bot.get_chat_member(CHANNEL, USER)
    started = time.perf_counter()
    for _ in range(calls):
        await bot.get_chat_member(CHANNEL, USER)
    return calls / (time.perf_counter() - started)


async def measure(calls: int = 3000) -> dict[str, float]:
    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    sink = _Sink()
    bot = create_bot(BotSettings(), sink, clock=clock, session=FakeTelegramSession(_world()))
    in_process = await _rate(bot, calls)
    async with FakeTelegramServer(_world()) as server:
        http_bot = create_bot(
            BotSettings.model_validate({"api_base": server.base_url}), sink, clock=clock
        )
        try:
            over_http = await _rate(http_bot, max(300, calls // 3))
        finally:
            await http_bot.session.close()
    return {"in_process_calls_per_s": in_process, "http_calls_per_s": over_http}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fake_telegram",
        description=__doc__.split("\n\n")[1].replace("\n", " ") + " " + RUNTIME,
    )
    parser.add_argument("calls", type=int, nargs="?", default=3000, help="in-process calls")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.calls))
    print(f"in-process FakeTelegramSession: {figures['in_process_calls_per_s']:,.0f} calls/s")
    print(f"HTTP AiohttpSession -> server:  {figures['http_calls_per_s']:,.0f} calls/s")
    ratio = figures["in_process_calls_per_s"] / figures["http_calls_per_s"]
    print(f"fake_session_vs_http: {ratio:.1f}")


if __name__ == "__main__":
    main()
