"""The one rate limiter: sliding windows on the injected clock, waits through the injected
sleep. Everything runs on a ManualClock; no test waits for real."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest

from core.clock import ManualClock
from core.ratelimit import MIN_WAIT_S, Rate, RateLimiter
from core.sleep import RecordedSleep, clock_sleep

START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _most_in_any_window(times: list[float], period: float) -> int:
    return max(sum(1 for u in times if t <= u < t + period - 1e-9) for t in times)


async def test_one_per_interval_spaces_the_events(clock: ManualClock) -> None:
    sleeps = RecordedSleep(clock_sleep(clock))
    limiter = RateLimiter(Rate(1, 0.05), clock=clock, sleep=sleeps)
    times = []
    for _ in range(5):
        await limiter.acquire()
        times.append(clock.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # at least the interval apart; a float rounding on the clock's microseconds may cost one
    # more shortest wait (MIN_WAIT_S), never more
    assert all(0.05 - 1e-9 <= gap <= 0.05 + MIN_WAIT_S + 1e-9 for gap in gaps), gaps
    assert sum(sleeps.waits) == pytest.approx(times[-1], abs=1e-6)


async def test_the_overall_and_the_per_key_rates_hold_together(clock: ManualClock) -> None:
    sleeps = RecordedSleep(clock_sleep(clock))
    limiter = RateLimiter(Rate(3, 1.0), Rate(2, 60.0, per_key=True), clock=clock, sleep=sleeps)
    sent: dict[str | None, list[float]] = {"a": [], "b": [], None: []}
    for key in ["a", "a", "a", "b", "b", None, None, None]:
        waited = await limiter.acquire(key)
        sent[key].append(clock.monotonic())
        assert waited >= 0.0
    # a third "a" waits for the first one's minute; "b" then has room (but for the overall
    # rate); events without a key count against the overall rate only
    assert sent["a"][2] == pytest.approx(60.0, abs=1e-6)
    everything = sorted(t for ts in sent.values() for t in ts)
    assert _most_in_any_window(everything, 1.0) <= 3
    assert _most_in_any_window(sent["a"], 60.0) <= 2
    assert sum(sleeps.waits) == pytest.approx(clock.monotonic(), abs=1e-6)


async def test_acquire_returns_the_seconds_waited(clock: ManualClock) -> None:
    limiter = RateLimiter(Rate(1, 2.0), clock=clock)
    assert await limiter.acquire() == 0.0
    assert await limiter.acquire() == pytest.approx(2.0, abs=1e-6)


async def test_concurrent_waiters_share_the_clock(clock: ManualClock) -> None:
    """The default sleep on a ManualClock sleeps *until*: five waiters move it once per slot."""
    limiter = RateLimiter(Rate(2, 1.0), clock=clock)  # default sleep: clock_sleep
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(clock.monotonic())

    await asyncio.gather(*(one() for _ in range(5)))
    assert len(times) == 5
    assert _most_in_any_window(times, 1.0) == 2
    assert clock.monotonic() == pytest.approx(2.0, abs=0.01)


async def test_idle_keys_are_dropped_and_live_ones_still_limited(clock: ManualClock) -> None:
    limiter = RateLimiter(Rate(1, 60.0, per_key=True), clock=clock, max_keys=2)
    for key in range(3):
        await limiter.acquire(key)
    clock.advance(61.0)  # keys 0..2 idle now
    await limiter.acquire("busy")
    await limiter.acquire(99)  # more than max_keys held: the idle ones are swept
    start = clock.monotonic()
    await limiter.acquire("busy")  # swept or not, its window still holds
    assert clock.monotonic() - start == pytest.approx(60.0, abs=0.01)


def test_rates_need_room_for_one_event() -> None:
    with pytest.raises(ValueError):
        Rate(0, 1.0)
    with pytest.raises(ValueError):
        Rate(1, 0.0)


async def test_clock_sleep_moves_the_manual_clock(clock: ManualClock) -> None:
    sleep = clock_sleep(clock)
    await sleep(1.5)
    assert clock.now() - START == dt.timedelta(seconds=1.5)
    await sleep(0.0)
    assert clock.now() - START == dt.timedelta(seconds=1.5)
