"""The Telegram client factory's fixtures: a recorded log writer and ``sleep``, the fake
server (:mod:`tests.bot.client.world`), and the real aiogram Bot on the real AiohttpSession
against it on 127.0.0.1 (or on the in-process FakeTelegramSession where only the middlewares
matter). Waits go through a recorded ``sleep`` and a ManualClock: nothing here really waits for
a limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot

from bot.runtime.client import create_bot
from core.clock import ManualClock
from core.db import Base
from core.settings import BotSettings
from core.sleep import RecordedSleep, clock_sleep
from sandbox.fake_telegram import FakeTelegramServer
from tests.bot.client.world import START, make_world
from tests.support.bots import close_bot


class Recorder:
    """A stand-in for the log writer: remembers every put."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def put(self, table: type[Base], /, **columns: Any) -> None:
        self.rows.append((table.__tablename__, columns))

    @property
    def api_calls(self) -> list[dict[str, Any]]:
        return [row for table, row in self.rows if table == "api_call_log"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sleeps(clock: ManualClock) -> RecordedSleep:
    """A sleep that records each wait and advances the ManualClock instead of waiting."""
    return RecordedSleep(clock_sleep(clock))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(make_world()) as srv:
        yield srv


def settings_for(server: FakeTelegramServer | None, **extra: Any) -> BotSettings:
    values: dict[str, Any] = {"request_timeout_s": 5.0}
    if server is not None:
        values["api_base"] = server.base_url
    values.update(extra)
    return BotSettings(**values)


@pytest.fixture
async def bot(
    server: FakeTelegramServer, recorder: Recorder, clock: ManualClock, sleeps: RecordedSleep
) -> AsyncIterator[Bot]:
    bot = create_bot(settings_for(server), recorder, clock=clock, sleep=sleeps)
    yield bot
    await close_bot(bot)
