"""Shutdown waits for updates still being handled (aiogram's polling does not)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import Update

from bot.runtime.app import build_runtime
from bot.runtime.inflight import InFlight
from core.clock import ManualClock
from core.db import create_engine
from core.models import UserRestriction
from sandbox.fake_telegram import FakeTelegramSession
from tests.bot.conftest import ALICE, GROUP, START, TOKEN, Harness, make_settings, make_world
from tests.support.waiting import eventually

UPDATE = Update(update_id=1)


async def test_idle_waits_until_the_last_update_is_handled() -> None:
    inflight = InFlight()
    assert await inflight.idle(0.0)  # nothing in flight: idle at once
    release = asyncio.Event()
    handled: list[int] = []

    async def handler(_event: Any, data: dict[str, Any]) -> str:
        await release.wait()
        handled.append(data["n"])
        return "done"

    first = asyncio.create_task(inflight(handler, UPDATE, {"n": 1}))
    second = asyncio.create_task(inflight(handler, UPDATE, {"n": 2}))
    await eventually(lambda: inflight.count == 2, what="both updates in flight")
    assert not await inflight.idle(0.01)  # still busy: the wait gives up and says so
    waiting = asyncio.create_task(inflight.idle(30.0))
    release.set()
    assert await waiting
    assert sorted(handled) == [1, 2]
    assert await first == await second == "done"
    assert inflight.count == 0


async def test_a_failing_handler_still_counts_as_finished() -> None:
    inflight = InFlight()

    async def handler(_event: Any, _data: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await inflight(handler, UPDATE, {})
    assert inflight.count == 0
    assert await inflight.idle(0.0)


async def test_an_update_whose_task_has_not_started_yet_is_waited_for() -> None:
    """Polling creates a task per update; shutdown right after must not miss it."""
    inflight = InFlight()
    handled: list[str] = []

    async def handler(_event: Any, _data: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        handled.append("done")

    task = asyncio.create_task(inflight(handler, UPDATE, {}))  # created, not started
    assert await inflight.idle(5.0)
    assert handled == ["done"]
    await task


async def test_the_writes_of_an_update_in_flight_at_shutdown_are_kept(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Polling emits the dispatcher's shutdown as soon as it stops, with updates still being
    handled: the mute a join handler queues after that moment must still be written (the
    default demo lost one this way: "1 operations not applied at shutdown")."""
    clock = ManualClock(START)
    world = make_world(clock=clock, latency_s=0.001)
    reached, release = asyncio.Event(), asyncio.Event()

    async def held_sleep(_seconds: float) -> None:
        reached.set()  # the handler is inside a Bot API call
        await release.wait()

    session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True, sleep=held_sleep)
    engine = create_engine(url=db_url)
    runtime = await build_runtime(
        make_settings(db_url, tmp_path), clock=clock, session=session, engine=engine
    )
    h = Harness(world, runtime, clock)
    try:
        release.set()  # /protect's own calls pass
        await h.protect()
        release.clear()
        reached.clear()
        handling = asyncio.create_task(h.feed(world.join_update(GROUP, ALICE)))
        await reached.wait()
        await runtime.dp.emit_shutdown(bot=runtime.bot)  # what stop_polling leads to
        release.set()
        await handling
    finally:
        with caplog.at_level(logging.WARNING, logger="bot.storage.gate_state"):
            await runtime.close()
    assert world.is_muted(GROUP, ALICE)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(UserRestriction.user_id, UserRestriction.is_active))
        ).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [(ALICE, True)]
    assert "not applied at shutdown" not in caplog.text
