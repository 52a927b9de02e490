"""The log writer on PostgreSQL: nothing lost and nothing written twice.

Outage tests that stop PostgreSQL own their server (``own_pg``); the rest use the shared
``engine`` fixture. No timing assertions: waits poll for a state with a generous deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import core.log_writer as lw
from core.db import create_engine, plain_url
from core.log_writer import LogWriter, spool_files
from core.migrate import run_migrations
from sandbox.postgres import TempPostgres
from tests.core.log_writer_rows import (
    BIG,
    IST,
    count,
    fetch,
    user_ids,
    verification,
    writer_settings,
)
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def own_pg() -> Iterator[TempPostgres]:
    """A PostgreSQL server these tests may stop and restart (not the shared one)."""
    with TempPostgres() as server:
        yield server


@pytest.fixture
async def own_pg_url(own_pg: TempPostgres) -> AsyncIterator[str]:
    if not own_pg.is_running():
        own_pg.start()
    name = f"lw_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(plain_url(own_pg.url()))
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
    own_pg: TempPostgres, own_pg_url: str, tmp_path: Path
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
            failed = writer.stats.failed_flushes
            await eventually(
                lambda: writer.stats.failed_flushes >= failed + 2, what="a few more failed retries"
            )
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
    own_pg: TempPostgres, own_pg_url: str, tmp_path: Path
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
