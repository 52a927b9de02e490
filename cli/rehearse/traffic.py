"""The rehearsal's traffic: the demo's simulated population, pushed through Telegram's delivery.

:class:`Traffic` builds the demo's world (:func:`sandbox.simulator.scenario.build_scenario` for
one day, :func:`sandbox.simulator.runner.build_world` on the wall clock, small latency, no
faults: the rehearsal injects its own) and pushes updates into it with ``world.push_update``,
as Telegram would receive them; the fake server's deliverer takes them to the bots. Every
update pushed is noted in a :class:`~cli.rehearse.ledger.Ledger`.

* :meth:`Traffic.setup`: the owners start the bot in private, ``/protect`` their groups with
  their channels and half of them opt in to the digest (as
  :class:`~sandbox.simulator.admins.AdminPlayer` does); :meth:`Traffic.wait_protected` waits
  until the database says so.
* :meth:`Traffic.run`: ``rate`` updates a second for ``duration_s``. Members who are not muted
  write (most of it); newcomers join, a share of them already in every linked channel; a
  newcomer the bot muted and prompted subscribes to the channels a moment later and presses
  "I joined" on their prompt, then writes like everyone; some members leave, some react.
  At :attr:`TrafficPlan.raid_at_s` a raid (more than ``GATE_RAID_JOINS`` joins into one group
  within a few seconds); at :attr:`TrafficPlan.lost_right_at_s` the bot silently loses its
  admin right in one linked channel (getChatMember there answers "member list is
  inaccessible"), and newcomers join the groups that link it so that checks meet it.

The raid's group and the lost channel are chosen apart (:attr:`Traffic.raid_group`,
:attr:`Traffic.lost_channel`). Normal joins stay below half the raid threshold per group, so
only the raid locks a group down.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.actions import JoinedCallback
from cli.rehearse.ledger import Kind, Ledger, LostRight, Raid
from core.clock import SystemClock
from core.models import GroupChannelLink, ProtectedGroup
from core.settings import GateSettings
from sandbox.fake_telegram import FakeWorld, FaultPlan
from sandbox.simulator.runner import build_world
from sandbox.simulator.scenario import Scenario, SimGroup, build_scenario
from sandbox.simulator.shapes import WorldPlan

#: Telegram's latency in the rehearsal's world (seconds, median).
LATENCY_S = 0.02
_GATE = GateSettings()
#: How the traffic's actions are mixed (relative weights).
MIX = {"message": 0.62, "join": 0.12, "react": 0.18, "leave": 0.04}
#: Messages per group a reaction may land on (the newest).
RECENT = 50


@dataclass
class TrafficPlan:
    """What :meth:`Traffic.run` does; the offsets count from the run's start (``None``: not
    at all)."""

    rate: float = 10.0
    duration_s: float = 600.0
    raid_at_s: float | None = None
    #: joins in the raid (more than ``GATE_RAID_JOINS`` locks the group down) over
    #: ``raid_spread_s`` seconds
    raid_joins: int = _GATE.raid_joins + 5
    raid_spread_s: float = 3.0
    lost_right_at_s: float | None = None
    #: newcomers pushed into each group that links the lost channel after it, one every
    #: ``lost_right_every_s`` seconds
    lost_right_joins: int = 4
    lost_right_every_s: float = 1.0
    #: the share of newcomers already in every linked channel
    subscribed_share: float = 0.4
    #: a prompted newcomer subscribes this long after the prompt, and presses "I joined" this
    #: long after subscribing (seconds, uniform)
    react_s: tuple[float, float] = (1.0, 3.0)


@dataclass
class _Newcomer:
    """An unsubscribed newcomer the traffic follows: prompt seen, subscribed, pressed."""

    group: SimGroup
    user_id: int
    joined_at: float
    due: float = 0.0
    prompt: int | None = None
    subscribed: bool = False
    pressed: bool = False


class Traffic:
    """The population and its traffic (see the module's docstring)."""

    def __init__(self, scenario: Scenario, world: FakeWorld, ledger: Ledger, *, seed: int) -> None:
        self.scenario = scenario
        self.world = world
        self.ledger = ledger
        ledger.watch(world)
        self.rng = random.Random(seed)
        plan = WorldPlan.of(scenario)
        #: the groups the owners can protect (a basic group cannot be)
        self.groups = [g for g in scenario.groups if g.chat_id != plan.basic_group]
        self.raid_group = self.groups[0]
        self.lost_channel = self._pick_lost_channel()
        self.lost_groups = frozenset(
            g.chat_id for g in self.groups if self.lost_channel in g.channel_ids
        )
        self._writers: dict[int, list[int]] = {g.chat_id: list(g.members) for g in self.groups}
        self._recent: dict[int, collections.deque[int]] = {
            g.chat_id: collections.deque(maxlen=RECENT) for g in self.groups
        }
        self._reacted: set[tuple[int, int, int]] = set()
        self._joins: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._following: list[_Newcomer] = []
        self._prompts: dict[tuple[int, int], int] = {}
        self._sent_seen = 0
        self._lost = False

    @classmethod
    def build(
        cls, *, seed: int = 7, groups: int = 4, scale: float = 0.05, ledger: Ledger | None = None
    ) -> Traffic:
        """The demo's scenario for one day and its world on the wall clock."""
        scenario = build_scenario(seed=seed, days=1, groups=groups, scale=scale)
        world = build_world(scenario, SystemClock())
        world.latency_s = LATENCY_S
        world.faults = FaultPlan(rate=0.0)
        return cls(scenario, world, ledger or Ledger(), seed=seed)

    @property
    def stats(self) -> collections.Counter[Kind]:
        """Updates pushed so far, by kind."""
        return self.ledger.counts

    # ------------------------------------------------------------------ setup
    async def setup(self) -> None:
        """The owners' admin flow, pushed: ``/start`` in private, ``/protect`` with the group's
        channels, ``/settings digest weekly`` in every other group."""
        world = self.world
        for creator in sorted({g.creator_id for g in self.groups}):
            update = world.message_update(creator, creator, "/start")
            self._push(update, Kind.PRIVATE, creator, creator)
        for index, group in enumerate(self.groups):
            self._protect(group)
            if index % 2 == 0:
                self._say(group.chat_id, group.creator_id, "/settings digest weekly")

    def _protect(self, group: SimGroup) -> None:
        refs = []
        for channel_id in group.channel_ids:
            channel = self.scenario.channels[channel_id]
            refs.append(f"@{channel.username}" if channel.username else str(channel_id))
        self._say(group.chat_id, group.creator_id, "/protect " + " ".join(refs))

    async def wait_protected(
        self, engine: AsyncEngine, *, timeout_s: float = 120.0, retry_s: float = 5.0
    ) -> None:
        """Wait until every group is in ``protected_groups`` with its channels linked; an
        owner whose group is not protected ``retry_s`` after their ``/protect`` sends it
        again (as one would after "try again"). ``TimeoutError`` naming the groups still
        missing, and what the bot last said in each, after ``timeout_s``."""
        want = {g.chat_id: set(g.channel_ids) for g in self.groups}
        p, link = ProtectedGroup.__table__.c, GroupChannelLink.__table__.c
        query = sa.select(p.id, link.channel_id).join_from(
            ProtectedGroup.__table__, GroupChannelLink.__table__, link.group_id == p.id
        )
        deadline = time.monotonic() + timeout_s
        retry_at = time.monotonic() + retry_s
        missing = dict(want)
        while True:
            with contextlib.suppress(Exception):  # the database may be starting or down
                async with engine.connect() as conn:
                    have: dict[int, set[int]] = collections.defaultdict(set)
                    for row in await conn.execute(query.where(p.enabled.is_(True))):
                        have[row.id].add(row.channel_id)
                missing = {g: c for g, c in want.items() if not c <= have.get(g, set())}
                if not missing:
                    return
            now = time.monotonic()
            if now > deadline:
                said = {g: self._last_said(g) for g in sorted(missing)}
                raise TimeoutError(
                    f"groups not protected after {timeout_s:.0f} s "
                    f"({self.world.pending_update_count()} updates still pending); "
                    f"the bot's last word in each: {said}"
                )
            if now > retry_at and self.world.pending_update_count() == 0:
                for group in self.groups:
                    if group.chat_id in missing:
                        self._protect(group)
                retry_at = now + retry_s
            await asyncio.sleep(0.2)

    def _last_said(self, chat_id: int) -> str | None:
        for message in reversed(self.world.sent_messages):
            if (message.get("chat") or {}).get("id") == chat_id:
                return str(message.get("text") or "")[:300]
        return None

    # ------------------------------------------------------------------ traffic
    async def run(self, plan: TrafficPlan, stop: asyncio.Event | None = None) -> None:
        """Push ``plan.rate`` updates a second for ``plan.duration_s`` (or until ``stop``),
        with the raid and the lost right at their offsets."""
        stop = stop or asyncio.Event()
        start = time.monotonic()
        interval = 1.0 / plan.rate
        extra: list[asyncio.Task[None]] = []
        pending: list[tuple[float, Callable[[], Coroutine[Any, Any, None]]]] = []
        if plan.raid_at_s is not None:
            pending.append(
                (plan.raid_at_s, partial(self.raid, plan.raid_joins, plan.raid_spread_s))
            )
        if plan.lost_right_at_s is not None:
            pending.append(
                (plan.lost_right_at_s, partial(self.lose_right, plan.lost_right_joins, plan))
            )
        pending.sort(key=lambda e: e[0])
        tick = 0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - start >= plan.duration_s:
                    break
                while pending and now - start >= pending[0][0]:
                    extra.append(asyncio.create_task(pending.pop(0)[1]()))
                self._step(plan)
                tick += 1
                delay = start + tick * interval - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
        finally:
            for task in extra:
                if stop.is_set():
                    task.cancel()
            await asyncio.gather(*extra, return_exceptions=True)

    def _step(self, plan: TrafficPlan) -> None:
        """One update: a follow-up that is due, else one drawn from :data:`MIX`."""
        self._scan_prompts()
        if self._follow_up(plan):
            return
        action = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        done = False
        if action == "join":
            done = self._join(plan)
        elif action == "react":
            done = self._react()
        elif action == "leave":
            done = self._leave()
        if not done:
            self._message()

    def _message(self) -> bool:
        """A member who may write does, in a group drawn among those that have one."""
        for group in self.rng.sample(self.groups, len(self.groups)):
            writers = [u for u in self._writers[group.chat_id] if self._can_write(group.chat_id, u)]
            if writers:
                break
        else:
            return False
        user = self.rng.choice(writers)
        update = self._say(group.chat_id, user, f"rehearsal {self.rng.randint(1, 10**6)}")
        self._recent[group.chat_id].append(int(update["message"]["message_id"]))
        return True

    def _join(self, plan: TrafficPlan, group: SimGroup | None = None) -> bool:
        """A newcomer joins ``group`` (or one drawn below the raid threshold)."""
        forced = group is not None
        if group is None:
            group = self.rng.choice(self.groups)
            if not self._join_allowed(group.chat_id):
                return False
        subscribed = self.rng.random() < plan.subscribed_share
        user = self._newcomer(group, subscribed=subscribed)
        self._joined(group, user, subscribed=subscribed, plan=plan, follow=not forced)
        return True

    def _join_allowed(self, chat_id: int) -> bool:
        """Normal joins stay under half the raid threshold in the raid window."""
        now = time.monotonic()
        recent = self._joins[chat_id]
        while recent and recent[0] <= now - _GATE.raid_window_s:
            recent.popleft()
        return len(recent) < _GATE.raid_joins // 2

    def _newcomer(self, group: SimGroup, *, subscribed: bool, bot_like: bool = False) -> int:
        user = self.scenario.new_user(self.rng, bot_like=bot_like)
        self.world.add_user(user.user_id, user.first_name, user.username)
        if subscribed:  # in the channels long before
            for channel_id in group.channel_ids:
                self.world.set_member(channel_id, user.user_id, "member")
        return user.user_id

    def _joined(
        self, group: SimGroup, user: int, *, subscribed: bool, plan: TrafficPlan, follow: bool
    ) -> None:
        chat = group.chat_id
        update = self.world.join_update(chat, user)
        self._push(update, Kind.JOIN, chat, user, subscribed=subscribed, protected=True)
        self._joins[chat].append(time.monotonic())
        lost = chat in self.lost_groups and self._lost
        if subscribed and not lost:
            self._writers[chat].append(user)
        elif follow and not subscribed and chat not in self.lost_groups:
            self._following.append(_Newcomer(group, user, time.monotonic()))

    def _react(self) -> bool:
        group = self.rng.choice(self.groups)
        recent = self._recent[group.chat_id]
        if not recent:
            return False
        message_id = self.rng.choice(recent)
        people = [*group.reactors, *group.members]
        for _ in range(5):
            user = self.rng.choice(people)
            key = (group.chat_id, message_id, user)
            if key in self._reacted or not self.world.is_member(group.chat_id, user):
                continue
            self._reacted.add(key)
            update = self.world.reaction_update(group.chat_id, message_id, user)
            self._push(update, Kind.REACTION, group.chat_id, user, message_id=message_id)
            return True
        return False

    def _leave(self) -> bool:
        group = self.rng.choice(self.groups)
        writers = self._writers[group.chat_id]
        if len(writers) <= 3:
            return False
        user = self.rng.choice(writers)
        if not self._can_write(group.chat_id, user):
            return False
        writers.remove(user)
        update = self.world.leave_update(group.chat_id, user)
        self._push(update, Kind.LEAVE, group.chat_id, user)
        return True

    # ------------------------------------------------------------------ newcomers' follow-up
    def _scan_prompts(self) -> None:
        """Note the bot's new "I joined" prompts: (group, user) -> the prompt's message id."""
        sent = self.world.sent_messages
        if len(sent) < self._sent_seen:  # the world trimmed its history
            self._sent_seen = 0
        for message in sent[self._sent_seen :]:
            chat = int((message.get("chat") or {}).get("id", 0))
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in (b for row in rows for b in row):
                data = button.get("callback_data") or ""
                if data.startswith(JoinedCallback.__prefix__ + ":"):
                    user = JoinedCallback.unpack(data).user_id
                    self._prompts[(chat, user)] = int(message["message_id"])
        self._sent_seen = len(sent)

    def _follow_up(self, plan: TrafficPlan) -> bool:
        """The next step of a prompted newcomer that is due: subscribe, press, or start
        writing once unmuted. Whether an update was pushed."""
        now = time.monotonic()
        for newcomer in list(self._following):
            chat, user = newcomer.group.chat_id, newcomer.user_id
            if newcomer.prompt is None:
                prompt = self._prompts.get((chat, user))
                if prompt is not None and self.world.is_muted(chat, user):
                    newcomer.prompt = prompt
                    newcomer.due = now + self.rng.uniform(*plan.react_s)
                elif now - newcomer.joined_at > 60.0:
                    self._following.remove(newcomer)  # never prompted (a raid lockdown)
                continue
            if now < newcomer.due:
                continue
            if not newcomer.subscribed:
                newcomer.subscribed = True
                newcomer.due = now + self.rng.uniform(*plan.react_s)
                for channel_id in newcomer.group.channel_ids:
                    if not self.world.is_member(channel_id, user):
                        update = self.world.join_update(channel_id, user)
                        self._push(update, Kind.SUBSCRIBE, channel_id, user)
                return True
            if not newcomer.pressed:
                newcomer.pressed = True
                newcomer.due = now + 1.0
                data = JoinedCallback(user_id=user).pack()
                update = self.world.callback_update(chat, user, data, message_id=newcomer.prompt)
                self._push(update, Kind.PRESS, chat, user, message_id=newcomer.prompt,
                           protected=True)  # fmt: skip
                return True
            if not self.world.is_muted(chat, user):
                self._following.remove(newcomer)
                self._writers[chat].append(user)
            elif now - newcomer.due > 60.0:
                self._following.remove(newcomer)  # still muted: verify says why
        return False

    # ------------------------------------------------------------------ the raid, the lost right
    async def raid(self, joins: int, spread_s: float) -> None:
        """``joins`` throwaway accounts (in no channel) join the raid group over ``spread_s``."""
        group = self.raid_group
        self.ledger.raid = Raid(group.chat_id, time.monotonic(), joins)
        for _ in range(joins):
            user = self._newcomer(group, subscribed=False, bot_like=True)
            update = self.world.join_update(group.chat_id, user)
            self._push(update, Kind.JOIN, group.chat_id, user, protected=True)
            await asyncio.sleep(spread_s / joins)

    async def lose_right(self, joins: int, plan: TrafficPlan) -> None:
        """The bot silently loses its admin right in :attr:`lost_channel`; then ``joins``
        newcomers join each group linking it (one every ``plan.lost_right_every_s`` in all,
        half of them subscribed), so that checks meet the loss."""
        self.world.set_bot_admin(self.lost_channel, False)
        self._lost = True
        self.ledger.lost_right = LostRight(self.lost_channel, self.lost_groups, time.monotonic())
        for chat in self.lost_groups:  # newcomers there would be held from now on
            group = next(g for g in self.groups if g.chat_id == chat)
            self._writers[chat] = [u for u in self._writers[chat] if u in group.members]
        lost = [g for g in self.groups if g.chat_id in self.lost_groups]
        for index in range(joins * len(lost)):
            group = lost[index % len(lost)]
            subscribed = (index // len(lost)) % 2 == 0
            user = self._newcomer(group, subscribed=subscribed)
            self._joined(group, user, subscribed=subscribed, plan=plan, follow=False)
            await asyncio.sleep(plan.lost_right_every_s)

    def _pick_lost_channel(self) -> int:
        """A channel of a group other than the raid's, linked by as few groups as possible."""
        linked: collections.Counter[int] = collections.Counter(
            c for g in self.groups for c in g.channel_ids
        )
        away = [c for c in linked if c not in self.raid_group.channel_ids]
        return min(away or list(linked), key=lambda c: (linked[c], c))

    # ------------------------------------------------------------------ pushing
    def _can_write(self, chat_id: int, user_id: int) -> bool:
        world = self.world
        return not world.is_muted(chat_id, user_id) and world.member_status(
            chat_id, user_id
        ) not in ("left", "kicked")

    def _say(self, chat_id: int, user_id: int, text: str) -> dict[str, Any]:
        update = self.world.message_update(chat_id, user_id, text)
        message_id = int(update["message"]["message_id"])
        self._push(update, Kind.MESSAGE, chat_id, user_id, message_id=message_id)
        return update

    def _push(
        self, update: dict[str, Any], kind: Kind, chat_id: int, user_id: int, **fields: Any
    ) -> None:
        self.world.push_update(update)
        self.ledger.record(update, kind, chat_id=chat_id, user_id=user_id, **fields)
