"""The membership cache: "is user U a member of channel C?" answers with a lifetime.

The gate asks Telegram (getChatMember) only on a miss. Members are remembered longer than
non-members (a non-member is expected to join soon), each lifetime gets a random jitter so
that entries written together do not all expire together, and the size is bounded (least
recently used entries go first).

:class:`MembershipCache` is the small interface the gate uses. :class:`InMemoryMembershipCache`
serves one process; a shared implementation (Redis: ``SET key 0|1 PX ttl`` per entry and a
per-user set for :meth:`invalidate_user`) can serve several bot replicas behind the same
methods. Every method is ``async`` so that such a network-backed cache fits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from core.clock import Clock, SystemClock
from core.expiring import ExpiringMap
from core.settings import GateSettings


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class MembershipCache(Protocol):
    """Cached membership answers per (user, channel)."""

    stats: CacheStats

    async def get(self, user_id: int, channel_id: int) -> bool | None:
        """``True``/``False`` when a live answer is cached, ``None`` on a miss."""

    async def set(self, user_id: int, channel_id: int, is_member: bool) -> None:
        """Remember an answer (lifetime depends on the answer)."""

    async def invalidate(self, user_id: int, channel_id: int) -> None:
        """Forget one answer."""

    async def invalidate_user(self, user_id: int) -> None:
        """Forget every answer about one user."""

    async def clear(self) -> None:
        """Forget everything."""


class InMemoryMembershipCache:
    """A bounded LRU of (user, channel) -> is_member (:class:`core.expiring.ExpiringMap`) on
    the injected clock."""

    def __init__(
        self,
        settings: GateSettings,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.member_ttl_s = settings.cache_member_ttl_s
        self.non_member_ttl_s = settings.cache_non_member_ttl_s
        self.jitter = settings.cache_jitter
        self.max_entries = settings.cache_max_entries
        self.clock: Clock = clock or SystemClock()
        self.stats = CacheStats()
        self._rng = random.Random(seed)
        self._entries: ExpiringMap[tuple[int, int], bool] = ExpiringMap(
            self.clock.monotonic,
            self.member_ttl_s,
            max_entries=self.max_entries,
            on_evict=self._evicted,
        )
        self._by_user: dict[int, set[int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def ttl_for(self, is_member: bool) -> float:
        """A lifetime for one answer: the base TTL times a factor in [1 - jitter, 1 + jitter]."""
        base = self.member_ttl_s if is_member else self.non_member_ttl_s
        if not self.jitter:
            return base
        return base * (1.0 + self._rng.uniform(-self.jitter, self.jitter))

    async def get(self, user_id: int, channel_id: int) -> bool | None:
        return self.get_now(user_id, channel_id)

    def get_now(self, user_id: int, channel_id: int) -> bool | None:
        """The synchronous lookup behind :meth:`get` (no awaits on the hot path)."""
        is_member = self._entries.get((user_id, channel_id))
        if is_member is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return is_member

    async def set(self, user_id: int, channel_id: int, is_member: bool) -> None:
        self._entries.set((user_id, channel_id), is_member, self.ttl_for(is_member))
        self._by_user.setdefault(user_id, set()).add(channel_id)

    async def invalidate(self, user_id: int, channel_id: int) -> None:
        self._entries.discard((user_id, channel_id))
        self._forget_index((user_id, channel_id))

    async def invalidate_user(self, user_id: int) -> None:
        for channel_id in self._by_user.pop(user_id, set()):
            self._entries.discard((user_id, channel_id))

    async def clear(self) -> None:
        self._entries.clear()
        self._by_user.clear()

    def _evicted(self, key: tuple[int, int]) -> None:
        self.stats.evictions += 1
        self._forget_index(key)

    def _forget_index(self, key: tuple[int, int]) -> None:
        channels = self._by_user.get(key[0])
        if channels is not None:
            channels.discard(key[1])
            if not channels:
                del self._by_user[key[0]]
