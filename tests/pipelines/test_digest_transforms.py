"""The weekly digest's figures and text, on hand-made frames (no database)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.transforms.digests import (
    MAX_TEXT,
    digest_texts,
    opted_in,
    render,
    title,
    top_posters,
    utf16_len,
    weekly_figures,
)

UTC = dt.UTC
WEEK = dt.date(2026, 3, 2)  # a Monday
I64 = pl.Int64


def _day(day: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, day)


def _at(day: int, hour: int = 12, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


GROUP_DAILY = pl.DataFrame(
    [
        (_day(2), -1001, 5, 3, 2, 1),
        (_day(8), -1001, 2, 1, 0, 0),
        (_day(9), -1001, 100, 9, 9, 0),  # the next week
        (_day(1), -1001, 50, 9, 0, 0),  # the week before
        (_day(4), -1002, 0, 2, 0, 0),  # joins only: still a digest
        (_day(3), -1003, 9, 1, 0, 0),  # opted out
    ],
    schema={"day": pl.Date, "group_id": I64, "messages": I64, "joins": I64}
    | {"leaves": I64, "kicks": I64},
    orient="row",
)
FUNNEL_DAILY = pl.DataFrame(
    [
        (_day(2), -1001, 2, 1),
        (_day(5), -1001, 1, 2),
        (_day(4), -1002, 2, 0),
        (_day(9), -1001, 5, 5),
    ],
    schema={"day": pl.Date, "group_id": I64, "passed": I64, "denied_clicks": I64},
    orient="row",
)
CHANNEL_DAILY = pl.DataFrame(
    [(_day(3), -2001, 2), (_day(7), -2001, 1), (_day(3), -2002, 4), (_day(10), -2001, 7)],
    schema={"day": pl.Date, "channel_id": I64, "joins_after_prompt": I64},
    orient="row",
)
LINKS = pl.DataFrame(
    [(-1001, -2001), (-1001, -2002), (-1002, -2001), (-1003, -2002)],
    schema={"group_id": I64, "channel_id": I64},
    orient="row",
)
_M = [
    (-1001, 11, "user", 2),
    (-1001, 11, "user", 3),
    (-1001, 11, "user", 8),
    (-1001, 12, "user", 4),
    (-1001, 12, "user", 5),
    (-1001, 15, "user", 6),
    (-1001, 13, "user", 7),
    (-1001, 99, "bot", 3),  # a bot
    (-1001, 777000, "user", 3),  # a service account
    (-1001, 14, "user", 9),  # the next week
    (-1003, 16, "user", 3),  # opted out
]
MESSAGES = pl.DataFrame(
    [(c, u, k == "bot", k, None, _at(d)) for c, u, k, d in _M],
    schema={
        "chat_id": I64,
        "user_id": I64,
        "is_bot_message": pl.Boolean,
        "sender_kind": pl.String,
        "message_thread_id": I64,
        "created_at": pl.Datetime("us", "UTC"),
    },
    orient="row",
)
USERS = pl.DataFrame(
    [(11, "alice", "Alice"), (12, "bob_b", None), (15, None, "  Eve\n  Smith "), (16, "x", "X")],
    schema={"id": I64, "username": pl.String, "first_name": pl.String},
    orient="row",
)
SUMMARIES = pl.DataFrame(
    [
        (1, -1001, "old words", _at(8, 23)),
        (2, -1001, "People talked about the release.", _at(9, 1)),
    ],
    schema={
        "id": I64,
        "chat_id": I64,
        "content": pl.String,
        "created_at": pl.Datetime("us", "UTC"),
    },
    orient="row",
)
GROUPS = opted_in(
    [
        (-1001, {"digest": "weekly", "top_posters": True}),
        (-1002, {"digest": "weekly"}),
        (-1003, {"digest": "off", "top_posters": True}),
        (-1004, None),
        (-1005, {"digest": "weekly", "top_posters": "yes"}),  # no data that week
    ]
)


def test_opted_in_groups() -> None:
    assert GROUPS.rows() == [(-1005, False), (-1002, False), (-1001, True)]


def test_digest_texts_exact() -> None:
    figures = weekly_figures(
        WEEK, GROUPS, GROUP_DAILY, FUNNEL_DAILY, CHANNEL_DAILY, LINKS, MESSAGES
    )
    assert figures.rows() == [
        # group, messages, active, joins, leaves, kicks, growth, passed, failed, subscribers
        (-1002, 0, 0, 2, 0, 0, 2, 2, 0, 3),
        (-1001, 7, 4, 4, 1, 1, 2, 3, 3, 7),
    ]
    posters = top_posters(WEEK, GROUPS, MESSAGES)
    assert posters.rows() == [
        (-1001, 1, 11, 3),
        (-1001, 2, 12, 2),
        (-1001, 3, 13, 1),
        (-1001, 4, 15, 1),
    ]
    texts = dict(digest_texts(WEEK, figures, posters, USERS, SUMMARIES).iter_rows())
    assert texts[-1001] == (
        "Weekly digest · 2 Mar – 8 Mar 2026\n"
        "\n"
        "Messages: 7\n"
        "Active members: 4\n"
        "Joins: 4 · left: 1 · removed: 1 · growth: +2\n"
        "Verifications passed: 3 · failed: 3\n"
        "Channel subscribers from the gate: 7\n"
        "\n"
        "Top posters:\n"
        "1. Alice — 3\n"
        "2. bob_b — 2\n"
        "3. user 13 — 1\n"
        "4. Eve Smith — 1\n"
        "\n"
        "Summary of the week:\n"
        "People talked about the release."
    )
    assert texts[-1002] == (
        "Weekly digest · 2 Mar – 8 Mar 2026\n"
        "\n"
        "Messages: 0\n"
        "Active members: 0\n"
        "Joins: 2 · left: 0 · removed: 0 · growth: +2\n"
        "Verifications passed: 2 · failed: 0\n"
        "Channel subscribers from the gate: 3"
    )


def test_long_summary_is_cut_to_telegram_limit_and_pruned_raw_shows_na() -> None:
    figures = {
        "messages": 12_345,
        "active_members": None,  # raw messages already pruned
        "joins": 1,
        "leaves": 2,
        "kicks": 3,
        "growth": -4,
        "passed": 0,
        "failed": 0,
        "subscribers": 0,
    }
    summary = "😀" * 3000  # 6,000 UTF-16 units
    text = render(dt.date(2025, 12, 29), figures, [("Alice", 1_200)], summary)
    head = (
        "Weekly digest · 29 Dec 2025 – 4 Jan 2026\n\nMessages: 12,345\nActive members: n/a\n"
        "Joins: 1 · left: 2 · removed: 3 · growth: -4\n"
    )
    assert text.startswith(head)
    assert "1. Alice — 1,200\n\nSummary of the week:\n😀😀" in text
    assert text.endswith("😀…")
    assert utf16_len(text) in (MAX_TEXT - 1, MAX_TEXT)  # an emoji is 2 units: never split
    assert title(dt.date(2026, 3, 30)) == "Weekly digest · 30 Mar – 5 Apr 2026"
