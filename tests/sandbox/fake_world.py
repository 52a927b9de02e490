"""The test world of the fake Bot API tests: its chats and people, and bots that talk to it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.clock import ManualClock
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeWorld

GROUP = -1001500000001
CHANNEL = -1002500000001  # public, bot is admin
PRIVATE_CHANNEL = -1002500000002  # invite link only, bot is admin
FOREIGN = -1002500000003  # public, bot not in it
OWNER, ADMIN, ALICE, BOB, CAROL, DAN, EVE = 11, 12, 21, 22, 23, 24, 25
START = dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)
ALL_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member"]


def make_world(**kwargs: Any) -> FakeWorld:
    world = FakeWorld(clock=ManualClock(START), **kwargs)
    world.add_user(OWNER, "Olga", username="olga")
    world.add_user(ADMIN, "Arun", username="arun")
    for uid, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAN, "Dan"), (EVE, "Eve")):
        world.add_user(uid, name, username=name.lower())
    world.add_group(GROUP, "Test group", creator_id=OWNER, admin_ids=[ADMIN])
    world.add_channel(CHANNEL, "News", username="news_channel", subscribers=100)
    world.add_channel(PRIVATE_CHANNEL, "Private", invite_link="https://t.me/+private")
    world.add_channel(FOREIGN, "Foreign", username="foreign_channel", bot_is_admin=False)
    world.set_member(GROUP, ALICE, "member")
    world.set_member(CHANNEL, BOB, "member")
    world.set_member(CHANNEL, CAROL, "restricted", is_member=True)
    world.set_member(CHANNEL, DAN, "kicked")
    world.set_member(CHANNEL, EVE, "left")
    return world


def http_bot(server: FakeTelegramServer, token: str = DEFAULT_TOKEN, timeout: float = 5) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url), timeout=timeout)
    return Bot(token, session=session)
