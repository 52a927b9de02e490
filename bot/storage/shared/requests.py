"""Pending join requests shared by every replica through Redis.

A join request reaches one replica, the requester's "I joined" press may reach another, and
its deadline must be enforced once. Each pending request is ``join_request:<group>:<user>`` =
``<title>|<message id>|<user chat id>`` (JSON) plus a member ``<group>:<user>`` of the sorted
set ``join_requests``, scored by its deadline (the injected clock's wall time, ms):

* :meth:`SharedRequests.put` records one (a repeat starts over);
* :meth:`SharedRequests.take` removes one (the press that approves it) and returns it;
* :meth:`SharedRequests.due` takes every request past its deadline in one Lua script, so each
  goes to exactly one replica's sweep (which declines it).

Keys expire a day after their deadline (a sweep that never comes leaves nothing behind for
long). Each call raises :class:`bot.storage.shared.client.RedisDown` when Redis cannot answer:
:class:`bot.gate.join_requests.JoinRequests` then keeps the request in process.
"""

from __future__ import annotations

import json
from typing import Any

from bot.storage.shared.client import SharedRedis
from core.clock import Clock

REQUEST, QUEUE = "join_request", "join_requests"
GRACE_S = 86_400.0
#: Requests taken by one sweep at most (the rest wait for the next).
SWEEP_BATCH = 500

# KEYS[1]: the queue. ARGV: now (ms), the request keys' prefix, batch size. Returns
# [member, value, member, value, ...] of the due requests, removed.
_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local value = redis.call('GETDEL', ARGV[2] .. member)
  if value then
    table.insert(out, member)
    table.insert(out, value)
  end
end
return out
"""


class SharedRequests:
    """Pending join requests in Redis (see the module's docstring)."""

    def __init__(self, shared: SharedRedis, clock: Clock) -> None:
        self.shared = shared
        self.clock = clock
        self._due = shared.client.register_script(_DUE)
        self._queue = shared.key(QUEUE)

    def _key(self, group_id: int, user_id: int) -> str:
        return self.shared.key(REQUEST, group_id, user_id)

    def _now_ms(self) -> float:
        return self.clock.now().timestamp() * 1000.0

    async def put(
        self,
        group_id: int,
        user_id: int,
        *,
        timeout_s: float,
        title: str | None,
        message_id: int | None,
        user_chat_id: int,
    ) -> None:
        deadline = self._now_ms() + timeout_s * 1000.0
        value = json.dumps([title, message_id, user_chat_id])
        ttl_ms = int((timeout_s + GRACE_S) * 1000)

        async def op(r: Any) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(self._key(group_id, user_id), value, px=ttl_ms)
                pipe.zadd(self._queue, {f"{group_id}:{user_id}": deadline})
                pipe.pexpire(self._queue, ttl_ms)
                await pipe.execute()

        await self.shared.run(op)

    async def take(self, group_id: int, user_id: int) -> tuple[str | None, int | None, int] | None:
        """The request (title, message id, user chat id), no longer pending; ``None`` when it
        was not."""

        async def op(r: Any) -> Any:
            async with r.pipeline(transaction=True) as pipe:
                pipe.getdel(self._key(group_id, user_id))
                pipe.zrem(self._queue, f"{group_id}:{user_id}")
                value, _ = await pipe.execute()
            return value

        value = await self.shared.run(op)
        if value is None:
            return None
        title, message_id, user_chat_id = json.loads(value)
        return title, message_id, int(user_chat_id)

    async def due(self) -> list[tuple[int, int, str | None, int | None, int]]:
        """The requests past their deadline, taken: (group, user, title, message id, user
        chat id)."""
        prefix = self.shared.key(REQUEST, "")
        args: list[str | int] = [repr(self._now_ms()), prefix, SWEEP_BATCH]
        raw = await self.shared.run(lambda r: self._due(keys=[self._queue], args=args, client=r))
        out = []
        for member, value in zip(raw[::2], raw[1::2], strict=True):
            group, _, user = (member.decode() if isinstance(member, bytes) else member).partition(
                ":"
            )
            title, message_id, user_chat_id = json.loads(value)
            out.append((int(group), int(user), title, message_id, int(user_chat_id)))
        return out


__all__ = ["SharedRequests"]
