"""Bot fixtures: a scripted Telegram world, a bot on it, the dispatcher, a database.

``harness`` runs the whole bot in process (FakeTelegramSession); ``http_harness`` runs it with
the real AiohttpSession against a FakeTelegramServer on 127.0.0.1. Both use the real log
writer on the test's database (SQLite or PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from aiogram.types import Update

import core.models  # noqa: F401 - registers the tables on Base.metadata
from bot.runtime.app import BotRuntime, build_runtime
from bot.storage.config import ChannelInfo
from core.clock import ManualClock
from core.db import Base, create_engine
from core.settings import (
    BotSettings,
    DatabaseSettings,
    GateSettings,
    LogWriterSettings,
    Settings,
)
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeTelegramSession, FakeWorld

TOKEN = DEFAULT_TOKEN
BOT_ID = int(TOKEN.split(":", 1)[0])

GROUP = -1001000000001
GROUP2 = -1001000000002
CH_NEWS = -1002000000001
CH_DEALS = -1002000000002
CH_PRIVATE = -1002000000003  # the bot is not an administrator here
CREATOR = 1001
ADMIN = 1002
ALICE = 2001  # subscribed to nothing
BOB = 2002  # subscribed to both channels
CAROL = 2003  # restricted in a channel but still a member
DAVE = 2004  # whitelisted
START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def make_world(**kwargs: Any) -> FakeWorld:
    """Two groups, two linked channels and a channel the bot does not administer."""
    world = FakeWorld(bot_id=BOT_ID, **kwargs)
    world.add_user(CREATOR, "Creator", username="creator")
    world.add_user(ADMIN, "Admin", username="admin")
    world.add_user(ALICE, "Alice", username="alice")
    world.add_user(BOB, "Bob", username="bob")
    world.add_user(CAROL, "Carol", username="carol")
    world.add_user(DAVE, "Dave", username="dave")
    world.add_group(GROUP, "Group one", creator_id=CREATOR, admin_ids=[ADMIN])
    world.add_group(GROUP2, "Group two", creator_id=CREATOR)
    # the group's creator and admin administer the linked channels too (/protect checks it)
    world.add_channel(CH_NEWS, "News", username="gp_news", creator_id=CREATOR)
    world.add_channel(CH_DEALS, "Deals", invite_link="https://t.me/+deals_invite",
                      creator_id=CREATOR)  # fmt: skip
    for channel in (CH_NEWS, CH_DEALS):
        world.set_member(channel, ADMIN, "administrator")
    world.add_channel(CH_PRIVATE, "Secret", username="gp_secret", bot_is_admin=False)
    for channel in (CH_NEWS, CH_DEALS):
        world.set_member(channel, BOB, "member")
        world.set_member(channel, CAROL, "restricted", is_member=True)
    return world


NEWS = ChannelInfo(CH_NEWS, "gp_news", "News", None)
DEALS = ChannelInfo(CH_DEALS, None, "Deals", "https://t.me/+deals_invite")


def make_settings(db_url: str, tmp_path: Any, **gate: Any) -> Settings:
    return Settings(
        db=DatabaseSettings(DATABASE_URL=db_url),
        bot=BotSettings(token=TOKEN, request_timeout_s=5.0),
        gate=GateSettings(**gate),
        writer=LogWriterSettings(
            flush_interval_s=0.05, spool_dir=tmp_path / "spool", retry_max_s=0.5
        ),
    )


@dataclass
class Harness:
    """One bot wired to one world and one database; feed updates, then look."""

    world: FakeWorld
    runtime: BotRuntime
    clock: ManualClock | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """``bot``, ``dp``, ``writer``, ``engine``, ``settings``, ``services``: the runtime's."""
        return getattr(self.runtime, name)

    async def feed(self, update: Mapping[str, Any]) -> Any:
        return await self.dp.feed_update(self.bot, Update.model_validate(dict(update)))

    async def drain(self) -> None:
        await self.services.drain()

    async def protect(
        self, group_id: int = GROUP, channels: Iterable[ChannelInfo] = (NEWS, DEALS)
    ) -> None:
        """Link channels directly through the repository (the admin command is tested apart)."""
        creator = type("Actor", (), {"id": CREATOR, "username": "creator", "first_name": "C"})()
        now = self.clock.now() if self.clock else dt.datetime.now(dt.UTC)
        await self.services.repo.protect(group_id, "Group", creator, list(channels), now)

    async def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        await self.drain()
        tbl = Base.metadata.tables[table]
        async with self.engine.connect() as conn:
            query = sa.select(tbl).order_by(*tbl.primary_key.columns)
            for key, value in where.items():
                query = query.where(tbl.c[key] == value)
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    @contextlib.asynccontextmanager
    async def polling(self) -> AsyncIterator[None]:
        """The dispatcher polls the world (getUpdates, the updates its routers use) while the
        block runs; pushed updates are handled concurrently, as in production."""
        task = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=1,
                allowed_updates=self.dp.resolve_used_update_types(),
            )
        )
        try:
            yield
        finally:
            await self.dp.stop_polling()
            await task

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.world.sent_messages if m["chat"]["id"] == chat_id]

    def muted(self, chat_id: int, user_id: int) -> bool:
        return self.world.is_muted(chat_id, user_id)


