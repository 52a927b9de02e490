"""The dispatcher factory: services, middlewares, routers, error handling."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiogram import Dispatcher
from aiogram.types import ErrorEvent
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.gate.actions import GateActions
from bot.gate.checker import GateChecker
from bot.gate.join_requests import JoinRequests, SweepMiddleware
from bot.gate.joins import JoinTracker
from bot.gate.raids import RaidGuard
from bot.gate.timers import GateTimers
from bot.routers import get_routers
from bot.runtime.claims import UpdateClaims
from bot.runtime.middlewares import RawLogMiddleware
from bot.runtime.services import BotServices
from bot.storage.admins import AdminTracker, GroupAdmins
from bot.storage.config import ConfigRepo
from bot.storage.gate_state import StateWriter
from bot.storage.membership import InMemoryMembershipCache, MembershipCache
from bot.storage.reactions import ReactionLog
from bot.storage.shared.cache import RedisMembershipCache
from bot.storage.shared.client import SharedRedis
from bot.storage.timers import TimerStore
from bot.storage.updates import UpdateLedger
from core.clock import Clock, SystemClock
from core.settings import Settings

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    *,
    writer: LogWriter,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    cache: MembershipCache | None = None,
    timer: Callable[[], float] = time.perf_counter,
    shared: SharedRedis | None = None,
) -> BotServices:
    """The shared objects behind the handlers (also handy on their own in tests).

    ``shared``: Redis for what replicas share (:mod:`bot.storage.shared`): the membership cache
    (unless ``cache`` is given), join memory, prompt throttle and raid counter."""
    clock = clock or SystemClock()
    gate_settings = settings.gate
    if cache is None:  # (not `or`: an empty cache is falsy)
        cache = InMemoryMembershipCache(gate_settings, clock=clock)
        if shared is not None:
            cache = RedisMembershipCache(shared, cache)
    repo = ConfigRepo(sessions, ttl_s=gate_settings.config_ttl_s)
    state = StateWriter(
        sessions,
        clock=clock,
        upsert_interval_s=gate_settings.user_upsert_interval_s,
    )
    checker = GateChecker(
        writer=writer,
        cache=cache,
        repo=repo,
        clock=clock,
        admin_ttl_s=gate_settings.admin_cache_ttl_s,
        timer=timer,
    )
    actions = GateActions(
        checker, writer=writer, state=state, settings=gate_settings, clock=clock, shared=shared
    )
    return BotServices(
        settings=settings,
        writer=writer,
        sessions=sessions,
        clock=clock,
        cache=cache,
        repo=repo,
        state=state,
        checker=checker,
        actions=actions,
        joins=JoinTracker(writer, clock, shared),
        raids=RaidGuard(actions, gate_settings, clock, shared),
        join_requests=JoinRequests(
            actions,
            repo.group_config,
            clock,
            timeout_s=gate_settings.join_request_timeout_s,
            shared=shared,
        ),
        # repo.group raises while the database is down: a due timer then waits (group_config
        # would say "unprotected" and the timer would be dropped)
        timers=GateTimers(actions, repo.group, TimerStore(state.engine), clock),
        reactions=ReactionLog(writer, clock, shared=shared),
        updates=UpdateLedger(
            bot_id=int(settings.bot.token.get_secret_value().split(":", 1)[0]),
            clock=clock,
            sessions=sessions,
            writer=writer,
            shared=shared,
            lease_s=settings.bot.update_lease_s,
            keep_s=settings.bot.update_keep_h * 3600.0,
            flush=settings.bot.flushes_updates,
            redelivered=settings.bot.mode == "webhook",
        ),
        admins=GroupAdmins(sessions, clock),
        shared=shared,
    )


async def on_error(event: ErrorEvent) -> bool:
    """Any exception a handler lets through: log it (type and update id only) and move on."""
    exc = event.exception
    log.error(
        "update %s: unhandled %s in a handler; skipped",
        getattr(event.update, "update_id", "?"),
        type(exc).__name__,
    )
    log.debug("details of the skipped update", exc_info=(type(exc), exc, exc.__traceback__))
    return True


def create_dispatcher(
    settings: Settings,
    *,
    writer: LogWriter,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    cache: MembershipCache | None = None,
    timer: Callable[[], float] = time.perf_counter,
    shared: SharedRedis | None = None,
) -> Dispatcher:
    """A Dispatcher with every router, the raw-log middleware and an error handler.

    The shared objects are one Dispatcher keyword argument: handlers receive ``services``
    (:class:`BotServices`: settings, writer, the gate's checker and actions, repo, state
    writer, clock).
    ``dp["services"]`` gives them back (drain them before reading the database).
    """
    services = build_services(
        settings,
        writer=writer,
        sessions=sessions,
        clock=clock,
        cache=cache,
        timer=timer,
        shared=shared,
    )
    # no handler keeps conversation state: without aiogram's FSM, no storage lookup per update
    dp = Dispatcher(services=services, disable_fsm=True)
    # first: nothing runs for an update another replica handles or handled
    claims = UpdateClaims(services.updates, redelivered=settings.bot.mode == "webhook")
    dp.update.outer_middleware(claims)
    dp.update.outer_middleware(RawLogMiddleware(services))
    dp.update.outer_middleware(SweepMiddleware(services.join_requests))
    # admin changes ride along every chat_member update, whichever handler takes it
    dp.chat_member.outer_middleware(AdminTracker(services.admins))
    dp.errors.register(on_error)
    dp.include_routers(*get_routers())
    # No shutdown hook closes the state writer: the dispatcher's shutdown is emitted as soon as
    # polling stops, while updates may still be in flight, and their writes would be lost.
    # BotRuntime.close waits for those updates first, then closes the writers.
    return dp
