"""Plays a scenario through the real bot: dispatcher, gate, batched writer, logged client.

History runs on a :class:`~core.clock.ManualClock` against the fake Telegram world in process
(:class:`~sandbox.fake_telegram.session.FakeTelegramSession`): Telegram latency and the limiter's
waits advance the simulated clock instead of wall time, so weeks pass in seconds and every row
carries simulated time. Nothing is written by hand: each event becomes a Bot API update fed to
the dispatcher, and what people do next depends on what the bot did (a muted person cannot
write; a prompted one may join the channels and press "I joined").

The live phase then runs the real bot polling the same world over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.app import build_runtime, housekeep
from bot.storage.membership import InMemoryMembershipCache
from core.clock import Clock, ManualClock, SystemClock
from core.settings import Settings
from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.session import FakeTelegramSession
from sandbox.fake_telegram.world import FakeWorld, FaultPlan
from sandbox.simulator.admins import AdminPlayer
from sandbox.simulator.context import SimContext, SimulationStats
from sandbox.simulator.latency import PlayedLatency
from sandbox.simulator.people import PeoplePlayer
from sandbox.simulator.players import ShapePlayer
from sandbox.simulator.scenario import Scenario
from sandbox.simulator.shapes import IDENTITY_CHANNELS, ShapePlanner, WorldPlan
from sandbox.simulator.social import SocialPlanner, SocialPlayer
from sandbox.simulator.traffic import Event, EventKind, Planner

log = logging.getLogger(__name__)

#: Median Telegram latency in the simulation (each call's drawn with a log-normal spread), and
#: the rate of injected API faults.
SIM_LATENCY_S = 0.045
SIM_LATENCY_SPREAD = 0.45
SIM_FAULT_RATE = 0.004
SIM_FAULT_KINDS = ("retry_after", "forbidden", "bad_request", "server_error", "timeout", "slow")
SIM_HOUSEKEEPING_S = 300.0
"""How often, in simulated time, the bot's housekeeping runs (its loop runs on wall time, so on
the simulated clock the simulation runs each round itself): prompts are deleted after their
``prompt_ttl``, newcomers time out, join requests expire, admin lists are read again, each at
most this late. Every five simulated minutes: a round costs a few milliseconds of database
work, so once a simulated minute would add minutes to the demo's month."""
SOCIAL_KINDS = frozenset(
    {EventKind.REACT, EventKind.KICK, EventKind.BOT_JOIN, EventKind.REACTION_COUNT}
)

MemberCountSync = Callable[[Bot, Clock, dt.datetime], Awaitable[int]]
"""The member-count sync at the end of a simulated day: asks through the bot, waits on the
clock, stamps the snapshots with the given moment; returns how many snapshots it wrote. The
composition root builds it from the pipeline's pieces (:mod:`cli.demo.membercounts`)."""


def day_end_stamp(day_end: dt.datetime) -> dt.datetime:
    """The ``synced_at`` of a day's sync: the last second of the day that ends at ``day_end``
    (a snapshot at midnight would count for the next day)."""
    return day_end - dt.timedelta(seconds=1)


def build_world(scenario: Scenario, clock: ManualClock | SystemClock) -> FakeWorld:
    """The fake Telegram world the scenario describes (faults off: setup must not fail), with
    the special parts of :class:`~sandbox.simulator.shapes.WorldPlan`: "send as channel"
    identities, a discussion group linked to its channel, a forum, and a basic group."""
    world = FakeWorld(
        clock=clock,
        seed=scenario.seed,
        latency_s=SIM_LATENCY_S,
        latency_spread=SIM_LATENCY_SPREAD,
    )
    for user in scenario.users.values():
        world.add_user(
            user.user_id, user.first_name, user.username, language_code=user.language_code
        )
    for channel in scenario.channels.values():
        world.add_channel(
            channel.chat_id,
            channel.title,
            username=channel.username,
            invite_link=channel.invite_link,
            subscribers=channel.subscribers,
        )
    plan = WorldPlan.of(scenario)
    for identity, (title, username) in IDENTITY_CHANNELS.items():
        world.add_channel(identity, title, username=username, bot_is_admin=False)
    for group in scenario.groups:
        world.add_group(
            group.chat_id,
            group.title,
            creator_id=group.creator_id,
            admin_ids=group.admin_ids,
            supergroup=group.chat_id != plan.basic_group,
            is_forum=group.chat_id == plan.forum_group,
        )
        world.chats[group.chat_id].extra_members = group.base_members
        if group.chat_id == plan.discussion_group:
            world.link_channel(group.chat_id, group.channel_ids[0])
        for channel_id in group.channel_ids:  # owners run their channels too (/protect checks)
            world.set_member(channel_id, group.creator_id, "administrator")
        for uid in group.members:
            world.set_member(group.chat_id, uid, "member")
            for channel_id in group.channel_ids:
                world.set_member(channel_id, uid, "member")
        for uid in group.legacy_unsubscribed:
            world.set_member(group.chat_id, uid, "member")
        for uid in group.reactors:  # subscribed members who only ever react
            world.set_member(group.chat_id, uid, "member")
            for channel_id in group.channel_ids:
                world.set_member(channel_id, uid, "member")
    return world


