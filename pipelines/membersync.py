"""Member-count sync, the async core (no Dagster): fetch counts concurrently and politely.

At most ``concurrency`` requests in flight and ``rate_per_s`` started per second; a RetryAfter
(any exception with a ``retry_after`` attribute, like aiogram's ``TelegramRetryAfter``) waits
the time Telegram asked for and retries; other errors fail that chat only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.clock import Clock, SystemClock
from core.ratelimit import Rate, RateLimiter
from core.retry import Retry, RetryPolicy
from core.sleep import Sleep, sleep_for

MemberCounter = Callable[[int], Awaitable[int]]


@dataclass(frozen=True)
class SyncTarget:
    chat_id: int
    kind: str  # "group" | "channel"


@dataclass
class SyncOutcome:
    chat_id: int
    kind: str
    count: int | None = None
    error: str | None = None
    attempts: int = 0
    retry_after_waits: int = 0

    @property
    def ok(self) -> bool:
        return self.count is not None


def _retry_after_s(exc: Exception, cap_s: float) -> float | None:
    """The wait Telegram asked for (capped), or ``None`` when ``exc`` is not a RetryAfter."""
    retry_after = getattr(exc, "retry_after", None)
    return None if retry_after is None else min(float(retry_after), cap_s)


async def fetch_counts(
    targets: Sequence[SyncTarget],
    counter: MemberCounter,
    *,
    concurrency: int = 8,
    rate_per_s: float = 20.0,
    max_attempts: int = 3,
    max_retry_after_s: float = 60.0,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
) -> list[SyncOutcome]:
    """One outcome per target, in the order given. Never raises for a single chat's failure.

    Request starts are spaced on ``clock`` (default: the system clock) and every wait goes
    through ``sleep`` (default: the clock's, see :func:`core.sleep.sleep_for`).
    """
    clock = clock or SystemClock()
    sleep = sleep if sleep is not None else sleep_for(clock)
    semaphore = asyncio.Semaphore(concurrency)
    limiter = RateLimiter(Rate(1, 1.0 / rate_per_s), clock=clock, sleep=sleep)

    def retry_after(exc: Exception, retry: int) -> float | None:
        return _retry_after_s(exc, max_retry_after_s)

    async def one(target: SyncTarget) -> SyncOutcome:
        outcome = SyncOutcome(target.chat_id, target.kind)

        async def attempt() -> int:
            await limiter.acquire()
            outcome.attempts += 1
            return int(await counter(target.chat_id))

        async def wait_out(seconds: float) -> None:
            outcome.retry_after_waits += 1
            await sleep(seconds)

        if max_attempts < 1:
            return outcome
        policy = RetryPolicy(Retry(Exception, max_attempts - 1, retry_after), sleep=wait_out)
        async with semaphore:
            try:
                outcome.count = await policy.call(attempt)
            except Exception as exc:  # one chat's failure must not stop the others
                outcome.error = f"{type(exc).__name__}: {exc}"[:300]
                # a RetryAfter that ends the attempts is still waited out before the slot is
                # freed: the next chat would only meet the same flood limit
                last_wait = _retry_after_s(exc, max_retry_after_s)
                if last_wait is not None:
                    await wait_out(last_wait)
        return outcome

    return list(await asyncio.gather(*(one(t) for t in targets)))
