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
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.actions import JoinedCallback
from bot.runtime.app import BotRuntime, build_runtime
from bot.runtime.client import simulated_timer
from bot.storage.membership import InMemoryMembershipCache
from core.clock import Clock, ManualClock, SystemClock
from core.settings import Settings
from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.session import FakeTelegramSession
from sandbox.fake_telegram.world import FakeWorld, FaultPlan
from sandbox.simulator.players import ShapePlayer
from sandbox.simulator.scenario import Persona, Scenario, SimGroup
from sandbox.simulator.shapes import FORUM_TOPICS, IDENTITY_CHANNELS, ShapePlanner, WorldPlan
from sandbox.simulator.social import SocialPlanner, SocialPlayer
from sandbox.simulator.traffic import Event, EventKind, Planner

log = logging.getLogger(__name__)

#: Median Telegram latency in the simulation, and the rate of injected API faults.
SIM_LATENCY_S = 0.045
SIM_FAULT_RATE = 0.004
SIM_FAULT_KINDS = ("retry_after", "forbidden", "bad_request", "server_error", "timeout", "slow")
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


@dataclass
class SimulationStats:
    """What the simulation did, counted by the simulator (the bot's rows are in the database)."""

    events: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # Telegram faults injected, by kind
    updates_fed: int = 0
    member_count_snapshots: int = 0
    skipped_muted: int = 0
    muted: int = 0
    verified: int = 0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "updates_fed": self.updates_fed,
            "muted": self.muted,
            "verified": self.verified,
            "member_count_snapshots": self.member_count_snapshots,
            "skipped_while_muted": self.skipped_muted,
            **{f"events_{k}": v for k, v in sorted(self.events.items())},
            **{f"faults_{k}": v for k, v in sorted(self.faults.items())},
            "wall_s": round(self.wall_s, 1),
        }


def build_world(scenario: Scenario, clock: ManualClock | SystemClock) -> FakeWorld:
    """The fake Telegram world the scenario describes (faults off: setup must not fail), with
    the special parts of :class:`~sandbox.simulator.shapes.WorldPlan`: "send as channel"
    identities, a discussion group linked to its channel, a forum, and a basic group."""
    world = FakeWorld(clock=clock, seed=scenario.seed, latency_s=SIM_LATENCY_S)
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


def _sim_sleep(clock: ManualClock, rng: random.Random) -> Callable[[float], Any]:
    """Latency on the simulated clock: "sleep until", jittered around the requested delay.

    Calls that start together (the gate's concurrent getChatMember) end around the same
    simulated moment, as they would on the wire.
    """

    async def sleep(seconds: float) -> None:
        if seconds > 0:
            target = clock.monotonic() + seconds * rng.lognormvariate(0.0, 0.45)
            await asyncio.sleep(0)
            now = clock.monotonic()
            if target > now:
                clock.advance(target - now)
        else:
            await asyncio.sleep(0)

    return sleep


