"""Waiting, injectable: the ``sleep`` that rate limits and retries wait through.

With the system clock a wait is ``asyncio.sleep``. On a :class:`core.clock.ManualClock` (tests,
simulations) it is :func:`clock_sleep`: the clock is moved to the end of the wait instead, so
that minutes of waiting cost no wall time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from core.clock import Clock

#: ``await sleep(seconds)``.
Sleep = Callable[[float], Awaitable[Any]]


def clock_sleep(clock: Any) -> Sleep:
    """A ``sleep`` that advances a ManualClock instead of waiting (then yields once)."""

    async def _sleep(seconds: float) -> None:
        # "sleep until": waiters that started together wake together instead of each pushing
        # the shared clock further
        target = clock.monotonic() + seconds
        now = clock.monotonic()
        if target > now:
            clock.advance(target - now)
        await asyncio.sleep(0)

    return _sleep


def sleep_for(clock: Clock) -> Sleep:
    """The natural ``sleep`` on ``clock``: :func:`clock_sleep` for a clock that can be advanced
    (a ManualClock), ``asyncio.sleep`` otherwise."""
    return clock_sleep(clock) if hasattr(clock, "advance") else asyncio.sleep


class RecordedSleep:
    """A ``sleep`` that keeps a record of its waits: ``waits`` (the latest ``keep``, seconds)
    and ``waited_s`` (the total), then waits through ``sleep``."""

    def __init__(self, sleep: Sleep, *, keep: int = 10_000) -> None:
        self.sleep = sleep
        self.waits: deque[float] = deque(maxlen=keep)
        self.waited_s = 0.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waited_s += seconds
        await self.sleep(seconds)


__all__ = ["RecordedSleep", "Sleep", "clock_sleep", "sleep_for"]
