"""``analytics_api_budget_daily``: the day's Telegram Bot API use against Telegram's limits.

Over ``api_call_log`` without long polling (``getUpdates`` waits by design; it stays in
``analytics_api_calls_daily`` only), per UTC day:
- ``calls``: the calls; ``peak_calls_per_s``: most calls in one UTC second.
- ``sends``: calls that post a message, a method starting with ``send`` or ``copyMessage`` /
  ``forwardMessage``; ``peak_sends_per_s``: most sends in one UTC second.
- ``peak_group_sends_per_min``: most sends into one chat (its ``chat_id`` as called, not
  NULL) in one UTC minute: Telegram's limit is per chat, so a migrated group's old id is not
  merged here.
- ``retry_after``: calls that failed with ``error_type = 'RetryAfter'``.
- ``human_messages``: human messages that day in every chat; ``calls_per_message`` =
  ``calls / human_messages``, NULL when there were none.
- Rows: days with a call (other than ``getUpdates``) or a human message; peaks are 0 on a
  day without calls.
"""

from __future__ import annotations

import polars as pl

from pipelines.transforms.daily import ENGINE, LONG_POLL, epoch_us, utc_day
from pipelines.transforms.humans import human_messages

_US_PER_S = 1_000_000
SEND_METHODS = ("copyMessage", "forwardMessage")
"""Message-posting methods that do not start with ``send``."""


def is_send(method: str = "method") -> pl.Expr:
    col = pl.col(method)
    return col.str.starts_with("send") | col.is_in(SEND_METHODS)


def api_budget_daily(api_calls: pl.DataFrame, messages: pl.DataFrame) -> pl.DataFrame:
    """``analytics_api_budget_daily`` (definitions in the module docstring)."""
    calls = (
        api_calls.lazy()
        .filter(pl.col("method") != LONG_POLL)
        .select(
            (epoch_us("timestamp") // _US_PER_S).alias("second"),
            "chat_id",
            is_send().alias("send"),
            (pl.col("error_type") == "RetryAfter").fill_null(False).alias("retry"),
        )
    )
    per_second = calls.group_by("second").agg(
        pl.len().alias("calls"),
        pl.col("send").sum().alias("sends"),
        pl.col("retry").sum().alias("retry_after"),
    )
    day = (pl.col("second") // 86_400).cast(pl.Int32).cast(pl.Date).alias("day")
    daily = per_second.group_by(day).agg(
        pl.col("calls").sum().cast(pl.Int64),
        pl.col("calls").max().cast(pl.Int64).alias("peak_calls_per_s"),
        pl.col("sends").sum().cast(pl.Int64),
        pl.col("sends").max().cast(pl.Int64).alias("peak_sends_per_s"),
        pl.col("retry_after").sum().cast(pl.Int64),
    )
    per_chat_minute = (
        calls.filter(pl.col("send") & pl.col("chat_id").is_not_null())
        .group_by((pl.col("second") // 60).alias("minute"), "chat_id")
        .agg(pl.len().alias("sends"))
        .group_by((pl.col("minute") // 1440).cast(pl.Int32).cast(pl.Date).alias("day"))
        .agg(pl.col("sends").max().cast(pl.Int64).alias("peak_group_sends_per_min"))
    )
    people = (
        human_messages(messages.lazy())
        .group_by(utc_day("created_at"))
        .agg(pl.len().cast(pl.Int64).alias("human_messages"))
    )
    counts = (
        "calls",
        "peak_calls_per_s",
        "sends",
        "peak_sends_per_s",
        "peak_group_sends_per_min",
        "retry_after",
        "human_messages",
    )
    return (
        daily.join(people, on="day", how="full", coalesce=True)
        .join(per_chat_minute, on="day", how="left")
        .select("day", *(pl.col(c).fill_null(0) for c in counts))
        .with_columns(
            pl.when(pl.col("human_messages") > 0)
            .then(pl.col("calls") / pl.col("human_messages"))
            .alias("calls_per_message")
        )
        .sort("day")
        .collect(engine=ENGINE)
    )
