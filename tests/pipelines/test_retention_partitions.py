"""The raw logs' day partitions on PostgreSQL: made by the migration, kept ahead by the
upkeep (asset and bot start-up) even with rows sitting in the default partition, dropped whole
by retention; the COPY writer and erasure work on them. PostgreSQL only."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from cli.main import app
from core.erasure import erase
from core.log_writer import LogWriter
from core.partitions import (
    default_name,
    ensure_partitions,
    partition_name,
    partitioned_tables,
    partitions,
    prepare_partitions,
)
from pipelines.assets.maintenance import partitions_to_drop, prune, raw_log_partitions
from pipelines.io import sync_engine
from pipelines.resources import DatabaseResource, PipelineConfigResource
from tests.core.log_writer_rows import verification, writer_settings

pytestmark = pytest.mark.postgres

UTC = dt.UTC
LARGE_LOGS = {
    "verification_log": "timestamp",
    "api_call_log": "timestamp",
    "messages": "created_at",
    "member_events": "timestamp",
    "gate_events": "timestamp",
    "reaction_events": "timestamp",
}


def _today() -> dt.date:
    return dt.datetime.now(UTC).date()


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), UTC)


def _check(at: dt.datetime, user_id: int = 7) -> dict[str, Any]:
    return {"user_id": user_id, "group_id": -1, "status": "success", "latency_ms": 1.0,
            "trigger": "join", "timestamp": at}  # fmt: skip


def _message(at: dt.datetime, user_id: int = 7) -> dict[str, Any]:
    return {"telegram_message_id": 1, "chat_id": -1, "user_id": user_id, "created_at": at}


def _insert(url: str, table: str, rows: list[dict[str, Any]]) -> None:
    from core.models import Base

    with sync_engine(url).begin() as conn:
        conn.execute(sa.insert(Base.metadata.tables[table]), rows)


def _where(url: str, table: str) -> dict[str, int]:
    """Rows per partition of ``table``."""
    with sync_engine(url).connect() as conn:
        found = conn.execute(
            sa.text(f"SELECT CAST(tableoid::regclass AS text), count(*) FROM {table} GROUP BY 1")
        ).all()
    return {name: int(n) for name, n in found}


def _names(url: str, table: str) -> list[str]:
    with sync_engine(url).connect() as conn:
        return [p.name for p in partitions(conn, table)]


def test_the_large_raw_logs_are_partitioned_by_day(db_url: str) -> None:
    assert partitioned_tables() == LARGE_LOGS
    with sync_engine(db_url).connect() as conn:
        keys = dict(
            conn.execute(
                sa.text(
                    "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p "
                    "JOIN pg_class c ON c.oid = p.partrelid"
                )
            ).all()
        )
        primary_key = sa.inspect(conn).get_pk_constraint("messages")["constrained_columns"]
    assert keys == {t: f'RANGE ("{c}")' if c == "timestamp" else f"RANGE ({c})"
                    for t, c in LARGE_LOGS.items()}  # fmt: skip
    assert primary_key == ["id", "created_at"]
    today = _today()  # the migration makes today's partition; the upkeep the days ahead
    assert _names(db_url, "gate_events") == [partition_name("gate_events", today),
                                             "gate_events_default"]  # fmt: skip

    # a day without a partition (past or far ahead) lands in the default one
    far = today + dt.timedelta(days=40)
    _insert(db_url, "verification_log",
            [_check(_at(today)), _check(_at(dt.date(2026, 1, 2))), _check(_at(far))])  # fmt: skip
    assert _where(db_url, "verification_log") == {
        partition_name("verification_log", today): 1,
        "verification_log_default": 2,
    }


def test_upkeep_makes_days_ahead_and_moves_rows_out_of_default(db_url: str) -> None:
    today = _today()
    gap, past = today + dt.timedelta(days=2), today - dt.timedelta(days=40)
    strays = [_check(_at(gap, h)) for h in (1, 2, 3)] + [_check(_at(past)), _check(_at(past))]
    _insert(db_url, "verification_log", strays)
    _insert(db_url, "messages", [_message(_at(past))])
    assert _where(db_url, "verification_log") == {"verification_log_default": 5}

    def upkeep() -> list[str]:
        result = raw_log_partitions(
            context=dg.build_asset_context(),
            database=DatabaseResource(url=db_url),
            pipeline_config=PipelineConfigResource(partitions_ahead_days=3),
        )
        return sorted(result.metadata["created"].data)

    new_days = [past, *(today + dt.timedelta(days=n) for n in (1, 2, 3))]
    expected = sorted(partition_name(t, d) for t in LARGE_LOGS for d in new_days)
    assert upkeep() == expected
    assert _where(db_url, "verification_log") == {
        partition_name("verification_log", gap): 3,
        partition_name("verification_log", past): 2,
    }
    assert _where(db_url, "messages") == {partition_name("messages", past): 1}
    assert upkeep() == []  # idempotent

    # the bot's start-up makes the same days (and only the missing ones)
    with sync_engine(db_url).begin() as conn:
        conn.execute(sa.text(f'DROP TABLE "{partition_name("api_call_log", gap)}"'))
    made = asyncio.run(prepare_partitions(db_url, 3))
    assert made == [partition_name("api_call_log", gap)]


def test_retention_drops_exactly_the_expired_day_partitions(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = _today()
    d1, d2, d3, d4 = (today - dt.timedelta(days=n) for n in (60, 59, 58, 57))
    old = today - dt.timedelta(days=100)  # no partition: in the default one
    with sync_engine(db_url).begin() as conn:
        ensure_partitions(conn, [d1, d2, d3, d4])
    checks = {d1: [12, 13, 14], d2: [1, 2], d3: [6, 18], d4: [1, 2], old: [5], today: [0]}
    _insert(db_url, "verification_log",
            [_check(_at(day, h)) for day, hours in checks.items() for h in hours])  # fmt: skip
    _insert(db_url, "messages", [_message(_at(d1)), _message(_at(d4))])

    # the CLI's dry run (RETENTION_DAYS=30: every one of d1..d4 is past it) shows the plan
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("COLUMNS", "200")
    dry = CliRunner().invoke(app, ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    row = next(line for line in dry.output.splitlines() if line.startswith("│ verification_log"))
    assert [c.strip() for c in row.split("│")[4:7]] == ["10", "1", "4 (9 rows)"]
    listed = ", ".join(
        f"{partition_name('verification_log', d)} ({len(checks[d])} rows)" for d in (d1, d2, d3, d4)
    )
    assert f"verification_log: would drop {listed}" in dry.output

    # retention itself, at a cutoff inside d3 (and at the very end of d1 for messages); d2 was
    # detached by a run that stopped before its drop: this one drops it
    with sync_engine(db_url).begin() as conn:
        d2_table = partition_name("verification_log", d2)
        conn.execute(sa.text(f'ALTER TABLE verification_log DETACH PARTITION "{d2_table}"'))
    cutoffs = {"verification_log": _at(d3, 12), "messages": _at(d2, 0)}
    assert partitions_to_drop(sync_engine(db_url), cutoffs) == {
        "verification_log": [(partition_name("verification_log", d1), 3),
                             (partition_name("verification_log", d2), 2)],
        "messages": [(partition_name("messages", d1), 1)],
    }  # fmt: skip
    dropped: dict[str, list[str]] = {}
    deleted = prune(sync_engine(db_url), cutoffs, batch_size=100, dropped=dropped)
    assert deleted == {"verification_log": 3 + 2 + 1 + 1, "messages": 1}
    assert dropped == {
        "verification_log": [partition_name("verification_log", d) for d in (d1, d2)],
        "messages": [partition_name("messages", d1)],
    }
    assert _where(db_url, "verification_log") == {
        partition_name("verification_log", d3): 1,  # the 18:00 check of the boundary day
        partition_name("verification_log", d4): 2,
        partition_name("verification_log", today): 1,
    }
    names = _names(db_url, "verification_log")
    with sync_engine(db_url).connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": d2_table}).scalar() is None
    assert partition_name("verification_log", d3) in names
    assert default_name("verification_log") in names
    assert _where(db_url, "messages") == {partition_name("messages", d4): 1}
    assert prune(sync_engine(db_url), cutoffs, batch_size=100) == {
        "verification_log": 0,
        "messages": 0,
    }


async def test_writer_and_erasure_on_partitioned_logs(engine: AsyncEngine, tmp_path: Path) -> None:
    today = _today()
    url = engine.url.render_as_string(hide_password=False)
    async with LogWriter(engine, writer_settings(tmp_path)) as writer:  # COPY into the parent
        writer.put_many(
            "verification_log", [verification(i, timestamp=_at(today)) for i in range(3)]
        )
        writer.put("verification_log", verification(3, timestamp=_at(dt.date(2026, 1, 2))))
        writer.put_many("messages", [_message(_at(today), 42), _message(_at(today), 43)])
        writer.put("messages", _message(_at(dt.date(2026, 1, 2)), 42))
        call = {"method": "getChatMember", "chat_id": -1, "user_id": 42, "success": True,
                "latency_ms": 1.0, "timestamp": _at(today)}  # fmt: skip
        writer.put("api_call_log", call)
    assert await asyncio.to_thread(_where, url, "verification_log") == {
        partition_name("verification_log", today): 3,
        "verification_log_default": 1,
    }

    report = await erase(engine, 42, key=b"k" * 32, requested_by="cli", now=_at(today, 20))
    assert report.removed == {"messages": 2}
    assert report.changed == {"api_call_log": 1}
    assert await asyncio.to_thread(_where, url, "messages") == {
        partition_name("messages", today): 1
    }
    async with engine.connect() as conn:
        left = await conn.execute(sa.text("SELECT user_id FROM api_call_log"))
        assert left.scalars().all() == [None]
