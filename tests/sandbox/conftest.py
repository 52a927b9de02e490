"""Fixtures of the fake Bot API tests: the test world, its HTTP server, a real aiogram Bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from sandbox.fake_telegram import FakeTelegramServer, FakeWorld
from tests.sandbox.fake_world import http_bot, make_world
from tests.support.bots import close_bot


@pytest.fixture
def world() -> FakeWorld:
    return make_world()


@pytest.fixture
async def server(world: FakeWorld) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(world) as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = http_bot(server)
    yield bot
    await close_bot(bot)
