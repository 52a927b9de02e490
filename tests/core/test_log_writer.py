"""The batched log writer on the backend under test (SQLite, then PostgreSQL).

Outage tests that stop PostgreSQL own their server (``own_pg``); the rest use the shared
``engine`` fixture. No timing assertions: waits poll for a state with a generous deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import core.log_writer as lw
from cli.db import run_migrations
from core.db import create_engine
from core.log_writer import WRITABLE_TABLES, LogWriter, read_rejected, spool_files
from core.models import (
    AdminAuditLog,
    ApiCallLog,
    Base,
    MemberEvent,
    Message,
    User,
    VerificationLog,
)
from core.settings import LogWriterSettings
from tests.support.waiting import eventually

UTC = dt.UTC
BIG = 2**62 + 12345  # Telegram ids are 64-bit
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
ODD_TEXT = "héllo 👋🏽 שלום 世界 \u200b\u202e tab\there\nnewline ' \" \\ % _ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"


def writer_settings(tmp_path: Path, **overrides: Any) -> LogWriterSettings:
    values: dict[str, Any] = {
        "spool_dir": tmp_path / "spool",
        "batch_size": 500,
        "flush_interval_s": 0.05,
        "max_queue": 10_000,
        "retry_max_s": 0.3,
        "write_timeout_s": 10.0,
    }
    values.update(overrides)
    return LogWriterSettings(**values)


def verification(i: int, **extra: Any) -> dict[str, Any]:
    row = {
        "user_id": BIG + i,
        "group_id": -1_001_234_567_890,
        "status": "success",
        "cached": i % 2 == 0,
        "latency_ms": 12.5 + i,
        "error_type": None,
        "trigger": "join",
        "channels_checked": 3,
        "timestamp": dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC) + dt.timedelta(seconds=i),
    }
    row.update(extra)
    return row


def sample_rows() -> dict[str, list[dict[str, Any]]]:
    """At least one row per writable table, with the awkward values."""
    ts = dt.datetime(2026, 11, 20, 23, 59, 59, 999_999, tzinfo=UTC)
    return {
        "verification_log": [
            verification(0),
            verification(
                1,
                status="error",
                error_type="NetworkError",
                cached=False,
                timestamp=dt.datetime(2026, 11, 21, 5, 30, tzinfo=IST),
            ),
        ],
        "api_call_log": [
            {
                "method": "getChatMember",
                "chat_id": -BIG,
                "user_id": BIG,
                "success": False,
                "latency_ms": 0.25,
                "error_type": "RetryAfter",
                "error_message": ODD_TEXT[:100],
                "timestamp": ts,
            },
            {
                "method": "sendMessage",
                "chat_id": None,
                "user_id": None,
                "success": True,
                "latency_ms": 1e-3,
                "error_type": None,
                "error_message": None,
                "timestamp": ts,
            },
        ],
        "messages": [
            {
                "telegram_message_id": 2**31 + 7,
                "chat_id": -BIG,
                "user_id": BIG,
                "content": ODD_TEXT * 50,
                "content_type": "text",
                "reply_to_message_id": 2**31 + 6,
                "is_bot_message": False,
                "created_at": ts,
            },
            {
                "telegram_message_id": 1,
                "chat_id": -5,
                "user_id": None,
                "content": None,
                "content_type": "photo",
                "reply_to_message_id": None,
                "is_bot_message": True,
                "created_at": ts,
            },
        ],
        "member_events": [
            {"chat_id": -BIG, "user_id": BIG, "event": "join", "timestamp": ts},
            {"chat_id": -BIG, "user_id": BIG, "event": "leave", "timestamp": ts},
        ],
        "admin_audit_log": [
            {
                "chat_id": -BIG,
                "actor_id": BIG,
                "action": "protect",
                "resource": "@канал",
                "changes": {"added": ["@a", "@b"], "note": ODD_TEXT, "n": BIG, "ok": True},
                "success": True,
                "timestamp": ts,
            }
        ],
    }


async def fetch(engine: AsyncEngine, table: str) -> list[dict[str, Any]]:
    t = Base.metadata.tables[table]
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(t).order_by(t.c.id))
        return [{k: v for k, v in row._mapping.items() if k != "id"} for row in result]


async def count(engine: AsyncEngine, table: str = "verification_log") -> int:
    t = Base.metadata.tables[table]
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one())


async def user_ids(engine: AsyncEngine) -> list[int]:
    t = Base.metadata.tables["verification_log"]
    async with engine.connect() as conn:
        return sorted((await conn.execute(sa.select(t.c.user_id))).scalars())


# --------------------------------------------------------------------------- basics


async def test_rows_of_every_table_land_exactly(engine: AsyncEngine, tmp_path: Path) -> None:
    rows = sample_rows()
    assert set(rows) == set(WRITABLE_TABLES)
    async with LogWriter(engine, writer_settings(tmp_path)) as writer:
        for table, table_rows in rows.items():
            for row in table_rows:
                writer.put(table, row)
    for table, expected in rows.items():
        stored = await fetch(engine, table)
        assert stored == expected, table
        for row in stored:
            for value in row.values():
                if isinstance(value, dt.datetime):
                    assert value.utcoffset() == dt.timedelta(0)
    assert writer.stats.written == sum(map(len, rows.values()))
    assert writer.stats.spooled == writer.stats.rejected == 0


async def test_omitted_columns_get_defaults_or_null(engine: AsyncEngine, tmp_path: Path) -> None:
    before = dt.datetime.now(UTC)
    async with LogWriter(engine, writer_settings(tmp_path)) as writer:
        writer.put("verification_log", {"user_id": 1, "group_id": 2, "status": "failed",
                                        "latency_ms": 3.0, "trigger": "message"})  # fmt: skip
        writer.put("admin_audit_log", {"action": "settings", "changes": None})
    (row,) = await fetch(engine, "verification_log")
    assert row["cached"] is False and row["channels_checked"] == 0 and row["error_type"] is None
    assert row["timestamp"] >= before - dt.timedelta(seconds=1)
    (audit,) = await fetch(engine, "admin_audit_log")
    assert audit["changes"] == {} and audit["chat_id"] is None and audit["success"] is True


async def test_unknown_table_or_column_is_a_value_error(tmp_path: Path) -> None:
    engine = create_engine(url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    writer = LogWriter(engine, writer_settings(tmp_path))
    with pytest.raises(ValueError, match="unknown table 'users'"):
        writer.put("users", {"id": 1})
    with pytest.raises(ValueError, match="unknown table"):
        writer.put_many("nope", [verification(1)])
    with pytest.raises(ValueError, match="ids are assigned by the database"):
        writer.put("verification_log", {**verification(1), "id": 5})
    with pytest.raises(ValueError, match=r"unknown column.*colour"):
        writer.put("member_events", {"chat_id": 1, "user_id": 2, "event": "join", "colour": 1})
    assert writer.stats.queued == 0 and writer.stats.in_memory == 0
    await engine.dispose()


async def test_rows_put_by_model_land_like_dict_rows(engine: AsyncEngine, tmp_path: Path) -> None:
    rows = sample_rows()
    models = {m.__tablename__: m for m in (VerificationLog, ApiCallLog, Message, MemberEvent,
                                           AdminAuditLog)}  # fmt: skip
    assert set(models) == set(WRITABLE_TABLES)
    async with LogWriter(engine, writer_settings(tmp_path)) as writer:
        for table, table_rows in rows.items():
            for row in table_rows:
                writer.put(table, row)  # the table name and a dict
                writer.put(models[table], **row)  # the model and keywords
                writer.put(models[table], row)  # the model and a dict
            writer.put_many(models[table], table_rows)
        writer.put(AdminAuditLog, action="settings")  # omitted columns: defaults, as ever
    for table, expected in rows.items():
        stored = await fetch(engine, table)
        if table == "admin_audit_log":
            assert stored[-1]["changes"] == {} and stored[-1]["chat_id"] is None
            stored = stored[:-1]
        assert stored == [r for r in expected for _ in range(3)] + expected, table
    assert writer.stats.spooled == writer.stats.rejected == 0


async def test_model_with_unknown_column_or_not_a_raw_log_is_refused(tmp_path: Path) -> None:
    engine = create_engine(url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    writer = LogWriter(engine, writer_settings(tmp_path))
    with pytest.raises(ValueError, match=r"member_events: unknown column\(s\) \['colour'\]"):
        writer.put(MemberEvent, chat_id=1, user_id=2, event="join", colour=1)
    with pytest.raises(ValueError, match="ids are assigned by the database"):
        writer.put(VerificationLog, **verification(1), id=5)
    with pytest.raises(ValueError, match="unknown table 'users'"):
        writer.put(User, id=1)
    with pytest.raises(ValueError, match="unknown table 'users'"):
        writer.put_many(User, [{"id": 1}])
    with pytest.raises(TypeError, match="not both"):
        writer.put(VerificationLog, verification(1), user_id=3)
    assert writer.stats.queued == 0 and writer.stats.in_memory == 0
    await engine.dispose()


async def test_flush_by_size_without_waiting_for_the_interval(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path, batch_size=50, flush_interval_s=3600)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", (verification(i) for i in range(49)))
        await asyncio.sleep(0.1)
        assert await count(engine) == 0  # below batch_size and the interval is an hour
        writer.put("verification_log", verification(49))

        async def all_written() -> bool:
            return await count(engine) == 50

        await eventually(all_written)
        assert writer.stats.written == 50 and writer.stats.flushes == 1


async def test_flush_by_interval(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = writer_settings(tmp_path, batch_size=10_000, flush_interval_s=0.05)
    async with LogWriter(engine, settings) as writer:
        for i in range(3):
            writer.put("verification_log", verification(i))

        async def written() -> bool:
            return await count(engine) == 3

        await eventually(written)
        assert writer.stats.as_dict()["written"] == 3


async def test_counters_put_many_and_flush(engine: AsyncEngine, tmp_path: Path) -> None:
    writer = LogWriter(engine, writer_settings(tmp_path, flush_interval_s=3600))
    await writer.start()
    writer.put_many("verification_log", [verification(i) for i in range(120)])
    writer.put_many("member_events", iter([]))
    for i in range(5):
        writer.put("member_events", {"chat_id": -1, "user_id": i, "event": "join",
                                     "timestamp": dt.datetime.now(UTC)})  # fmt: skip
    assert writer.stats.queued == 125 and writer.stats.in_memory == 125
    await writer.flush()
    stats = writer.stats.as_dict()
    assert stats["queued"] == stats["written"] == 125
    assert stats["in_memory"] == stats["spooled"] == stats["replayed"] == stats["rejected"] == 0
    assert stats["database_available"] is True and stats["last_error"] is None
    assert await count(engine) == 120 and await count(engine, "member_events") == 5
    await writer.close()
    await writer.close()  # idempotent
    assert writer.stats.written == 125


# --------------------------------------------------------------------------- memory bound


async def test_memory_is_bounded_and_overflow_goes_to_the_spool(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path, max_queue=10, batch_size=1000)
    writer = LogWriter(engine, settings)  # not started: nothing drains the queue
    peak = 0
    for i in range(300):
        writer.put("verification_log", verification(i))
        peak = max(peak, writer.stats.in_memory)
    writer.put_many("verification_log", [verification(i) for i in range(300, 400)])
    assert peak == 10 and writer.stats.in_memory == 10
    assert writer.stats.spooled == 390 and writer.stats.queued == 400
    await writer.start()
    await writer.close()
    assert await user_ids(engine) == [BIG + i for i in range(400)]
    assert writer.stats.written + writer.stats.replayed == 400
    assert spool_files(settings.spool_dir) == []


# --------------------------------------------------------------------------- bad rows


async def test_bad_rows_are_rejected_and_their_neighbours_written(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path)
    async with LogWriter(engine, settings) as writer:
        for i in range(200):
            if i == 37:
                writer.put("verification_log", verification(i, status=None))  # NOT NULL
            elif i == 99:
                writer.put("verification_log", verification(i, group_id=2**70))  # > BIGINT
            elif i == 150:
                naive = dt.datetime(2026, 11, 20, 12, 0)  # no tzinfo: refused
                writer.put("verification_log", verification(i, timestamp=naive))
            else:
                writer.put("verification_log", verification(i))
        writer.put("member_events", {"chat_id": 1, "user_id": 2, "event": "join",
                                     "timestamp": dt.datetime.now(UTC)})  # fmt: skip
    assert await user_ids(engine) == [BIG + i for i in range(200) if i not in (37, 99, 150)]
    assert await count(engine, "member_events") == 1
    rejected = sorted(read_rejected(settings.spool_dir), key=lambda r: r["row"]["user_id"])
    assert [r["row"]["user_id"] for r in rejected] == [BIG + 37, BIG + 99, BIG + 150]
    assert all(r["table"] == "verification_log" for r in rejected)
    assert "status" in rejected[0]["reason"].lower()
    assert "naive" in rejected[2]["reason"]
    assert writer.stats.rejected == 3 and writer.stats.written == 198
    assert writer.stats.database_available is True


# --------------------------------------------------------------------------- SQLite outage


async def test_sqlite_locked_database_spools_then_replays(
    backend: str, db_url: str, tmp_path: Path
) -> None:
    """Another process holds an exclusive lock: writes fail, rows spool, then all land once."""
    if backend != "sqlite":
        pytest.skip("SQLite-specific outage; PostgreSQL outages are tested with a real server")
    path = make_url(db_url).database
    assert path
    # our own engine with a short busy timeout, so "locked" is an error within 50 ms
    engine = create_async_engine(db_url, connect_args={"timeout": 0.05})
    locker = sqlite3.connect(path, isolation_level=None)
    settings = writer_settings(tmp_path, batch_size=20, max_queue=50)
    try:
        async with LogWriter(engine, settings) as writer:
            writer.put_many("verification_log", [verification(i) for i in range(10)])
            await writer.flush()
            locker.execute("BEGIN EXCLUSIVE")
            peak = 0
            for i in range(10, 400):
                writer.put("verification_log", verification(i))
                peak = max(peak, writer.stats.in_memory)
                if i % 25 == 0:
                    await asyncio.sleep(0.01)
            await writer.flush()  # nothing raises while the database is locked
            assert peak <= 50
            assert writer.stats.database_available is False
            assert writer.stats.spooled > 0 and writer.stats.failed_flushes > 0
            assert "locked" in (writer.stats.last_error or "")
            assert spool_files(settings.spool_dir)
            locker.execute("ROLLBACK")
            await writer.flush()
            assert writer.stats.database_available is True
        assert await user_ids(engine) == [BIG + i for i in range(400)]
        assert spool_files(settings.spool_dir) == []

        # closed while still locked: the rows wait in the spool for the next start()
        locker.execute("BEGIN EXCLUSIVE")
        async with LogWriter(engine, settings) as writer:
            writer.put_many("verification_log", [verification(i) for i in range(400, 450)])
        assert writer.stats.spooled == 50 and writer.stats.written == 0
        locker.execute("ROLLBACK")
        again = LogWriter(engine, settings)
        await again.start()
        await again.close()
        assert again.stats.replayed == 50
        assert await user_ids(engine) == [BIG + i for i in range(450)]
        assert spool_files(settings.spool_dir) == []
    finally:
        locker.close()
        await engine.dispose()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def own_pg() -> Iterator[Any]:
    """A PostgreSQL server these tests may stop and restart (not the shared one)."""
    from tests.support.pg import TempPostgres

    server = TempPostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def own_pg_url(own_pg: Any) -> AsyncIterator[str]:
    if not own_pg.is_running():
        own_pg.start()
    name = f"lw_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(own_pg.url(driver="asyncpg").replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = own_pg.url(name)
    await asyncio.to_thread(run_migrations, url)
    yield url
    if not own_pg.is_running():
        own_pg.start()


@pytest.mark.postgres
async def test_postgres_outage_mid_run_loses_and_duplicates_nothing(
    own_pg: Any, own_pg_url: str, tmp_path: Path
) -> None:
    engine = create_engine(url=own_pg_url)
    settings = writer_settings(tmp_path, batch_size=40, max_queue=200, retry_max_s=0.2)
    total = 0
    peak = 0

    async def produce(n: int) -> None:
        nonlocal total, peak
        for _ in range(n):
            writer.put("verification_log", verification(total))
            total += 1
            peak = max(peak, writer.stats.in_memory)
            if total % 10 == 0:
                await asyncio.sleep(0.002)

    try:
        async with LogWriter(engine, settings) as writer:
            await produce(600)
            stop = asyncio.create_task(asyncio.to_thread(own_pg.stop))
            await produce(600)  # during and after the shutdown
            await stop
            await produce(600)
            await asyncio.sleep(0.3)  # let a few retries fail
            assert writer.stats.database_available is False
            assert writer.stats.failed_flushes > 0 and writer.stats.spooled > 0
            assert spool_files(settings.spool_dir)
            await asyncio.to_thread(own_pg.start)  # same data directory
            await produce(600)

            async def recovered() -> bool:
                return writer.stats.database_available and writer.stats.written > 0

            await eventually(recovered)
        assert peak <= 200
        assert await user_ids(engine) == [BIG + i for i in range(total)]
        stats = writer.stats
        assert stats.queued == total == 2400
        assert stats.written + stats.replayed + stats.replay_skipped == total
        assert stats.rejected == 0
        assert spool_files(settings.spool_dir) == []
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_closed_while_postgres_down_then_next_start_replays_once(
    own_pg: Any, own_pg_url: str, tmp_path: Path
) -> None:
    engine = create_engine(url=own_pg_url)
    settings = writer_settings(tmp_path, batch_size=100)
    try:
        async with LogWriter(engine, settings) as writer:
            writer.put_many("verification_log", [verification(i) for i in range(50)])
            await writer.flush()
            await asyncio.to_thread(own_pg.stop)
            writer.put_many("verification_log", [verification(i) for i in range(50, 350)])
            writer.put("admin_audit_log", {"action": "protect", "changes": {"k": "√"},
                                           "timestamp": dt.datetime.now(IST)})  # fmt: skip
        assert writer.stats.spooled == 301 and writer.stats.written == 50
        assert spool_files(settings.spool_dir)

        await asyncio.to_thread(own_pg.start)
        again = LogWriter(engine, settings)
        await again.start()  # replays what the first writer left
        assert again.stats.replayed == 301
        await again.close()
        assert await user_ids(engine) == [BIG + i for i in range(350)]
        (audit,) = await fetch(engine, "admin_audit_log")
        assert audit["changes"] == {"k": "√"} and audit["timestamp"].tzinfo is not None

        third = LogWriter(engine, settings)  # nothing left: replaying twice adds nothing
        await third.start()
        await third.close()
        assert third.stats.replayed == 0 and await count(engine) == 350
        assert spool_files(settings.spool_dir) == []
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_in_doubt_commit_is_not_written_twice(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit succeeds but the client sees the connection die: replay must skip it."""
    original = lw._CopySession.write
    calls = 0

    async def commit_then_lose_connection(
        self: Any, batch: Any, on_xid: Callable[[int], None] | None
    ) -> None:
        nonlocal calls
        calls += 1
        seen: list[int] = []

        def remember(xid: int) -> None:
            seen.append(xid)
            if on_xid is not None:
                on_xid(xid)

        await original(self, batch, remember)
        if calls == 1:
            raise lw._InDoubt(seen[0], ConnectionResetError("lost during COMMIT"))

    monkeypatch.setattr(lw._CopySession, "write", commit_then_lose_connection)
    settings = writer_settings(tmp_path, flush_interval_s=3600)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", [verification(i) for i in range(30)])
        await writer.flush()  # first write "fails" in doubt, the rows are spooled + replayed
        writer.put_many("verification_log", [verification(i) for i in range(30, 40)])
    assert writer.stats.spooled == 30 and writer.stats.replay_skipped == 30
    assert writer.stats.replayed == 0 and writer.stats.written == 10
    assert await user_ids(engine) == [BIG + i for i in range(40)]


