"""What two replicas do at the same moment, each once: ``/protect`` for groups that share a
channel and an owner (both succeed: upserts, not read-then-insert, each group linked once to
each channel); a lost channel met by both (one ``bot_rights`` row, one of them tells)."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.channel_access import ChannelAccess
from bot.storage.config import ChannelInfo, ConfigRepo
from core.clock import SystemClock
from core.db import create_engine, create_session_factory
from core.models import BotRight, EnforcedChannel, GroupChannelLink, Owner, ProtectedGroup

pytestmark = pytest.mark.db

OWNER = SimpleNamespace(id=4100, username="owner", first_name="Owner")
SHARED = ChannelInfo(-1002000004101, "shared_news", "Shared news", None)
OWN = ChannelInfo(-1002000004102, "own_news", "Own news", "https://t.me/+own")


async def test_two_replicas_protect_groups_sharing_a_channel_at_once(db_url: str) -> None:
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    # two processes: two engines, two repositories, nothing shared but the database
    engines: list[AsyncEngine] = [create_engine(url=db_url), create_engine(url=db_url)]
    try:
        repos = [ConfigRepo(create_session_factory(e)) for e in engines]
        added = await asyncio.gather(
            repos[0].protect(-1001000004101, "A", OWNER, [SHARED, OWN], now),
            repos[1].protect(-1001000004102, "B", OWNER, [SHARED], now),
            repos[1].protect(-1001000004101, "A", OWNER, [SHARED, OWN], now),
        )
        async with engines[0].connect() as conn:
            links = sorted(
                (r.group_id, r.channel_id) for r in await conn.execute(sa.select(GroupChannelLink))
            )
            counts = [
                await conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in (Owner, ProtectedGroup, EnforcedChannel)
            ]
            invite = await conn.scalar(
                sa.select(EnforcedChannel.invite_link).where(EnforcedChannel.id == OWN.id)
            )
    finally:
        for engine in engines:
            await engine.dispose()
    assert links == sorted(
        [(-1001000004101, SHARED.id), (-1001000004101, OWN.id), (-1001000004102, SHARED.id)]
    )
    assert counts == [1, 2, 2]
    assert invite == OWN.invite_link
    # each link reported new exactly once, by whichever call made it
    reported = [c.id for batch in added for c in batch]
    assert sorted(reported) == sorted([SHARED.id, OWN.id, SHARED.id])


@pytest.mark.postgres  # replicas share PostgreSQL; an SQLite file serves one bot process
async def test_two_replicas_meeting_a_lost_channel_record_it_once(db_url: str) -> None:
    engines: list[AsyncEngine] = [create_engine(url=db_url), create_engine(url=db_url)]
    try:
        accesses = [
            ChannelAccess(
                repo=ConfigRepo(create_session_factory(e)),
                clock=SystemClock(),
            )
            for e in engines
        ]
        told = await asyncio.gather(*(a.lost(SHARED.id) for a in accesses * 2))
        async with engines[0].connect() as conn:
            rows = await conn.scalar(
                sa.select(sa.func.count()).where(BotRight.chat_id == SHARED.id)
            )
    finally:
        for engine in engines:
            await engine.dispose()
    assert rows == 1
    assert sorted(told) == [False, False, False, True]  # one replica tells the owner
