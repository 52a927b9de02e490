"""Round trips on the backend under test: what goes in comes back the same."""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from core.db import UTCDateTime, create_session_factory
from core.models import (
    AdminAuditLog,
    ApiCallLog,
    EnforcedChannel,
    GroupChannelLink,
    Message,
    ProtectedGroup,
    User,
    VerificationLog,
)

BIG_USER = 2**40 + 7  # well past 2**31
BIG_CHAT = -1_001_234_567_890


async def test_telegram_ids_above_2_31_round_trip(engine):
    sessions = create_session_factory(engine)
    async with sessions() as s:
        s.add(User(id=BIG_USER, username="big", first_name="Big"))
        s.add(ProtectedGroup(id=BIG_CHAT, title="g"))
        s.add(VerificationLog(user_id=BIG_USER, group_id=BIG_CHAT, status="success",
                              latency_ms=1.5, trigger="join"))  # fmt: skip
        await s.commit()
    async with sessions() as s:
        row = (await s.execute(sa.select(VerificationLog))).scalar_one()
        assert (row.user_id, row.group_id) == (BIG_USER, BIG_CHAT)
        assert (await s.get(User, BIG_USER)) is not None
        assert (await s.get(ProtectedGroup, BIG_CHAT)) is not None


async def test_timestamps_come_back_tz_aware_utc(engine):
    kyiv = dt.timezone(dt.timedelta(hours=3))
    local = dt.datetime(2026, 3, 1, 2, 30, 15, 123456, tzinfo=kyiv)
    sessions = create_session_factory(engine)
    async with sessions() as s:
        s.add(ApiCallLog(method="getChatMember", success=True, latency_ms=3.0, timestamp=local))
        await s.commit()
    async with sessions() as s:
        got = (await s.execute(sa.select(ApiCallLog.timestamp))).scalar_one()
    assert got.tzinfo is not None
    assert got.utcoffset() == dt.timedelta(0)
    assert got == local
    assert (got.hour, got.day) == (23, 28)  # 02:30 at +03:00 is the previous day in UTC


async def test_timestamp_filters_compare_as_time(engine):
    base = dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(ApiCallLog),
            [
                {"method": "m", "success": True, "latency_ms": 1.0,
                 "timestamp": base + dt.timedelta(seconds=i)}
                for i in range(3)
            ],
        )  # fmt: skip
        cutoff = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        later = await conn.execute(sa.select(sa.func.count()).where(ApiCallLog.timestamp >= cutoff))
        assert later.scalar_one() == 2


async def test_naive_timestamps_are_refused(engine):
    async with engine.begin() as conn:
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            await conn.execute(
                sa.insert(ApiCallLog).values(
                    method="m", success=True, latency_ms=1.0, timestamp=dt.datetime(2026, 1, 1)
                )
            )


def test_sqlite_stores_the_text_sqlalchemys_datetime_would() -> None:
    """UTCDateTime's own SQLite bind processor (a faster path) writes exactly the text
    SQLAlchemy's DATETIME makes of the value converted to naive UTC."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and theirs is not None
    plus_5_30 = dt.timezone(dt.timedelta(hours=5, minutes=30))
    for value in (
        dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),  # no microseconds
        dt.datetime(2026, 3, 1, 12, 0, 0, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 2, 59, 59, 999_999, tzinfo=plus_5_30),  # the day before in UTC
        dt.datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),  # a three-digit year
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
    ):
        assert ours(value) == theirs(value.astimezone(dt.UTC).replace(tzinfo=None)), value
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        ours(dt.datetime(2026, 1, 1))


async def test_json_params_round_trip(engine):
    changes = {"channels": [-1001, -1002], "enabled": False, "note": "ключ ✓", "nested": {"a": 1}}
    sessions = create_session_factory(engine)
    async with sessions() as s:
        s.add(AdminAuditLog(chat_id=BIG_CHAT, actor_id=BIG_USER, action="protect",
                            resource="group", changes=changes))  # fmt: skip
        await s.commit()
    async with sessions() as s:
        row = (await s.execute(sa.select(AdminAuditLog))).scalar_one()
    assert row.changes == changes


async def test_unicode_and_4096_character_text_round_trip(engine):
    text = ("Привіт 👋🏽 مرحبا 你好 \u200d\u2060 ZWJ👨‍👩‍👧 " * 200)[:4096]
    assert len(text) == 4096
    sessions = create_session_factory(engine)
    async with sessions() as s:
        s.add(Message(telegram_message_id=1, chat_id=BIG_CHAT, user_id=BIG_USER, content=text))
        await s.commit()
    async with sessions() as s:
        got = (await s.execute(sa.select(Message.content))).scalar_one()
    assert got == text


async def test_group_channel_link_is_unique(engine):
    sessions = create_session_factory(engine)
    async with sessions() as s:
        s.add_all([ProtectedGroup(id=BIG_CHAT, title="g"), EnforcedChannel(id=-1009, title="c")])
        await s.flush()
        s.add(GroupChannelLink(group_id=BIG_CHAT, channel_id=-1009))
        await s.commit()
    async with sessions() as s:
        s.add(GroupChannelLink(group_id=BIG_CHAT, channel_id=-1009))
        with pytest.raises(IntegrityError) as info:
            await s.commit()
    message = str(info.value.orig).lower()
    assert "group_channel_links" in message or "uq_group_channel_links" in message
    assert "unique" in message or "duplicate" in message
    async with sessions() as s:
        count = await s.scalar(sa.select(sa.func.count()).select_from(GroupChannelLink))
    assert count == 1
