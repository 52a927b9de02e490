"""The raw logs of a synthetic world, in chunks: what the schema cannot say about them.

:mod:`sandbox.synth.schema` fills every column from the models; the facts here are what ties
columns together as the bot writes them (an error type only on errors, a bot's message marked
as one, a reaction count without a user) and the mixes real traffic shows (statuses, methods,
triggers). Gate events come as episodes (mute, prompt, click, pass, unmute; a tenth of those
who never pass time out), and 40 % of the prompted users join the group's linked channel 20 s
after their prompt, 2 % of the unmuted leave it an hour after their click.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np
import polars as pl

from core.models import GateEventType
from sandbox.synth.schema import (
    Draw,
    Fact,
    fill,
    generated_columns,
    scalar_default,
    series,
    table_of,
    where,
)
from sandbox.synth.shape import RAW_TABLES, Shape
from sandbox.synth.vocabulary import CHAT_WORDS, INVITE_LINKS, TOPIC_WORDS

CHUNK = 1_000_000
"""Rows generated (and written) at a time."""
US = 1_000_000
DAY_US = 86_400 * US
_hours = np.arange(24)
HOUR_P = 0.35 + np.exp(-((_hours - 14) ** 2) / 30.0)  # quiet nights, busy afternoons (UTC)
HOUR_P /= HOUR_P.sum()
METHODS = {
    "getChatMember": 45, "sendMessage": 12, "restrictChatMember": 8, "deleteMessage": 8,
    "answerCallbackQuery": 7, "getChat": 5, "getChatAdministrators": 4, "getUpdates": 5,
    "editMessageText": 2, "createChatInviteLink": 1, "banChatMember": 1, "copyMessage": 2,
}  # fmt: skip
"""Bot API methods and their weights in the call log."""
LANGS = ("en", "uk", "ru", "pt-BR")
FORUM_EVERY = 5
"""Every fifth group is a forum: 60 % of its messages are in one of its topics."""
TIMEOUT_ACTIONS = ("mute", "kick", "ban")
SIDE_EVENTS = ("join_request", "approved", "declined", "expired", "message_deleted")


def _text(draw: Draw) -> pl.Series | None:
    if not draw.shape.texts:
        return None
    words = np.array([*" ".join(TOPIC_WORDS.values()).split(), *CHAT_WORDS])
    lengths = draw.rng.integers(1, 13, draw.n)
    picks = draw.rng.choice(words, int(lengths.sum()))
    ends = np.cumsum(lengths)
    return pl.Series([" ".join(picks[e - k : e]) for e, k in zip(ends, lengths, strict=True)])


FACTS: dict[str, dict[str, Fact]] = {
    "verification_log": {
        "status": lambda d: d.pick(["success", "failed", "error"], [85, 12, 3]),
        "cached": lambda d: d.share(0.6),
        "latency_ms": lambda d: d.rng.lognormal(np.log(60), 0.9, d.n).round(3),
        "trigger": lambda d: d.pick(
            ["join", "message", "callback", "channel_leave"], [25, 60, 10, 5]
        ),
        "channels_checked": lambda d: d.rng.integers(1, 4, d.n),
    },
    "api_call_log": {
        "method": lambda d: d.pick(list(METHODS), list(METHODS.values())),
        "success": lambda d: d.share(0.97),
        "latency_ms": lambda d: d.rng.lognormal(np.log(80), 0.7, d.n).round(3),
    },
    "messages": {
        "content": _text,
        "is_bot_message": lambda d: d.share(d.shape.bots),
        "message_thread_id": lambda d: where(
            (d.group_index % FORUM_EVERY == 0) & d.share(0.6), d.rng.integers(1, 7, d.n)
        ),
    },
    "member_events": {
        "chat_id": lambda d: np.where(
            d.share(0.8), d.groups, d.shape.linked_channel(d.group_index)
        ),
        "event": lambda d: d.pick(["join", "leave", "kick"], [55, 40, 5]),
        "is_bot": lambda d: d.share(d.shape.bots / 2),
        "invite_link_name": lambda d: where(d.share(0.3), d.pick(INVITE_LINKS)),
    },
    "reaction_events": {
        "telegram_message_id": lambda d: d.rng.integers(0, max(d.offset + d.n, 1), d.n),
        "user_id": lambda d: where(d.share(0.9), d.users()),
        "added": lambda d: d.pick([1, 1, 1, 2]),
        "removed": lambda d: d.pick([0, 0, 0, 1]),
    },
    "bot_rights": {
        "chat_id": lambda d: np.where(
            d.share(0.6), d.groups, d.shape.linked_channel(d.group_index)
        ),
        "status": lambda d: d.pick(["administrator", "member"], [9, 1]),
    },
}
"""Per raw table, the columns whose values the schema alone would get wrong."""


def _relate(table: str, frame: pl.DataFrame, shape: Shape) -> pl.DataFrame:
    """What one column of a row says about another, as the bot writes it."""
    if table == "verification_log":
        error = pl.col("status") == "error"
        return frame.with_columns(
            error_type=pl.when(error).then("error_type"), cached=pl.col("cached") & ~error
        )
    if table == "api_call_log":
        return frame.with_columns(error_type=pl.when(~pl.col("success")).then("error_type"))
    if table == "messages":
        bot = pl.col("is_bot_message")
        return frame.with_columns(
            sender_kind=pl.when(bot).then(pl.lit("bot")).otherwise("sender_kind"),
            user_id=pl.when(~bot).then("user_id"),
        )
    if table == "member_events":
        named = (pl.col("event") == "join") & pl.col("chat_id").is_in(shape.group_ids.tolist())
        bot = pl.col("is_bot")
        return frame.with_columns(invite_link_name=pl.when(named & ~bot).then("invite_link_name"))
    if table == "bot_rights":  # an administrator with every right the gate needs, or none
        admin = pl.col("status") == "administrator"
        flags = ("is_admin", "can_restrict_members", "can_delete_messages", "can_invite_users")
        return frame.with_columns(admin.alias(flag) for flag in flags)
    if table == "reaction_events":  # an anonymous count may add several at once
        anonymous = pl.col("user_id").is_null()
        return frame.with_columns(
            added=pl.when(anonymous).then(pl.col("added") + 2).otherwise("added"),
            removed=pl.when(anonymous).then(0).otherwise("removed"),
        )
    return frame


def _times(shape: Shape, rng: np.random.Generator, n: int, first: bool) -> np.ndarray:
    """``n`` sorted times over the shape's days (a day curve over the hours); with
    ``shape.edges``, the first chunk's first two rows of each day at its first and last
    microsecond."""
    days = np.array([(d - shape.first_day).days for d in shape.day_list], dtype=np.int64)
    if not len(days):
        return np.array([], dtype="datetime64[us]")
    day = rng.choice(days, n)
    micros = day * DAY_US + rng.choice(24, n, p=HOUR_P) * 3600 * US + rng.integers(0, 3600 * US, n)
    if shape.edges and first and n >= 2 * len(days):
        micros[: 2 * len(days)] = (np.repeat(days, 2) * DAY_US) + np.tile(
            [0, DAY_US - 1], len(days)
        )
    start = np.datetime64(shape.first_day.isoformat(), "us")
    stamps: np.ndarray = start + np.sort(micros).astype("timedelta64[us]")
    return stamps


def _draw(shape: Shape, rng: np.random.Generator, n: int, offset: int) -> Draw:
    group_index = rng.choice(shape.groups, n, p=shape.group_p)
    return Draw(shape, rng, n, _times(shape, rng, n, offset == 0), group_index, offset)


def _chunks(total: int) -> Iterator[tuple[int, int]]:
    for offset in range(0, total, CHUNK):
        yield offset, min(CHUNK, total - offset)


def _in_range(shape: Shape, micros: pl.Expr) -> pl.Expr:
    """Times (microseconds from the first day) on a day of the shape that gets rows."""
    day = micros // DAY_US
    return day.is_in([(d - shape.first_day).days for d in shape.day_list])


def _stamp(shape: Shape, micros: str) -> pl.Expr:
    start = dt.datetime.combine(shape.first_day, dt.time(), dt.UTC)
    return pl.col(micros).cast(pl.Duration("us")) + pl.lit(start)


def gate_episodes(shape: Shape, draw: Draw) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``gate_events`` of ``draw.n`` episodes, and the linked channels' ``member_events`` they
    cause. What falls after the last day (or on an empty one) is left out: some mutes stay."""
    rng, n = draw.rng, draw.n
    start = np.datetime64(shape.first_day.isoformat(), "us")
    t0 = (draw.times - start).astype(np.int64)
    user = draw.users()
    clicked = t0 + (rng.gamma(2.0, 30.0, n) * US).astype(np.int64)
    clicks = draw.share(0.8)
    passes = clicks & draw.share(0.8)
    side = np.arange(n) % 10 == 0
    everyone = np.ones(n, dtype=bool)
    # a tenth of those who never pass meet the group's timeout after half an hour
    timed_out = ~passes & (np.arange(n) % 10 == 5)
    actions = np.array(TIMEOUT_ACTIONS)[np.arange(n) % len(TIMEOUT_ACTIONS)]
    steps = [
        ("muted", everyone, t0, None),
        ("prompted", everyone, t0 + US // 2, ("lang", draw.pick(LANGS))),
        ("clicked", clicks, clicked, None),
        ("passed", passes, clicked + US, None),
        ("unmuted", passes, clicked + US + US // 5, None),
        ("timed_out", timed_out, t0 + 1800 * US, ("action", actions)),
        *((event, side, t0 + US // 4, None) for event in SIDE_EVENTS),
    ]
    known = set(table_of("gate_events").c.event.info["check"]["isin"])
    assert {s[0] for s in steps} <= known == {e.value for e in GateEventType}
    parts = []
    for event, mask, t, about in steps:
        detail = (
            pl.Series([json.dumps({about[0]: str(v)}) for v in about[1][mask]], dtype=pl.String)
            if about is not None
            else pl.Series([None] * int(mask.sum()), dtype=pl.String)
        )
        group_level = event == "message_deleted"  # a channel identity's post: no user
        parts.append(
            pl.DataFrame(
                {
                    "group_id": draw.groups[mask],
                    "user_id": pl.Series(user[mask]).scatter(
                        np.flatnonzero(np.arange(int(mask.sum())) % 2 == 0), None
                    )
                    if group_level
                    else user[mask],
                    "event": event,
                    "detail": detail,
                    "t": t[mask],
                }
            )
        )
    gate = (
        pl.concat(parts)
        .filter(_in_range(shape, pl.col("t")))
        .sort("t", maintain_order=True)
        .select(_stamp(shape, "t").alias("timestamp"), "group_id", "user_id", "event", "detail")
    )
    joins = draw.share(0.4)
    leaves = passes & draw.share(0.02)
    channel = shape.linked_channel(draw.group_index)
    moves = pl.concat(
        [
            pl.DataFrame({"chat_id": channel[m], "user_id": user[m], "event": e, "t": t[m]})
            for e, m, t in (("join", joins, t0 + 20 * US), ("leave", leaves, clicked + 3600 * US))
        ]
    ).filter(_in_range(shape, pl.col("t")))
    member_events = table_of("member_events")
    moved = moves.select(
        "chat_id",
        "user_id",
        "event",
        _stamp(shape, "t").alias("timestamp"),
        *(
            series(c, scalar_default(c), moves.height)
            for c in generated_columns(member_events)
            if c.name in ("is_bot", "via_join_request")
        ),
        pl.lit(None, pl.String).alias("invite_link_name"),
    )
    return gate, moved.select(c.name for c in generated_columns(member_events))


def member_counts(shape: Shape, rng: np.random.Generator, syncs: int) -> pl.DataFrame:
    """``member_count_snapshots`` as the sync writes them: ``syncs`` a day (evenly spaced) for
    every group and channel, each chat's count drifting up from where it starts."""
    chats = np.concatenate([shape.group_ids, shape.channel_ids])
    kinds = np.array(["group"] * shape.groups + ["channel"] * shape.channels)
    offsets = [(d - shape.first_day).days for d in shape.day_list]
    steps = np.array([d * DAY_US + k * DAY_US // syncs for d in offsets for k in range(syncs)])
    begin = rng.integers(50, 50_000, len(chats))
    frame = pl.DataFrame(
        {
            "chat_id": np.repeat(chats, len(steps)),
            "kind": np.repeat(kinds, len(steps)),
            "member_count": np.repeat(begin, len(steps))
            + np.tile(np.arange(len(steps)), len(chats)),
            "t": np.tile(steps, len(chats)),
        }
    )
    return frame.select("chat_id", "kind", "member_count", _stamp(shape, "t").alias("synced_at"))


def raw_frames(shape: Shape) -> Iterator[tuple[str, pl.DataFrame, int]]:
    """``(table, rows, drawn)`` chunks of every raw table the shape asks rows of, in
    :data:`RAW_TABLES` order (a gate episode's channel moves right after its gate events);
    ``drawn`` counts the chunk against ``shape.rows`` (episodes, syncs), for progress."""
    for index, name in enumerate(RAW_TABLES):
        total = shape.rows.get(name, 0)
        if total <= 0:
            continue
        rng = np.random.default_rng([shape.seed, index])
        if name == "member_count_snapshots":
            yield name, member_counts(shape, rng, total), total
            continue
        table = table_of(name)
        for offset, n in _chunks(total):
            draw = _draw(shape, rng, n, offset)
            if name == "gate_events":
                gate, moves = gate_episodes(shape, draw)
                yield name, gate, n
                yield "member_events", moves, 0
                continue
            frame = fill(table, draw, FACTS.get(name, {}))
            yield name, _relate(name, frame, shape), n
