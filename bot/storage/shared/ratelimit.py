"""Telegram's send budget per bot token (30 messages/s overall, 20/min into one group), shared
by every replica through Redis.

Telegram counts a token's sends, not a process's: three replicas each keeping 30/s would send
90/s and collect 429s. :class:`SharedRateLimiter` keeps the same sliding windows as
:class:`core.ratelimit.RateLimiter` in Redis sorted sets (``send:all`` and
``send:chat:<chat>``, one member per send scored by its time in ms) and checks and counts them
in one Lua script, atomically for all replicas: either the send fits every window and is
counted in each, or the script answers how long to wait for room. Window times come from the
injected clock's wall time (``clock.now()``), which replicas share closely enough (NTP) and
which a ManualClock drives in tests. Each key expires one period after its latest send.

While Redis is down (:class:`bot.storage.shared.client.RedisDown`) the process falls back to its own
in-process windows: the budget is then per replica again, as without Redis.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from redis.asyncio import Redis

from bot.storage.shared.client import RedisDown, SharedRedis
from core.clock import Clock
from core.ratelimit import MIN_WAIT_S, Rate, RateLimiter

SEND = "send"

# KEYS: the windows; ARGV[1]: now (ms), ARGV[2]: this send's member, then limit and period
# (ms) per key. Returns "0" when counted, else the ms to wait (as a string: Lua numbers that
# go back to Redis are truncated to integers).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + period - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i])))
end
return '0'
"""


class SharedRateLimiter:
    """:class:`core.ratelimit.RateLimiter`'s ``acquire`` on windows kept in Redis, with that
    limiter (``local``) as the fallback and for its clock and sleep."""

    def __init__(self, shared: SharedRedis, local: RateLimiter, rates: tuple[Rate, ...]) -> None:
        self.shared = shared
        self.local = local
        self.overall = [r for r in rates if not r.per_key]
        self.per_key = [r for r in rates if r.per_key]
        self._script = shared.client.register_script(_ACQUIRE)
        self._ids = itertools.count()
        self._me = f"{os.getpid()}-{id(self):x}"

    @property
    def clock(self) -> Clock:
        return self.local.clock

    def _windows(self, key: Hashable | None) -> tuple[list[str], list[Any]]:
        keys: list[str] = []
        args: list[Any] = []
        for i, rate in enumerate(self.overall):
            keys.append(self.shared.key(SEND, "all", i))
            args += [rate.events, rate.period_s * 1000.0]
        if key is not None:
            for i, rate in enumerate(self.per_key):
                keys.append(self.shared.key(SEND, "chat", i, key))
                args += [rate.events, rate.period_s * 1000.0]
        return keys, args

    def _call(self, keys: list[str], args: list[Any]) -> Callable[[Redis], Awaitable[Any]]:
        return lambda r: self._script(keys=keys, args=args, client=r)

    async def acquire(self, key: Hashable | None = None) -> float:
        """Wait until one more send fits every window (of all replicas); count it; return
        the seconds waited."""
        keys, limits = self._windows(key)
        waited = 0.0
        while True:
            now_ms = self.clock.now().timestamp() * 1000.0
            member = f"{now_ms:.3f}:{self._me}:{next(self._ids)}"
            args = [repr(now_ms), member, *limits]
            try:
                raw = await self.shared.run(self._call(keys, args))
            except RedisDown:
                return waited + await self.local.acquire(key)
            wait = float(raw) / 1000.0
            if wait <= 0:
                return waited
            wait = max(wait, MIN_WAIT_S)
            waited += wait
            await self.local.sleep(wait)


__all__ = ["SharedRateLimiter"]
