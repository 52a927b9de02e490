"""The simulation's latency timer: a call measures the delays played for it, not the clock's
other moves; a measure around calls made at once takes the slowest, around calls one after the
other their sum."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.clock import ManualClock
from sandbox.simulator.latency import PlayedLatency

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


async def _call(latency: PlayedLatency, seconds: float) -> float:
    """A call as the API-call logger times it: the session's sleep in a task of its own (as
    ``asyncio.wait_for`` runs it)."""
    started = latency.timer()
    await asyncio.create_task(latency.sleep(seconds))
    return latency.timer() - started


async def test_a_call_measures_its_own_delay_whatever_else_moves_the_clock() -> None:
    clock = ManualClock(START)
    latency = PlayedLatency(clock)

    async def others() -> None:  # the rest of a raid, played meanwhile
        for _ in range(50):
            await latency.sleep(2.0)
            clock.advance(60.0)

    mine, _ = await asyncio.gather(_call(latency, 0.045), others())
    assert mine == 0.045
    assert clock.monotonic() > 100.0  # the clock moved by far more meanwhile


async def test_a_check_takes_its_slowest_concurrent_call_and_the_sum_of_sequential_ones() -> None:
    latency = PlayedLatency(ManualClock(START))
    started = latency.timer()
    timed = await asyncio.gather(*(_call(latency, s) for s in (0.05, 0.2, 0.1)))
    assert timed == [0.05, 0.2, 0.1]
    assert latency.timer() - started == 0.2
    then = latency.timer()
    assert await _call(latency, 0.03) == pytest.approx(0.03)
    assert await _call(latency, 0.04) == pytest.approx(0.04)
    assert latency.timer() - then == pytest.approx(0.03 + 0.04)
