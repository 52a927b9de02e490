"""The log writer's spool: a locked SQLite database, segments a dead process left, two writers
replaying one spool, a spool directory that cannot be written.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import core.log_writer as lw
from core.log_writer import LogWriter, read_rejected, spool_files
from tests.core.log_writer_rows import BIG, user_ids, verification, writer_settings


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
