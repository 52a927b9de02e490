"""What the gate did, per day: the verification funnel, the linked channels, the invite links.

Inputs are raw frames as :mod:`.daily` takes them (``Datetime("us", "UTC")``, group ids merged
by the caller), plus the history some definitions look back on, read by the asset (the
transforms compute, they never read): the mutes still open before the window, the ``prompted``
events of the 24 h and the ``unmuted`` events of the 7 days before it, the current
``group_channel_links`` and the partition's days. "Human" is DESIGN's (:mod:`.humans`);
``gate_events`` rows without a user (a raid notice) count for no user.

``analytics_funnel_daily`` (day, group_id):
- ``joined``: distinct humans with a ``join`` member event in the group that day.
- ``prompted``, ``clicked``, ``passed``, ``unmuted``, ``join_requests`` (``join_request``),
  ``approved``, ``declined``, ``expired``: distinct users with that gate event that day.
- ``timed_out`` (an addition, issue 26): distinct users with a ``timed_out`` gate event that
  day (the group's timeout acted on them: muted, kicked or banned).
- ``messages_deleted``: ``message_deleted`` rows that day.
- ``denied_clicks``: ``verification_log`` rows with ``trigger = 'callback'`` and
  ``status = 'failed'`` that day (counted on the rows below; they make no row themselves).
- ``still_muted``: users whose last ``muted``/``unmuted`` event in the group up to the end of
  the day, over ALL history, is ``muted``. At one instant a ``muted`` comes before an
  ``unmuted``.
- ``verify_s_p50``, ``verify_s_p90``: over the day's ``unmuted`` events, the seconds from the
  start of the mute each one ends (the user's first ``muted`` in the group since their previous
  ``unmuted``, on any earlier day too) to the unmute; unmutes with no such ``muted`` are left
  out. Linear interpolation (PostgreSQL's ``percentile_cont``), to the microsecond; NULL with
  no pair.
- Rows: each (day, group) with any gate event or human join that day, or ``still_muted > 0``
  (so the backlog has a point every day it is not zero).

``analytics_funnel_language_daily`` (day, group_id, lang), from the ``prompted`` and ``passed``
gate events with a user:
- ``lang`` of a prompt: its ``detail.lang`` (the language it was shown in); ``unknown`` when
  it recorded none (rows written before prompts carried their language).
- ``prompted``: distinct users with a ``prompted`` event that day in ``lang``.
- ``passed``: distinct users with a ``passed`` event that day whose latest ``prompted`` event
  in the group at or before the pass (over all history; at one instant the later row id) was in
  ``lang``; ``unknown`` when they had none.
- Rows: each (day, group, lang) with either count above zero.

``analytics_channel_daily`` (day, channel_id), for the channels some group links now:
- ``joins``: human ``join`` events in the channel; ``leaves``: human ``leave`` + ``kick``.
- ``joins_after_prompt``: of those joins, the ones by a user with a ``prompted`` event in a
  group linking the channel at most 24 h before the join (``[join - 24 h, join]``).
- ``leaves_after_unmute_7d``: of those leaves, the ones by a user with an ``unmuted`` event in a
  group linking the channel in ``[leave - 7 days, leave]``.
- ``subscriber_count``: ``member_count`` of the chat's last ``member_count_snapshots`` row that
  day, NULL without one.
- Rows: linked channels with a join, a leave or a snapshot that day.

``analytics_invite_link_daily`` (day, group_id, invite_link_name), from human ``join`` events
with an invite link name; "their join" is a user's first join by that link that day:
- ``joins``: distinct users joining by the link that day.
- ``passed``: of them, those with a ``passed`` gate event in the group at or after their join,
  the same UTC day.
- ``left``: of them, those with a ``leave``/``kick`` member event in the group after their join,
  the same UTC day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from core.models import UNKNOWN_LANGUAGE, GateEventType
from pipelines.transforms.daily import ENGINE, utc_day
from pipelines.transforms.humans import human_member_events

MUTED = GateEventType.MUTED.value
UNMUTED = GateEventType.UNMUTED.value
PROMPT_WINDOW = dt.timedelta(hours=24)
UNMUTE_WINDOW = dt.timedelta(days=7)

FUNNEL_USERS = {  # output column: the gate event whose distinct users it counts
    "prompted": GateEventType.PROMPTED.value,
    "clicked": GateEventType.CLICKED.value,
    "passed": GateEventType.PASSED.value,
    "unmuted": UNMUTED,
    "join_requests": GateEventType.JOIN_REQUEST.value,
    "approved": GateEventType.APPROVED.value,
    "declined": GateEventType.DECLINED.value,
    "expired": GateEventType.EXPIRED.value,
    "timed_out": GateEventType.TIMED_OUT.value,
}
FUNNEL_COUNTS = (
    "joined",
    *FUNNEL_USERS,
    "denied_clicks",
    "still_muted",
    "messages_deleted",
)
PAIR = ["group_id", "user_id"]


def users_with(event: str) -> pl.Expr:
    return pl.col("user_id").filter(pl.col("event") == event).drop_nulls().n_unique()


def mute_stream(gate_events: pl.LazyFrame, mute_history: pl.LazyFrame) -> pl.LazyFrame:
    """Every ``muted``/``unmuted`` event known (open history + the window), in order per
    (group, user); ``in_window`` tells the window's own events."""
    cols = ["group_id", "user_id", "event", "timestamp"]
    window = gate_events.filter(
        pl.col("event").is_in([MUTED, UNMUTED]) & pl.col("user_id").is_not_null()
    ).select(*cols, pl.lit(True).alias("in_window"))
    history = mute_history.select(*cols, pl.lit(False).alias("in_window"))
    return (
        pl.concat([history, window])
        .with_columns(utc_day("timestamp"), (pl.col("event") == UNMUTED).alias("is_unmute"))
        .sort([*PAIR, "timestamp", "is_unmute"])  # a mute before an unmute at one instant
    )


