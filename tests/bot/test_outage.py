"""A database outage in the middle of a run: the gate keeps deciding and calling Telegram;
after the restart every log row is in the database exactly once."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiogram.types import Update

from bot.runtime.app import build_runtime
from core.clock import ManualClock
from core.db import create_engine
from core.migrate import run_migrations
from core.models import ApiCallLog, Message, UserRestriction, VerificationLog
from sandbox.fake_telegram import FakeTelegramSession
from tests.bot.conftest import (
    BOB,
    CREATOR,
    DEALS,
    GROUP,
    NEWS,
    START,
    TOKEN,
    make_settings,
    make_world,
)
from tests.support.pg import TempPostgres
from tests.support.waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def own_postgres() -> Iterator[TempPostgres]:
    server = TempPostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


async def _count(engine: sa.ext.asyncio.AsyncEngine, model: type) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_database_outage_loses_and_duplicates_nothing(
    own_postgres: TempPostgres, tmp_path: Path
) -> None:
    url = own_postgres.url()
    await asyncio.to_thread(run_migrations, url)
    settings = make_settings(url, tmp_path, config_ttl_s=0.2)  # expires during the outage
    clock = ManualClock(START)
    world = make_world(clock=clock)
    engine = create_engine(url=url)
    session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)
    runtime = await build_runtime(settings, clock=clock, session=session, engine=engine)
    bot, dp, writer, services = runtime.bot, runtime.dp, runtime.writer, runtime.services
    services.state.retry_max_s = 0.5  # retry quickly once the database is back
    creator = type("Actor", (), {"id": CREATOR, "username": "creator", "first_name": "C"})()
    await services.repo.protect(GROUP, "Group", creator, [NEWS, DEALS], START)

    newcomers = iter(range(9000, 9100))
    fed_messages = 0

    async def traffic(rounds: int) -> None:
        nonlocal fed_messages
        for _ in range(rounds):
            clock.advance(1.0)  # unique timestamps
            user = next(newcomers)
            world.add_user(user, f"N{user}")
            await dp.feed_update(bot, Update.model_validate(world.join_update(GROUP, user)))
            clock.advance(1.0)
            update = world.message_update(GROUP, BOB, f"bob {clock.now().isoformat()}")
            await dp.feed_update(bot, Update.model_validate(update))
            fed_messages += 1

    try:
        await traffic(10)
        await services.drain()
        await asyncio.to_thread(own_postgres.stop)  # the database goes away mid-run

        mutes_before = sum(world.is_muted(GROUP, u) for u in range(9000, 9010))
        await traffic(20)  # ...and the bot keeps working
        assert mutes_before == 10
        assert all(world.is_muted(GROUP, u) for u in range(9010, 9030))  # decided, called
        assert services.checker.counters.checks == 60
        await eventually(lambda: writer.stats.spooled > 0, what="the writer spooling")

        await asyncio.to_thread(own_postgres.start)  # back
        await traffic(5)
        expected = {
            VerificationLog: services.checker.counters.checks,
            Message: fed_messages + services.checker.counters.prompts,  # + the bot's own prompts
            ApiCallLog: len(world.calls),
        }
        counts: dict[type, int] = {}

        async def all_rows_landed() -> bool:
            await writer.flush()
            counts.update({m: await _count(engine, m) for m in expected})
            return counts == expected

        await eventually(
            all_rows_landed, within=30, interval=0.1, what=lambda: f"{counts} == {expected}"
        )
        await asyncio.wait_for(services.state.drain(), 30)
        assert await _count(engine, UserRestriction) == 35

        async with engine.connect() as conn:
            checks = (
                await conn.execute(sa.select(VerificationLog.user_id, VerificationLog.timestamp))
            ).all()
            texts = (
                (await conn.execute(sa.select(Message.content).where(~Message.is_bot_message)))
                .scalars()
                .all()
            )
        assert len(set(checks)) == len(checks)  # exactly once
        assert len(set(texts)) == len(texts) == fed_messages
        per_user = collections.Counter(u for u, _ in checks)
        assert per_user[BOB] == 35 and all(per_user[u] == 1 for u in range(9000, 9035))
        assert min(t for _, t in checks) > START  # stamped by the injected clock
    finally:
        await runtime.close(state_timeout_s=5)