class Simulation(ShapePlayer, SocialPlayer):
    """One run of a scenario from ``start`` to ``end`` through the real bot; at the end of each
    simulated day the member counts are synced as the pipeline would (``sync_counts``, when
    given)."""

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
        self.clock = ManualClock(start)
        self.world = build_world(scenario, self.clock)
        self.planner = Planner(scenario, start)
        self.plan = WorldPlan.of(scenario)
        self.shapes = ShapePlanner(scenario, self.plan, start)
        self.social = SocialPlanner(scenario, self.plan, self.planner.personas)
        self._init_social(scenario.seed)
        self._shape_seq = itertools.count(-1, -1)  # apart from the planner's sequence
        self._live: dict[int, int] = {}  # a migrated group's first id -> its supergroup id
        self._topics: list[int] = []  # the forum group's topic (thread) ids
        self.groups = {g.chat_id: g for g in scenario.groups}
        self.groups_by_channel: dict[int, list[SimGroup]] = {}
        for group in scenario.groups:
            for channel_id in group.channel_ids:
                self.groups_by_channel.setdefault(channel_id, []).append(group)
        self.stats = SimulationStats()
        self._queue: list[Event] = []
        self._message_ids: dict[int, int] = {}  # MESSAGE event seq -> telegram message id
        self._prompts: dict[tuple[int, int], int] = {}  # (group, user) -> prompt message id
        self._runtime: BotRuntime | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def runtime(self) -> BotRuntime:
        assert self._runtime is not None, "call run() first"
        return self._runtime

    async def _feed(self, update: dict[str, Any]) -> None:
        runtime = self.runtime
        await runtime.dp.feed_raw_update(runtime.bot, update)
        self.stats.updates_fed += 1

    def _find_prompt(self, group_id: int, user_id: int) -> None:
        data = JoinedCallback(user_id=user_id).pack()
        for sent in reversed(self.world.sent_messages[-60:]):
            if sent.get("chat", {}).get("id") != group_id:
                continue
            rows = (sent.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(b.get("callback_data") == data for row in rows for b in row):
                self._prompts[(group_id, user_id)] = int(sent["message_id"])
                return

    def _chat(self, group: SimGroup) -> int:
        """The group's id in Telegram now (a supergroup's after a migration)."""
        return self._live.get(group.chat_id, group.chat_id)

    def _after_gate(self, group: SimGroup, user_id: int, was_muted: bool) -> None:
        """React to what the bot did to ``user_id`` in ``group``."""
        muted = self.world.is_muted(self._chat(group), user_id)
        if muted and not was_muted:
            self.stats.muted += 1
            self._find_prompt(self._chat(group), user_id)
            missing = [c for c in group.channel_ids if not self.world.is_member(c, user_id)]
            for event in self.planner.on_muted(group, user_id, self.clock.now(), missing):
                heapq.heappush(self._queue, event)
        elif was_muted and not muted:
            self.stats.verified += 1
            self.planner.on_verified(group, user_id)

    # ------------------------------------------------------------------ events
    async def _play(self, event: Event) -> None:
        world = self.world
        kind = event.kind
        self.stats.events[kind] += 1
        if kind is EventKind.SHAPE:
            await self._play_shape(event.shape)
        elif kind in SOCIAL_KINDS:
            await self._play_social(event)
        elif kind is EventKind.MESSAGE:
            group = self.groups[event.chat_id]
            chat = self._chat(group)
            if world.is_muted(chat, event.user_id):
                self.stats.skipped_muted += 1  # Telegram would not let them write
                return
            if world.member_status(chat, event.user_id) in ("left", "kicked"):
                return
            reply_to = self._message_ids.get(event.reply_to_seq or -1)
            thread = None
            if chat == self.plan.forum_group and self._topics and reply_to is None:
                thread = self._topics[event.seq % len(self._topics)]
            update = world.message_update(
                chat, event.user_id, event.text or "", reply_to=reply_to, message_thread_id=thread
            )
            self._message_ids[event.seq] = int(update["message"]["message_id"])
            await self._feed(update)
            self._after_gate(group, event.user_id, was_muted=False)
        elif kind is EventKind.JOIN:
            group = self.groups[event.chat_id]
            if self.planner.persona(group.chat_id, event.user_id) is Persona.SUBSCRIBED:
                for channel_id in group.channel_ids:  # subscribed long before
                    world.set_member(channel_id, event.user_id, "member")
            chat = self._chat(group)
            if chat == self.plan.requests_group:
                await self._join_request(group, event.user_id)
                return
            was_muted = world.is_muted(chat, event.user_id)
            link = self.social.invite_link()
            await self._feed(world.join_update(chat, event.user_id, invite_link_name=link))
            self._after_gate(group, event.user_id, was_muted)
            if not world.is_muted(chat, event.user_id):
                self.planner.on_verified(group, event.user_id)
        elif kind is EventKind.SUBSCRIBE:
            if not world.is_member(event.chat_id, event.user_id):
                await self._feed(world.join_update(event.chat_id, event.user_id))
        elif kind is EventKind.CLICK:
            group = self.groups[event.chat_id]
            chat = self._chat(group)
            prompt = self._prompts.get((chat, event.user_id))
            if prompt is None or not world.is_muted(chat, event.user_id):
                return
            data = JoinedCallback(user_id=event.user_id).pack()
            await self._feed(world.callback_update(chat, event.user_id, data, message_id=prompt))
            self._after_gate(group, event.user_id, was_muted=True)
        elif kind is EventKind.CHANNEL_LEAVE:
            if not world.is_member(event.chat_id, event.user_id):
                return
            linked = self.groups_by_channel.get(event.chat_id, [])
            before = {g.chat_id: world.is_muted(self._chat(g), event.user_id) for g in linked}
            await self._feed(world.leave_update(event.chat_id, event.user_id))
            for group in linked:
                self._after_gate(group, event.user_id, before[group.chat_id])
        elif kind is EventKind.GROUP_LEAVE:
            group = self.groups[event.chat_id]
            chat = self._chat(group)
            if world.member_status(chat, event.user_id) in ("left", "kicked"):
                return
            await self._feed(world.leave_update(chat, event.user_id))
            self.planner.on_left(group, event.user_id)

    async def _setup(self) -> None:
        """Each creator starts the bot in private (so alerts can reach them) and protects their
        group with ``/protect`` (the real admin flow; the basic group is refused until it
        becomes a supergroup); the forum gets its topics."""
        for creator in sorted({group.creator_id for group in self.scenario.groups}):
            await self._feed(self.world.message_update(creator, creator, "/start"))
        for index, group in enumerate(self.scenario.groups):
            await self._protect(group)
            if index % 2 == 0 and group.chat_id != self.plan.basic_group:
                await self._opt_in_digest(group, top_posters=index % 4 == 0)
            if group.chat_id == self.plan.forum_group:
                for name in FORUM_TOPICS:
                    update = self.world.topic_created_update(
                        group.chat_id, name, by_user_id=group.creator_id
                    )
                    await self._feed(update)
                    self._topics.append(int(update["message"]["message_id"]))

    async def _opt_in_digest(self, group: SimGroup, *, top_posters: bool) -> None:
        """Half the groups ask for the weekly digest (``/settings digest weekly``), every
        other one of them naming its top posters."""
        commands = ["/settings digest weekly"] + (
            ["/settings top_posters on"] if top_posters else []
        )
        for text in commands:
            await self._feed(self.world.message_update(self._chat(group), group.creator_id, text))
            self.clock.advance(1.0)

    async def _protect(self, group: SimGroup) -> None:
        refs = []
        for channel_id in group.channel_ids:
            channel = self.scenario.channels[channel_id]
            refs.append(f"@{channel.username}" if channel.username else str(channel_id))
        update = self.world.message_update(
            self._chat(group), group.creator_id, "/protect " + " ".join(refs)
        )
        await self._feed(update)
        self.clock.advance(1.0)

    async def _sync_counts(self, sync: MemberCountSync, day_end: dt.datetime) -> None:
        """The day's member-count sync, once its traffic is done."""
        synced_at = day_end_stamp(day_end)
        if self.clock.now() < synced_at:
            self.clock.set(synced_at)
        self.stats.member_count_snapshots += await sync(self.runtime.bot, self.clock, synced_at)

    async def run(self, on_day: Callable[[int, dt.date], None] | None = None) -> SimulationStats:
        """Play every day from ``start`` up to ``end``; ``on_day`` after each simulated day.

        The faults injected on purpose are counted (``stats.faults``, and every failed call is
        in ``api_call_log``); their one-line warnings are kept off the console meanwhile.
        """
        quiet = [logging.getLogger(name) for name in ("aiogram", "gatepulse.telegram")]
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
        session = FakeTelegramSession(
            self.world,
            sleep=_sim_sleep(self.clock, random.Random(self.scenario.seed)),
            instant_timeouts=True,
        )
        self._runtime = await build_runtime(
            self.settings,
            clock=self.clock,
            session=session,
            engine=self.engine,
            timer=simulated_timer(self.clock),
            cache=InMemoryMembershipCache(
                self.settings.gate, clock=self.clock, seed=self.scenario.seed
            ),
        )
        try:
            await self._setup()
            self.world.faults = FaultPlan(
                rate=SIM_FAULT_RATE, kinds=SIM_FAULT_KINDS, seed=self.scenario.seed
            )
            days = (self.end.date() - self.start.date()).days + 1
            for index in range(days):
                planned = self.planner.plan_day(index)
                day_start = self.start + dt.timedelta(days=index)
                for event in (*planned, *self.social.day(day_start, planned)):
                    heapq.heappush(self._queue, event)
                for shape in self.shapes.day(index):
                    heapq.heappush(self._queue, Event(shape.at, next(self._shape_seq),
                                   EventKind.SHAPE, shape.chat_id, 0, shape=shape))  # fmt: skip
                await self._world_events(index)
                day_end = self.start + dt.timedelta(days=index + 1)
                while self._queue and self._queue[0].at < min(day_end, self.end):
                    event = heapq.heappop(self._queue)
                    if event.at > self.clock.now():
                        self.clock.set(event.at)
                    await self._play(event)
                if self.sync_counts is not None:
                    await self._sync_counts(self.sync_counts, min(day_end, self.end))
                if on_day:
                    on_day(index, (self.start + dt.timedelta(days=index)).date())
                if day_end >= self.end:
                    break
            self.clock.set(max(self.clock.now(), self.end))
        finally:
            await self.runtime.close()
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
