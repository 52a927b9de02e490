"""Rate limits on the injected clock: sliding windows, and the wait for room in them.

A :class:`Rate` is "at most ``events`` in any ``period_s`` seconds", overall or per key (e.g.
per chat). :meth:`RateLimiter.acquire` waits until one more event fits in every window it falls
in, then counts it there. The windows run on ``clock.monotonic()`` and every wait goes through
the injected ``sleep`` (:func:`core.sleep.sleep_for` by default): on a ManualClock a wait moves
the clock, not the wall.

"At most 1 in any ``1 / r`` seconds" spaces events ``1 / r`` apart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

from core.clock import Clock, SystemClock
from core.sleep import Sleep, sleep_for

#: The shortest wait (a ManualClock counts whole microseconds: a shorter one could not move it).
MIN_WAIT_S = 0.001

_Window = tuple["Rate", deque[float]]


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``events`` in any ``period_s`` seconds; with ``per_key``, for each key apart."""

    events: int
    period_s: float
    per_key: bool = False

    def __post_init__(self) -> None:
        if self.events < 1 or self.period_s <= 0:
            raise ValueError("a rate needs at least 1 event in a positive period")

    def room(self, times: deque[float], now: float) -> float:
        """Seconds until one more event fits among ``times`` (forgetting those out of the
        window); 0 when it fits now."""
        while times and times[0] <= now - self.period_s:
            times.popleft()
        if len(times) < self.events:
            return 0.0
        return times[0] + self.period_s - now


class RateLimiter:
    """Sliding-window limits: :meth:`acquire` before each event.

    Per-key windows are dropped once idle for a whole period, checked when more than
    ``max_keys`` are held and a new key comes.
    """

    def __init__(
        self,
        *rates: Rate,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        max_keys: int = 10_000,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.sleep: Sleep = sleep if sleep is not None else sleep_for(self.clock)
        self.max_keys = max_keys
        self._overall: list[_Window] = [(r, deque()) for r in rates if not r.per_key]
        self._per_key: list[tuple[Rate, dict[Hashable, deque[float]]]] = [
            (r, {}) for r in rates if r.per_key
        ]

    async def acquire(self, key: Hashable | None = None) -> float:
        """Wait until one more event fits every overall rate and, when ``key`` is given, every
        per-key rate for ``key``; count it; return the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock.monotonic()
            windows = self._windows(key, now)
            wait = max((rate.room(times, now) for rate, times in windows), default=0.0)
            if wait <= 0:
                for _, times in windows:
                    times.append(now)
                return waited
            wait = max(wait, MIN_WAIT_S)
            waited += wait
            await self.sleep(wait)

    def _windows(self, key: Hashable | None, now: float) -> list[_Window]:
        # looked up again after every wait: a sweep meanwhile may have dropped an idle window
        windows = list(self._overall)
        if key is None:
            return windows
        for rate, by_key in self._per_key:
            times = by_key.get(key)
            if times is None:
                if len(by_key) > self.max_keys:
                    idle = [k for k, t in by_key.items() if not t or t[-1] <= now - rate.period_s]
                    for k in idle:
                        del by_key[k]
                times = by_key[key] = deque()
            windows.append((rate, times))
        return windows


__all__ = ["MIN_WAIT_S", "Rate", "RateLimiter"]
