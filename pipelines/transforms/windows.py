"""The trailing-week tables (``analytics_*_7d``): a daily table's rows over the 7 days ending
at each day, added up per key. Pure polars over the daily table's rows (as written), so that a
dashboard ranking over the week reads one row per group instead of adding up seven."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from core.models import WINDOW_DAYS

FIRST_DAY = "_first_day"


def window_start(day: dt.date, width: int = WINDOW_DAYS) -> dt.date:
    """The first day of the ``width`` days ending at ``day``."""
    return day - dt.timedelta(days=width - 1)


def trailing(
    rows: pl.DataFrame | pl.LazyFrame,
    days: Sequence[dt.date],
    keys: Sequence[str],
    measures: Sequence[pl.Expr],
    width: int = WINDOW_DAYS,
) -> pl.DataFrame:
    """Per day of ``days`` and ``keys``: ``measures`` (aggregations) over ``rows`` whose
    ``day`` falls in the ``width`` days ending at that day. Each row joins every window it
    falls in; its own day stays in ``source_day`` for a measure that wants the latest row.
    Keys without a row in a window get none (as the daily tables)."""
    ends = pl.DataFrame({"day": sorted(set(days))}, schema={"day": pl.Date}).lazy()
    spans = ends.with_columns(pl.col("day").dt.offset_by(f"-{width - 1}d").alias(FIRST_DAY))
    frame = rows.lazy().rename({"day": "source_day"})
    joined = frame.join_where(
        spans,
        pl.col("source_day") >= pl.col(FIRST_DAY),
        pl.col("source_day") <= pl.col("day"),
    )
    return joined.group_by("day", *keys).agg(*measures).sort("day", *keys).collect()


def summed(columns: Sequence[str]) -> list[pl.Expr]:
    """Each of ``columns`` summed (as a 64-bit integer)."""
    return [pl.col(c).sum().cast(pl.Int64) for c in columns]


def latest(column: str) -> pl.Expr:
    """``column`` on the latest day with a row in the window."""
    return pl.col(column).sort_by("source_day").last()


def group_7d(rows: pl.DataFrame | pl.LazyFrame, days: Sequence[dt.date]) -> pl.DataFrame:
    """``analytics_group_7d`` for ``days`` from ``analytics_group_daily`` rows covering them."""
    measures = (
        "messages", "active_users", "verifications", "passed", "failed", "joins", "leaves",
        "kicks", "bots_joined", "reactions", "reacting_users", "silent_reactors",
    )  # fmt: skip
    return trailing(rows, days, ["group_id"], summed(measures))


FUNNEL_SUMS = (
    "joined", "prompted", "clicked", "passed", "unmuted", "denied_clicks", "join_requests",
    "approved", "declined", "expired", "messages_deleted", "timed_out",
)  # fmt: skip


def funnel_7d(rows: pl.DataFrame | pl.LazyFrame, days: Sequence[dt.date]) -> pl.DataFrame:
    """``analytics_funnel_7d``: the flows summed, ``still_muted`` on the latest day."""
    measures = [*summed(FUNNEL_SUMS), latest("still_muted").cast(pl.Int64)]
    out = trailing(rows, days, ["group_id"], measures)
    return out.select("day", "group_id", *FUNNEL_SUMS[:6], "still_muted", *FUNNEL_SUMS[6:])


def channel_7d(rows: pl.DataFrame | pl.LazyFrame, days: Sequence[dt.date]) -> pl.DataFrame:
    """``analytics_channel_7d`` from ``analytics_channel_daily`` rows."""
    flows = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")
    return trailing(rows, days, ["channel_id"], summed(flows))


def topic_7d(rows: pl.DataFrame | pl.LazyFrame, days: Sequence[dt.date]) -> pl.DataFrame:
    """``analytics_topic_7d`` from ``analytics_topic_daily`` rows: messages summed, the most
    active users of one day, the days with a row."""
    measures = [
        pl.col("messages").sum().cast(pl.Int64),
        pl.col("active_users").max().cast(pl.Int64).alias("peak_active_users"),
        pl.len().cast(pl.Int64).alias("days"),
    ]
    return trailing(rows, days, ["group_id", "message_thread_id"], measures)


def bot_rights_7d(rows: pl.DataFrame | pl.LazyFrame, days: Sequence[dt.date]) -> pl.DataFrame:
    """``analytics_bot_rights_7d``: per chat with a day lacking rights, the seconds lacking
    summed and the days lacking."""
    lacking = rows.lazy().filter(pl.col("lacking_s") > 0)
    measures = [
        pl.col("lacking_s").sum().cast(pl.Float64),
        pl.len().cast(pl.Int64).alias("days_lacking"),
    ]
    return trailing(lacking, days, ["chat_id"], measures)
