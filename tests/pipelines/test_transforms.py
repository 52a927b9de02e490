"""The pure polars transforms on hand-made frames, with exact expected numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from core.models import RAW_LOG_TABLES
from pipelines import schemas
from pipelines.contract import raw_columns
from pipelines.transforms import daily, summaries
from pipelines.transforms.retention import cutoffs

UTC = dt.UTC
D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


def at(day: dt.date, h: int = 0, m: int = 0, s: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, h, m, s, us, tzinfo=UTC)


Rows = list[tuple[Any, ...]]


def raw_frame(table: str, columns: tuple[str, ...]) -> Callable[[Rows], pl.DataFrame]:
    """A maker of raw frames of ``table``: rows of ``columns`` and the time column, last, with
    the dtypes a raw read of those columns has (from the schema in ``core.models``)."""
    schema = raw_columns(table, columns)
    return lambda rows: pl.DataFrame(rows, schema=schema, orient="row")


# rows as (*columns, time), as the transforms read them
verifications = raw_frame(
    "verification_log",
    ("group_id", "user_id", "status", "cached", "error_type", "trigger", "latency_ms"),
)
api_calls = raw_frame("api_call_log", ("method", "chat_id", "success", "error_type", "latency_ms"))
messages = raw_frame(
    "messages", ("chat_id", "user_id", "is_bot_message", "sender_kind", "message_thread_id")
)
events = raw_frame("member_events", ("chat_id", "user_id", "event", "is_bot", "invite_link_name"))
reactions = raw_frame("reaction_events", ("chat_id", "user_id", "added"))


V = verifications(
    [
        (-1, 10, "success", True, None, "join", 4.0, at(D1)),  # midnight: day 1, hour 0
        (-1, 11, "error", False, "NetworkError", "message", 12.5, at(D1, 23, 59, 59, 999999)),
        (-1, 12, "success", True, None, "join", 6.0, at(D1, 0, 30)),
        (-2, 10, "failed", False, None, "callback", 5000.0, at(D2)),  # midnight: day 2
        (-2, 10, "failed", False, None, "callback", 5000.1, at(D2, 1)),
    ]
)
A = api_calls(
    [
        ("getChatMember", -1, True, None, 5.0, at(D1, 1)),
        ("getChatMember", -1, False, "RetryAfter", 100.0, at(D1, 2)),
        ("getChatMember", -2, True, None, 7.0, at(D1, 3)),
        ("sendMessage", -2, False, None, 2500.0, at(D2, 4)),  # failure with a NULL error type
        ("getUpdates", None, True, None, 30000.0, at(D2, 4)),  # long polling: no latency bucket
    ]
)
M = messages(
    [
        (-1, 10, False, "user", None, at(D1, 0, 5)),
        (-1, 10, False, "user", None, at(D1, 0, 6)),
        (-1, 11, False, "user", None, at(D1, 23)),
        (-1, None, True, "bot", None, at(D1, 23)),  # the bot's own message: not activity
        (-3, 12, False, "user", None, at(D2, 5)),
    ]
)
E = events(
    [
        (-1, 20, "join", False, None, at(D1, 0, 10)),
        (-1, 21, "leave", False, None, at(D1, 3)),
        (-2, 22, "kick", False, None, at(D2, 1)),
        (-3, 23, "join", False, None, at(D2, 5)),
        (-1, 99, "join", True, None, at(D1, 4)),  # a bot joins
        (-1, 1087968824, "join", True, None, at(D1, 4)),  # a service account: no bot joining
        (-1, 777000, "join", False, None, at(D1, 4)),  # nor a human
    ]
)


def test_verification_daily_groups_and_sums() -> None:
    out = daily.verification_daily(V)
    schemas.VerificationDaily.validate(out)
    assert out.rows() == [
        (D1, -1, "error", False, "NetworkError", "message", 1, 12.5, 12.5),
        (D1, -1, "success", True, None, "join", 2, 10.0, 6.0),
        (D2, -2, "failed", False, None, "callback", 2, 10000.1, 5000.1),
    ]


def test_api_calls_daily_keeps_null_error_types() -> None:
    out = daily.api_calls_daily(A)
    schemas.ApiCallsDaily.validate(out)
    assert out.rows() == [
        (D1, "getChatMember", False, "RetryAfter", 1, 100.0, 100.0),
        (D1, "getChatMember", True, None, 2, 12.0, 7.0),
        (D2, "getUpdates", True, None, 1, 30000.0, 30000.0),  # a call, counted here
        (D2, "sendMessage", False, None, 1, 2500.0, 2500.0),
    ]


def test_hourly_activity_midnight_edges_and_bot_messages() -> None:
    out = daily.hourly_activity(V, M, E)
    schemas.HourlyActivity.validate(out)
    assert out.rows() == [
        (D1, 0, -1, 2, 2, 1),
        (D1, 23, -1, 1, 1, 0),
        (D2, 0, -2, 1, 0, 0),
        (D2, 1, -2, 1, 0, 0),
        (D2, 5, -3, 0, 1, 1),
    ]


def test_latency_histogram_buckets() -> None:
    out = daily.latency_histogram_daily(V, A)
    schemas.LatencyHistogramDaily.validate(out)
    nonzero = out.filter(pl.col("count") > 0).rows()
    assert nonzero == [
        (D1, "api", 5.0, 1),  # 5.0 <= 5: the bound is inclusive
        (D1, "api", 10.0, 1),
        (D1, "api", 100.0, 1),
        (D1, "verification", 5.0, 1),
        (D1, "verification", 10.0, 1),
        (D1, "verification", 25.0, 1),
        (D2, "api", 2500.0, 1),
        (D2, "verification", 5000.0, 1),
        (D2, "verification", None, 1),  # above 5000 ms: +inf
    ]
    # every bucket for each (day, source) with rows: 2 days x 2 sources x 11 buckets
    assert out.height == 44
    assert out["count"].sum() == V.height + A.height - 1  # without getUpdates


R = reactions(
    [
        (-1, 10, 2, at(D1, 9)),  # 10 wrote in -1 that day
        (-1, 12, 1, at(D1, 23, 59, 59, 999999)),  # 12 did not: a silent reactor
        (-1, None, 5, at(D1, 12)),  # anonymous counts: reactions, nobody reacting
        (-1, 777000, 1, at(D1, 12)),  # a service account: a reaction, no reacting user
        (-1, 13, 0, at(D1, 13)),  # removed one, added none
        (-9, 10, 3, at(D2)),  # a group with only reactions that day
    ]
)


def test_group_daily() -> None:
    out = daily.group_daily(V, M, E, R)
    schemas.GroupDaily.validate(out)
    # messages, active users, verifications, passed, failed, joins, leaves, kicks, bots joined,
    # reactions, reacting users, silent reactors
    assert out.rows() == [
        (D1, -1, 3, 2, 3, 2, 0, 1, 1, 0, 1, 9, 2, 1),
        (D2, -9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1),
        (D2, -3, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0),
        (D2, -2, 0, 0, 2, 0, 2, 0, 1, 1, 0, 0, 0, 0),
    ]


def test_empty_day_gives_empty_frames_with_the_right_schema() -> None:
    v, a, m, e, r = V.clear(), A.clear(), M.clear(), E.clear(), R.clear()
    for out, model in (
        (daily.verification_daily(v), schemas.VerificationDaily),
        (daily.api_calls_daily(a), schemas.ApiCallsDaily),
        (daily.hourly_activity(v, m, e), schemas.HourlyActivity),
        (daily.latency_histogram_daily(v, a), schemas.LatencyHistogramDaily),
        (daily.group_daily(v, m, e, r), schemas.GroupDaily),
    ):
        assert out.height == 0
        model.validate(out)


def test_single_row_day() -> None:
    one = V.head(1)
    assert daily.group_daily(one, M.clear(), E.clear(), R.clear()).rows() == [
        (D1, -1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    ]
    assert daily.hourly_activity(one, M.clear(), E.clear()).rows() == [(D1, 0, -1, 1, 0, 0)]
    hist = daily.latency_histogram_daily(one, A.clear())
    assert hist.filter(pl.col("count") > 0).rows() == [(D1, "verification", 5.0, 1)]


def test_split_valid_reports_bad_raw_rows() -> None:
    bad = verifications(
        [
            (-1, 10, "bogus", True, None, "join", 4.0, at(D1)),
            (-1, 10, "success", True, "Weird", "join", 4.0, at(D1)),
            (-1, 10, "success", True, None, "join", -1.0, at(D1)),
        ]
    )
    result = schemas.split_valid(pl.concat([V, bad]), schemas.VerificationRaw)
    assert result.valid.height == V.height
    assert result.invalid.height == 3
    meta = result.metadata()
    assert meta["invalid_rows"] == 3
    assert {r["status"] for r in meta["failing_rows"]} == {"bogus", "success"}
    assert {p["column"] for p in meta["problems"]} == {"status", "error_type", "latency_ms"}


def test_split_valid_flags_wrong_columns_as_problems() -> None:
    out = daily.group_daily(V, M, E, R).with_columns(extra=pl.lit(1))
    result = schemas.split_valid(out, schemas.GroupDaily)
    assert not result.ok
    assert result.problems[0]["check"] == "column_in_schema"


def test_summary_rows_are_valid_and_deterministic() -> None:
    msgs = pl.DataFrame(
        {
            "chat_id": [-1, -1, -1, -1, -1, -2],
            "telegram_message_id": [1, 2, 3, 4, 5, 1],
            "user_id": [10, 11, 10, 12, None, 10],
            "content": [
                "Release of gatepulse is ready, please test the release " + "x" * 200,
                "привет, релиз готов",
                "Тест релиз gatepulse",
                "дякую за реліз",
                None,
                "other chat",
            ],
            "reply_to_message_id": [None, 1, 1, 2, None, None],
            "is_bot_message": [False, False, False, False, True, False],
            "sender_kind": ["user", "user", "user", "user", "bot", "user"],
            "created_at": [
                at(D1, 9),
                at(D1, 9, 5),
                at(D1, 10),
                at(D1, 9, 30),
                at(D1, 11),
                at(D1, 12),
            ],
        },
        schema=raw_columns(*schemas.RAW_READS["summary_messages"]),
    )
    users = pl.DataFrame(
        {"id": [10, 11, 12], "username": ["alice", None, None], "first_name": ["A", "Bob", None]}
    )
    end = at(D2)
    out = summaries.summarize(msgs, users, end)
    assert out.height == 4  # two chats x 7day/30day
    schemas.SummaryRow.validate(out)
    first = out.filter((pl.col("chat_id") == -1) & (pl.col("summary_type") == "7day")).row(
        0, named=True
    )
    text = first["content"]
    # the bot's message is not counted; three-word messages are too short to quote; the
    # thread's first message is quoted on its own, cut to QUOTE_CHARS
    assert text == (
        "From 2026-02-23 to 2026-03-01 (UTC) the chat had 4 messages from 3 people. "
        "The busiest hour was 09:00–10:00 UTC (3 messages). Main topics: gatepulse, релиз. "
        "The liveliest thread drew 2 replies; it began with @alice: “Release of gatepulse is "
        "ready, please test the release " + "x" * 44 + "…”."
    )
    quoted = text.split("@alice: “")[1].split("”")[0]
    assert len(quoted) == summaries.QUOTE_CHARS
    assert (first["method"], first["language"]) == ("extractive", "en")
    assert first["token_count"] == summaries.estimate_tokens(text)
    assert first["period_start"] == end - dt.timedelta(days=7)
    assert summaries.summarize(msgs, users, end).equals(out)


def test_summary_of_nothing_is_empty() -> None:
    empty = pl.DataFrame(schema=raw_columns(*schemas.RAW_READS["summary_messages"]))
    assert summaries.summarize(empty, pl.DataFrame(), at(D2)).height == 0


def test_retention_cutoffs() -> None:
    now = at(D2)
    got = cutoffs(now, 90, {"messages": 30})
    assert got["messages"] == now - dt.timedelta(days=30)
    assert got["verification_log"] == now - dt.timedelta(days=90)
    assert set(RAW_LOG_TABLES) < set(got)
    assert set(got) - set(RAW_LOG_TABLES) == {
        "alert_deliveries", "user_restrictions", "users", "bot_private_chats", "update_health",
        "dashboard_audit_log", "dashboard_link_uses",
    }  # fmt: skip
    assert got["users"] == now - dt.timedelta(days=90)
    with pytest.raises(ValueError, match="unknown tables"):
        cutoffs(now, 90, {"analytics_group_daily": 1})
