"""One join, reported twice, handled once; and the ``member_events`` rows of joins and leaves.

Telegram reports one join to a group twice: a ``chat_member`` update and a ``new_chat_members``
message, in either order, possibly many seconds apart and, with several replicas, to two of
them. :class:`JoinTracker` lets the first report run the join path (member event, check, mute,
prompt) and makes the second a no-op (:meth:`JoinTracker.note`). Only the ``chat_member`` report
names the invite link (and whether the user came through a join request), so a join first seen
as a message is held for its twin (:meth:`JoinTracker.complete`) and written without it once
the twin is overdue (:meth:`JoinTracker.settle`). A leave or kick ends the join
(:meth:`JoinTracker.end`). With Redis the claims and the held rows are shared
(:class:`bot.storage.shared.joins.SharedJoins`); while it is down, this process decides alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.shared.joins import SharedJoins
from bot.storage.updates import current_update, put_raw
from core.clock import Clock
from core.expiring import ExpiringMap
from core.models import MemberEvent, MemberEventType

if TYPE_CHECKING:
    from core.log_writer import LogWriter

#: One join reported twice (a ``chat_member`` update and a ``new_chat_members`` message, in
#: either order, possibly many seconds apart) is handled once within this window.
JOIN_DEDUP_S = 120.0
#: Recent joins remembered at most (the least recently seen go first).
JOINS_MAX = 50_000
#: A join first seen as a ``new_chat_members`` message waits this long for its ``chat_member``
#: twin, the only report that says which invite link it came by (and whether through a join
#: request); without a twin it is then written as it is.
JOIN_TWIN_WAIT_S = 30.0


@dataclass(frozen=True)
class _HeldJoin:
    """A join row waiting for its twin: when it happened, and when to stop waiting."""

    timestamp: dt.datetime
    due: float
    is_bot: bool
    #: also held in Redis (whoever takes it there writes it)
    shared: bool = False


class JoinTracker:
    """The joins seen recently (here and, with Redis, by every replica) and the join rows held
    for their twin; the one writer of ``member_events`` rows."""

    def __init__(self, writer: LogWriter, clock: Clock, shared: SharedRedis | None = None) -> None:
        """``shared``: Redis, where every replica claims joins and holds join rows."""
        self.writer = writer
        self.clock = clock
        #: (chat, user) joins seen within ``JOIN_DEDUP_S``, with the update that reported
        #: them first (``None`` when unknown; its redelivery may finish the join's work)
        self._joins: ExpiringMap[tuple[int, int], int | None] = ExpiringMap(
            clock.monotonic, JOIN_DEDUP_S, max_entries=JOINS_MAX
        )
        #: joins seen as a message, waiting for their chat_member twin (oldest first)
        self._held: dict[tuple[int, int], _HeldJoin] = {}
        #: the join claims and held joins in Redis (with ``shared``)
        self.shared: SharedJoins | None = None
        if shared is not None:
            self.shared = SharedJoins(shared, dedup_s=JOIN_DEDUP_S, twin_wait_s=JOIN_TWIN_WAIT_S)

    async def note(
        self, chat_id: int, user_id: int, *, from_message: bool = False, is_bot: bool = False
    ) -> bool:
        """``True`` the first time a join of (chat, user) is seen within ``JOIN_DEDUP_S``:
        Telegram reports one join twice (a chat_member update and a new_chat_members message,
        in either order, possibly to two replicas), and the whole join path (member event,
        check, mute, prompt) runs for the first report only. With Redis the claim is shared
        (:meth:`bot.storage.shared.joins.SharedJoins.claim`); while it is down, this process's
        memory decides. A leave or kick ends the join (:meth:`end`).

        A first report ``from_message`` does not say which invite link the user came by: its
        row is held (up to ``JOIN_TWIN_WAIT_S``) for the ``chat_member`` twin that does, in the
        same step as the claim.

        The claim names the update being handled (:func:`bot.storage.updates.current_update`):
        the same update delivered again (its first attempt died mid-work) is ``True`` again,
        and does the join's work in full (its raw rows were held with the attempt)."""
        key = (chat_id, user_id)
        update_id = current_update()
        seen = key in self._joins
        by = self._joins.get(key) if seen else None
        again = seen and update_id is not None and by == update_id
        first = not seen or again
        self._joins.set(key, by if seen else update_id)  # a repeat within the window extends it
        now = self.clock.now()
        shared = False
        if self.shared is not None:
            hold = (now, is_bot) if from_message else None
            with contextlib.suppress(RedisDown):
                won = await self.shared.claim(chat_id, user_id, hold, update_id=update_id)
                first, again, shared = won > 0, won == 2, True
                if first:
                    self._joins.set(key, update_id)
        if again and from_message and key in self._held:
            return True  # held here already, by this update's first attempt
        if first and from_message:
            self._held[key] = _HeldJoin(
                now, self.clock.monotonic() + JOIN_TWIN_WAIT_S, is_bot, shared
            )
            if len(self._held) > JOINS_MAX:
                await self._write_held(next(iter(self._held)))
        return first

    async def complete(
        self,
        chat_id: int,
        user_id: int,
        *,
        invite_link_name: str | None,
        via_join_request: bool,
    ) -> None:
        """The ``chat_member`` twin of a held join: write it once, with the twin's details and
        the time it was first seen. Nothing when the join was not held (written already).
        With Redis the held row may be another replica's: whoever takes it writes it."""
        held = self._held.pop((chat_id, user_id), None)
        if self.shared is not None and (held is None or held.shared):
            try:
                taken = await self.shared.take(chat_id, user_id)
            except RedisDown:
                taken = None  # held elsewhere: its replica writes it (without the link's name)
            else:
                if taken is None:
                    return  # written already, here or elsewhere
                held = _HeldJoin(taken[0], 0.0, taken[1], True)
        if held is not None:
            self._put_join(chat_id, user_id, held, invite_link_name, via_join_request)

    def due(self) -> bool:
        """Whether a held join's twin is overdue (cheap: looks at the oldest only)."""
        oldest = next(iter(self._held.values()), None)
        return oldest is not None and oldest.due <= self.clock.monotonic()

    async def settle(self, *, everything: bool = False) -> int:
        """Write the held joins whose twin is overdue (``everything``: all, at shutdown);
        how many were written here (a twin on another replica may have taken one)."""
        now = self.clock.monotonic()
        written = 0
        while self._held:
            key, held = next(iter(self._held.items()))
            if not everything and held.due > now:
                break  # oldest first: the rest are due later
            written += await self._write_held(key)
        return written

    async def _write_held(self, key: tuple[int, int]) -> int:
        """Write a held join without its twin's details, unless a twin took it meanwhile;
        1 when written. Redis down: written (a row twice beats a row lost)."""
        held = self._held.pop(key)
        if held.shared and self.shared is not None:
            with contextlib.suppress(RedisDown):
                if await self.shared.take(*key) is None:
                    return 0
        self._put_join(key[0], key[1], held, None, False)
        return 1

    def _put_join(
        self,
        chat_id: int,
        user_id: int,
        held: _HeldJoin,
        invite_link_name: str | None,
        via_join_request: bool,
    ) -> None:
        self.member_event(
            chat_id,
            user_id,
            MemberEventType.JOIN,
            is_bot=held.is_bot,
            invite_link_name=invite_link_name,
            via_join_request=via_join_request,
            timestamp=held.timestamp,
        )

    async def end(
        self, chat_id: int, user_id: int, event: MemberEventType, *, is_bot: bool = False
    ) -> None:
        """A leave or kick: the join it ends is forgotten (here and in Redis), a join row
        still held (here or on another replica) is written first, then the leave's row."""
        key = (chat_id, user_id)
        self._joins.discard(key)
        if key in self._held:
            await self._write_held(key)
        elif self.shared is not None:
            with contextlib.suppress(RedisDown):
                taken = await self.shared.take(chat_id, user_id)
                if taken is not None:
                    self._put_join(
                        chat_id, user_id, _HeldJoin(taken[0], 0.0, taken[1]), None, False
                    )
        if self.shared is not None:
            with contextlib.suppress(RedisDown):
                await self.shared.forget(chat_id, user_id)
        self.member_event(chat_id, user_id, event, is_bot=is_bot)

    def member_event(
        self,
        chat_id: int,
        user_id: int,
        event: MemberEventType,
        *,
        is_bot: bool = False,
        invite_link_name: str | None = None,
        via_join_request: bool = False,
        timestamp: dt.datetime | None = None,
    ) -> None:
        """One ``member_events`` row (``invite_link_name``: the name of the invite link the
        user joined by, when it has one). A group leave or kick goes through :meth:`end`."""
        put_raw(
            self.writer,
            MemberEvent,
            chat_id=chat_id,
            user_id=user_id,
            event=event.value,
            timestamp=timestamp or self.clock.now(),
            is_bot=is_bot,
            invite_link_name=invite_link_name[:256] if invite_link_name else None,
            via_join_request=via_join_request,
        )
