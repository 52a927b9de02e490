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

:attr:`WebhookDeliverer.records` keeps what each delivery went through (its attempts, how long
the answer that delivered it took, or that it expired undelivered): what a rehearsal reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Attempt:
    """One POST of an update: when it started (``time.monotonic()``), how long it took, and
    how it ended (the HTTP status as text, e.g. ``"200"``, or the error getWebhookInfo shows)."""

    started: float
    seconds: float
    outcome: str

    @property
    def ok(self) -> bool:
        return self.outcome.isdigit() and 200 <= int(self.outcome) < 300


@dataclass(slots=True)
class DeliveryRecord:
    """What the delivery of one update went through."""

    update_id: int
    attempts: list[Attempt] = field(default_factory=list)
    #: when the update was dropped undelivered (older than 24 h), ``time.monotonic()``
    expired_at: float | None = None

    @property
    def delivered(self) -> Attempt | None:
        """The attempt answered 2xx, if any (it is the last one)."""
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.ok else None


class DeliveryRecords:
    """Every update's :class:`DeliveryRecord` (by ``update_id``), and figures over them."""

    def __init__(self) -> None:
        self.by_id: dict[int, DeliveryRecord] = {}

    def get(self, update_id: int) -> DeliveryRecord:
        record = self.by_id.get(update_id)
        if record is None:
            record = self.by_id[update_id] = DeliveryRecord(update_id)
        return record

    def attempt(self, update_id: int, started: float, outcome: str) -> None:
        seconds = time.monotonic() - started
        self.get(update_id).attempts.append(Attempt(started, seconds, outcome))

    def expired(self, update_id: int) -> None:
        self.get(update_id).expired_at = time.monotonic()

    def delivered_ids(self) -> set[int]:
        return {i for i, r in self.by_id.items() if r.delivered is not None}

    def expired_ids(self) -> set[int]:
        return {i for i, r in self.by_id.items() if r.expired_at is not None}

    def retried_ids(self) -> set[int]:
        """The updates posted more than once (a failed attempt, then another)."""
        return {i for i, r in self.by_id.items() if len(r.attempts) > 1}

    def answer_times(self, *, excluding: Iterable[tuple[float, float]] = ()) -> list[float]:
        """Seconds each delivering answer took, leaving out deliveries that started within one
        of the ``excluding`` windows (``time.monotonic()`` start, end)."""
        windows = list(excluding)
        return [
            ok.seconds
            for r in self.by_id.values()
            if (ok := r.delivered) is not None
            and not any(start <= ok.started <= end for start, end in windows)
        ]

    def answer_percentiles(
        self, *, excluding: Iterable[tuple[float, float]] = ()
    ) -> tuple[float, float] | None:
        """p50 and p99 of :meth:`answer_times` in seconds; ``None`` without two deliveries."""
        times = self.answer_times(excluding=excluding)
        if len(times) < 2:
            return None
        cuts = statistics.quantiles(times, n=100, method="inclusive")
        return cuts[49], cuts[98]


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
        self.records = DeliveryRecords()

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
                self.records.expired(update["update_id"])
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
                    self.records.expired(update["update_id"])
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
        started = time.monotonic()
        update_id = update["update_id"]
        try:
            async with self._client.post(url, json=update, headers=headers) as resp:
                body = await resp.read()
                status, reason, content_type = resp.status, resp.reason, resp.content_type
        except TimeoutError:
            return self._failed(update_id, started, "Read timeout expired")
        except aiohttp.ClientConnectorError:
            return self._failed(update_id, started, "Connection refused")
        except aiohttp.ClientError as exc:
            return self._failed(update_id, started, f"Connection error: {type(exc).__name__}")
        self.records.attempt(update_id, started, str(status))
        if not 200 <= status < 300:
            text = f"{status} {reason}" if reason else str(status)
            self.queue.record_webhook_error(f"Wrong response from the webhook: {text}")
            return False
        if content_type == "application/json" and body:
            await self._run_reply_method(body)
        return True

    def _failed(self, update_id: int, started: float, message: str) -> bool:
        self.records.attempt(update_id, started, message)
        self.queue.record_webhook_error(message)
        return False

    async def _run_reply_method(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            params = {k: v for k, v in data.items() if k != "method"}
            await serve_call(self.world, data["method"], params)
