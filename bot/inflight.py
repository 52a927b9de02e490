"""Updates still being handled: shutdown waits for them before it closes the writers.

aiogram's polling runs each update as a task of its own and does not wait for those tasks when
it stops; a handler still running would then queue a state write or send a message after the
writers and the session are closed. :class:`InFlight`, an update outer middleware, counts the
updates in progress, and :meth:`BotRuntime.close` waits until none is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Counts the updates being handled; :meth:`idle` waits until there are none."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def idle(self, timeout_s: float) -> bool:
        """Wait until no update is being handled, for up to ``timeout_s``; True when idle."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self.count == 0
