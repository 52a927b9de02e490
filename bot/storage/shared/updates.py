"""Update claims and completions in Redis, shared by every replica.

``update:<update_id>`` holds ``w:<holder>`` while one replica handles the update (a lease:
``SET NX PX``, renewed while the work runs, deleted on failure, lapsing on its own when the
holder dies) and ``d`` once the update was handled in full, kept ``BOT_UPDATE_KEEP_H``;
``updates-epoch`` says since when Redis keeps them (a restart without persistence loses them).
See
:mod:`bot.storage.updates` for what the bot does with each answer.

Each method raises :class:`bot.storage.shared.client.RedisDown` when Redis cannot answer.
"""

from __future__ import annotations

from bot.storage.shared.client import SharedRedis

UPDATE = "update"
EPOCH = "updates-epoch"
DONE = "d"

# KEYS: the update's key, the epoch's key. ARGV: this attempt's lease value, the lease (ms),
# how long the epoch outlives the last claim (ms; like every key of ours it expires).
# Returns {'done' | 'busy' | 'won', the epoch's age in ms}. The epoch is when this Redis began
# to keep update records (set on first use): a young one may have lost records that a Redis
# restart without persistence took with it.
_CLAIM = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local epoch = tonumber(redis.call('GET', KEYS[2]))
if epoch then redis.call('PEXPIRE', KEYS[2], ARGV[3])
else redis.call('SET', KEYS[2], now, 'PX', ARGV[3]); epoch = now end
local age = now - epoch
local v = redis.call('GET', KEYS[1])
if v == 'd' then return {'done', age} end
if v then return {'busy', age} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'won', age}
"""
# KEYS: the update's key. ARGV: the lease value, the lease (ms; 0: release). 1 when held.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class SharedUpdates:
    """Update leases and completion records in Redis (see the module's docstring)."""

    def __init__(self, shared: SharedRedis, *, lease_s: float, keep_s: float) -> None:
        self.shared = shared
        self._lease_ms = int(lease_s * 1000)
        self._keep_ms = int(keep_s * 1000)
        self._claim = shared.client.register_script(_CLAIM)
        self._renew = shared.client.register_script(_RENEW)

    async def claim(self, update_id: int, holder: str) -> tuple[str, bool]:
        """``won`` (leased to ``holder``), ``busy`` (leased by another) or ``done``; and whether
        Redis's update records are younger than ``BOT_UPDATE_KEEP_H`` (it may have lost some:
        a ``won`` is then checked against the database's records too)."""
        keys = [self.shared.key(UPDATE, update_id), self.shared.key(EPOCH)]
        args: list[str | int] = [f"w:{holder}", self._lease_ms, 2 * self._keep_ms]
        answer, age = await self.shared.run(lambda r: self._claim(keys=keys, args=args, client=r))
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return text, int(age) < self._keep_ms

    async def renew(self, update_id: int, holder: str, *, release: bool = False) -> bool:
        """Extend ``holder``'s lease (``release``: give it up); False when it was lost."""
        keys = [self.shared.key(UPDATE, update_id)]
        args: list[str | int] = [f"w:{holder}", 0 if release else self._lease_ms]
        held = await self.shared.run(lambda r: self._renew(keys=keys, args=args, client=r))
        return bool(held)

    async def complete(self, update_id: int) -> None:
        """The update was handled in full: every later delivery of it is skipped."""
        key = self.shared.key(UPDATE, update_id)
        await self.shared.run(lambda r: r.set(key, DONE, px=self._keep_ms))


__all__ = ["SharedUpdates"]