def _still_muted(stream: pl.LazyFrame, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """(day, group_id, still_muted) for the days ``first..last`` where it is above zero."""
    ends = (
        stream.group_by([*PAIR, "day"])
        .agg(pl.col("is_unmute").sort_by("timestamp", "is_unmute").last().alias("ends_unmuted"))
        .sort([*PAIR, "day"])
        .with_columns(pl.col("day").shift(-1).over(PAIR).alias("next_day"))
        .filter(~pl.col("ends_unmuted"))
    )
    spans = ends.select(
        "group_id",
        pl.max_horizontal(pl.col("day"), pl.lit(first)).alias("from_day"),
        pl.coalesce(pl.col("next_day") - dt.timedelta(days=1), pl.lit(last)).alias("to_day"),
    ).filter(pl.col("from_day") <= pl.col("to_day"))
    return (
        spans.select("group_id", pl.date_ranges("from_day", "to_day", interval="1d").alias("day"))
        .explode("day")
        .group_by("day", "group_id")
        .agg(pl.len().cast(pl.Int64).alias("still_muted"))
    )


def verify_seconds(stream: pl.LazyFrame, keys: Sequence[str] = ("day", "group_id")) -> pl.LazyFrame:
    """(``keys``, p50, p90) of the mute-to-unmute seconds of the window's unmutes (pairs are
    always matched per group and user; ``keys`` only say what the percentiles are over)."""
    # a mute "segment" is what lies after a user's previous unmute, up to and with the next
    segment = pl.col("is_unmute").cast(pl.Int32).cum_sum().shift(1, fill_value=0).over(PAIR)
    started = pl.col("timestamp").filter(~pl.col("is_unmute")).min().over([*PAIR, "segment"])
    pairs = (
        stream.with_columns(segment.alias("segment"))
        .with_columns(started.alias("muted_at"))
        .filter(pl.col("is_unmute") & pl.col("in_window") & pl.col("muted_at").is_not_null())
        .with_columns(
            ((pl.col("timestamp") - pl.col("muted_at")).dt.total_microseconds() / 1e6).alias(
                "seconds"
            )
        )
    )
    # rounded to the microsecond: polars' group quantile can differ in the last bit with the
    # other groups of the frame, and a re-run must give identical tables
    return pairs.group_by(*keys).agg(
        pl.col("seconds").quantile(q, interpolation="linear").round(6).alias(name)
        for name, q in (("verify_s_p50", 0.5), ("verify_s_p90", 0.9))
    )


def funnel_daily(
    verifications: pl.DataFrame,
    member_events: pl.DataFrame,
    gate_events: pl.DataFrame,
    mute_history: pl.DataFrame,
    days: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_funnel_daily`` (definitions in the module docstring). ``mute_history``: the
    ``muted``/``unmuted`` events before the window that still matter (see
    :data:`pipelines.sources.MUTE_HISTORY`); ``days``: the window's days (column ``day``)."""
    keys = ["day", "group_id"]
    gate = gate_events.lazy()
    events = gate.group_by(utc_day("timestamp"), "group_id").agg(
        *(users_with(event).cast(pl.Int64).alias(name) for name, event in FUNNEL_USERS.items()),
        (pl.col("event") == GateEventType.MESSAGE_DELETED.value)
        .sum()
        .cast(pl.Int64)
        .alias("messages_deleted"),
    )
    joined = (
        human_member_events(member_events.lazy())
        .filter(pl.col("event") == "join")
        .group_by(utc_day("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("joined"))
    )
    denied = (
        verifications.lazy()
        .filter((pl.col("trigger") == "callback") & (pl.col("status") == "failed"))
        .group_by(utc_day("timestamp"), "group_id")
        .agg(pl.len().cast(pl.Int64).alias("denied_clicks"))
    )
    stream = mute_stream(gate, mute_history.lazy())
    if days.height:
        muted = _still_muted(stream, days["day"].min(), days["day"].max())  # type: ignore[arg-type]
    else:
        muted = pl.LazyFrame(schema={"day": pl.Date, "group_id": pl.Int64, "still_muted": pl.Int64})
    rows = pl.concat([events.select(keys), joined.select(keys), muted.select(keys)]).unique()
    return (
        rows.join(events, on=keys, how="left")
        .join(joined, on=keys, how="left")
        .join(denied, on=keys, how="left")
        .join(muted, on=keys, how="left")
        .join(verify_seconds(stream), on=keys, how="left")
        .select(
            *keys,
            *(pl.col(c).fill_null(0) for c in FUNNEL_COUNTS),
            "verify_s_p50",
            "verify_s_p90",
        )
        .sort(keys)
        .collect(engine=ENGINE)
    )


def prompt_language(detail: pl.Expr) -> pl.Expr:
    """The language a ``prompted`` event's ``detail`` (JSON text) records, else ``unknown``."""
    return detail.str.json_path_match("$.lang").fill_null(UNKNOWN_LANGUAGE).alias("lang")


def funnel_language_daily(gate_events: pl.DataFrame, last_prompts: pl.DataFrame) -> pl.DataFrame:
    """``analytics_funnel_language_daily`` (definitions in the module docstring).
    ``gate_events``: the window's ``prompted`` and ``passed`` events with their ``id`` and
    ``detail``; ``last_prompts``: each (group, user)'s latest ``prompted`` event before the
    window (:data:`pipelines.sources.LAST_PROMPTS`; a migrated group's old and new ids may each
    give one)."""
    keys = ["day", "group_id", "lang"]
    window = gate_events.lazy().filter(pl.col("user_id").is_not_null())
    cols = ["id", *PAIR, "timestamp", "detail"]
    prompts = window.filter(pl.col("event") == GateEventType.PROMPTED.value).select(cols)
    prompted = prompts.group_by(
        utc_day("timestamp"), "group_id", prompt_language(pl.col("detail"))
    ).agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("prompted"))
    # one prompt per (group, user, instant): the later row, so the as-of match is one row
    known = (
        pl.concat([last_prompts.lazy().select(cols), prompts])
        .group_by([*PAIR, "timestamp"])
        .agg(pl.col("detail").sort_by("id").last())
        .select(*PAIR, pl.col("timestamp").alias("prompted_at"), prompt_language(pl.col("detail")))
        .sort("prompted_at")
    )
    passes = window.filter(pl.col("event") == GateEventType.PASSED.value).select(*PAIR, "timestamp")
    passed = (
        passes.sort("timestamp")
        .join_asof(  # both sorted by time above (polars cannot check it with ``by``)
            known,
            left_on="timestamp",
            right_on="prompted_at",
            by=PAIR,
            strategy="backward",
            check_sortedness=False,
        )
        .group_by(utc_day("timestamp"), "group_id", pl.col("lang").fill_null(UNKNOWN_LANGUAGE))
        .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("passed"))
    )
    return (
        prompted.join(passed, on=keys, how="full", coalesce=True)
        .select(*keys, *(pl.col(c).fill_null(0) for c in ("prompted", "passed")))
        .sort(keys)
        .collect(engine=ENGINE)
    )


def _matched(
    moves: pl.LazyFrame,
    links: pl.LazyFrame,
    gate: pl.LazyFrame,
    within: dt.timedelta,
) -> pl.LazyFrame:
    """The ``row`` ids of ``moves`` (channel joins or leaves) by a user with a ``gate`` event in
    a group linking the channel in ``[at - within, at]``."""
    return (
        moves.select("row", "chat_id", "user_id", pl.col("timestamp").alias("at"))
        .join(links, left_on="chat_id", right_on="channel_id")
        .join(gate, on=PAIR)
        .filter(pl.col("timestamp").is_between(pl.col("at") - within, pl.col("at")))
        .select("row")
        .unique()
        .with_columns(pl.lit(True).alias("matched"))
    )


def channel_daily(
    channel_events: pl.DataFrame | pl.LazyFrame,
    gate_events: pl.DataFrame | pl.LazyFrame,
    snapshots: pl.DataFrame | pl.LazyFrame,
    prompts_before: pl.DataFrame | pl.LazyFrame,
    unmutes_before: pl.DataFrame | pl.LazyFrame,
    links: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_channel_daily`` (definitions in the module docstring). ``channel_events``:
    member events in channels; ``snapshots``: ``member_count_snapshots`` rows (``chat_id``,
    ``member_count``, ``synced_at``); ``*_before``: the lookback gate events; ``links``:
    ``group_channel_links`` (``group_id``, ``channel_id``)."""
    keys = ["day", "channel_id"]
    pairs = links.lazy().select("group_id", "channel_id").unique()
    linked = links["channel_id"].unique().implode()
    moves = (
        human_member_events(channel_events.lazy())
        .filter(pl.col("chat_id").is_in(linked))
        .with_row_index("row")
        .with_columns(utc_day("timestamp"))
    )
    gate = gate_events.lazy().select(*PAIR, "event", "timestamp")

    def gate_of(event: str, before: pl.DataFrame) -> pl.LazyFrame:
        window = gate.filter((pl.col("event") == event) & pl.col("user_id").is_not_null())
        return pl.concat([before.lazy().select(window.collect_schema().names()), window])

    joins = moves.filter(pl.col("event") == "join")
    leaves = moves.filter(pl.col("event").is_in(["leave", "kick"]))
    prompted = _matched(joins, pairs, gate_of("prompted", prompts_before), PROMPT_WINDOW)
    unmuted = _matched(leaves, pairs, gate_of(UNMUTED, unmutes_before), UNMUTE_WINDOW)
    flagged = pl.concat(
        [
            joins.join(prompted, on="row", how="left").with_columns(is_join=pl.lit(True)),
            leaves.join(unmuted, on="row", how="left").with_columns(is_join=pl.lit(False)),
        ]
    )
    moved = flagged.group_by("day", pl.col("chat_id").alias("channel_id")).agg(
        pl.col("is_join").sum().cast(pl.Int64).alias("joins"),
        (~pl.col("is_join")).sum().cast(pl.Int64).alias("leaves"),
        (pl.col("is_join") & pl.col("matched").fill_null(False))
        .sum()
        .cast(pl.Int64)
        .alias("joins_after_prompt"),
        (~pl.col("is_join") & pl.col("matched").fill_null(False))
        .sum()
        .cast(pl.Int64)
        .alias("leaves_after_unmute_7d"),
    )
    counted = (
        snapshots.lazy()
        .filter(pl.col("chat_id").is_in(linked))
        .group_by(utc_day("synced_at"), pl.col("chat_id").alias("channel_id"))
        .agg(
            pl.col("member_count")
            .sort_by("synced_at", "member_count")
            .last()
            .cast(pl.Int64)
            .alias("subscriber_count")
        )
    )
    counts = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")
    return (
        moved.join(counted, on=keys, how="full", coalesce=True)
        .select(*keys, *(pl.col(c).fill_null(0) for c in counts), "subscriber_count")
        .sort(keys)
        .collect(engine=ENGINE)
    )


def invite_link_daily(member_events: pl.DataFrame, gate_events: pl.DataFrame) -> pl.DataFrame:
    """``analytics_invite_link_daily`` (definitions in the module docstring)."""
    keys = ["day", "group_id", "invite_link_name"]
    people = human_member_events(member_events.lazy()).with_columns(
        utc_day("timestamp"), pl.col("chat_id").alias("group_id")
    )
    joined = (
        people.filter((pl.col("event") == "join") & pl.col("invite_link_name").is_not_null())
        .group_by([*keys, "user_id"])
        .agg(pl.col("timestamp").min().alias("joined_at"))
    )
    on = ["day", "group_id", "user_id"]
    passed = (
        gate_events.lazy()
        .filter(pl.col("event") == GateEventType.PASSED.value)
        .select(utc_day("timestamp"), "group_id", "user_id", "timestamp")
    )
    left = people.filter(pl.col("event").is_in(["leave", "kick"])).select(*on, "timestamp")

    def who(events: pl.LazyFrame, after: pl.Expr, name: str) -> pl.LazyFrame:
        return (
            joined.join(events, on=on)
            .filter(after)
            .select(*keys, "user_id")
            .unique()
            .with_columns(pl.lit(True).alias(name))
        )

    passed_users = who(passed, pl.col("timestamp") >= pl.col("joined_at"), "has_passed")
    left_users = who(left, pl.col("timestamp") > pl.col("joined_at"), "has_left")
    return (
        joined.join(passed_users, on=[*keys, "user_id"], how="left")
        .join(left_users, on=[*keys, "user_id"], how="left")
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("joins"),
            pl.col("has_passed").fill_null(False).sum().cast(pl.Int64).alias("passed"),
            pl.col("has_left").fill_null(False).sum().cast(pl.Int64).alias("left"),
        )
        .sort(keys)
        .collect(engine=ENGINE)
    )
