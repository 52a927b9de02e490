"""Update delivery: the pending updates in ``update_id`` order, getUpdates (long polling) and
the webhook settings as Telegram serves them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from sandbox.fake_telegram.protocol import (
    BAD_WEBHOOK_URL,
    WEBHOOK_ACTIVE,
    ApiError,
    JsonDict,
    Params,
    Reply,
)
from sandbox.fake_telegram.store import ChatStore

#: Update types Telegram leaves out unless a client asks for them in ``allowed_updates``.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: setWebhook's ``max_connections``: its default and its bounds, as on Telegram.
DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS_RANGE = (1, 100)
#: Telegram keeps an undelivered update this long, then drops it.
UPDATE_TTL_S = 24 * 3600


class UpdateQueue:
    """Pending updates, getUpdates long polling and the webhook settings."""

    def __init__(
        self, store: ChatStore, *, strict_allowed_updates: bool, first_update_id: int = 1
    ) -> None:
        self.store = store
        #: When true, chat_member (and reaction) updates reach getUpdates/webhook only if the
        #: client asked for them in allowed_updates, as on Telegram.
        self.strict_allowed_updates = strict_allowed_updates
        self.updates: list[JsonDict] = []  # pending, in update_id order
        self._last_update_id = first_update_id - 1
        self._max_pushed_id = first_update_id - 1
        #: When each pending update was pushed (world time, by update_id): for the 24 h expiry.
        self.pushed_at: dict[int, int] = {}
        self.allowed_updates: list[str] | None = None
        self.webhook: JsonDict = {
            "url": "",
            "secret_token": None,
            "max_connections": DEFAULT_MAX_CONNECTIONS,
        }
        self.webhook_errors: list[str] = []
        #: When the latest failed delivery happened (unix time), as getWebhookInfo reports it.
        self.webhook_last_error_date: int | None = None
        self._waiters: list[asyncio.Future[None]] = []
        #: the most updates pending at once so far (what getWebhookInfo's count peaked at)
        self.peak_pending = 0

    def record_webhook_error(self, message: str) -> None:
        """A delivery to the webhook failed: getWebhookInfo shows ``message`` and its time in
        ``last_error_message`` / ``last_error_date`` from now on (the newest failure wins)."""
        self.webhook_errors.append(message)
        self.webhook_last_error_date = self.store.now()

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates / webhook delivery; returns its update_id."""
        data = dict(update)
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or update_id <= self._max_pushed_id:
            update_id = self.new_update_id()  # ids only grow, as getUpdates offsets rely on
        else:
            self._last_update_id = max(self._last_update_id, update_id)
        self._max_pushed_id = update_id
        data["update_id"] = update_id
        self.pushed_at[update_id] = self.store.now()
        self.updates.append(data)
        self.peak_pending = max(self.peak_pending, len(self.updates))
        self.wake()
        return update_id

    def remove(self, update: Mapping[str, Any]) -> bool:
        """Take ``update`` (this very object) off the pending list: whether it was there."""
        kept = [u for u in self.updates if u is not update]
        if len(kept) == len(self.updates):
            return False
        self.updates = kept
        self.pushed_at.pop(update["update_id"], None)
        self.wake()
        return True

    def _forget_gone(self) -> None:
        """Keep push times only for the updates still pending."""
        if len(self.pushed_at) > len(self.updates):
            pending = {u["update_id"] for u in self.updates}
            self.pushed_at = {i: t for i, t in self.pushed_at.items() if i in pending}

    def is_pending(self, update: Mapping[str, Any]) -> bool:
        return any(u is update for u in self.updates)

    def expired(self, update: Mapping[str, Any]) -> bool:
        """Whether ``update`` waited longer than Telegram keeps an undelivered update."""
        pushed = self.pushed_at.get(update["update_id"])
        return pushed is not None and self.store.now() - pushed > UPDATE_TTL_S

    def pending_update_count(self) -> int:
        return len(self.updates)

    async def wait_for_updates(self, within_s: float) -> bool:
        """Wait until an update is pushed (True) or ``within_s`` seconds pass (False)."""
        if self.updates:
            return True
        return await self.wait_for_change(within_s)

    async def wait_for_change(self, within_s: float) -> bool:
        """Wait for the next pushed update or webhook change (True) or ``within_s`` (False)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            # asyncio.wait, not wait_for: Python 3.11's wait_for swallows a cancellation that
            # arrives as the future completes, and a delivery loop must stop when cancelled.
            done, _ = await asyncio.wait({future}, timeout=within_s)
            return bool(done)
        finally:
            if future in self._waiters:
                self._waiters.remove(future)

    def wanted(self, update: Mapping[str, Any]) -> bool:
        """Whether the client's allowed_updates let this update through."""
        kinds = [k for k in update if k != "update_id"]
        kind = kinds[0] if kinds else ""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return not (self.strict_allowed_updates and kind in OPT_IN_UPDATE_TYPES)

    def new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def wake(self) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()

    def get_updates(self, p: Params) -> Any:
        if self.webhook["url"]:
            raise ApiError(409, WEBHOOK_ACTIVE)
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed] or None
        offset = p.integer("offset")
        limit = max(1, min(100, p.integer("limit", 100) or 100))
        if offset is not None:
            if offset < 0:
                self.updates = self.updates[offset:]
            else:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
        unwanted = [u for u in self.updates if not self.wanted(u)]
        if unwanted:
            self.updates = [u for u in self.updates if self.wanted(u)]
        self._forget_gone()
        batch = self.updates[:limit]
        if not batch:
            reply = Reply.success([])
            reply.poll_s = p.number("timeout", 0.0)
            return reply
        return batch

    def set_webhook(self, p: Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise ApiError(400, BAD_WEBHOOK_URL)
        secret = p.text("secret_token")
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self.updates.clear()
            self.pushed_at.clear()
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed] or None
        low, high = MAX_CONNECTIONS_RANGE
        connections = p.integer("max_connections", DEFAULT_MAX_CONNECTIONS)
        connections = DEFAULT_MAX_CONNECTIONS if connections is None else connections
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max(low, min(high, connections)),
        }
        self.wake()
        return True

    def delete_webhook(self, p: Params) -> bool:
        if p.flag("drop_pending_updates"):
            self.updates.clear()
            self.pushed_at.clear()
        self.webhook = {
            "url": "",
            "secret_token": None,
            "max_connections": DEFAULT_MAX_CONNECTIONS,
        }
        self.wake()
        return True

    def max_connections(self) -> int:
        """The webhook's cap on requests in flight (setWebhook's ``max_connections``)."""
        value = self.webhook.get("max_connections")
        return value if isinstance(value, int) else DEFAULT_MAX_CONNECTIONS

    def get_webhook_info(self, p: Params) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook["url"]:
            info["max_connections"] = self.max_connections()
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
            if self.webhook_errors:
                info["last_error_date"] = self.webhook_last_error_date or self.store.now()
                info["last_error_message"] = self.webhook_errors[-1]
        return info