class _Crash(BaseException):
    """Stands in for the process dying at a chosen point."""


@pytest.mark.postgres
async def test_crash_between_replay_commit_and_progress_update(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = writer_settings(tmp_path, max_queue=10, batch_size=1000)
    first = LogWriter(engine, settings)
    first.put_many("verification_log", [verification(i) for i in range(2500)])
    assert first.stats.spooled == 2490
    first._flush_memory_to_spool()
    first._spool.seal()

    real_advance = lw._ReplayCursor.advance
    advances = 0

    def crash_on_second_chunk(self: Any, end: int) -> None:
        nonlocal advances
        advances += 1
        if advances == 2:
            raise _Crash  # the chunk is committed, its progress is not recorded
        real_advance(self, end)

    monkeypatch.setattr(lw._ReplayCursor, "advance", crash_on_second_chunk)
    with pytest.raises(_Crash):
        await first.start()
    assert first._cursor is None  # its lock is released, as a dead process's would be
    monkeypatch.setattr(lw._ReplayCursor, "advance", real_advance)

    second = LogWriter(engine, settings)
    await second.start()
    await second.close()
    assert await user_ids(engine) == [BIG + i for i in range(2500)]
    # replay chunks hold at most max_queue (10) rows: chunks 1 and 2 were committed by the
    # first writer, the second one resolved the pending transaction and skipped them
    assert second.stats.replayed == 2480
    assert spool_files(settings.spool_dir) == []


async def test_a_batch_of_only_bad_rows_does_not_stall_the_writer(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path, batch_size=5000)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", [verification(i, status=None) for i in range(3000)])
        await writer.flush()
        writer.put("verification_log", verification(5000))
    assert await user_ids(engine) == [BIG + 5000]
    assert writer.stats.rejected == 3000 and writer.stats.written == 1
    assert len(read_rejected(settings.spool_dir)) == 3000


async def test_a_cancelled_flush_neither_loses_nor_duplicates(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait_for(writer.flush(), 2.0)`` (the bot's /status) must not cut a commit in half."""
    for cls in (lw._CopySession, lw._CoreSession):

        async def slow_return(
            self: Any, batch: Any, on_xid: Any, _original: Any = cls.write
        ) -> None:
            await _original(self, batch, on_xid)
            await asyncio.sleep(0.3)  # committed; the caller gives up meanwhile

        monkeypatch.setattr(cls, "write", slow_return)
    settings = writer_settings(tmp_path, flush_interval_s=3600)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", [verification(i) for i in range(100)])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(writer.flush(), 0.05)
        writer.put_many("verification_log", [verification(i) for i in range(100, 200)])
    assert await user_ids(engine) == [BIG + i for i in range(200)]
    assert writer.stats.written == 200 and writer.stats.spooled == 0


def _leftover_segment(spool: Path) -> Path:
    spool.mkdir(parents=True)
    spec = lw._specs()["verification_log"]
    good = [spec.spool_line(spec.convert(verification(i))) for i in range(3)]
    segment = spool / "spool-20260101T000000-1-abcdef-000001.jsonl"
    segment.write_text(
        good[0]
        + '{"t":"no_such_table","r":{}}\n'
        + "not json at all\n"
        + good[1]
        + good[2][: len(good[2]) // 2]  # torn: the process died while writing this line
    )
    return segment


async def test_leftover_spool_with_torn_and_foreign_lines(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A previous process died mid-line: good lines land, the rest goes to rejected.jsonl."""
    settings = writer_settings(tmp_path)
    spool = Path(settings.spool_dir)
    segment = _leftover_segment(spool)
    async with LogWriter(engine, settings) as writer:
        assert writer.stats.replayed == 2
    assert await user_ids(engine) == [BIG, BIG + 1]
    reasons = [r["reason"] for r in read_rejected(spool)]
    assert len(reasons) == 3
    assert any("no_such_table" in r for r in reasons) and any("truncated" in r for r in reasons)
    assert not segment.exists()


async def test_two_writers_replaying_one_spool_write_each_row_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path, max_queue=10, batch_size=100)
    leaver = LogWriter(engine, settings)  # never started: everything past 10 rows spools
    leaver.put_many("verification_log", [verification(i) for i in range(1500)])
    leaver._flush_memory_to_spool()
    leaver._spool.seal()
    first, second = LogWriter(engine, settings), LogWriter(engine, settings)
    await asyncio.gather(first.start(), second.start())
    await asyncio.gather(first.close(), second.close())
    assert first.stats.replayed + second.stats.replayed == 1500
    assert await user_ids(engine) == [BIG + i for i in range(1500)]


async def test_stored_values_match_a_plain_sqlalchemy_insert(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """The writer's fast paths store exactly what ``insert(table)`` stores (raw, unconverted)."""
    rows = sample_rows()
    async with LogWriter(engine, writer_settings(tmp_path)) as writer:
        for table, table_rows in rows.items():
            writer.put_many(table, table_rows)
    for table, table_rows in rows.items():
        t = Base.metadata.tables[table]
        async with engine.begin() as conn:
            await conn.execute(sa.insert(t), table_rows)
        cols = ", ".join(c.name for c in t.columns if c.name != "id")
        async with engine.connect() as conn:
            raw = (await conn.exec_driver_sql(f"SELECT {cols} FROM {table} ORDER BY id")).all()
        n = len(table_rows)
        assert raw[:n] == raw[n:], table


async def test_unusable_spool_directory_keeps_rows_in_memory(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Memory full and the spool cannot be written: rows stay in memory, nothing raises."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = writer_settings(tmp_path, max_queue=10, spool_dir=blocker / "spool")
    writer = LogWriter(engine, settings)
    writer.put_many("verification_log", [verification(i) for i in range(30)])
    for i in range(30, 50):
        writer.put("verification_log", verification(i))
    assert writer.stats.spool_errors == 21 and writer.stats.in_memory == 50
    assert len([r for r in caplog.records if "cannot spool" in r.getMessage()]) == 1
    async with writer:
        pass
    assert await user_ids(engine) == [BIG + i for i in range(50)]
    assert writer.stats.written == 50
