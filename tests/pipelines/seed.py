"""Deterministic raw logs spanning several UTC days, written through SQLAlchemy Core."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from core.models import (
    ApiCallLog,
    EnforcedChannel,
    GroupChannelLink,
    MemberEvent,
    Message,
    Owner,
    ProtectedGroup,
    User,
    VerificationLog,
)
from pipelines.io import sync_engine

UTC = dt.UTC
FIRST_DAY = dt.date(2026, 3, 1)
DAYS = 4
GROUPS = (-1001, -1002, -1003)
CHANNELS = (-2001, -2002)
USERS = tuple(range(101, 121))
WORDS = [
    "release",
    "deploy",
    "gatepulse",
    "bug",
    "fix",
    "the",
    "and",
    "channel",
    "join",
    "please",
    "test",
    "привет",
    "релиз",
    "канал",
    "и",
    "в",
    "на",
    "тест",
    "реліз",
    "канал",
    "що",
    "це",
    "дякую",
]


def _ts(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(
        microseconds=rng.randrange(86_400_000_000)
    )


def seed(
    url: str, *, first_day: dt.date = FIRST_DAY, days: int = DAYS, seed: int = 1
) -> dict[str, Any]:
    """Config tables plus raw logs for ``days`` days (one day left empty, midnight edges)."""
    rng = random.Random(seed)
    now = dt.datetime(2026, 3, 10, tzinfo=UTC)
    rows: dict[str, list[dict[str, Any]]] = {
        n: [] for n in ("verification_log", "api_call_log", "messages", "member_events")
    }
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if offset == 2:
            continue  # an empty day
        start = dt.datetime.combine(day, dt.time(), UTC)
        edges = [start, start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)]
        for i in range(60):
            ts = edges[i] if i < 2 else _ts(day, rng)
            status = rng.choice(["success", "success", "failed", "error"])
            rows["verification_log"].append(
                {
                    "user_id": rng.choice(USERS),
                    "group_id": rng.choice(GROUPS),
                    "status": status,
                    "cached": rng.random() < 0.5,
                    "latency_ms": round(rng.uniform(0, 6000), 3),
                    "error_type": rng.choice(["NetworkError", "Forbidden"])
                    if status == "error"
                    else None,
                    "trigger": rng.choice(["join", "message", "callback", "channel_leave"]),
                    "channels_checked": 2,
                    "timestamp": ts,
                }
            )
        for i in range(40):
            ok = rng.random() < 0.8
            rows["api_call_log"].append(
                {
                    "method": rng.choice(["getChatMember", "sendMessage", "restrictChatMember"]),
                    "chat_id": rng.choice(GROUPS),
                    "user_id": rng.choice(USERS),
                    "success": ok,
                    "latency_ms": round(rng.uniform(1, 3000), 3),
                    "error_type": None if ok else rng.choice(["RetryAfter", "BadRequest"]),
                    "timestamp": edges[i] if i < 2 else _ts(day, rng),
                }
            )
        for i in range(50):
            chat = rng.choice(GROUPS)
            rows["messages"].append(
                {
                    "telegram_message_id": offset * 1000 + i,
                    "chat_id": chat,
                    "user_id": rng.choice(USERS),
                    "is_bot_message": i % 10 == 9,
                    "content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))),
                    "content_type": "text",
                    "reply_to_message_id": offset * 1000 + rng.randrange(i)
                    if i > 3 and i % 3 == 0
                    else None,
                    "created_at": edges[i] if i < 2 else _ts(day, rng),
                }
            )
        for _ in range(15):
            rows["member_events"].append(
                {
                    "chat_id": rng.choice(GROUPS + CHANNELS),
                    "user_id": rng.choice(USERS),
                    "event": rng.choice(["join", "join", "leave", "kick"]),
                    "timestamp": _ts(day, rng),
                }
            )
    engine = sync_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Owner.__table__),
            [{"id": 1, "username": "owner", "created_at": now, "updated_at": now}],
        )
        conn.execute(
            sa.insert(ProtectedGroup.__table__),
            [
                {
                    "id": g,
                    "title": f"group {g}",
                    "owner_id": 1,
                    "enabled": g != -1003,
                    "settings": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for g in GROUPS
            ],
        )
        conn.execute(
            sa.insert(EnforcedChannel.__table__),
            [{"id": c, "title": f"channel {c}", "created_at": now} for c in CHANNELS],
        )
        conn.execute(
            sa.insert(GroupChannelLink.__table__),
            [
                {"group_id": GROUPS[0], "channel_id": CHANNELS[0], "created_at": now},
                {"group_id": GROUPS[1], "channel_id": CHANNELS[1], "created_at": now},
            ],
        )
        conn.execute(
            sa.insert(User.__table__),
            [
                {
                    "id": u,
                    "username": f"user{u}" if u % 2 else None,
                    "first_name": f"First{u}",
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for u in USERS
            ],
        )
        for model in (VerificationLog, ApiCallLog, Message, MemberEvent):
            conn.execute(sa.insert(model.__table__), rows[model.__tablename__])
    return {name: len(r) for name, r in rows.items()}
