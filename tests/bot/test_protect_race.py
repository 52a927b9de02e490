"""``/protect`` run by two replicas at the same moment, for groups that share a channel and an
owner: both succeed (upserts, not read-then-insert), each group linked once to each channel."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.config import ChannelInfo, ConfigRepo
from core.db import create_engine, create_session_factory
from core.models import EnforcedChannel, GroupChannelLink, Owner, ProtectedGroup

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
