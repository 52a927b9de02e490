"""The update claim, as an update outer middleware: each update handled once across replicas
(:class:`bot.storage.updates.UpdateLedger`).

Registered first, so that nothing runs for an update this attempt does not hold. A ``done``
update is skipped (the webhook answers 200); a ``busy`` one (another replica holds its lease)
is skipped and, in webhook mode, answered 503 with ``Retry-After`` (:func:`busy_answers_503`),
so that Telegram delivers it again later rather than waiting here; a ``won`` one is handled
under a lease renewed every third of ``BOT_UPDATE_LEASE_S``, then recorded as done. An attempt
that raises or is cancelled releases its lease and drops its held raw rows: the redelivery
does the work again, in full. In polling mode (no redelivery) a handler's error still records
the update as done, with its rows, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import web

from bot.storage.updates import Attempt, UpdateLedger

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

#: Seconds Telegram is asked to wait before delivering a busy update again.
RETRY_AFTER_S = 1


@dataclass
class _Request:
    """One webhook request; the middleware marks it busy (shared by reference with the task
    aiogram handles the update in)."""

    busy: bool = False


_request: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "gatepulse_webhook_request", default=None
)


@web.middleware
async def busy_answers_503(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp middleware of the webhook: 503 for an update another replica is handling."""
    box = _Request()
    token = _request.set(box)
    try:
        response = await handler(request)
    finally:
        _request.reset(token)
    if box.busy:
        return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    return response


class UpdateClaims(BaseMiddleware):
    """Claim each update before anything else handles it (see the module's docstring)."""

    def __init__(self, ledger: UpdateLedger, *, redelivered: bool) -> None:
        """``redelivered``: Telegram delivers a failed update again (webhook mode)."""
        self.ledger = ledger
        self.redelivered = redelivered
        #: updates skipped: handled already, held by another replica
        self.skipped_done = 0
        self.skipped_busy = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        answer, attempt = await self.ledger.claim(event.update_id)
        if attempt is None:
            self._skip(event.update_id, answer)
            return None
        token = self.ledger.enter(attempt)
        # a timer, not a task per update: most updates are done long before the first renewal,
        # and a timer costs a fraction of a task to make and cancel
        renewal: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self.ledger.lease_s / 3,
            lambda: renewal.append(asyncio.create_task(self._renew(attempt))),
        )
        try:
            result = await handler(event, data)
        except asyncio.CancelledError:
            await self._fail(attempt)
            raise
        except Exception:
            if self.redelivered:
                await self._fail(attempt)
                box = _request.get()
                if box is not None:  # answered 503 (the error is logged and swallowed
                    box.busy = True  # outside): Telegram delivers it again
            else:
                await self.ledger.succeeded(attempt)
            raise
        else:
            await self.ledger.succeeded(attempt)
            return result
        finally:
            timer.cancel()
            for task in renewal:
                task.cancel()
            self.ledger.leave(token)

    def _skip(self, update_id: int, answer: str) -> None:
        if answer == "done":
            self.skipped_done += 1
            log.info("update %s was handled already: skipped", update_id)
            return
        self.skipped_busy += 1
        box = _request.get()
        if box is not None:
            box.busy = True
        log.info("update %s is being handled by another replica: retry later", update_id)

    async def _fail(self, attempt: Attempt) -> None:
        # shielded: a cancelled attempt still releases its lease
        with contextlib.suppress(Exception):
            await asyncio.shield(self.ledger.failed(attempt))

    async def _renew(self, attempt: Attempt) -> None:
        """Renew now (a third of the lease has passed), then every third of the lease."""
        while True:
            if not await self.ledger.renew(attempt):
                log.warning("update %s: its lease was lost mid-work", attempt.update_id)
                return
            await asyncio.sleep(self.ledger.lease_s / 3)
