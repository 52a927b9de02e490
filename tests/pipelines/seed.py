"""Deterministic raw logs spanning several UTC days, written as the models of ``core.models``."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy.orm import Session

from core.db import Base
from core.models import (
    ApiCallLog,
    BotRight,
    ChatMigration,
    EnforcedChannel,
    GateEvent,
    GateEventType,
    GroupChannelLink,
    MemberCountSnapshot,
    MemberEvent,
    Message,
    Owner,
    ProtectedGroup,
    ReactionEvent,
    SenderKind,
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
RAW_LOGS = (
    VerificationLog,
    ApiCallLog,
    Message,
    MemberEvent,
    GateEvent,
    ReactionEvent,
    BotRight,
)
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


GATE_EVENTS = [e.value for e in GateEventType]
LINK_NAMES = ("ads", "promo")


def _gate_day(day: dt.date, rng: random.Random, *, history: bool = False) -> list[Base]:
    """Gate events, reactions, topic messages, invite-link and bot joins, more API calls and
    channel member counts of one day (of the day before the first, only what later days look
    back on: mutes, prompts and unmutes). Every group has a gate event each day (so that
    each day's denied clicks land on a funnel row); mutes and unmutes of few users, so that
    unmutes end mutes of earlier days too; midnight edges. (Member counts:
    :func:`seed_member_counts`.)"""
    start = dt.datetime.combine(day, dt.time(), UTC)
    edges = [start, start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)]
    users = USERS[:6]
    rows: list[Base] = []
    for i in range(40):
        kind = rng.choice(["muted", "unmuted", "prompted"] if history else GATE_EVENTS * 2)
        if kind in ("muted", "unmuted"):
            kind = rng.choice(["muted", "unmuted"])  # as often as all the others together
        rows.append(
            GateEvent(
                timestamp=edges[i] if i < 2 else _ts(day, rng),
                group_id=GROUPS[i] if i < len(GROUPS) else rng.choice(GROUPS),
                user_id=None if i % 13 == 12 else rng.choice(users),
                event=kind,
            )
        )
    if history:
        return rows
    for i in range(15):
        rows.append(
            ReactionEvent(
                timestamp=edges[i] if i < 2 else _ts(day, rng),
                chat_id=rng.choice(GROUPS),
                telegram_message_id=rng.randrange(50),
                user_id=rng.choice([*USERS, None, None, 777000]),
                added=rng.choice([0, 1, 1, 2]),
                removed=rng.choice([0, 0, 1]),
            )
        )
    for i in range(10):
        rows.append(
            Message(
                telegram_message_id=day.toordinal() * 100 + i,
                chat_id=rng.choice(GROUPS),
                user_id=rng.choice(USERS),
                content="topic",
                sender_kind=SenderKind.BOT if i == 9 else SenderKind.USER,
                is_bot_message=i == 9,
                message_thread_id=rng.choice([1, 2]),
                created_at=edges[i] if i < 2 else _ts(day, rng),
            )
        )
    for i in range(12):
        bot = i % 6 == 4  # a bot joining
        rows.append(
            MemberEvent(
                chat_id=rng.choice(GROUPS),
                user_id=BOT_ID if bot else rng.choice(users),
                event="join" if i % 3 < 2 else rng.choice(["leave", "kick"]),
                is_bot=bot,
                invite_link_name=rng.choice(LINK_NAMES) if i % 3 == 0 else None,
                timestamp=edges[i] if i < 2 else _ts(day, rng),
            )
        )
    for _ in range(10):
        rows.append(
            ApiCallLog(
                method=rng.choice(["getUpdates", "sendMessage", "copyMessage", "sendPhoto"]),
                chat_id=rng.choice(GROUPS),
                success=True,
                latency_ms=1.0,
                timestamp=start + dt.timedelta(hours=12, seconds=rng.randrange(90)),
            )
        )
    return rows


OTHER_CHAT = -3001
"""A chat the bot is in that is neither a protected group nor an enforced channel."""
_ADMIN = {"is_admin": True, "can_restrict_members": True, "can_delete_messages": True}
_MEMBER = {"is_admin": False, "can_restrict_members": False, "can_delete_messages": False}


def _bot_rights(first_day: dt.date) -> list[Base]:
    """The bot's own rights, by hand: the day before the first, every chat but ``GROUPS[1]``
    gets its state (the first group and channel admin, the second channel never admin); the
    first group loses delete at 18:00 on the first day and gets it back at 06:00 the next;
    ``GROUPS[1]`` is first known at midnight of the second day, as a member, and made admin
    at the last microsecond of the fourth. Expected: :data:`BOT_RIGHTS_LACKING`."""

    def at(offset: int, hours: float) -> dt.datetime:
        day = dt.datetime.combine(first_day + dt.timedelta(days=offset), dt.time(), UTC)
        return day + dt.timedelta(hours=hours)

    def right(chat: int, when: dt.datetime, status: str, **flags: bool) -> BotRight:
        return BotRight(chat_id=chat, timestamp=when, status=status, can_invite_users=True, **flags)

    return [
        right(GROUPS[0], at(-1, 12), "administrator", **_ADMIN),
        right(GROUPS[2], at(-1, 12), "administrator", **_ADMIN),
        right(CHANNELS[0], at(-1, 12), "administrator", **{**_MEMBER, "is_admin": True}),
        right(CHANNELS[1], at(-1, 12), "member", **_MEMBER),
        right(OTHER_CHAT, at(-1, 12), "member", **_MEMBER),
        right(GROUPS[0], at(0, 18), "administrator", **{**_ADMIN, "can_delete_messages": False}),
        right(GROUPS[0], at(1, 6), "administrator", **_ADMIN),
        right(GROUPS[1], at(1, 0), "member", **_MEMBER),
        right(GROUPS[1], at(4, 0) - dt.timedelta(microseconds=1), "administrator", **_ADMIN),
    ]


BOT_RIGHTS_LACKING = {
    (0, GROUPS[0]): (1, 21_600.0),
    (0, CHANNELS[1]): (0, 86_400.0),
    (1, GROUPS[0]): (1, 21_600.0),
    (1, GROUPS[1]): (1, 86_400.0),
    (1, CHANNELS[1]): (0, 86_400.0),
    (2, GROUPS[1]): (0, 86_400.0),
    (2, CHANNELS[1]): (0, 86_400.0),
    (3, GROUPS[1]): (1, 86_399.999999),
    (3, CHANNELS[1]): (0, 86_400.0),
}
"""(day offset, chat) -> (changes, lacking_s) of :func:`_bot_rights` where the bot lacked
rights; every other chat-day lacks nothing."""


def seed(
    url: str, *, first_day: dt.date = FIRST_DAY, days: int = DAYS, seed: int = 1
) -> dict[str, int]:
    """Config tables plus raw logs for ``days`` days (one day left empty, midnight edges), and
    gate events the day before them.

    Returns the raw log rows written per table.
    """
    rng = random.Random(seed)
    more = random.Random(seed + 1)  # the later additions (:func:`_gate_day`)
    now = dt.datetime(2026, 3, 10, tzinfo=UTC)
    raw: list[Base] = _gate_day(first_day - dt.timedelta(days=1), more, history=True)
    raw.extend(_bot_rights(first_day))
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if offset == 2:
            continue  # an empty day
        raw.extend(_gate_day(day, more))
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
                    sender_kind=SenderKind.BOT if i % 10 == 9 else SenderKind.USER,
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
        GroupChannelLink(group_id=GROUPS[1], channel_id=CHANNELS[0], created_at=now),
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


def seed_member_counts(
    url: str, *, first_day: dt.date = FIRST_DAY, days: int = DAYS, seed: int = 3
) -> int:
    """``member_count_snapshots`` as the member-count sync writes them: two a day for each
    channel and the first group, on the days :func:`seed` fills. Returns the rows written."""
    rng = random.Random(seed)
    rows: list[Base] = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for chat, kind in (
            (CHANNELS[0], "channel"),
            (CHANNELS[1], "channel"),
            (GROUPS[0], "group"),
        ):
            rows.extend(
                MemberCountSnapshot(
                    chat_id=chat,
                    kind=kind,
                    member_count=rng.randrange(100, 200),
                    synced_at=_ts(day, rng),
                )
                for _ in range(2)
            )
    return sum(_add(url, rows).values())


# ------------------------------------------------------------------ not humans, migrations

BOT_ID = 5_000_000_001
"""Another bot in the groups (ours writes ``is_bot_message`` rows without a user)."""
TELEGRAM, GROUP_ANONYMOUS_BOT, CHANNEL_BOT = 777000, 1087968824, 136817688
STRANGER_CHANNEL = -2009
"""A channel identity no group links ("send as channel")."""


def _add(url: str, rows: list[Base]) -> dict[str, int]:
    with Session(sync_engine(url)) as session, session.begin():
        session.add_all(rows)
    written = Counter(row.__tablename__ for row in rows)
    return dict(written)


def seed_non_humans(url: str, day: dt.date, *, seed: int = 2) -> dict[str, int]:
    """On ``day``, in every group: messages and member events that are not human activity, as
    Telegram sends them (DESIGN: a human is not a bot and not a service account).

    Messages: the bot's own prompt, another bot, an anonymous admin (GroupAnonymousBot, as the
    group), the linked channel's automatic forward (Telegram, as the channel), a "send as
    channel" post (Channel_Bot, as a foreign channel), a service message, and an automatic
    forward written before ``sender_kind`` existed (the default ``user``, Telegram's id).
    Member events: a bot joining, leaving and kicked, a service account joining. Returns the
    rows written per table.
    """
    rng = random.Random(seed)
    rows: list[Base] = []
    for g, group in enumerate(GROUPS):
        senders = [
            (None, True, SenderKind.BOT, None),
            (BOT_ID, True, SenderKind.BOT, None),
            (GROUP_ANONYMOUS_BOT, False, SenderKind.ANONYMOUS_ADMIN, group),
            (TELEGRAM, False, SenderKind.LINKED_CHANNEL, CHANNELS[0]),
            (CHANNEL_BOT, False, SenderKind.CHANNEL, STRANGER_CHANNEL),
            (TELEGRAM, False, SenderKind.SERVICE, None),
            (TELEGRAM, False, SenderKind.USER, None),  # written before the contract
        ]
        for i, (user, is_bot, kind, sender_chat) in enumerate(senders):
            rows.append(
                Message(
                    telegram_message_id=900_000 + g * 100 + i,
                    chat_id=group,
                    user_id=user,
                    is_bot_message=is_bot,
                    sender_kind=kind,
                    sender_chat_id=sender_chat,
                    content=" ".join(rng.choice(WORDS) for _ in range(6)),
                    content_type="text",
                    reply_to_message_id=None,
                    created_at=_ts(day, rng),
                )
            )
        for user, is_bot, event in [
            (BOT_ID, True, "join"),
            (BOT_ID, True, "leave"),
            (BOT_ID + 1, True, "kick"),
            (GROUP_ANONYMOUS_BOT, False, "join"),
            (TELEGRAM, False, "join"),
        ]:
            rows.append(
                MemberEvent(
                    chat_id=group, user_id=user, event=event, is_bot=is_bot, timestamp=_ts(day, rng)
                )
            )
    return _add(url, rows)


def seed_migrated_group(
    url: str, old: int, new: int, day: dt.date, *, users: range = range(201, 206)
) -> dict[str, int]:
    """Activity of the supergroup ``new`` that the group ``old`` became, on ``day`` (by
    ``users``, who never wrote in ``old``): messages, joins, a leave and checks. The
    ``chat_migrations`` row is :func:`record_migration`'s. Returns rows written per table."""
    rng = random.Random(new)
    rows: list[Base] = []
    for i, user in enumerate(users):
        rows.append(
            Message(
                telegram_message_id=i + 1,  # a supergroup numbers its messages afresh
                chat_id=new,
                user_id=user,
                content=" ".join(rng.choice(WORDS) for _ in range(5)),
                created_at=_ts(day, rng),
            )
        )
        rows.append(MemberEvent(chat_id=new, user_id=user, event="join", timestamp=_ts(day, rng)))
        rows.append(
            VerificationLog(
                user_id=user,
                group_id=new,
                status="success" if i % 2 else "failed",
                cached=False,
                latency_ms=10.0,
                trigger="join",
                channels_checked=1,
                timestamp=_ts(day, rng),
            )
        )
    rows.append(MemberEvent(chat_id=new, user_id=users[0], event="leave", timestamp=_ts(day, rng)))
    return _add(url, rows)


def record_migration(url: str, old: int, new: int, when: dt.datetime) -> None:
    """The ``chat_migrations`` row: ``old`` became the supergroup ``new`` at ``when``."""
    _add(url, [ChatMigration(old_chat_id=old, new_chat_id=new, migrated_at=when)])
