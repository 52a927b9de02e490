"""The shapes real groups send besides people writing: what a month of the demo's world holds.

:class:`ShapePlanner` adds, per group and day, messages from anonymous admins, automatic
forwards of the linked channel's posts, "send as channel" posts, service messages (pins,
boosts, video chats, backgrounds) and, in the forum group, topic messages; :class:`WorldPlan`
names the one-off events: the basic group that becomes a supergroup (and is protected again
there) and the linked channel where the bot loses its rights for a day. Its own random stream
leaves the people's traffic (:class:`~sandbox.simulator.traffic.Planner`) as it was.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sandbox.simulator.scenario import Scenario, SimGroup
from sandbox.simulator.traffic import poisson

#: Channels people write as ("send as channel"); the bot administers none of them.
IDENTITY_CHANNELS = {
    -1_002_600_000_001: ("Deals Daily", "deals_daily_promo"),
    -1_002_600_000_002: ("Crypto Moon", "crypto_moon_club"),
}
SERVICE_MIX = ("pinned_message", "boost_added", "video_chat_started", "chat_background_set")
FORUM_TOPICS = ("Announcements", "Help", "Off-topic")
RAIDERS = 80  # accounts in the raid, arriving in one new_chat_members update
ADMIN_NOTES = ("Reminder: be kind.", "Pinned the rules.", "Welcome, newcomers!")


@dataclass(frozen=True)
class Shape:
    """One event of a kind the traffic planner does not make."""

    at: dt.datetime
    kind: str  # anonymous_admin | automatic_forward | channel_post | service
    chat_id: int
    text: str = ""
    sender_chat_id: int | None = None  # channel_post: the identity; service: the kind in text
    by_user_id: int | None = None


@dataclass(frozen=True)
class WorldPlan:
    """Which groups and channels play the special parts, and when."""

    discussion_group: int | None  # linked to its first channel (automatic forwards)
    forum_group: int | None
    basic_group: int | None  # starts as a basic group, migrates on ``migration_day``
    migration_day: int
    rights_channel: int | None  # the bot loses its rights here for ``rights_day``
    rights_day: int
    requests_group: int | None = None  # newcomers ask to join (chat_join_request)
    raid_group: int | None = None  # a raid: ``RAIDERS`` accounts join at once on ``raid_day``
    raid_day: int = 0

    @classmethod
    def of(cls, scenario: Scenario) -> WorldPlan:
        groups = scenario.groups
        with_channels = [g for g in groups if g.channel_ids]
        last = groups[-1] if len(groups) >= 4 else None  # a small world keeps every group gated
        return cls(
            discussion_group=with_channels[0].chat_id if with_channels else None,
            forum_group=groups[1].chat_id if len(groups) >= 2 else None,
            basic_group=last.chat_id if last is not None else None,
            migration_day=max(1, scenario.days // 3),
            rights_channel=(
                with_channels[0].channel_ids[-1] if with_channels and scenario.days >= 3 else None
            ),
            rights_day=max(1, scenario.days // 2),
            requests_group=groups[2].chat_id if len(groups) >= 4 else None,
            raid_group=groups[0].chat_id if scenario.days >= 2 else None,
            raid_day=max(1, (3 * scenario.days) // 4),
        )


class ShapePlanner:
    """Lays out the day's extra shapes; deterministic for the scenario's seed."""

    def __init__(self, scenario: Scenario, plan: WorldPlan, start: dt.datetime) -> None:
        self.scenario = scenario
        self.plan = plan
        self.start = start
        self.rng = random.Random(scenario.seed * 104729 + 3)

    def day(self, index: int) -> list[Shape]:
        day = self.start + dt.timedelta(days=index)
        out: list[Shape] = []
        for group in self.scenario.groups:
            out += self._group_day(group, day)
        return out

    def _moment(self, day: dt.datetime) -> dt.datetime:
        return day + dt.timedelta(seconds=self.rng.uniform(6 * 3600, 23 * 3600))

    def _group_day(self, group: SimGroup, day: dt.datetime) -> list[Shape]:
        rng = self.rng
        out = []
        chat = group.chat_id
        for _ in range(self._count(1.2)):
            text = rng.choice(ADMIN_NOTES)
            out.append(Shape(self._moment(day), "anonymous_admin", chat, text))
        if chat == self.plan.discussion_group:
            for n in range(self._count(2.0)):
                text = f"New post #{day:%d}{n}: read it in the channel"
                out.append(Shape(self._moment(day), "automatic_forward", chat, text))
        if rng.random() < 0.25:
            identity = rng.choice(sorted(IDENTITY_CHANNELS))
            text = "Visit our channel for the best deals!"
            out.append(Shape(self._moment(day), "channel_post", chat, text, identity))
        if rng.random() < 0.3:
            kind = rng.choice(SERVICE_MIX)
            out.append(Shape(self._moment(day), "service", chat, kind, None, group.creator_id))
        return out

    def _count(self, mean: float) -> int:
        return poisson(self.rng, mean)
