"""Updates still being handled: shutdown waits for them before it closes the writers.

aiogram's polling runs each update as a task of its own and does not wait for those tasks when
it stops; a handler still running would then queue a state write or send a message after the
writers and the session are closed. :class:`InFlight`, an update outer middleware, counts the
updates in progress, and :meth:`BotRuntime.close` waits until none is left. A handler that
leaves work to run after its update is answered (a raid's batch of mutes: the webhook answers
Telegram in time) hands it to :meth:`InFlight.track` (handlers receive the middleware as
``inflight``), and it counts as an update in progress until it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

#: Loop turns :meth:`InFlight.idle` yields first, so that tasks created but not yet started
#: reach the middleware (a few turns cover the awaits aiogram runs before it).
STARTUP_YIELDS = 5

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Counts the updates being handled; :meth:`idle` waits until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._begin()
        data["inflight"] = self
        try:
            return await handler(event, data)
        finally:
            self._end()

    def track(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in a task of its own, counted as in progress until it ends (its
        exception, if any, is logged: nobody awaits it)."""
        self._begin()
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._end()
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background work failed: %s", type(exc).__name__, exc_info=exc)

    def _begin(self) -> None:
        self.count += 1
        self._idle.clear()

    def _end(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def idle(self, timeout_s: float) -> bool:
        """Wait until no update is being handled, for up to ``timeout_s``; True when idle.

        Polling hands each update to a task of its own: a task created just before shutdown
        has not started yet, so first let the loop run the tasks that are ready (an update
        whose task has started is counted from then on).
        """
        for _ in range(STARTUP_YIELDS):
            await asyncio.sleep(0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self.count == 0
