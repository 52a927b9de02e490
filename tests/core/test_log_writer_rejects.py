"""Rows the database refuses for their data go to ``rejected.jsonl``; their neighbours land."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from core.log_writer import LogWriter, read_rejected
from tests.core.log_writer_rows import BIG, UTC, count, user_ids, verification, writer_settings


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
