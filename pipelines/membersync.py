"""Member-count sync, the async core (no Dagster): fetch counts concurrently and politely.

At most ``concurrency`` requests in flight and ``rate_per_s`` started per second; a RetryAfter
(any exception with a ``retry_after`` attribute, like aiogram's ``TelegramRetryAfter``) waits
the time Telegram asked for and retries; other errors fail that chat only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

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


class RateLimiter:
    """Spaces request starts at least ``1 / rate_per_s`` seconds apart."""

    def __init__(self, rate_per_s: float) -> None:
        self.interval = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


async def fetch_counts(
    targets: Sequence[SyncTarget],
    counter: MemberCounter,
    *,
    concurrency: int = 8,
    rate_per_s: float = 20.0,
    max_attempts: int = 3,
    max_retry_after_s: float = 60.0,
) -> list[SyncOutcome]:
    """One outcome per target, in the order given. Never raises for a single chat's failure."""
    semaphore = asyncio.Semaphore(concurrency)
    limiter = RateLimiter(rate_per_s)

    async def one(target: SyncTarget) -> SyncOutcome:
        outcome = SyncOutcome(target.chat_id, target.kind)
        async with semaphore:
            while outcome.attempts < max_attempts:
                await limiter.wait()
                outcome.attempts += 1
                try:
                    outcome.count = int(await counter(target.chat_id))
                    outcome.error = None
                    return outcome
                except Exception as exc:  # one chat's failure must not stop the others
                    outcome.error = f"{type(exc).__name__}: {exc}"[:300]
                    retry_after = getattr(exc, "retry_after", None)
                    if retry_after is None:
                        return outcome
                    outcome.retry_after_waits += 1
                    await asyncio.sleep(min(float(retry_after), max_retry_after_s))
        return outcome

    return list(await asyncio.gather(*(one(t) for t in targets)))
