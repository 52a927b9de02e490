"""The funnel, channel, invite-link, API-budget and topic transforms on hand-made frames."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from pipelines import schemas
from pipelines.transforms import budget, daily, gate
from tests.pipelines.test_transforms import D1, D2, at, raw_frame

D0 = D1 - dt.timedelta(days=1)
D3 = D2 + dt.timedelta(days=1)
WEEK_BEFORE = D1 - dt.timedelta(days=7)
LAST_US = (23, 59, 59, 999999)  # the last microsecond of a day

gate_events = raw_frame("gate_events", ("group_id", "user_id", "event"))
verifications = raw_frame(
    "verification_log",
    ("group_id", "status", "cached", "error_type", "trigger", "latency_ms"),
)
events = raw_frame("member_events", ("chat_id", "user_id", "event", "is_bot", "invite_link_name"))
channel_events = raw_frame("member_events", ("chat_id", "user_id", "event", "is_bot"))
snapshots = raw_frame("member_count_snapshots", ("chat_id", "member_count", "synced_at"))
api_calls = raw_frame("api_call_log", ("method", "chat_id", "success", "error_type", "latency_ms"))
messages = raw_frame(
    "messages", ("chat_id", "user_id", "is_bot_message", "sender_kind", "message_thread_id")
)


def days(*values: dt.date) -> pl.DataFrame:
    return pl.DataFrame({"day": list(values)}, schema={"day": pl.Date})


# ----------------------------------------------------------------------------- funnel

WINDOW_GATE = gate_events(
    [
        (-1, 10, "prompted", at(D1, 22)),
        (-1, 10, "prompted", at(D1, 22, 5)),  # twice: one user
        (-1, None, "prompted", at(D1, 22)),  # a raid notice: no user
        (-1, 12, "prompted", at(D1, 9)),
        (-1, 10, "clicked", at(D1, 23, 30)),
        (-1, 12, "passed", at(D1, 10, 59)),
        (-1, 10, "muted", at(D1, 23)),  # muted yesterday, unmuted today: 2 h over midnight
        (-1, 10, "unmuted", at(D2, 1)),
        (-1, 11, "unmuted", at(D2, 12)),  # ends the mute of D0 12:00 (history): 48 h
        (-1, 12, "muted", at(D1, 10)),
        (-1, 12, "muted", at(D1, 10, 30)),  # muted again: the mute started at 10:00
        (-1, 12, "unmuted", at(D1, 11)),  # 1 h
        (-1, 12, "muted", at(D1, *LAST_US)),
        (-1, 12, "unmuted", at(D2)),  # 1 µs, across midnight
        (-1, 13, "unmuted", at(D1, 12)),  # no mute before it: not a verify time
        (-1, 16, "join_request", at(D1, 8)),
        (-1, 16, "approved", at(D1, 8, 1)),
        (-1, 17, "join_request", at(D1, 8)),
        (-1, 17, "declined", at(D1, 8, 2)),
        (-1, 18, "expired", at(D1, 8, 3)),
        (-1, 18, "message_deleted", at(D1, 8, 4)),
        (-1, None, "message_deleted", at(D1, 8, 5)),
        (-1, 20, "timed_out", at(D1, 13)),
        (-1, 20, "timed_out", at(D1, 14)),  # twice: one user
        (-1, 21, "timed_out", at(D1, 13)),
        (-1, 22, "timed_out", at(D2, 13)),
    ]
)
MUTE_HISTORY = gate_events(  # as pipelines.sources.MUTE_HISTORY reads it: the open tails
    [
        (-1, 10, "muted", at(D0, 1)),
        (-1, 10, "unmuted", at(D0, 2)),  # (a migrated group's last unmute comes along)
        (-1, 11, "muted", at(D0, 12)),
        (-2, 20, "muted", at(D0, 8)),  # never unmuted: the backlog of -2, every day
    ]
)
FUNNEL_CHECKS = verifications(
    [
        (-1, "failed", False, None, "callback", 5.0, at(D1, 23, 30)),
        (-1, "failed", False, None, "callback", 5.0, at(D1, 23, 31)),
        (-1, "success", False, None, "callback", 5.0, at(D1, 23, 32)),
        (-1, "failed", False, None, "join", 5.0, at(D1, 22)),
        (-4, "failed", False, None, "callback", 5.0, at(D1, 9)),  # makes no row by itself
    ]
)
FUNNEL_JOINS = events(
    [
        (-1, 12, "join", False, None, at(D1, 9)),
        (-1, 12, "join", False, None, at(D1, 9, 1)),  # again: one user
        (-1, 10, "join", False, None, at(D1, *LAST_US)),
        (-1, 15, "join", False, None, at(D2)),  # midnight: D2
        (-1, 99, "join", True, None, at(D1, 9)),  # a bot
        (-1, 19, "leave", False, None, at(D1, 9)),
        (-3, 30, "join", False, None, at(D2, 7)),  # a join and no gate event
    ]
)


def test_funnel_daily() -> None:
    out = gate.funnel_daily(FUNNEL_CHECKS, FUNNEL_JOINS, WINDOW_GATE, MUTE_HISTORY, days(D1, D2))
    schemas.FunnelDaily.validate(out)
    names = [
        "day",
        "group_id",
        "joined",
        "prompted",
        "clicked",
        "passed",
        "unmuted",
        "denied_clicks",
        "still_muted",
        "join_requests",
        "approved",
        "declined",
        "expired",
        "messages_deleted",
        "timed_out",
        "verify_s_p50",
        "verify_s_p90",
    ]
    assert out.select(names).rows() == [
        (D1, -2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, None, None),  # backlog only
        (D1, -1, 2, 2, 1, 1, 2, 2, 3, 2, 1, 1, 1, 2, 2, 3600.0, 3600.0),
        (D2, -3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None),
        (D2, -2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, None, None),
        # 1 µs, 2 h, 48 h: p50 7200; p90 = 7200 + 0.8 x (172800 - 7200), linear
        (D2, -1, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 7200.0, 139680.0),
    ]


def test_funnel_of_one_day_sees_the_mute_of_the_day_before_as_history() -> None:
    """D2 alone, with D1's mutes as MUTE_HISTORY would read them: the same D2 figures."""
    tails = gate_events(
        [
            (-1, 10, "muted", at(D1, 23)),
            (-1, 11, "muted", at(D0, 12)),
            (-1, 12, "muted", at(D1, *LAST_US)),
            (-2, 20, "muted", at(D0, 8)),
        ]
    )
    on_d2 = WINDOW_GATE.filter(pl.col("timestamp") >= at(D2))
    out = gate.funnel_daily(FUNNEL_CHECKS.clear(), FUNNEL_JOINS.clear(), on_d2, tails, days(D2))
    assert out.select("day", "group_id", "still_muted", "verify_s_p50", "verify_s_p90").rows() == [
        (D2, -2, 1, None, None),
        (D2, -1, 0, 7200.0, 139680.0),
    ]


