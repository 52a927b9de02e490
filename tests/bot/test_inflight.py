"""Shutdown waits for updates still being handled (aiogram's polling does not)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import Update

from bot.inflight import InFlight
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
