"""The raid counter and lockdown window, shared by every replica through Redis.

A raid's joins land on every replica; counted apart, each sees a fraction of the rate and none
starts the lockdown. Here one group's joins within ``GATE_RAID_WINDOW_S`` are one sorted set,
``raid_joins:<group>`` (a member per report of joins, ``<joins>:<unique>``, scored by its time
in ms), and its lockdown one hash, ``raid_lockdown:<group>`` = {until (ms), joins}. Two Lua
scripts change them atomically:

* :meth:`SharedRaids.count` adds joins, sums the window and starts (or extends, or counts
  into) the lockdown; exactly one replica is told ``started`` and posts the notice;
* :meth:`SharedRaids.end` deletes a lockdown whose time is up and returns its joins to the one
  replica that deleted it, which posts the "ended" notice.

Times are the injected clock's wall time (``clock.now()``) in ms. The window key expires with
the window; the lockdown hash one day after its end (:data:`LOCKDOWN_GRACE_S`) when no event
ends it sooner. Each call raises :class:`bot.storage.shared.client.RedisDown` when Redis cannot
answer: :class:`bot.gate.raids.RaidGuard` then counts in-process.
"""

from __future__ import annotations

import itertools
import os

from bot.storage.shared.client import SharedRedis
from core.clock import Clock

RAID_JOINS, RAID_LOCKDOWN = "raid_joins", "raid_lockdown"
#: A lockdown hash outlives its end this long, for the "ended" notice of a quiet group.
LOCKDOWN_GRACE_S = 86_400.0

# KEYS: window, lockdown. ARGV: now, member, joins, window (ms), threshold, lockdown (ms),
# grace (ms). Returns {in lockdown 0|1, started 0|1, until (ms, string), joins}.
_COUNT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
local total = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  total = total + tonumber(string.match(m, '^(%d+):'))
end
local threshold = tonumber(ARGV[5])
local new_until = now + tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local joins = redis.call('HINCRBY', KEYS[2], 'joins', tonumber(ARGV[3]))
  local until_ms = tonumber(redis.call('HGET', KEYS[2], 'until'))
  if total >= threshold and new_until > until_ms then
    until_ms = new_until
    redis.call('HSET', KEYS[2], 'until', tostring(until_ms))
    redis.call('PEXPIRE', KEYS[2], math.ceil(until_ms - now + grace))
  end
  return {1, 0, tostring(until_ms), joins}
end
if total < threshold then return {0, 0, '0', total} end
redis.call('HSET', KEYS[2], 'until', tostring(new_until), 'joins', total)
redis.call('PEXPIRE', KEYS[2], math.ceil(new_until - now + grace))
return {1, 1, tostring(new_until), total}
"""

# KEYS: lockdown. ARGV: now (ms). Returns the lockdown's joins when it ended now, else -1.
_END = """
local until_ms = redis.call('HGET', KEYS[1], 'until')
if not until_ms or tonumber(until_ms) > tonumber(ARGV[1]) then return -1 end
local joins = redis.call('HGET', KEYS[1], 'joins')
redis.call('DEL', KEYS[1])
return tonumber(joins)
"""


class SharedRaids:
    """Join counting and lockdowns in Redis (see the module's docstring)."""

    def __init__(
        self,
        shared: SharedRedis,
        clock: Clock,
        *,
        window_s: float,
        threshold: int,
        lockdown_s: float,
    ) -> None:
        self.shared = shared
        self.clock = clock
        self.window_ms = window_s * 1000.0
        self.threshold = threshold
        self.lockdown_ms = lockdown_s * 1000.0
        self._count = shared.client.register_script(_COUNT)
        self._end = shared.client.register_script(_END)
        self._ids = itertools.count()
        self._me = f"{os.getpid()}-{id(self):x}"

    def _now_ms(self) -> float:
        return self.clock.now().timestamp() * 1000.0

    async def count(self, group_id: int, joins: int) -> tuple[float | None, int, bool]:
        """Count ``joins`` now: (seconds the lockdown has left, or ``None`` when there is
        none; the joins in the window or, in a lockdown, during it; whether it started now)."""
        now = self._now_ms()
        keys = [self.shared.key(RAID_JOINS, group_id), self.shared.key(RAID_LOCKDOWN, group_id)]
        args: list[str | int] = [
            repr(now),
            f"{int(joins)}:{self._me}:{next(self._ids)}",
            int(joins),
            repr(self.window_ms),
            self.threshold,
            repr(self.lockdown_ms),
            repr(LOCKDOWN_GRACE_S * 1000.0),
        ]
        in_lockdown, started, until, total = await self.shared.run(
            lambda r: self._count(keys=keys, args=args, client=r)
        )
        left = (float(until) - now) / 1000.0 if in_lockdown else None
        return left, int(total), bool(started)

    async def end(self, group_id: int) -> int | None:
        """The joins of the group's lockdown when its time is up and this call ended it."""
        key = self.shared.key(RAID_LOCKDOWN, group_id)
        now = repr(self._now_ms())
        joins = await self.shared.run(lambda r: self._end(keys=[key], args=[now], client=r))
        return None if int(joins) < 0 else int(joins)


__all__ = ["SharedRaids"]