class Simulation:
    """One run of a scenario from ``start`` to ``end`` through the real bot; at the end of each
    simulated day the member counts are synced as the pipeline would (``sync_counts``, when
    given).

    It lays out each day (the people's traffic, their social life, the shapes) and plays it in
    time order; the players share one :class:`~sandbox.simulator.context.SimContext`: the
    people (:class:`~sandbox.simulator.people.PeoplePlayer`), the owners' admin flows
    (:class:`~sandbox.simulator.admins.AdminPlayer`), the shapes and world events
    (:class:`~sandbox.simulator.players.ShapePlayer`) and the social events
    (:class:`~sandbox.simulator.social.SocialPlayer`). Between events the bot's housekeeping
    runs every ``SIM_HOUSEKEEPING_S`` of simulated time (gate timers, join requests, admins).
    """

    def __init__(
        self,
        settings: Settings,
        scenario: Scenario,
        *,
        start: dt.datetime,
        end: dt.datetime,
        engine: AsyncEngine,
        sync_counts: MemberCountSync | None = None,
    ) -> None:
        # Configuration only changes through admin commands, which invalidate the caches: on the
        # fast simulated clock a short TTL would only turn into database reads.
        gate = settings.gate.model_copy(
            update={"config_ttl_s": 6 * 3600.0, "admin_cache_ttl_s": 6 * 3600.0}
        )
        self.settings = settings.replace(gate=gate)
        self.scenario = scenario
        self.start = start
        self.end = end
        self.engine = engine
        self.sync_counts = sync_counts
        clock = ManualClock(start)
        planner = Planner(scenario, start)
        plan = WorldPlan.of(scenario)
        self.context = SimContext(
            scenario, world=build_world(scenario, clock), clock=clock, planner=planner, plan=plan
        )
        self.shapes = ShapePlanner(scenario, plan, start)
        self.social = SocialPlanner(scenario, plan, planner.personas)
        self.admins = AdminPlayer(self.context)
        self.people = PeoplePlayer(self.context, self.social.invite_link)
        self.shape_player = ShapePlayer(self.context, self.admins, start=start)
        self.social_player = SocialPlayer(self.context)
        self._shape_seq = itertools.count(-1, -1)  # apart from the planner's sequence
        self._next_housekeeping = start

    @property
    def world(self) -> FakeWorld:
        return self.context.world

    @property
    def clock(self) -> ManualClock:
        return self.context.clock

    @property
    def stats(self) -> SimulationStats:
        return self.context.stats

    async def _play(self, event: Event) -> None:
        self.stats.events[event.kind] += 1
        if event.kind is EventKind.SHAPE:
            await self.shape_player.play(event.shape)
        elif event.kind in SOCIAL_KINDS:
            await self.social_player.play(event)
        else:
            await self.people.play(event)

    async def _housekeep_until(self, at: dt.datetime) -> None:
        """Every housekeeping round due before ``at``, each at its own simulated moment, as the
        bot's loop would run it (:func:`bot.runtime.app.housekeep`); what Telegram sends
        the bot meanwhile (a declined request's update) is fed to it."""
        ctx = self.context
        while self._next_housekeeping < at:
            if self._next_housekeeping > self.clock.now():
                self.clock.set(self._next_housekeeping)
            await housekeep(ctx.runtime.services, ctx.runtime.bot)
            await ctx.feed_queued()
            self.stats.housekeeping_rounds += 1
            self._next_housekeeping += dt.timedelta(seconds=SIM_HOUSEKEEPING_S)

    async def _sync_counts(self, sync: MemberCountSync, day_end: dt.datetime) -> None:
        """The day's member-count sync, once its traffic is done."""
        synced_at = day_end_stamp(day_end)
        if self.clock.now() < synced_at:
            self.clock.set(synced_at)
        bot = self.context.runtime.bot
        self.stats.member_count_snapshots += await sync(bot, self.clock, synced_at)

    async def run(self, on_day: Callable[[int, dt.date], None] | None = None) -> SimulationStats:
        """Play every day from ``start`` up to ``end``; ``on_day`` after each simulated day.

        The faults injected on purpose are counted (``stats.faults``, and every failed call is
        in ``api_call_log``); their one-line warnings are kept off the console meanwhile.
        """
        quiet = [
            logging.getLogger(name) for name in ("aiogram", "gatepulse.telegram", "bot.gate.timers")
        ]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.ERROR)
        try:
            return await self._run(on_day)
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

    async def _run(self, on_day: Callable[[int, dt.date], None] | None) -> SimulationStats:
        started = time.perf_counter()
        ctx = self.context
        # each call's latency_ms (and a check's) is what the fake played for it, not every
        # move of the simulated clock while it was in flight
        latency = PlayedLatency(self.clock)
        session = FakeTelegramSession(self.world, sleep=latency.sleep, instant_timeouts=True)
        ctx.runtime = await build_runtime(
            self.settings,
            clock=self.clock,
            session=session,
            engine=self.engine,
            timer=latency.timer,
            cache=InMemoryMembershipCache(
                self.settings.gate, clock=self.clock, seed=self.scenario.seed
            ),
        )
        try:
            await self.admins.setup()
            self.world.faults = FaultPlan(
                rate=SIM_FAULT_RATE, kinds=SIM_FAULT_KINDS, seed=self.scenario.seed
            )
            days = (self.end.date() - self.start.date()).days + 1
            for index in range(days):
                planned = ctx.planner.plan_day(index)
                day_start = self.start + dt.timedelta(days=index)
                for event in (*planned, *self.social.day(day_start, planned)):
                    ctx.schedule(event)
                for shape in self.shapes.day(index):
                    ctx.schedule(Event(shape.at, next(self._shape_seq), EventKind.SHAPE,
                                       shape.chat_id, 0, shape=shape))  # fmt: skip
                await self.shape_player.world_events(index)
                day_end = self.start + dt.timedelta(days=index + 1)
                while ctx.queue and ctx.queue[0].at < min(day_end, self.end):
                    event = heapq.heappop(ctx.queue)
                    await self._housekeep_until(event.at)
                    if event.at > self.clock.now():
                        self.clock.set(event.at)
                    await self._play(event)
                await self._housekeep_until(min(day_end, self.end))
                if self.sync_counts is not None:
                    await self._sync_counts(self.sync_counts, min(day_end, self.end))
                if on_day:
                    on_day(index, (self.start + dt.timedelta(days=index)).date())
                if day_end >= self.end:
                    break
            self.clock.set(max(self.clock.now(), self.end))
        finally:
            await ctx.runtime.close()
        self.stats.faults.update(self.world.fault_counts)
        self.stats.wall_s = time.perf_counter() - started
        return self.stats


