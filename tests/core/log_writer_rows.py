"""Rows, settings and read-backs shared by the log writer tests (``test_log_writer*.py``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import Base
from core.settings import LogWriterSettings

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
                "sender_kind": "user",
                "sender_chat_id": None,
                "message_thread_id": None,
                "content_hash": None,
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
                "sender_kind": "channel",
                "sender_chat_id": -(10**12) - BIG // 2**20,
                "message_thread_id": 2**31 + 1,
                "content_hash": "0f" * 32,
            },
        ],
        "member_events": [
            {
                "chat_id": -BIG,
                "user_id": BIG,
                "event": "join",
                "timestamp": ts,
                "is_bot": False,
                "invite_link_name": ODD_TEXT[:60],
                "via_join_request": True,
            },
            {
                "chat_id": -BIG,
                "user_id": BIG,
                "event": "leave",
                "timestamp": ts,
                "is_bot": True,
                "invite_link_name": None,
                "via_join_request": False,
            },
        ],
        "gate_events": [
            {"timestamp": ts, "group_id": -BIG, "user_id": BIG, "event": "muted", "detail": None},
            {
                "timestamp": ts,
                "group_id": -BIG,
                "user_id": None,
                "event": "message_deleted",
                "detail": {"sender_chat_id": -BIG, "text": ODD_TEXT, "ids": [1, 2]},
            },
        ],
        "bot_rights": [
            {
                "timestamp": ts,
                "chat_id": -BIG,
                "status": "administrator",
                "is_admin": True,
                "can_restrict_members": True,
                "can_delete_messages": False,
                "can_invite_users": True,
            },
        ],
        "reaction_events": [
            {
                "timestamp": ts,
                "chat_id": -BIG,
                "telegram_message_id": 2**31 - 1,
                "user_id": BIG,
                "added": 2,
                "removed": 1,
            },
            {
                "timestamp": ts,
                "chat_id": -BIG,
                "telegram_message_id": 7,
                "user_id": None,
                "added": 0,
                "removed": 3,
            },
        ],
        "update_health": [
            {
                "recorded_at": ts,
                "bot_id": BIG,
                "mode": "webhook",
                "interval_s": 60.0,
                "webhook_url_set": True,
                "pending_update_count": 2**31 - 1,
                "last_error_at": dt.datetime(2026, 11, 20, 18, 0, tzinfo=IST),
                "last_error_message": ODD_TEXT,
                "updates": 0,
                "lag_p50_s": None,
                "lag_max_s": None,
            },
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
