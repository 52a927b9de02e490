"""The member-count sync's async core: concurrency, request spacing and RetryAfter, all on a
ManualClock (no test waits for real)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest

from core.clock import ManualClock
from core.sleep import RecordedSleep, clock_sleep
from pipelines.membersync import SyncTarget, fetch_counts
from tests.support.waiting import eventually

START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
TARGETS = [SyncTarget(-1001000000000 - n, "group" if n % 2 else "channel") for n in range(12)]


class RetryAfter(Exception):
    """Shaped like aiogram's TelegramRetryAfter: only ``retry_after`` matters to the sync."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too Many Requests: retry after {retry_after}")
        self.retry_after = retry_after


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def test_counts_come_back_in_target_order(clock: ManualClock) -> None:
    async def counter(chat_id: int) -> int:
        return -chat_id % 1000

    outcomes = await fetch_counts(TARGETS, counter, clock=clock)  # waits: on the clock
    assert [(o.chat_id, o.kind) for o in outcomes] == [(t.chat_id, t.kind) for t in TARGETS]
    assert [o.count for o in outcomes] == list(range(12))
    assert all(o.ok and o.attempts == 1 and o.error is None for o in outcomes)


async def test_at_most_concurrency_requests_in_flight(clock: ManualClock) -> None:
    in_flight = 0
    most = 0
    release = asyncio.Event()

    async def counter(chat_id: int) -> int:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return 1

    sync = asyncio.ensure_future(
        fetch_counts(TARGETS, counter, concurrency=3, rate_per_s=1000, clock=clock)
    )
    await eventually(lambda: in_flight == 3, what=lambda: f"{in_flight} in flight")
    release.set()
    outcomes = await sync
    assert most == 3 and all(o.ok for o in outcomes)


async def test_request_starts_are_spaced_by_the_rate(clock: ManualClock) -> None:
    started: list[float] = []

    async def counter(chat_id: int) -> int:
        started.append(clock.monotonic())
        return 1

    waits = RecordedSleep(clock_sleep(clock))
    await fetch_counts(TARGETS, counter, concurrency=4, rate_per_s=20, clock=clock, sleep=waits)
    assert len(started) == len(TARGETS)
    gaps = [b - a for a, b in itertools.pairwise(sorted(started))]
    assert min(gaps) >= 0.05 - 1e-9  # 20 a second: 50 ms apart, on the ManualClock
    assert max(started) < 0.05 * len(TARGETS)


async def test_retry_after_is_waited_out_and_retried(clock: ManualClock) -> None:
    answers: dict[int, list[int | Exception]] = {
        TARGETS[0].chat_id: [RetryAfter(3), 42],
        TARGETS[1].chat_id: [RetryAfter(2), RetryAfter(2), RetryAfter(500)],
        TARGETS[2].chat_id: [ValueError("chat not found"), 7],
    }

    async def counter(chat_id: int) -> int:
        answer = answers[chat_id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waits = RecordedSleep(clock_sleep(clock))
    first, flooded, broken = await fetch_counts(
        TARGETS[:3], counter, max_retry_after_s=60.0, clock=clock, sleep=waits
    )
    assert (first.count, first.attempts, first.retry_after_waits) == (42, 2, 1)
    # three attempts, each RetryAfter waited out (capped at 60 s), the last one too
    assert (flooded.count, flooded.attempts, flooded.retry_after_waits) == (None, 3, 3)
    assert flooded.error == "RetryAfter: Too Many Requests: retry after 500"
    # any other error fails that chat at once, the others go on
    assert (broken.count, broken.attempts, broken.retry_after_waits) == (None, 1, 0)
    assert broken.error == "ValueError: chat not found"
    assert sorted(w for w in waits.waits if w >= 1) == [2.0, 2.0, 3.0, 60.0]