async def run_live(
    settings: Settings, world: FakeWorld, scenario: Scenario, *, seconds: float, engine: AsyncEngine
) -> int:
    """The real bot polling the fake server over HTTP for ``seconds``; returns updates taken.

    A few people write and join meanwhile, pushed into the world as Telegram would push them.
    """
    world.clock = SystemClock()
    world.faults = FaultPlan(rate=0.0)
    world.latency_s = 0.01
    rng = random.Random(scenario.seed + 1)
    async with FakeTelegramServer(world=world, token=settings.bot.token.get_secret_value()) as srv:
        # a few update-delivery reports over the phase (one more as it ends)
        health_s = max(0.5, seconds / 4) if settings.bot.health_interval_s > 0 else 0.0
        update = {"api_base": srv.base_url, "health_interval_s": health_s}
        live = settings.replace(bot=settings.bot.model_copy(update=update))
        runtime = await build_runtime(live, engine=engine)
        bot: Bot = runtime.bot
        pushed = 0

        async def push() -> None:
            nonlocal pushed
            groups = scenario.groups
            loop_end = time.monotonic() + seconds
            while time.monotonic() < loop_end:
                group = rng.choice(groups)
                if group.members and rng.random() < 0.85:
                    uid = rng.choice(group.members)
                    if not world.is_muted(group.chat_id, uid):
                        world.push_update(world.message_update(group.chat_id, uid, "live 👋"))
                        pushed += 1
                else:
                    user = scenario.new_user(rng)
                    world.add_user(user.user_id, user.first_name, user.username)
                    world.push_update(world.join_update(group.chat_id, user.user_id))
                    pushed += 1
                await asyncio.sleep(0.02)

        polling = asyncio.create_task(
            runtime.dp.start_polling(
                bot,
                allowed_updates=runtime.dp.resolve_used_update_types(),
                polling_timeout=1,
                handle_signals=False,
                close_bot_session=False,
            )
        )
        try:
            await push()
            for _ in range(100):  # let the bot catch up with what was pushed
                if world.pending_update_count() == 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(RuntimeError):
                await runtime.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(polling, 10)
            if runtime.health is not None:
                await runtime.health.record()
            await runtime.close()
    return pushed - world.pending_update_count()
