"""The raw-log partitioning migration on PostgreSQL: down to plain tables and up again keeps
every row, its id and the id sequence; rows land in the partition of their day."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command

from core.migrate import alembic_config, run_migrations
from core.partitions import is_partitioned, partition_name
from pipelines.io import sync_engine

pytestmark = pytest.mark.postgres

PARTITIONING = "9085d99ccd8c"
OLD_DAY = dt.date(2026, 2, 3)


def _state(url: str) -> tuple[dict[str, bool], list[tuple[int, str]], dict[str, int]]:
    """Which tables are partitioned; verification_log's (id, where); messages per partition."""
    with sync_engine(url).connect() as conn:
        flags = {t: is_partitioned(conn, t) for t in ("verification_log", "messages")}
        checks = conn.execute(
            sa.text("SELECT id, CAST(tableoid::regclass AS text) FROM verification_log ORDER BY id")
        ).all()
        messages = conn.execute(
            sa.text("SELECT CAST(tableoid::regclass AS text), count(*) FROM messages GROUP BY 1")
        ).all()
    return flags, [(int(i), w) for i, w in checks], {w: int(n) for w, n in messages}


def _add_check(url: str, at: str) -> None:
    with sync_engine(url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO verification_log (user_id, group_id, status, cached, latency_ms, "
                "trigger, channels_checked, timestamp) "
                "VALUES (7, -1, 'success', false, 1.0, 'join', 1, CAST(:at AS timestamptz))"
            ),
            {"at": at},
        )


def test_downgrade_and_upgrade_keep_the_rows(empty_db_url: str) -> None:
    run_migrations(empty_db_url)
    today = dt.datetime.now(dt.UTC).date()
    _add_check(empty_db_url, f"{today} 10:00+00")
    _add_check(empty_db_url, "2026-02-03 23:59:59+00")  # no partition for that day yet
    with sync_engine(empty_db_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO messages (telegram_message_id, chat_id, content_type, "
                "is_bot_message, created_at, sender_kind) "
                "SELECT g, -1, 'text', false, CAST(:at AS timestamptz), 'user' "
                "FROM generate_series(1, 5) AS g"
            ),
            {"at": f"{today} 08:00+00"},
        )
    today_check = partition_name("verification_log", today)
    assert _state(empty_db_url) == (
        {"verification_log": True, "messages": True},
        [(1, today_check), (2, "verification_log_default")],
        {partition_name("messages", today): 5},
    )

    command.downgrade(alembic_config(empty_db_url), f"{PARTITIONING}-1")
    _add_check(empty_db_url, "2026-02-03 12:00+00")  # the id sequence went along
    assert _state(empty_db_url) == (
        {"verification_log": False, "messages": False},
        [(1, "verification_log"), (2, "verification_log"), (3, "verification_log")],
        {"messages": 5},
    )

    command.upgrade(alembic_config(empty_db_url), "head")
    old_day = partition_name("verification_log", OLD_DAY)  # made for the rows it holds
    assert _state(empty_db_url) == (
        {"verification_log": True, "messages": True},
        [(1, today_check), (2, old_day), (3, old_day)],
        {partition_name("messages", today): 5},
    )
    _add_check(empty_db_url, f"{today} 11:00+00")
    assert _state(empty_db_url)[1][-1] == (4, today_check)