# ----------------------------------------------------------------------------- by language

prompts = raw_frame("gate_events", ("id", "group_id", "user_id", "event", "detail"))


def lang(code: str) -> str:
    return json.dumps({"lang": code, "channels": 2})


def test_funnel_language_daily() -> None:
    window = prompts(
        [
            # prompted twice the same day in two languages: once in each; passes after the
            # second, in its language; passes again the next day, still in it
            (1, -1, 10, "prompted", lang("uk"), at(D1, 9)),
            (2, -1, 10, "prompted", lang("es"), at(D1, 9, 30)),
            (3, -1, 10, "passed", None, at(D1, 9, 40)),
            (4, -1, 10, "passed", None, at(D2, 1)),
            # latest prompt in another language (before the window, in ru); prompted in uk
            # only after passing
            (5, -1, 11, "passed", None, at(D1, 9)),
            (6, -1, 11, "prompted", lang("uk"), at(D1, 10)),
            # two prompts at one instant: the later row's language; a pass at that instant
            (8, -1, 12, "prompted", lang("uk"), at(D1, 8)),
            (7, -1, 12, "prompted", lang("en"), at(D1, 8)),
            (9, -1, 12, "passed", None, at(D1, 8)),
            # a pass with no prompt at all: unknown
            (10, -1, 13, "passed", None, at(D1, 12)),
            # a prompt that recorded no language: unknown
            (11, -1, 14, "prompted", None, at(D1, 12)),
            (12, -1, 14, "prompted", "{}", at(D1, 12, 1)),
            # prompted in another group only: the pass here is unknown
            (13, -2, 15, "prompted", lang("ar"), at(D1, 7)),
            (14, -1, 15, "passed", None, at(D1, 13)),
            # a raid notice: no user
            (15, -1, None, "prompted", lang("uk"), at(D1, 7)),
        ]
    )
    last = prompts([(0, -1, 11, "prompted", lang("ru"), at(D0, 23))])
    out = gate.funnel_language_daily(window, last)
    schemas.FunnelLanguageDaily.validate(out)
    assert out.rows() == [
        (D1, -2, "ar", 1, 0),
        (D1, -1, "en", 1, 0),
        (D1, -1, "es", 1, 1),
        (D1, -1, "ru", 0, 1),
        (D1, -1, "uk", 3, 1),
        (D1, -1, "unknown", 1, 2),
        (D2, -1, "es", 0, 1),
    ]


