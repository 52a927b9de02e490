"""Time, injectable. Everything that stamps a row asks a :class:`Clock` for ``now()``.

The bot and the log writer take a clock so that the simulator can run weeks of traffic in
seconds on a :class:`ManualClock`.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, tz-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a monotonic scale (for TTLs and rate limits)."""


class SystemClock:
    """Wall-clock time.

    Its methods are the C functions themselves, without a Python frame around them: the bot
    asks for the time several times per update (TTL caches, throttles, row timestamps)."""

    now: Callable[[], dt.datetime] = staticmethod(functools.partial(dt.datetime.now, UTC))
    monotonic: Callable[[], float] = staticmethod(time.monotonic)


class ManualClock:
    """A clock that only moves when told to. ``monotonic`` follows ``now``."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a tz-aware start time")
        self._now = start.astimezone(UTC)
        self._origin = self._now

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._origin).total_seconds()

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a tz-aware time")
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds)
        return self._now
