"""The bot's shared objects, built once per process and handed to handlers."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gate.actions import GateActions
from bot.gate.checker import GateChecker
from bot.gate.join_requests import JoinRequests
from bot.gate.raids import RaidGuard
from bot.storage.config import ConfigRepo, GroupConfig
from bot.storage.gate_state import StateWriter
from bot.storage.membership import MembershipCache
from bot.storage.reactions import ReactionLog
from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.shared.joins import SharedJoins
from core.clock import Clock
from core.expiring import ExpiringMap
from core.models import MemberEvent, MemberEventType
from core.settings import Settings

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

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


@dataclass
class BotServices:
    """Everything a handler needs; passed to the Dispatcher as ``services`` (and piecewise)."""

    settings: Settings
    writer: LogWriter
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    cache: MembershipCache
    repo: ConfigRepo
    state: StateWriter
    #: membership checks, and who skips them
    checker: GateChecker
    #: what the gate does on the checks' answers (mute, prompt, lift, refuse)
    actions: GateActions
    #: batches of joiners and raid lockdowns (:mod:`bot.gate.raids`)
    raids: RaidGuard = field(init=False, repr=False)
    #: (chat, user) joins seen within ``JOIN_DEDUP_S``
    _joins: ExpiringMap[tuple[int, int], bool] = field(init=False, repr=False)
    #: joins seen as a message, waiting for their chat_member twin (oldest first)
    _held: dict[tuple[int, int], _HeldJoin] = field(init=False, repr=False, default_factory=dict)
    #: join requests the gate is waiting on (:mod:`bot.gate.join_requests`)
    join_requests: JoinRequests = field(init=False, repr=False)
    #: reaction updates into ``reaction_events`` (:mod:`bot.storage.reactions`)
    reactions: ReactionLog = field(init=False, repr=False)
    #: Redis, when ``REDIS_URL`` is set (:mod:`bot.storage.shared`); ``None``: all in-process
    shared: SharedRedis | None = None
    #: the join claims and held joins in Redis (with ``shared``)
    shared_joins: SharedJoins | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.raids = RaidGuard(self.actions, self.settings.gate, self.clock, self.shared)
        self._joins = ExpiringMap(self.clock.monotonic, JOIN_DEDUP_S, max_entries=JOINS_MAX)
        self.join_requests = JoinRequests(
            self.actions,
            self.group_config,
            self.clock,
            timeout_s=self.settings.gate.join_request_timeout_s,
            shared=self.shared,
        )
        self.reactions = ReactionLog(self.writer, self.clock, shared=self.shared)
        if self.shared is not None:
            self.shared_joins = SharedJoins(
                self.shared, dedup_s=JOIN_DEDUP_S, twin_wait_s=JOIN_TWIN_WAIT_S
            )

    async def group_config(self, group_id: int) -> GroupConfig | None:
        """The group's gate config; ``None`` when unprotected or unknown (database down and
        nothing cached: the gate then lets everyone through rather than stall)."""
        try:
            return await self.repo.group(group_id)
        except Exception as exc:
            log.warning("no config for group %s: %s", group_id, type(exc).__name__)
            return None

    async def groups_for_channel(self, channel_id: int) -> tuple[int, ...]:
        try:
            return await self.repo.groups_for_channel(channel_id)
        except Exception as exc:
            log.warning("no links for channel %s: %s", channel_id, type(exc).__name__)
            return ()

    async def note_join(
        self, chat_id: int, user_id: int, *, from_message: bool = False, is_bot: bool = False
    ) -> bool:
        """``True`` the first time a join of (chat, user) is seen within ``JOIN_DEDUP_S``:
        Telegram reports one join twice (a chat_member update and a new_chat_members message,
        in either order, possibly to two replicas), and the whole join path (member event,
        check, mute, prompt) runs for the first report only. With Redis the claim is shared
        (:meth:`bot.storage.shared.joins.SharedJoins.claim`); while it is down, this process's
        memory decides. A leave or kick ends the join (:meth:`end_join`).

        A first report ``from_message`` does not say which invite link the user came by: its
        row is held (up to ``JOIN_TWIN_WAIT_S``) for the ``chat_member`` twin that does, in the
        same step as the claim."""
        key = (chat_id, user_id)
        first = key not in self._joins
        self._joins.set(key, True)  # a repeat within the window extends it
        now = self.clock.now()
        shared = False
        if self.shared_joins is not None:
            hold = (now, is_bot) if from_message else None
            with contextlib.suppress(RedisDown):
                first = await self.shared_joins.claim(chat_id, user_id, hold)
                shared = True
        if first and from_message:
            self._held[key] = _HeldJoin(
                now, self.clock.monotonic() + JOIN_TWIN_WAIT_S, is_bot, shared
            )
            if len(self._held) > JOINS_MAX:
                await self._write_held(next(iter(self._held)))
        return first

    async def complete_join(
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
        if self.shared_joins is not None and (held is None or held.shared):
            try:
                taken = await self.shared_joins.take(chat_id, user_id)
            except RedisDown:
                taken = None  # held elsewhere: its replica writes it (without the link's name)
            else:
                if taken is None:
                    return  # written already, here or elsewhere
                held = _HeldJoin(taken[0], 0.0, taken[1], True)
        if held is not None:
            self._put_join(chat_id, user_id, held, invite_link_name, via_join_request)

    def joins_due(self) -> bool:
        """Whether a held join's twin is overdue (cheap: looks at the oldest only)."""
        oldest = next(iter(self._held.values()), None)
        return oldest is not None and oldest.due <= self.clock.monotonic()

    async def settle_joins(self, *, everything: bool = False) -> int:
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
        if held.shared and self.shared_joins is not None:
            with contextlib.suppress(RedisDown):
                if await self.shared_joins.take(*key) is None:
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

    async def end_join(
        self, chat_id: int, user_id: int, event: MemberEventType, *, is_bot: bool = False
    ) -> None:
        """A leave or kick: the join it ends is forgotten (here and in Redis), a join row
        still held (here or on another replica) is written first, then the leave's row."""
        key = (chat_id, user_id)
        self._joins.discard(key)
        if key in self._held:
            await self._write_held(key)
        elif self.shared_joins is not None:
            with contextlib.suppress(RedisDown):
                taken = await self.shared_joins.take(chat_id, user_id)
                if taken is not None:
                    self._put_join(
                        chat_id, user_id, _HeldJoin(taken[0], 0.0, taken[1]), None, False
                    )
        if self.shared_joins is not None:
            with contextlib.suppress(RedisDown):
                await self.shared_joins.forget(chat_id, user_id)
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
        user joined by, when it has one). A group leave or kick goes through :meth:`end_join`."""
        self.writer.put(
            MemberEvent,
            chat_id=chat_id,
            user_id=user_id,
            event=event.value,
            timestamp=timestamp or self.clock.now(),
            is_bot=is_bot,
            invite_link_name=invite_link_name[:256] if invite_link_name else None,
            via_join_request=via_join_request,
        )

    async def drain(self) -> None:
        """Write the held joins, apply every queued state write and flush the log writer
        (tests, shutdown)."""
        await self.settle_joins(everything=True)
        await self.state.drain()
        await self.writer.flush()