def test_funnel_language_of_one_day_takes_the_last_prompt_from_history() -> None:
    """D2 alone, with D1's latest prompts as LAST_PROMPTS reads them: the same D2 figures."""
    on_d2 = prompts([(4, -1, 10, "passed", None, at(D2, 1))])
    last = prompts([(2, -1, 10, "prompted", lang("es"), at(D1, 9, 30))])
    out = gate.funnel_language_daily(on_d2, last)
    assert out.rows() == [(D2, -1, "es", 0, 1)]


# ----------------------------------------------------------------------------- channels

LINKS = pl.DataFrame(
    {"group_id": [-1, -2, -2], "channel_id": [-100, -100, -200]},
    schema={"group_id": pl.Int64, "channel_id": pl.Int64},
)


def test_channel_daily() -> None:
    moves = channel_events(
        [
            (-100, 10, "join", False, at(D1, 10)),  # prompted in -1 an hour before
            (-100, 11, "join", False, at(D1, 10)),  # prompted in -2 exactly 24 h before
            (-100, 12, "join", False, at(D1, 10)),  # prompted 24 h + 1 µs before: no
            (-100, 13, "join", False, at(D1, 5)),  # a join without any prompt
            (-100, 14, "join", False, at(D1, 10)),  # prompted in -3, which does not link -100
            (-100, 15, "join", True, at(D1, 10)),  # a bot: not counted at all
            (-100, 16, "leave", False, at(D1, 12)),  # unmuted in -1 an hour before
            (-100, 17, "kick", False, at(D1, 12)),  # unmuted exactly 7 days before
            (-100, 18, "leave", False, at(D1, 12)),  # unmuted 7 days + 1 s before: no
            (-200, 10, "join", False, at(D1, *LAST_US)),  # prompted in -1, not linking -200
            (-200, 20, "join", False, at(D1, 8)),  # prompted a second after joining: no
            (-200, 21, "join", False, at(D2)),  # midnight: D2
            (-300, 10, "join", False, at(D1, 10)),  # no group links -300
        ]
    )
    window = gate_events(
        [
            (-1, 10, "prompted", at(D1, 9)),
            (-3, 14, "prompted", at(D1, 9)),
            (-1, 16, "unmuted", at(D1, 11)),
            (-2, 20, "prompted", at(D1, 8, 0, 1)),
            (-1, 13, "muted", at(D1, 4)),  # not a prompt
        ]
    )
    prompts_before = gate_events(
        [(-2, 11, "prompted", at(D0, 10)), (-1, 12, "prompted", at(D0, 9, 59, 59, 999999))]
    )
    unmutes_before = gate_events(
        [(-2, 17, "unmuted", at(WEEK_BEFORE, 12)), (-1, 18, "unmuted", at(WEEK_BEFORE, 11, 59, 59))]
    )
    counts = snapshots(
        [
            (-100, 500, at(D1, 6)),
            (-100, 510, at(D1, 23)),  # the day's last
            (-100, 520, at(D2)),  # a day with only a snapshot
            (-300, 99, at(D1, 6)),
        ]
    )
    out = gate.channel_daily(moves, window, counts, prompts_before, unmutes_before, LINKS)
    schemas.ChannelDaily.validate(out)
    # joins, leaves, joins after a prompt, leaves after an unmute, subscribers
    assert out.rows() == [
        (D1, -200, 2, 0, 0, 0, None),
        (D1, -100, 5, 3, 2, 2, 510),
        (D2, -200, 1, 0, 0, 0, None),
        (D2, -100, 0, 0, 0, 0, 520),
    ]


# ----------------------------------------------------------------------------- invite links


def test_invite_link_daily() -> None:
    joins = events(
        [
            (-1, 10, "join", False, "ads", at(D1, 10)),
            (-1, 10, "leave", False, None, at(D1, 18)),
            (-1, 11, "join", False, "ads", at(D1, 10)),
            (-1, 11, "join", False, "ads", at(D1, 11)),  # again: one user
            (-1, 12, "join", False, "ads", at(D1, *LAST_US)),
            (-1, 12, "leave", False, None, at(D2)),  # the next day: not "left"
            (-1, 13, "join", False, "promo", at(D1, 12)),
            (-1, 13, "kick", False, None, at(D1, 13)),
            (-1, 14, "join", False, None, at(D1, 12)),  # no named link
            (-1, 15, "join", True, "ads", at(D1, 12)),  # a bot
        ]
    )
    passed = gate_events(
        [
            (-1, 10, "passed", at(D1, 10, 5)),
            (-1, 11, "passed", at(D1, 9)),  # before joining
            (-1, 11, "passed", at(D2, 0)),  # the next day
            (-1, 12, "passed", at(D1, *LAST_US)),  # the same instant: at or after
            (-2, 13, "passed", at(D1, 12, 30)),  # in another group
        ]
    )
    out = gate.invite_link_daily(joins, passed)
    schemas.InviteLinkDaily.validate(out)
    assert out.rows() == [(D1, -1, "ads", 3, 2, 1), (D1, -1, "promo", 1, 0, 1)]


