"""Webhook delivery as Telegram does it: the fake POSTs pending updates to the webhook URL.

The rules (Bot API docs; the Bot API server's maintainers in its issues):

- at most ``max_connections`` requests in flight (setWebhook's parameter, default 40);
- the updates of one chat go one at a time, in ``update_id`` order: the next one of that chat
  only after the previous one was answered 2xx, while other chats proceed (updates without a
  chat are ordered by their sender, and those without either go on their own);
- a non-2xx answer, a failed connection or no answer within the delivery timeout (Telegram's is
  60 s) is retried with back-off; until delivered the update counts in ``pending_update_count``
  and getWebhookInfo shows the failure in ``last_error_date`` / ``last_error_message``;
- an update older than 24 h (by the world's clock) is dropped undelivered;
- a JSON answer naming a ``method`` is executed, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Hashable, Mapping
from typing import Any

import aiohttp

from sandbox.fake_telegram.delivery import UpdateQueue
from sandbox.fake_telegram.protocol import JsonDict
from sandbox.fake_telegram.world import FakeWorld, serve_call

log = logging.getLogger("gatepulse.fake_telegram.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: How long Telegram waits for the webhook's answer before it closes the request and retries.
TELEGRAM_TIMEOUT_S = 60.0
#: Idle re-check of the pending list (the world's clock may move without any update pushed).
_IDLE_CHECK_S = 1.0


def order_key(update: Mapping[str, Any]) -> Hashable:
    """What an update is ordered by: its chat, else its sender, else nothing but itself."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, Mapping):
            continue
        chat = payload.get("chat")
        if not isinstance(chat, Mapping):
            message = payload.get("message")
            chat = message.get("chat") if isinstance(message, Mapping) else None
        if isinstance(chat, Mapping) and "id" in chat:
            return ("chat", chat["id"])
        sender = payload.get("from") or payload.get("user")
        if isinstance(sender, Mapping) and "id" in sender:
            return ("user", sender["id"])
    return ("update", update.get("update_id"))


class _Slots:
    """At most ``limit()`` holders at once; the limit is read afresh (setWebhook may change it)."""

    def __init__(self, limit: Any) -> None:
        self._limit = limit
        self._held = 0
        self._changed = asyncio.Condition()

    @property
    def held(self) -> int:
        return self._held

    @contextlib.asynccontextmanager
    async def hold(self) -> Any:
        async with self._changed:
            await self._changed.wait_for(lambda: self._held < self._limit())
            self._held += 1
        try:
            yield
        finally:
            async with self._changed:
                self._held -= 1
                self._changed.notify_all()


class WebhookDeliverer:
    """Deliver ``world``'s pending updates to its webhook until cancelled (:meth:`run`).

    ``timeout_s`` is the delivery timeout (Telegram's 60 s); a failed delivery is retried after
    ``retry_s``, doubling up to ``max_retry_s``.
    """

    def __init__(
        self,
        world: FakeWorld,
        *,
        timeout_s: float = TELEGRAM_TIMEOUT_S,
        retry_s: float = 0.2,
        max_retry_s: float = 5.0,
    ) -> None:
        self.world = world
        self.queue: UpdateQueue = world.queue
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self.slots = _Slots(self.queue.max_connections)
        self._busy: set[Hashable] = set()  # order keys with an update being delivered
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None

    @property
    def in_flight(self) -> int:
        """Requests open to the webhook right now."""
        return self.slots.held

    async def run(self) -> None:
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
        )
        try:
            while True:
                self._start_ready()
                await self.queue.wait_for_change(_IDLE_CHECK_S)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._client.close()
            self._client = None

    def _start_ready(self) -> None:
        """Drop what Telegram would drop; start a delivery for the head of each idle chat."""
        queue = self.queue
        if not queue.webhook["url"]:
            return  # getUpdates serves the pending list: leave it as it is
        stale = [u for u in queue.updates if not queue.wanted(u) or queue.expired(u)]
        for update in stale:
            if queue.expired(update):
                log.info("update %s expired undelivered", update["update_id"])
            queue.remove(update)
        seen: set[Hashable] = set()
        for update in queue.updates:
            key = order_key(update)
            if key in seen:
                continue
            seen.add(key)
            if key in self._busy:
                continue
            self._busy.add(key)
            task = asyncio.create_task(self._deliver(update, key), name="fake-tg-webhook-update")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: JsonDict, key: Hashable) -> None:
        """Post ``update`` until it is answered 2xx, dropped, or the webhook is removed."""
        backoff = self.retry_s
        try:
            while self.queue.is_pending(update) and self.queue.webhook["url"]:
                if self.queue.expired(update):
                    self.queue.remove(update)
                    return
                async with self.slots.hold():
                    delivered = await self._post(self.queue.webhook["url"], update)
                if delivered:
                    self.queue.remove(update)
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_retry_s)
        finally:
            self._busy.discard(key)
            self.queue.wake()

    async def _post(self, url: str, update: JsonDict) -> bool:
        assert self._client is not None
        headers = {}
        secret = self.queue.webhook.get("secret_token")
        if secret:
            headers[SECRET_HEADER] = secret
        try:
            async with self._client.post(url, json=update, headers=headers) as resp:
                body = await resp.read()
                status, reason, content_type = resp.status, resp.reason, resp.content_type
        except TimeoutError:
            self.queue.record_webhook_error("Read timeout expired")
            return False
        except aiohttp.ClientConnectorError:
            self.queue.record_webhook_error("Connection refused")
            return False
        except aiohttp.ClientError as exc:
            self.queue.record_webhook_error(f"Connection error: {type(exc).__name__}")
            return False
        if not 200 <= status < 300:
            text = f"{status} {reason}" if reason else str(status)
            self.queue.record_webhook_error(f"Wrong response from the webhook: {text}")
            return False
        if content_type == "application/json" and body:
            await self._run_reply_method(body)
        return True

    async def _run_reply_method(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            params = {k: v for k, v in data.items() if k != "method"}
            await serve_call(self.world, data["method"], params)
