"""The one retry policy: budgets per kind of fault, waits through the injected sleep, the call's
own exception when it gives up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import pytest

from core.retry import Retry, RetryPolicy


class Flaky:
    """Raises the given faults in order, then returns ``"ok"``; counts attempts."""

    def __init__(self, faults: Iterable[BaseException]) -> None:
        self.faults = list(faults)
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.faults:
            raise self.faults.pop(0)
        return "ok"


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}")
        self.retry_after = retry_after


def _backoff(fault: BaseException, n: int) -> float:
    return 0.5 * 2.0 ** (n - 1)


def _asked(fault: RateLimited, n: int) -> float | None:
    return None if fault.retry_after > 60 else fault.retry_after


async def test_a_call_that_succeeds_is_not_retried() -> None:
    waits = Waits()
    flaky = Flaky([])
    policy = RetryPolicy(Retry(ConnectionError, 3, _backoff), sleep=waits)
    assert await policy.call(flaky) == "ok"
    assert flaky.attempts == 1 and waits.waits == []


async def test_faults_are_retried_with_the_rule_waits() -> None:
    waits = Waits()
    flaky = Flaky([ConnectionError(), ConnectionError(), ConnectionError()])
    policy = RetryPolicy(Retry(ConnectionError, 3, _backoff), sleep=waits)
    assert await policy.call(flaky) == "ok"
    assert flaky.attempts == 4
    assert waits.waits == [0.5, 1.0, 2.0]  # n counts this rule's retries from 1


async def test_when_the_budget_runs_out_the_fault_itself_is_raised() -> None:
    waits = Waits()
    faults = [RateLimited(1), RateLimited(2), RateLimited(3)]
    flaky = Flaky(faults)
    policy = RetryPolicy(Retry(RateLimited, 2, _asked), sleep=waits)
    with pytest.raises(RateLimited) as info:
        await policy.call(flaky)
    assert info.value is faults[2]
    assert flaky.attempts == 3 and waits.waits == [1, 2]


async def test_a_rule_may_decline_a_fault() -> None:
    waits = Waits()
    flaky = Flaky([RateLimited(3600)])
    policy = RetryPolicy(Retry(RateLimited, 3, _asked), sleep=waits)
    with pytest.raises(RateLimited):
        await policy.call(flaky)
    assert flaky.attempts == 1 and waits.waits == []


async def test_faults_no_rule_covers_are_raised_at_once() -> None:
    waits = Waits()
    for fault in (ValueError("bad"), asyncio.CancelledError()):
        flaky = Flaky([fault])
        policy = RetryPolicy(Retry(ConnectionError, 3, _backoff), sleep=waits)
        with pytest.raises(type(fault)):
            await policy.call(flaky)
        assert flaky.attempts == 1
    assert waits.waits == []
    zero = RetryPolicy(Retry(ConnectionError, 0, _backoff), sleep=waits)
    with pytest.raises(ConnectionError):
        await zero.call(Flaky([ConnectionError()]))
    assert waits.waits == []


async def test_each_rule_keeps_its_own_budget() -> None:
    waits = Waits()
    flaky = Flaky(
        [ConnectionError(), RateLimited(5), RateLimited(5), ConnectionError(), RateLimited(7)]
    )
    policy = RetryPolicy(
        Retry(RateLimited, 3, _asked), Retry(ConnectionError, 1, _backoff), sleep=waits
    )
    with pytest.raises(ConnectionError):  # the second one: its rule allows one retry
        await policy.call(flaky)
    assert flaky.attempts == 4 and waits.waits == [0.5, 5, 5]
    flaky = Flaky([ConnectionError(), RateLimited(5), RateLimited(5), RateLimited(7)])
    assert await policy.call(flaky) == "ok"
    assert flaky.attempts == 5


async def test_the_first_rule_that_covers_a_fault_decides() -> None:
    waits = Waits()
    policy = RetryPolicy(Retry(RateLimited, 0, _asked), Retry(Exception, 5, _backoff), sleep=waits)
    with pytest.raises(RateLimited):
        await policy.call(Flaky([RateLimited(1)]))
    assert waits.waits == []


async def test_every_call_starts_with_a_full_budget() -> None:
    waits = Waits()
    policy = RetryPolicy(Retry(ConnectionError, 1, _backoff), sleep=waits)
    calls: list[Callable[[], Awaitable[str]]] = [Flaky([ConnectionError()]) for _ in range(3)]
    assert await asyncio.gather(*(policy.call(c) for c in calls)) == ["ok"] * 3
    assert waits.waits == [0.5] * 3