# ----------------------------------------------------------------------------- API budget


def test_api_budget_daily() -> None:
    sec = at(D1, 10)
    calls = api_calls(
        [
            ("getUpdates", None, True, None, 30000.0, sec),  # long polling: left out
            ("getUpdates", None, True, None, 30000.0, sec),
            ("sendMessage", -1, True, None, 5.0, sec.replace(microsecond=100_000)),
            ("sendMessage", -1, True, None, 5.0, sec.replace(microsecond=200_000)),
            ("sendMessage", -1, True, None, 5.0, sec.replace(microsecond=300_000)),
            ("getChatMember", -1, True, None, 5.0, sec.replace(microsecond=500_000)),
            ("sendMessage", -1, True, None, 5.0, at(D1, 10, 0, 59, 999999)),  # same minute
            ("sendMessage", -2, True, None, 5.0, at(D1, 10, 0, 30)),
            ("copyMessage", -1, True, None, 5.0, at(D1, 10, 1)),  # the next minute
            ("forwardMessage", None, True, None, 5.0, at(D1, 11)),  # a send without a chat
            ("restrictChatMember", -1, False, "RetryAfter", 5.0, at(D1, 12)),
            ("sendMessage", -1, False, "RetryAfter", 5.0, at(D1, *LAST_US)),
            ("sendPhoto", -1, True, None, 5.0, at(D2)),  # midnight: D2
            ("getUpdates", None, True, None, 30000.0, at(D3, 5)),  # nothing else on D3
        ]
    )
    said = messages(
        [
            (-1, 10, False, "user", None, at(D1, 9)),
            (-1, 11, False, "user", None, at(D1, 9)),
            (-2, 12, False, "user", None, at(D1, *LAST_US)),
            (-1, None, True, "bot", None, at(D1, 9)),  # not a human message
            (-1, 13, False, "user", None, at(D3, 4)),  # D3: messages but no calls
            (-1, 13, False, "user", None, at(D3, 5)),
        ]
    )
    out = budget.api_budget_daily(calls, said)
    schemas.ApiBudgetDaily.validate(out)
    # calls, peak/s, sends, sends peak/s, sends peak per chat and minute, RetryAfter, human
    # messages, calls per message
    assert out.rows() == [
        (D1, 10, 4, 8, 3, 4, 2, 3, 10 / 3),
        (D2, 1, 1, 1, 1, 1, 0, 0, None),
        (D3, 0, 0, 0, 0, 0, 0, 2, 0.0),
    ]


# ----------------------------------------------------------------------------- topics


def test_topic_daily() -> None:
    said = messages(
        [
            (-1, 10, False, "user", 7, at(D1, 9)),
            (-1, 10, False, "user", 7, at(D1, *LAST_US)),
            (-1, 11, False, "user", 7, at(D2)),  # midnight: D2
            (-1, 11, False, "user", 8, at(D1, 9)),
            (-1, 12, False, "user", None, at(D1, 9)),  # outside any topic
            (-1, None, True, "bot", 7, at(D1, 9)),  # the bot, in the topic
            (-2, 10, False, "user", 7, at(D1, 9)),  # the same thread id in another group
        ]
    )
    out = daily.topic_daily(said)
    schemas.TopicDaily.validate(out)
    assert out.rows() == [
        (D1, -2, 7, 1, 1),
        (D1, -1, 7, 2, 1),
        (D1, -1, 8, 1, 1),
        (D2, -1, 7, 1, 1),
    ]


def test_new_transforms_of_nothing_are_empty_and_valid() -> None:
    g, e, c, v = WINDOW_GATE.clear(), FUNNEL_JOINS.clear(), channel_events([]), FUNNEL_CHECKS
    for out, model in (
        (gate.funnel_daily(v.clear(), e, g, g, days(D1)), schemas.FunnelDaily),
        (gate.channel_daily(c, g, snapshots([]), g, g, LINKS), schemas.ChannelDaily),
        (gate.invite_link_daily(e, g), schemas.InviteLinkDaily),
        (gate.funnel_language_daily(prompts([]), prompts([])), schemas.FunnelLanguageDaily),
        (budget.api_budget_daily(api_calls([]), messages([])), schemas.ApiBudgetDaily),
        (daily.topic_daily(messages([])), schemas.TopicDaily),
    ):
        assert out.height == 0
        model.validate(out)
