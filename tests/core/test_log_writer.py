"""The batched log writer, rows in and rows out, on the backend under test (SQLite, then
PostgreSQL): every raw table, by name or by model, exactly as a plain insert stores it, and
what it refuses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.log_writer import WRITABLE_TABLES, LogWriter
from core.models import (
    AdminAuditLog,
    ApiCallLog,
    Base,
    BotRight,
    GateEvent,
    MemberEvent,
    Message,
    ReactionEvent,
    UpdateHealth,
    User,
    VerificationLog,
)
from tests.core.log_writer_rows import UTC, fetch, sample_rows, verification, writer_settings


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
                                           AdminAuditLog, GateEvent, BotRight,
                                           ReactionEvent, UpdateHealth)}  # fmt: skip
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
