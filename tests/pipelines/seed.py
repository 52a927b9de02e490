"""Deterministic raw logs spanning several UTC days: a small world of the one generator
(:mod:`sandbox.synth`), plus hand-placed situations the tests look for by name (the bot's
rights, non-human senders, a migrated group)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from core.db import Base
from core.models import (
    ApiCallLog,
    BotRight,
    GateEvent,
    MemberEvent,
    Message,
    ReactionEvent,
    SenderKind,
    VerificationLog,
    time_column,
)
from pipelines.io import sync_engine
from sandbox.synth import SMALL_DAY, Shape, load, per_day, write_rows
from sandbox.synth.vocabulary import CHAT_WORDS

UTC = dt.UTC
FIRST_DAY = dt.date(2026, 3, 1)
DAYS = 4
EMPTY_DAY = 2
"""The day offset left without raw rows."""
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


def shape(first_day: dt.date = FIRST_DAY, days: int = DAYS, seed: int = 1, **more: Any) -> Shape:
    """The tests' world: 3 groups (the third disabled), 2 channels, 20 users; midnight edges,
    the third day empty, a fifth of the messages and a tenth of the member events by bots."""
    empty = frozenset({EMPTY_DAY}) if days > EMPTY_DAY else frozenset()
    busy = days - len(empty)
    return Shape(
        first_day=first_day,
        days=days,
        groups=len(GROUPS),
        channels=len(CHANNELS),
        users=len(USERS),
        group_base=GROUPS[0],
        channel_base=CHANNELS[0],
        user_base=USERS[0],
        rows=per_day(SMALL_DAY, busy),
        seed=seed,
        edges=True,
        empty_days=empty,
        bots=0.2,
        texts=True,
        **more,
    )


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(CHAT_WORDS) for _ in range(n))


def _ts(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(
        microseconds=rng.randrange(86_400_000_000)
    )


OTHER_CHAT = -3001
"""A chat the bot is in that is neither a protected group nor an enforced channel."""
_ADMIN = {"is_admin": True, "can_restrict_members": True, "can_delete_messages": True}
_MEMBER = {"is_admin": False, "can_restrict_members": False, "can_delete_messages": False}


def _bot_rights(first_day: dt.date) -> list[dict[str, Any]]:
    """The bot's own rights, by hand: the day before the first, every chat but ``GROUPS[1]``
    gets its state (the first group and channel admin, the second channel never admin); the
    first group loses delete at 18:00 on the first day and gets it back at 06:00 the next;
    ``GROUPS[1]`` is first known at midnight of the second day, as a member, and made admin
    at the last microsecond of the fourth. Expected: :data:`BOT_RIGHTS_LACKING`."""

    def at(offset: int, hours: float) -> dt.datetime:
        day = dt.datetime.combine(first_day + dt.timedelta(days=offset), dt.time(), UTC)
        return day + dt.timedelta(hours=hours)

    def right(chat: int, when: dt.datetime, status: str, **flags: bool) -> dict[str, Any]:
        return dict(chat_id=chat, timestamp=when, status=status, can_invite_users=True, **flags)

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
    """The world of :func:`shape` (config tables and raw logs for ``days`` days), and the
    bot's rights of :func:`_bot_rights`. Returns the raw log rows written per table."""
    written = load(url, shape(first_day, days, seed), now=dt.datetime(2026, 3, 10, tzinfo=UTC))
    written.update(write_rows(url, {"bot_rights": _bot_rights(first_day)}))
    return {model.__tablename__: written.get(model.__tablename__, 0) for model in RAW_LOGS}


def rows_on(url: str, model: type[Base], day: dt.date, *where: Any) -> int:
    """Raw rows of ``model`` on ``day`` (by its time column) matching ``where``: what the seed
    wrote, for tests that compare a day's figure with its raw rows."""
    when = getattr(model, time_column(model.__table__))
    start = dt.datetime.combine(day, dt.time(), UTC)
    query = sa.select(sa.func.count()).select_from(model)
    query = query.where(when >= start, when < start + dt.timedelta(days=1), *where)
    with sync_engine(url).connect() as conn:
        return int(conn.execute(query).scalar_one())


def seed_member_counts(
    url: str, *, first_day: dt.date = FIRST_DAY, days: int = DAYS, seed: int = 3
) -> int:
    """``member_count_snapshots`` as the member-count sync writes them: two a day for each
    group and channel, every day of the range. Returns the rows written."""
    counts = Shape(
        first_day=first_day,
        days=days,
        groups=len(GROUPS),
        channels=len(CHANNELS),
        group_base=GROUPS[0],
        channel_base=CHANNELS[0],
        rows={"member_count_snapshots": 2},
        seed=seed,
    )
    return load(url, counts, world=False)["member_count_snapshots"]


# ------------------------------------------------------------------ not humans, migrations

BOT_ID = 5_000_000_001
"""Another bot in the groups (ours writes ``is_bot_message`` rows without a user)."""
TELEGRAM, GROUP_ANONYMOUS_BOT, CHANNEL_BOT = 777000, 1087968824, 136817688
STRANGER_CHANNEL = -2009
"""A channel identity no group links ("send as channel")."""


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
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
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
            messages.append(
                dict(
                    telegram_message_id=900_000 + g * 100 + i,
                    chat_id=group,
                    user_id=user,
                    is_bot_message=is_bot,
                    sender_kind=kind.value,
                    sender_chat_id=sender_chat,
                    content=words(rng, 6),
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
            events.append(
                dict(
                    chat_id=group, user_id=user, event=event, is_bot=is_bot, timestamp=_ts(day, rng)
                )
            )
    return write_rows(url, {"messages": messages, "member_events": events})


def seed_migrated_group(
    url: str, old: int, new: int, day: dt.date, *, users: range = range(201, 206)
) -> dict[str, int]:
    """Activity of the supergroup ``new`` that the group ``old`` became, on ``day`` (by
    ``users``, who never wrote in ``old``): messages, joins, a leave and checks. The
    ``chat_migrations`` row is :func:`record_migration`'s. Returns rows written per table."""
    rng = random.Random(new)
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for i, user in enumerate(users):
        messages.append(
            dict(
                telegram_message_id=i + 1,  # a supergroup numbers its messages afresh
                chat_id=new,
                user_id=user,
                content=words(rng, 5),
                created_at=_ts(day, rng),
            )
        )
        events.append(dict(chat_id=new, user_id=user, event="join", timestamp=_ts(day, rng)))
        checks.append(
            dict(
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
    events.append(dict(chat_id=new, user_id=users[0], event="leave", timestamp=_ts(day, rng)))
    return write_rows(
        url, {"messages": messages, "member_events": events, "verification_log": checks}
    )


def record_migration(url: str, old: int, new: int, when: dt.datetime) -> None:
    """The ``chat_migrations`` row: ``old`` became the supergroup ``new`` at ``when``."""
    write_rows(url, {"chat_migrations": [dict(old_chat_id=old, new_chat_id=new, migrated_at=when)]})
