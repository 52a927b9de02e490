"""Deterministic raw logs spanning several UTC days, written as the models of ``core.models``."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy.orm import Session

from core.db import Base
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
RAW_LOGS = (VerificationLog, ApiCallLog, Message, MemberEvent)
"""The raw logs :func:`seed` writes."""
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
) -> dict[str, int]:
    """Config tables plus raw logs for ``days`` days (one day left empty, midnight edges).

    Returns the raw log rows written per table.
    """
    rng = random.Random(seed)
    now = dt.datetime(2026, 3, 10, tzinfo=UTC)
    raw: list[Base] = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if offset == 2:
            continue  # an empty day
        start = dt.datetime.combine(day, dt.time(), UTC)
        edges = [start, start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)]
        for i in range(60):
            ts = edges[i] if i < 2 else _ts(day, rng)
            status = rng.choice(["success", "success", "failed", "error"])
            raw.append(
                VerificationLog(
                    user_id=rng.choice(USERS),
                    group_id=rng.choice(GROUPS),
                    status=status,
                    cached=rng.random() < 0.5,
                    latency_ms=round(rng.uniform(0, 6000), 3),
                    error_type=rng.choice(["NetworkError", "Forbidden"])
                    if status == "error"
                    else None,
                    trigger=rng.choice(["join", "message", "callback", "channel_leave"]),
                    channels_checked=2,
                    timestamp=ts,
                )
            )
        for i in range(40):
            ok = rng.random() < 0.8
            raw.append(
                ApiCallLog(
                    method=rng.choice(["getChatMember", "sendMessage", "restrictChatMember"]),
                    chat_id=rng.choice(GROUPS),
                    user_id=rng.choice(USERS),
                    success=ok,
                    latency_ms=round(rng.uniform(1, 3000), 3),
                    error_type=None if ok else rng.choice(["RetryAfter", "BadRequest"]),
                    timestamp=edges[i] if i < 2 else _ts(day, rng),
                )
            )
        for i in range(50):
            chat = rng.choice(GROUPS)
            raw.append(
                Message(
                    telegram_message_id=offset * 1000 + i,
                    chat_id=chat,
                    user_id=rng.choice(USERS),
                    is_bot_message=i % 10 == 9,
                    content=" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))),
                    content_type="text",
                    reply_to_message_id=offset * 1000 + rng.randrange(i)
                    if i > 3 and i % 3 == 0
                    else None,
                    created_at=edges[i] if i < 2 else _ts(day, rng),
                )
            )
        for _ in range(15):
            raw.append(
                MemberEvent(
                    chat_id=rng.choice(GROUPS + CHANNELS),
                    user_id=rng.choice(USERS),
                    event=rng.choice(["join", "join", "leave", "kick"]),
                    timestamp=_ts(day, rng),
                )
            )
    owner = Owner(id=1, username="owner", created_at=now, updated_at=now)
    chats: list[Base] = [
        *(
            ProtectedGroup(
                id=g,
                title=f"group {g}",
                owner_id=1,
                enabled=g != -1003,
                settings={},
                created_at=now,
                updated_at=now,
            )
            for g in GROUPS
        ),
        *(EnforcedChannel(id=c, title=f"channel {c}", created_at=now) for c in CHANNELS),
    ]
    links = [
        GroupChannelLink(group_id=GROUPS[0], channel_id=CHANNELS[0], created_at=now),
        GroupChannelLink(group_id=GROUPS[1], channel_id=CHANNELS[1], created_at=now),
    ]
    users = [
        User(
            id=u,
            username=f"user{u}" if u % 2 else None,
            first_name=f"First{u}",
            first_seen_at=now,
            last_seen_at=now,
        )
        for u in USERS
    ]
    with Session(sync_engine(url)) as session, session.begin():
        # one flush per level, referenced rows first: the models declare no relationships
        # from which the session could order the inserts itself
        for level in ([owner], chats, links, users, raw):
            session.add_all(level)
            session.flush()
    written = Counter(row.__tablename__ for row in raw)
    return {model.__tablename__: written[model.__tablename__] for model in RAW_LOGS}
