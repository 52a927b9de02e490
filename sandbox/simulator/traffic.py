"""What people do, as a time-ordered stream of events.

:class:`Planner` lays out each simulated day (messages with a daily and weekly rhythm,
newcomers, people leaving channels and groups, one spam wave) and tells how a person reacts
when the gate mutes them (:meth:`Planner.on_muted`), according to their :class:`Persona`.
It decides nothing about the bot: the runner plays the events through the real bot and feeds
what the bot did back in here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.simulator.scenario import Persona, Scenario, SimGroup, newcomer_language
from sandbox.synth.chat import CHAT_LANGUAGES, chat_message

# Share of a day's messages in each UTC hour: quiet nights, a lunch bump, a long evening.
HOURLY_PROFILE = [
    0.6,
    0.35,
    0.2,
    0.15,
    0.15,
    0.3,
    0.8,
    1.6,
    2.6,
    3.4,
    3.8,
    4.2,
    4.8,
    4.6,
    4.2,
    4.0,
    4.2,
    4.8,
    5.6,
    6.4,
    6.6,
    5.8,
    4.0,
    1.8,
]
WEEKDAY_FACTOR = [1.0, 1.05, 1.05, 1.0, 0.95, 0.7, 0.6]  # Monday first
OWN_LANGUAGE_SHARE = 0.1
"""Share of the messages in a group with a language that people write in their own."""

_SPAM = [
    "🔥 FREE crypto airdrop, click the link in my bio 🔥",
    "Earn $500 a day from home!!! DM me now",
    "💰💰 Best signals, 100% profit guaranteed, join now 💰💰",
]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth for small rates, a rounded normal for large ones (``rng`` keeps it
    deterministic)."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class EventKind(StrEnum):
    JOIN = "join"  # joins a group
    MESSAGE = "message"  # writes in a group
    SUBSCRIBE = "subscribe"  # joins a channel
    CLICK = "click"  # presses "I joined" under the bot's prompt
    CHANNEL_LEAVE = "channel_leave"  # leaves a channel
    GROUP_LEAVE = "group_leave"  # leaves a group
    SHAPE = "shape"  # not a person: see sandbox.simulator.shapes (``Event.shape``)
    # sandbox.simulator.social:
    REACT = "react"  # sets a reaction (``text``; "" removes it) on a MESSAGE (``reply_to_seq``)
    KICK = "kick"  # an admin bans the user from the group
    BOT_JOIN = "bot_join"  # an admin adds a bot to the group
    REACTION_COUNT = "reaction_count"  # anonymous reactions on the linked channel's newest post


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    kind: EventKind = field(compare=False)
    chat_id: int = field(compare=False)
    user_id: int = field(compare=False)
    text: str | None = field(default=None, compare=False)
    reply_to_seq: int | None = field(default=None, compare=False)  # a MESSAGE event's seq
    shape: Any = field(default=None, compare=False)  # a SHAPE event's Shape


class Planner:
    """Lays out the days of a scenario; deterministic for the scenario's seed."""

    def __init__(self, scenario: Scenario, start: dt.datetime) -> None:
        self.scenario = scenario
        self.start = start
        self.rng = random.Random(scenario.seed * 7919 + 1)
        # texts and newcomers' languages from streams of their own: the rest of the plan does
        # not change with the corpus
        self.text_rng = random.Random(scenario.seed * 104_729 + 3)
        self.language_rng = random.Random(scenario.seed * 1_299_709 + 5)
        self._seq = itertools.count(1)
        self.personas: dict[tuple[int, int], Persona] = {}
        for group in scenario.groups:
            for uid in group.legacy_unsubscribed:
                self.personas[(group.chat_id, uid)] = self._draw_persona(legacy=True)

    # ------------------------------------------------------------------ helpers
    def _event(
        self,
        at: dt.datetime,
        kind: EventKind,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        reply_to_seq: int | None = None,
    ) -> Event:
        return Event(at, next(self._seq), kind, chat_id, user_id, text, reply_to_seq)

    def _draw_persona(self, *, legacy: bool = False) -> Persona:
        r = self.rng.random()
        if legacy:
            return Persona.COMPLIES if r < 0.55 else Persona.NEVER
        if r < 0.38:
            return Persona.SUBSCRIBED
        if r < 0.68:
            return Persona.COMPLIES
        if r < 0.80:
            return Persona.EAGER_CLICKER
        return Persona.NEVER

    def _moment(self, day: dt.datetime) -> dt.datetime:
        hour = self.rng.choices(range(24), weights=HOURLY_PROFILE)[0]
        return day + dt.timedelta(hours=hour, seconds=self.rng.uniform(0, 3600))

    def _text(self, group: SimGroup, author: int) -> str:
        """A message by ``author`` in ``group``: in the group's language, at times (and always
        in a group without one) in the author's own."""
        own = self.scenario.users[author].language_code if author in self.scenario.users else "en"
        language = group.language
        if language not in CHAT_LANGUAGES or self.text_rng.random() < OWN_LANGUAGE_SHARE:
            language = own
        return chat_message(self.text_rng, group.topic, language)

    # ------------------------------------------------------------------ days
    def plan_day(self, index: int) -> list[Event]:
        """Everything that happens on day ``index`` (0 = the first simulated day)."""
        day = self.start + dt.timedelta(days=index)
        weekday = WEEKDAY_FACTOR[day.weekday()]
        growth = 1.0 + 0.5 * index / max(1, self.scenario.days)
        events: list[Event] = []
        for group in self.scenario.groups:
            noise = self.rng.lognormvariate(0.0, 0.15)
            events += self._messages(group, day, int(group.chattiness * weekday * noise))
            events += self._newcomers(group, day, group.newcomers_per_day * growth * noise)
            events += self._departures(group, day)
            if index == self.scenario.spam_day and group.chat_id == self.scenario.spam_group:
                events += self._spam_wave(group, day)
        events.sort()
        return events

    def _messages(self, group: SimGroup, day: dt.datetime, count: int) -> list[Event]:
        """About ``count`` messages, written in conversations: a few people trading messages
        for some minutes, replying to each other, at times that follow the daily rhythm."""
        authors = group.members + group.legacy_unsubscribed + group.admin_ids
        if not authors or count <= 0:
            return []
        users = self.scenario.users
        weights = [users[u].activity if u in users else 1.0 for u in authors]
        out: list[Event] = []
        while len(out) < count:
            start = self._moment(day)
            size = min(count - len(out), max(1, int(self.rng.lognormvariate(2.3, 0.7))))
            people = list(dict.fromkeys(self.rng.choices(authors, weights=weights, k=4)))
            people = people[: self.rng.randint(1, len(people))]
            at = start
            thread: list[int] = []
            for _ in range(size):
                at += dt.timedelta(seconds=self.rng.expovariate(1 / 25))
                uid = self.rng.choice(people)
                reply = None
                if thread and self.rng.random() < 0.45:
                    # replies cluster on the opening message and the last few: threads
                    reply = thread[0] if self.rng.random() < 0.4 else self.rng.choice(thread[-3:])
                event = self._event(
                    at, EventKind.MESSAGE, group.chat_id, uid, self._text(group, uid), reply
                )
                thread.append(event.seq)
                out.append(event)
        return out

    def _newcomers(self, group: SimGroup, day: dt.datetime, rate: float) -> list[Event]:
        count = self._poisson(rate)
        out = []
        for _ in range(count):
            user = self.scenario.new_user(self.rng)
            user.language_code = newcomer_language(self.language_rng, group.language)
            persona = self._draw_persona()
            self.personas[(group.chat_id, user.user_id)] = persona
            out.append(self._event(self._moment(day), EventKind.JOIN, group.chat_id, user.user_id))
        return out

    def _departures(self, group: SimGroup, day: dt.datetime) -> list[Event]:
        out: list[Event] = []
        if not group.members:
            return out
        for _ in range(self._poisson(len(group.members) * 0.004)):
            uid = self.rng.choice(group.members)
            channel = self.rng.choice(group.channel_ids)
            at = self._moment(day)
            out.append(self._event(at, EventKind.CHANNEL_LEAVE, channel, uid))
            self.personas[(group.chat_id, uid)] = (
                Persona.COMPLIES if self.rng.random() < 0.6 else Persona.NEVER
            )
        for _ in range(self._poisson(len(group.members) * 0.002)):
            uid = self.rng.choice(group.members)
            out.append(self._event(self._moment(day), EventKind.GROUP_LEAVE, group.chat_id, uid))
        return out

    def _spam_wave(self, group: SimGroup, day: dt.datetime) -> list[Event]:
        """Dozens of throwaway accounts join within two hours and try to post."""
        out = []
        wave_start = day + dt.timedelta(hours=self.rng.randint(8, 20))
        for _ in range(max(20, int(group.newcomers_per_day * 12))):
            user = self.scenario.new_user(self.rng, bot_like=True)
            self.personas[(group.chat_id, user.user_id)] = Persona.SPAMMER
            at = wave_start + dt.timedelta(seconds=self.rng.uniform(0, 7200))
            out.append(self._event(at, EventKind.JOIN, group.chat_id, user.user_id))
            for k in range(self.rng.randint(1, 4)):
                when = at + dt.timedelta(seconds=5 + 20 * k)
                text = self.rng.choice(_SPAM)
                out.append(self._event(when, EventKind.MESSAGE, group.chat_id, user.user_id, text))
        return out

    def _poisson(self, lam: float) -> int:
        return poisson(self.rng, lam)

    # ------------------------------------------------------------------ reactions
    def persona(self, group_id: int, user_id: int) -> Persona:
        return self.personas.setdefault((group_id, user_id), self._draw_persona(legacy=True))

    def on_muted(
        self, group: SimGroup, user_id: int, at: dt.datetime, missing: list[int]
    ) -> list[Event]:
        """What a freshly muted person does next, by persona. ``missing``: channels to join."""
        persona = self.persona(group.chat_id, user_id)
        out: list[Event] = []
        t = at
        if persona is Persona.EAGER_CLICKER:
            t += dt.timedelta(seconds=self.rng.uniform(5, 40))
            out.append(self._event(t, EventKind.CLICK, group.chat_id, user_id))
        if persona in (Persona.COMPLIES, Persona.EAGER_CLICKER):
            for channel in missing:
                t += dt.timedelta(seconds=self.rng.lognormvariate(4.5, 1.0))  # ~1.5 min
                out.append(self._event(t, EventKind.SUBSCRIBE, channel, user_id))
            t += dt.timedelta(seconds=self.rng.uniform(5, 90))
            out.append(self._event(t, EventKind.CLICK, group.chat_id, user_id))
        elif persona is Persona.NEVER and self.rng.random() < 0.3:
            t += dt.timedelta(seconds=self.rng.uniform(10, 600))
            out.append(self._event(t, EventKind.CLICK, group.chat_id, user_id))
        return out

    def on_verified(self, group: SimGroup, user_id: int) -> None:
        """A person passed the gate: from now on they take part in the chat."""
        if user_id not in group.members and user_id not in group.admin_ids:
            group.members.append(user_id)
        if user_id in group.legacy_unsubscribed:
            group.legacy_unsubscribed.remove(user_id)

    def on_left(self, group: SimGroup, user_id: int) -> None:
        for pool in (group.members, group.legacy_unsubscribed):
            if user_id in pool:
                pool.remove(user_id)
