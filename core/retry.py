"""One retry policy (tenacity) for calls to Telegram, from the bot and from the pipelines, and
for waiting on the database.

A policy is a list of :class:`Retry` rules, one per kind of fault worth another attempt: which
exceptions it covers, how many retries of them one call may make, and how long to wait before
each (or ``None``: this one is not worth retrying). A fault no rule covers, or whose rule has
run out or declines, is raised as it is. Each rule keeps its own count, so a call may spend its
429 budget and its 5xx budget independently.

Waits go through the injected ``sleep`` (see :mod:`core.sleep`): tests and simulations on a
ManualClock wait on that clock, not on the wall. ::

    policy = RetryPolicy(Retry(TimeoutError, 2, lambda fault, n: 0.5 * 2 ** (n - 1)), sleep=sleep)
    count = await policy.call(lambda: bot.get_chat_member_count(chat_id))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_never

from core.sleep import Sleep

E = TypeVar("E", bound=BaseException)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Retry(Generic[E]):
    """Retry faults of type ``on`` up to ``times`` times per call, waiting ``wait(fault, n)``
    seconds before the n-th retry (1-based); a ``None`` wait gives up at once."""

    on: type[E] | tuple[type[E], ...]
    times: int
    wait: Callable[[E, int], float | None]


class _Attempts:
    """One call's retry decisions: tenacity asks ``retry`` after a failed attempt, then ``wait``."""

    def __init__(self, rules: tuple[Retry[Any], ...]) -> None:
        self.rules = rules
        self.used = [0] * len(rules)
        self.upcoming = 0.0

    def retry(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        fault = outcome.exception() if outcome is not None and outcome.failed else None
        if fault is None:
            return False
        for index, rule in enumerate(self.rules):
            if not isinstance(fault, rule.on):
                continue
            if self.used[index] >= rule.times:
                return False
            seconds = rule.wait(fault, self.used[index] + 1)
            if seconds is None:
                return False
            self.used[index] += 1
            self.upcoming = seconds
            return True
        return False

    def wait(self, state: RetryCallState) -> float:
        return self.upcoming


class RetryPolicy:
    """Rules and the ``sleep`` their waits go through; :meth:`call` runs a call under them."""

    __slots__ = ("rules", "sleep")

    def __init__(self, *rules: Retry[Any], sleep: Sleep) -> None:
        self.rules = rules
        self.sleep = sleep

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()``, retried as the rules say. The call's own exception is raised when no
        retry follows (never tenacity's ``RetryError``)."""
        # The first attempt runs outside tenacity, whose machinery costs about 0.1 ms a call:
        # a call that succeeds (nearly every one) does not pay for it. A failure that a rule
        # may retry is handed to tenacity as the outcome of its own first attempt.
        try:
            return await fn()
        except BaseException as exc:
            if not any(isinstance(exc, rule.on) and rule.times > 0 for rule in self.rules):
                raise
            first: BaseException | None = exc

        async def attempt() -> T:
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            return await fn()

        attempts = _Attempts(self.rules)  # one per call: it counts that call's retries
        retrying = AsyncRetrying(
            sleep=self.sleep,
            retry=attempts.retry,
            wait=attempts.wait,
            stop=stop_never,
            reraise=True,
        )
        result: T = await retrying(attempt)
        return result


__all__ = ["Retry", "RetryPolicy"]
