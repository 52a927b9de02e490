"""Waiting for background work in tests: poll a condition until it holds, with a deadline.

Never ``sleep(x)`` and then assert that something happened in the background meanwhile: on a
loaded machine x is never enough, and on an idle one it is wasted time. Poll instead::

    await eventually(lambda: writer.stats.spooled > 0, within=20)

``check`` may be a plain function or return an awaitable (an ``async def``). The deadline is
only a bound for a failing test: a passing test waits exactly as long as the work takes. On
timeout the ``AssertionError`` names ``what`` (or the check; a callable ``what`` is called then,
to describe the state reached) and the last value the check returned.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_WITHIN_S = 20.0
DEFAULT_INTERVAL_S = 0.02
#: A description for the failure message, or a function returning one (called on failure).
What = str | Callable[[], str] | None


def _describe(check: Callable[..., Any], what: What) -> str:
    if callable(what):
        return what()
    return what or getattr(check, "__qualname__", None) or repr(check)


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    within: float = DEFAULT_WITHIN_S,
    *,
    interval: float = DEFAULT_INTERVAL_S,
    what: What = None,
) -> T:
    """Await until ``check()`` is truthy; return that value. Fails after ``within`` seconds.

    The check runs once more after the deadline has passed, so a slow event loop that only
    resumed this coroutine late cannot fail a condition that did come true.
    """
    deadline = time.monotonic() + within
    while True:
        expired = time.monotonic() > deadline
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if expired:
            raise AssertionError(
                f"{_describe(check, what)} not reached within {within:g} s (last: {value!r})"
            )
        await asyncio.sleep(interval)


__all__ = ["eventually"]
