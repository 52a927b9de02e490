"""One process, one SQLite writer at a time: the log writer, the gate's state writer and admin
changes take turns (``core.db.write_turn``) instead of meeting on SQLite's file lock, and each
write goes to the driver in a few statements, not one per row.

Regression tests for the demo that spooled everything: under a busy event loop a write
transaction held SQLite's lock for tens of seconds and the other writer timed out.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import write_turn
from core.log_writer import LogWriter, spool_files
from core.models import User, VerificationLog
from tests.core.test_log_writer import verification, writer_settings
from tests.support.statements import record_statements


async def test_a_writer_waits_its_turn_instead_of_timing_out(
    backend: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    """Another writer of this process holds SQLite's write lock for longer than the log
    writer's write timeout: the log writer waits for its turn and writes; nothing spools."""
    if backend != "sqlite":
        pytest.skip("SQLite's one-writer file lock; PostgreSQL writers do not exclude each other")
    settings = writer_settings(tmp_path, write_timeout_s=0.2, flush_interval_s=10.0)
    async with LogWriter(engine, settings) as writer:
        async with write_turn(engine), engine.begin() as conn:
            await conn.execute(  # this connection now holds SQLite's write lock
                sa.insert(User).values(id=1, username="holder", first_name="Holder")
            )
            writer.put_many("verification_log", [verification(i) for i in range(100)])
            flushing = asyncio.create_task(writer.flush())
            await asyncio.sleep(0.6)  # hold the lock three write timeouts long
            assert not flushing.done()  # still waiting for its turn, not given up
        await flushing
        assert writer.stats.database_available is True
        assert writer.stats.failed_flushes == 0 and writer.stats.spooled == 0
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(VerificationLog)) == 100
    assert spool_files(settings.spool_dir) == []


async def test_sqlite_batches_go_in_multi_row_statements(
    backend: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    """2,000 rows are a handful of INSERTs, not 2,000 driver steps: each step of the worker
    thread waits for the GIL, which a CPU-bound event loop gives back only every few ms."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL batches go through binary COPY")
    seen = record_statements(engine)
    rows = 2000
    async with LogWriter(engine, writer_settings(tmp_path, batch_size=rows)) as writer:
        writer.put_many("verification_log", [verification(i) for i in range(rows)])
        await writer.flush()
    inserts = [(sql, many) for sql, many in seen if sql.startswith("INSERT")]
    assert not any(many for _, many in inserts)
    assert len(inserts) == math.ceil(rows / 500)
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(VerificationLog.user_id))).scalars().all()
    assert sorted(stored) == [verification(i)["user_id"] for i in range(rows)]
