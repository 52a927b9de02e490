"""The bot's shared objects, built once per process
(:func:`bot.runtime.dispatcher.build_services`) and handed to handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gate.actions import GateActions
from bot.gate.checker import GateChecker
from bot.gate.join_requests import JoinRequests
from bot.gate.joins import JoinTracker
from bot.gate.raids import RaidGuard
from bot.gate.timers import GateTimers
from bot.storage.admins import GroupAdmins
from bot.storage.config import ConfigRepo
from bot.storage.gate_state import StateWriter
from bot.storage.membership import MembershipCache
from bot.storage.reactions import ReactionLog
from bot.storage.shared.client import SharedRedis
from bot.storage.updates import UpdateLedger
from core.clock import Clock
from core.settings import Settings

if TYPE_CHECKING:
    from core.log_writer import LogWriter


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
    #: joins reported twice handled once; the ``member_events`` rows (:mod:`bot.gate.joins`)
    joins: JoinTracker
    #: batches of joiners and raid lockdowns (:mod:`bot.gate.raids`)
    raids: RaidGuard
    #: join requests the gate is waiting on (:mod:`bot.gate.join_requests`)
    join_requests: JoinRequests
    #: prompts deleted after their ttl, newcomers acted on at their timeout
    #: (:mod:`bot.gate.timers`; swept by the runtime's housekeeping)
    timers: GateTimers
    #: reaction updates into ``reaction_events`` (:mod:`bot.storage.reactions`)
    reactions: ReactionLog
    #: each update handled once across replicas (:mod:`bot.storage.updates`)
    updates: UpdateLedger
    #: who administers each protected group (:mod:`bot.storage.admins`)
    admins: GroupAdmins
    #: Redis, when ``REDIS_URL`` is set (:mod:`bot.storage.shared`); ``None``: all in-process
    shared: SharedRedis | None = None

    async def drain(self) -> None:
        """Write the held joins, apply every queued state write and flush the log writer
        (tests, shutdown)."""
        await self.joins.settle(everything=True)
        await self.state.drain()
        await self.writer.flush()
