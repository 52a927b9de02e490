"""Throttles ("at most once per N seconds per key"), shared by every replica through Redis.

The gate posts at most one prompt per (user, group) per ``GATE_PROMPT_THROTTLE_S``. With
several replicas a per-process throttle lets each one prompt once: the shared throttle claims
``<purpose>:<part>:...`` with ``SET NX PX``, so one replica wins the window. The in-process
map is kept in step and decides alone while Redis is down
(:class:`bot.storage.shared.client.RedisDown`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable

from bot.storage.shared.client import RedisDown, SharedRedis
from core.clock import Clock
from core.expiring import ExpiringMap


class Throttle:
    """``await first(key)``: ``True`` when nothing was done for ``key`` within ``ttl_s`` (and
    the window starts now); ``await forget(key)`` reopens it."""

    def __init__(
        self,
        clock: Clock,
        ttl_s: float,
        *,
        max_entries: int,
        shared: SharedRedis | None = None,
        purpose: str = "throttle",
    ) -> None:
        self.ttl_s = ttl_s
        self.shared = shared
        self.purpose = purpose
        self.local: ExpiringMap[Hashable, bool] = ExpiringMap(
            clock.monotonic, ttl_s, max_entries=max_entries
        )

    def _key(self, key: Hashable) -> str:
        assert self.shared is not None
        parts = key if isinstance(key, tuple) else (key,)
        return self.shared.key(self.purpose, *parts)

    async def first(self, key: Hashable) -> bool:
        if self.ttl_s <= 0:
            return True
        local_first = key not in self.local
        self.local.set(key, True)
        if self.shared is not None:
            name, ttl_ms = self._key(key), max(1, int(self.ttl_s * 1000))
            try:
                return bool(await self.shared.run(lambda r: r.set(name, b"1", nx=True, px=ttl_ms)))
            except RedisDown:
                pass
        return local_first

    async def forget(self, key: Hashable) -> None:
        self.local.discard(key)
        if self.shared is not None:
            name = self._key(key)
            with contextlib.suppress(RedisDown):
                await self.shared.run(lambda r: r.delete(name))

    def __contains__(self, key: Hashable) -> bool:
        """Throttled in this process's memory (inspection)."""
        return key in self.local

    def clear(self) -> None:
        """Forget this process's memory (tests)."""
        self.local.clear()


__all__ = ["Throttle"]
