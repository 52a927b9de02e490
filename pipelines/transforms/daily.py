"""The daily analytics aggregates, one function per analytics table.

Inputs are raw frames that passed their raw models (see :mod:`pipelines.schemas`); every
timestamp is ``Datetime("us", "UTC")`` and the UTC day/hour come from it. Outputs have exactly
the analytics table's columns (no ``id``), sorted by their key so that re-runs are identical.

Conventions (also in the README), DESIGN's "human" throughout (:mod:`.humans`):
- ``messages`` counts human messages (``sender_kind = 'user'``): no bot (prompts included),
  anonymous admin, channel identity, service message nor service account.
- ``active_users`` counts distinct authors of those messages.
- ``leaves`` counts ``leave`` and ``kick`` events; ``joins`` counts ``join`` events; of humans
  only (not bots, not service accounts).
- Group ids are as the caller gives them: the assets merge a migrated group's old id into its
  new one first (:func:`.humans.merge_migrated_chats`).
- ``passed``/``failed`` count ``success``/``failed`` checks; ``error`` checks count only in
  ``verifications``.
- The latency histogram has every bucket (zeros included) for each day and source with rows;
  a latency goes to the first bound it does not exceed, NULL is +inf.
"""

from __future__ import annotations

import polars as pl

from core.models import LATENCY_BUCKETS_MS
from pipelines.transforms.humans import human_member_events, human_messages

VERIFICATION_KEYS = ("group_id", "status", "cached", "error_type", "trigger")
API_KEYS = ("method", "success", "error_type")


def _exact_sum(column: str) -> pl.Expr:
    """A sum that does not depend on row order: integer microseconds, back to milliseconds.

    Float sums change in the last bits with the order rows arrive in; re-runs must be
    identical, so latencies are summed at 1 µs resolution in integers.
    """
    return (pl.col(column) * 1000).round().cast(pl.Int64).sum() / 1000


_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000


def _epoch_us(ts: str) -> pl.Expr:
    return pl.col(ts).dt.cast_time_unit("us").dt.epoch("us")


