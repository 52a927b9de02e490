"""The membership cache shared by every replica through Redis
(:class:`bot.storage.membership.MembershipCache`).

One key per (user, channel), ``cache:<user>:<channel>`` = ``1`` | ``0``, written with
``SET ... PX ttl`` (the in-process cache's lifetimes and jitter), and one set per user,
``cache_user:<user>``, naming the channels cached for them, for :meth:`invalidate_user`; it
lives as long as the longest member answer can. A replica that asks Telegram writes the
answer for all of them.

Every answer is also kept in the in-process cache it wraps (write-through), which serves
alone while Redis is down (:class:`bot.storage.shared.client.RedisDown`): the gate keeps its hit
rate through an outage instead of asking Telegram for everything. It serves only "member"
answers then: a "not a member" kept here may be stale, as another replica may have seen the
user join meanwhile (the rehearsal muted a verified member again on such a stale answer). The
stats are the in-process cache's object, counted on whichever path answered.
"""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis

from bot.storage.membership import CacheStats, InMemoryMembershipCache
from bot.storage.shared.client import RedisDown, SharedRedis

CACHE, CACHE_USER = "cache", "cache_user"


class RedisMembershipCache:
    """Redis first, the wrapped in-process cache when Redis is down (and as a copy)."""

    def __init__(self, shared: SharedRedis, local: InMemoryMembershipCache) -> None:
        self.shared = shared
        self.local = local
        self.stats: CacheStats = local.stats
        jitter = 1.0 + local.jitter
        self._user_ttl_ms = int(max(local.member_ttl_s, local.non_member_ttl_s) * jitter * 1000)

    def _key(self, user_id: int, channel_id: int) -> str:
        return self.shared.key(CACHE, user_id, channel_id)

    async def get(self, user_id: int, channel_id: int) -> bool | None:
        key = self._key(user_id, channel_id)
        try:
            raw = await self.shared.run(lambda r: r.get(key))
        except RedisDown:
            # never "not a member" from here: another replica may have seen the user join
            # since (their "I joined" went there), and a stale no mutes a member
            return True if self.local.get_now(user_id, channel_id) else None
        if raw is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return raw == b"1"

    async def set(self, user_id: int, channel_id: int, is_member: bool) -> None:
        ttl_s = self.local.ttl_for(is_member)
        await self.local.set(user_id, channel_id, is_member)
        key = self._key(user_id, channel_id)
        index = self.shared.key(CACHE_USER, user_id)

        async def write(r: Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                pipe.set(key, b"1" if is_member else b"0", px=max(1, int(ttl_s * 1000)))
                pipe.sadd(index, channel_id)
                pipe.pexpire(index, self._user_ttl_ms)
                await pipe.execute()

        with contextlib.suppress(RedisDown):  # kept in-process
            await self.shared.run(write)

    async def invalidate(self, user_id: int, channel_id: int) -> None:
        await self.local.invalidate(user_id, channel_id)
        key = self._key(user_id, channel_id)
        index = self.shared.key(CACHE_USER, user_id)

        async def forget(r: Redis) -> None:
            async with r.pipeline(transaction=False) as pipe:
                pipe.delete(key)
                pipe.srem(index, channel_id)
                await pipe.execute()

        with contextlib.suppress(RedisDown):
            await self.shared.run(forget)

    async def invalidate_user(self, user_id: int) -> None:
        await self.local.invalidate_user(user_id)
        index = self.shared.key(CACHE_USER, user_id)

        async def forget(r: Redis) -> None:
            channels = await r.smembers(index)
            keys = [self._key(user_id, int(c)) for c in channels]
            await r.delete(index, *keys)

        with contextlib.suppress(RedisDown):
            await self.shared.run(forget)

    async def clear(self) -> None:
        await self.local.clear()

        async def forget(r: Redis) -> None:
            for purpose in (CACHE, CACHE_USER):
                batch: list[bytes] = []
                async for key in r.scan_iter(match=self.shared.key(purpose, "*"), count=500):
                    batch.append(key)
                    if len(batch) >= 500:
                        await r.delete(*batch)
                        batch.clear()
                if batch:
                    await r.delete(*batch)

        with contextlib.suppress(RedisDown):
            await self.shared.run(forget)


__all__ = ["RedisMembershipCache"]
