"""The duplicate-join memory and the held joins, shared by every replica through Redis.

Telegram reports one join twice (a ``chat_member`` update and a ``new_chat_members``
message), in either order, possibly to two replicas. :meth:`SharedJoins.claim` is an atomic
``SET join:<chat>:<user> u<update_id> NX PX <window>``: exactly one report, on whichever
replica, wins it and runs the join path (member event, check, mute, prompt); the other only
extends the window. The claim names the update that won it: when that update is delivered
again (its replica died mid-work, :mod:`bot.storage.updates`), it wins again and finishes.

A join first seen as a message waits for its ``chat_member`` twin, the only report that names
the invite link (:data:`bot.gate.joins.JOIN_TWIN_WAIT_S`). The waiting row is kept both in the
holding replica's memory (to know when it is due) and in Redis, ``held:<chat>:<user>`` =
``<timestamp>|<is_bot>``. Whoever takes it from Redis first (``GETDEL``, atomic) writes it:
the twin, on any replica, with the link's name; or the holding replica when the twin is
overdue, without one; or a leave that comes first. So one join gives one row wherever its
reports land.

Each method raises :class:`bot.storage.shared.client.RedisDown` when Redis cannot answer: the caller
(:class:`bot.runtime.services.BotServices`) then decides with its in-process memory.
"""

from __future__ import annotations

import datetime as dt

from bot.storage.shared.client import SharedRedis

JOIN, HELD = "join", "held"
#: A held row outlives its wait by this much in Redis (a replica that died holding it leaves
#: no key behind for long; its own memory of it died with it).
HELD_GRACE_S = 60.0


# KEYS: the claim, the held row. ARGV: window (ms), the held row's value ('' when none), its
# lifetime (ms), the claiming update ('' when unknown). Returns 1 when this report won the
# claim, 2 when the same update had won it before (a redelivery: its held row, if any, is
# left as it is, taken already or not), 0 when another report holds it.
_CLAIM = """
local by = ARGV[4] ~= '' and ARGV[4] or '1'
local won = redis.call('SET', KEYS[1], by, 'NX', 'PX', ARGV[1])
if not won then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  if ARGV[4] ~= '' and redis.call('GET', KEYS[1]) == ARGV[4] then return 2 end
  return 0
end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return 1
"""


class SharedJoins:
    """Join claims and held join rows in Redis (see the module's docstring)."""

    def __init__(self, shared: SharedRedis, *, dedup_s: float, twin_wait_s: float) -> None:
        self.shared = shared
        self._dedup_ms = int(dedup_s * 1000)
        self._held_ms = int((twin_wait_s + HELD_GRACE_S) * 1000)
        self._claim = shared.client.register_script(_CLAIM)

    async def claim(
        self,
        chat_id: int,
        user_id: int,
        hold: tuple[dt.datetime, bool] | None = None,
        *,
        update_id: int | None = None,
    ) -> int:
        """1 for the first report of a join within the window (on any replica); 0 for a
        repeat, which extends the window, as the in-process memory does; 2 for a redelivery
        of the update (``update_id``) that won it first, whose replica died mid-work: it does
        the join's work again. ``hold`` (the join's time, whether a bot): a report by message,
        whose row is held for its twin, in the same atomic step as the claim (a twin on
        another replica that loses the claim finds it)."""
        keys = [self.shared.key(JOIN, chat_id, user_id), self.shared.key(HELD, chat_id, user_id)]
        value = "" if hold is None else f"{hold[0].isoformat()}|{int(hold[1])}"
        by = "" if update_id is None else f"u{update_id}"
        args: list[str | int] = [self._dedup_ms, value, self._held_ms, by]
        won = await self.shared.run(lambda r: self._claim(keys=keys, args=args, client=r))
        return int(won)

    async def forget(self, chat_id: int, user_id: int) -> None:
        """A leave or kick ends the join: the next join is a new one."""
        key = self.shared.key(JOIN, chat_id, user_id)
        await self.shared.run(lambda r: r.delete(key))

    async def take(self, chat_id: int, user_id: int) -> tuple[dt.datetime, bool] | None:
        """The held row (its time, whether a bot), taken so that nobody else writes it;
        ``None`` when it was never held or someone took it already."""
        key = self.shared.key(HELD, chat_id, user_id)
        raw = await self.shared.run(lambda r: r.getdel(key))
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        stamp, _, is_bot = text.partition("|")
        return dt.datetime.fromisoformat(stamp), is_bot == "1"


__all__ = ["SharedJoins"]
