"""When the log writer writes: by batch size, by interval, on ``flush()``; how much it holds in
memory; and a flush whose caller gives up. No timing assertions: waits poll for a state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import core.log_writer as lw
from core.log_writer import LogWriter, spool_files
from tests.core.log_writer_rows import BIG, UTC, count, user_ids, verification, writer_settings
from tests.support.waiting import eventually


async def test_flush_by_size_without_waiting_for_the_interval(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = writer_settings(tmp_path, batch_size=50, flush_interval_s=3600)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", (verification(i) for i in range(49)))
        # below batch_size and the interval is an hour (the query hands the loop to the flusher)
        assert await count(engine) == 0
        writer.put("verification_log", verification(49))

        async def all_written() -> bool:
            # the rows are visible a moment before the flush that committed them counts them
            return await count(engine) == 50 and writer.stats.written == 50

        await eventually(all_written)
        assert writer.stats.flushes == 1  # one batch of 50: nothing went out before the 50th row


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


async def test_a_cancelled_flush_neither_loses_nor_duplicates(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait_for(writer.flush(), 2.0)`` (the bot's /status) must not cut a commit in half."""
    committed, release = asyncio.Event(), asyncio.Event()
    for cls in (lw._CopySession, lw._CoreSession):

        async def held_after_commit(
            self: Any, batch: Any, on_xid: Any, _original: Any = cls.write
        ) -> None:
            await _original(self, batch, on_xid)
            committed.set()
            await release.wait()  # committed, not yet returned: the caller gives up meanwhile

        monkeypatch.setattr(cls, "write", held_after_commit)
    settings = writer_settings(tmp_path, flush_interval_s=3600)
    async with LogWriter(engine, settings) as writer:
        writer.put_many("verification_log", [verification(i) for i in range(100)])
        status = asyncio.create_task(writer.flush())
        await committed.wait()
        status.cancel()  # what wait_for does when its time is up
        with pytest.raises(asyncio.CancelledError):
            await status
        release.set()
        writer.put_many("verification_log", [verification(i) for i in range(100, 200)])
    assert await user_ids(engine) == [BIG + i for i in range(200)]
    assert writer.stats.written == 200 and writer.stats.spooled == 0
