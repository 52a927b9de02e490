"""The bot's shared objects, built once per process and handed to handlers."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cache import MembershipCache
from bot.gate import GateService
from bot.joinrequests import JoinRequests
from bot.raids import RaidGuard
from bot.reactions import ReactionLog
from bot.repo import ConfigRepo, GroupConfig
from bot.state import StateWriter
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
    gate: GateService
    #: batches of joiners and raid lockdowns (:mod:`bot.raids`)
    raids: RaidGuard = field(init=False, repr=False)
    #: (chat, user) joins seen within ``JOIN_DEDUP_S``
    _joins: ExpiringMap[tuple[int, int], bool] = field(init=False, repr=False)
    #: joins seen as a message, waiting for their chat_member twin (oldest first)
    _held: dict[tuple[int, int], _HeldJoin] = field(init=False, repr=False, default_factory=dict)
    #: join requests the gate is waiting on (:mod:`bot.joinrequests`)
    join_requests: JoinRequests = field(init=False, repr=False)
    #: reaction updates into ``reaction_events`` (:mod:`bot.reactions`)
    reactions: ReactionLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.raids = RaidGuard(self.gate, self.settings.gate, self.clock)
        self._joins = ExpiringMap(self.clock.monotonic, JOIN_DEDUP_S, max_entries=JOINS_MAX)
        self.join_requests = JoinRequests(
            self.gate,
            self.group_config,
            self.clock,
            timeout_s=self.settings.gate.join_request_timeout_s,
        )
        self.reactions = ReactionLog(self.writer, self.clock)

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

    def note_join(self, chat_id: int, user_id: int) -> bool:
        """``True`` the first time a join of (chat, user) is seen within ``JOIN_DEDUP_S``:
        Telegram reports one join twice (a chat_member update and a new_chat_members message,
        in either order), and the whole join path (member event, check, mute, prompt) runs
        for the first report only. A leave or kick ends the join (:meth:`member_event`)."""
        key = (chat_id, user_id)
        first = key not in self._joins
        self._joins.set(key, True)  # a repeat within the window extends it
        return first

    def hold_join(self, chat_id: int, user_id: int, *, is_bot: bool) -> None:
        """A join first reported by a ``new_chat_members`` message: its row waits (up to
        ``JOIN_TWIN_WAIT_S``) for the ``chat_member`` twin that names the invite link."""
        self._held[(chat_id, user_id)] = _HeldJoin(
            self.clock.now(), self.clock.monotonic() + JOIN_TWIN_WAIT_S, is_bot
        )
        if len(self._held) > JOINS_MAX:
            self._write_held(next(iter(self._held)))

    def complete_join(
        self,
        chat_id: int,
        user_id: int,
        *,
        invite_link_name: str | None,
        via_join_request: bool,
    ) -> None:
        """The ``chat_member`` twin of a held join: write it once, with the twin's details and
        the time it was first seen. Nothing when the join was not held (written already)."""
        held = self._held.pop((chat_id, user_id), None)
        if held is not None:
            self._put_join(chat_id, user_id, held, invite_link_name, via_join_request)

    def settle_joins(self, *, everything: bool = False) -> int:
        """Write the held joins whose twin is overdue (``everything``: all, at shutdown)."""
        now = self.clock.monotonic()
        written = 0
        while self._held:
            key, held = next(iter(self._held.items()))
            if not everything and held.due > now:
                break  # oldest first: the rest are due later
            self._write_held(key)
            written += 1
        return written

    def _write_held(self, key: tuple[int, int]) -> None:
        held = self._held.pop(key)
        self._put_join(key[0], key[1], held, None, False)

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
        user joined by, when it has one). A leave or kick first writes the join still held."""
        if event is not MemberEventType.JOIN:
            self._joins.discard((chat_id, user_id))
            if (chat_id, user_id) in self._held:
                self._write_held((chat_id, user_id))
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
        self.settle_joins(everything=True)
        await self.state.drain()
        await self.writer.flush()