def _day(ts: str) -> pl.Expr:
    """The UTC day, by integer arithmetic on epoch microseconds (several times faster than
    ``dt.date()`` on a tz-aware column, and the same for UTC)."""
    return (_epoch_us(ts) // _US_PER_DAY).cast(pl.Int32).cast(pl.Date).alias("day")


def _hour(ts: str) -> pl.Expr:
    """The UTC hour 0-23."""
    return ((_epoch_us(ts) // _US_PER_HOUR) % 24).cast(pl.Int16).alias("hour")


def newest_per_day(frame: pl.DataFrame, ts: str) -> pl.DataFrame:
    """``day, newest``: the latest timestamp of each UTC day present in ``frame``."""
    return frame.group_by(_day(ts)).agg(pl.col(ts).max().alias("newest"))


def verification_daily(verifications: pl.DataFrame) -> pl.DataFrame:
    """``analytics_verification_daily``: checks and latency per day, group and outcome."""
    keys = ["day", *VERIFICATION_KEYS]
    return (
        verifications.lazy()
        .with_columns(_day("timestamp"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("checks"),
            _exact_sum("latency_ms").alias("latency_ms_sum"),
            pl.col("latency_ms").max().alias("latency_ms_max"),
        )
        .sort(keys, nulls_last=True)
        .collect()
    )


def api_calls_daily(api_calls: pl.DataFrame) -> pl.DataFrame:
    """``analytics_api_calls_daily``: calls and latency per day, method and outcome."""
    keys = ["day", *API_KEYS]
    return (
        api_calls.lazy()
        .with_columns(_day("timestamp"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            _exact_sum("latency_ms").alias("latency_ms_sum"),
            pl.col("latency_ms").max().alias("latency_ms_max"),
        )
        .sort(keys, nulls_last=True)
        .collect()
    )


def hourly_activity(
    verifications: pl.DataFrame, messages: pl.DataFrame, member_events: pl.DataFrame
) -> pl.DataFrame:
    """``analytics_hourly_activity``: verifications, human messages and human joins per day,
    hour and group.

    Only (day, hour, group) cells with some activity get a row.
    """
    keys = ["day", "hour", "group_id"]
    v = (
        verifications.lazy()
        .group_by(_day("timestamp"), _hour("timestamp"), pl.col("group_id"))
        .agg(pl.len().cast(pl.Int64).alias("verifications"))
    )
    m = (
        human_messages(messages.lazy())
        .group_by(_day("created_at"), _hour("created_at"), pl.col("chat_id").alias("group_id"))
        .agg(pl.len().cast(pl.Int64).alias("messages"))
    )
    j = (
        human_member_events(member_events.lazy())
        .filter(pl.col("event") == "join")
        .group_by(_day("timestamp"), _hour("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(pl.len().cast(pl.Int64).alias("joins"))
    )
    joined = v.join(m, on=keys, how="full", coalesce=True).join(
        j, on=keys, how="full", coalesce=True
    )
    return (
        joined.select(
            *keys,
            *(pl.col(c).fill_null(0) for c in ("verifications", "messages", "joins")),
        )
        .sort(keys)
        .collect()
    )


def latency_histogram_daily(verifications: pl.DataFrame, api_calls: pl.DataFrame) -> pl.DataFrame:
    """``analytics_latency_histogram_daily``: fixed-bucket latency counts per day and source."""
    parts = [
        _histogram(verifications, "verification"),
        _histogram(api_calls, "api"),
    ]
    return pl.concat(parts).sort("day", "source", "bucket_le_ms", nulls_last=True)


def bucket_of(latency_ms: pl.Series) -> pl.Series:
    """The histogram bound of each latency (first bound >= it), NULL for +inf."""
    bounds = pl.Series("b", LATENCY_BUCKETS_MS, dtype=pl.Float64)
    index = bounds.search_sorted(latency_ms, side="left")
    return pl.Series("bucket_le_ms", [*LATENCY_BUCKETS_MS, None], dtype=pl.Float64).gather(index)


def _histogram(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    schema = {"day": pl.Date, "source": pl.String, "bucket_le_ms": pl.Float64, "count": pl.Int64}
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    counted = (
        frame.select(_day("timestamp"), bucket_of(frame["latency_ms"]))
        .group_by("day", "bucket_le_ms")
        .agg(pl.len().cast(pl.Int64).alias("count"))
    )
    grid = (
        counted.select("day")
        .unique()
        .join(
            pl.DataFrame(
                {"bucket_le_ms": [*LATENCY_BUCKETS_MS, None]},
                schema={"bucket_le_ms": pl.Float64},
            ),
            how="cross",
        )
    )
    return (
        grid.join(counted, on=["day", "bucket_le_ms"], how="left", nulls_equal=True)
        .select(
            "day",
            pl.lit(source).alias("source"),
            "bucket_le_ms",
            pl.col("count").fill_null(0),
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def group_daily(
    verifications: pl.DataFrame, messages: pl.DataFrame, member_events: pl.DataFrame
) -> pl.DataFrame:
    """``analytics_group_daily``: one row per day and group with any activity (messages,
    active users, joins and leaves of humans only)."""
    keys = ["day", "group_id"]
    v = (
        verifications.lazy()
        .group_by(_day("timestamp"), pl.col("group_id"))
        .agg(
            pl.len().cast(pl.Int64).alias("verifications"),
            (pl.col("status") == "success").sum().cast(pl.Int64).alias("passed"),
            (pl.col("status") == "failed").sum().cast(pl.Int64).alias("failed"),
        )
    )
    m = (
        human_messages(messages.lazy())
        .group_by(_day("created_at"), pl.col("chat_id").alias("group_id"))
        .agg(
            pl.len().cast(pl.Int64).alias("messages"),
            pl.col("user_id").drop_nulls().n_unique().cast(pl.Int64).alias("active_users"),
        )
    )
    e = (
        human_member_events(member_events.lazy())
        .group_by(_day("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(
            (pl.col("event") == "join").sum().cast(pl.Int64).alias("joins"),
            pl.col("event").is_in(["leave", "kick"]).sum().cast(pl.Int64).alias("leaves"),
        )
    )
    counts = ("messages", "active_users", "verifications", "passed", "failed", "joins", "leaves")
    return (
        v.join(m, on=keys, how="full", coalesce=True)
        .join(e, on=keys, how="full", coalesce=True)
        .select(*keys, *(pl.col(c).fill_null(0) for c in counts))
        .sort(keys)
        .collect()
    )
