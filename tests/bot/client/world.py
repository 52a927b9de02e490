"""The fake Telegram the client tests talk to: two groups, a channel, three users."""

from __future__ import annotations

import datetime as dt

from core.clock import ManualClock
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeWorld

GROUP = -1001600000001
GROUP2 = -1001600000002
CHANNEL = -1002600000001
OWNER, ALICE, BOB = 31, 41, 42
START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
SECRET_PART = DEFAULT_TOKEN.split(":", 1)[1]


def make_world() -> FakeWorld:
    world = FakeWorld(clock=ManualClock(START))
    world.add_user(OWNER, "Owner")
    world.add_user(ALICE, "Alice")
    world.add_user(BOB, "Bob")
    world.add_group(GROUP, "Group", creator_id=OWNER)
    world.add_group(GROUP2, "Group two", creator_id=OWNER)
    world.add_channel(CHANNEL, "Channel", username="the_channel")
    world.set_member(CHANNEL, BOB, "member")
    world.set_member(GROUP, ALICE, "member")
    return world