@dataclass
class Pair:
    """Two replicas (``a``, ``b``) of one bot on one world, database and Redis."""

    a: Harness
    b: Harness

    @property
    def world(self) -> Any:
        return self.a.world

    def calls(self, method: str, **params: Any) -> int:
        return sum(
            1
            for name, p in self.world.calls
            if name == method and all(str(p.get(k)) == str(v) for k, v in params.items())
        )


async def _no_wait(seconds: float) -> None:
    """The outgoing limiter's sleep in tests: RetryAfter is honoured (retried) without waiting."""
    await asyncio.sleep(0)


async def _harness(
    db_url: str, tmp_path: Any, *, http: bool, clock: ManualClock | None = None, **gate: Any
) -> AsyncIterator[Harness]:
    settings = make_settings(db_url, tmp_path, **gate)
    world = make_world(clock=clock) if clock else make_world()
    engine = create_engine(url=db_url)
    server: FakeTelegramServer | None = None
    if http:
        server = FakeTelegramServer(world, TOKEN)
        await server.start()
        settings.bot = BotSettings(token=TOKEN, api_base=server.base_url, request_timeout_s=5.0)
        runtime = await build_runtime(settings, clock=clock, engine=engine, sleep=_no_wait)
    else:
        session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)
        runtime = await build_runtime(settings, clock=clock, session=session, engine=engine)
    harness = Harness(world, runtime, clock)
    try:
        yield harness
    finally:
        try:
            await runtime.close()
        finally:
            if server is not None:
                await server.stop()


@pytest.fixture
async def harness(db_url: str, tmp_path: Any) -> AsyncIterator[Harness]:
    """The bot in process: FakeTelegramSession, real log writer, this test's database."""
    async for h in _harness(db_url, tmp_path, http=False, clock=ManualClock(START)):
        yield h


@pytest.fixture
async def http_harness(db_url: str, tmp_path: Any) -> AsyncIterator[Harness]:
    """The bot over real HTTP: AiohttpSession against a FakeTelegramServer on 127.0.0.1."""
    async for h in _harness(db_url, tmp_path, http=True):
        yield h


@pytest.fixture
async def http_clock_harness(db_url: str, tmp_path: Any) -> AsyncIterator[Harness]:
    """The bot over real HTTP (AiohttpSession against a FakeTelegramServer) on a ManualClock:
    the real client, with time the test moves."""
    async for h in _harness(db_url, tmp_path, http=True, clock=ManualClock(START)):
        yield h
