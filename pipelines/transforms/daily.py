"""The daily analytics aggregates of activity and API calls, one function per table.

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
  a latency goes to the first bound it does not exceed, NULL is +inf. Source ``api`` leaves
  out long polling (``getUpdates``), which waits by design; ``analytics_api_calls_daily``
  keeps it.

``analytics_group_daily`` also has, per day and group:
- ``kicks``: human ``kick`` events (``leaves`` counts them too).
- ``bots_joined``: ``join`` events with ``is_bot`` (service accounts are not bots here).
- ``reactions``: the sum of ``added`` over the group's ``reaction_events`` rows, a user's and
  the anonymous counts (``user_id`` NULL) alike.
- ``reacting_users``: distinct users (not NULL, not a service account) with a row of
  ``added > 0``; ``silent_reactors``: those of them with no human message in the group that
  day.
- A row for each (day, group) with checks, human messages, human member events, bots joining
  or reactions.

``analytics_topic_daily`` (day, group_id, message_thread_id): human messages with a
``message_thread_id`` (forum topics): ``messages`` and ``active_users`` (distinct authors).

The gate's tables are in :mod:`.gate`, the API budget in :mod:`.budget`.
"""

from __future__ import annotations

import polars as pl

from core.models import (
    LATENCY_BUCKETS_MS,
    AnalyticsApiCallsDaily,
    AnalyticsGroupDaily,
    AnalyticsVerificationDaily,
    key_columns,
    measure_columns,
)
from pipelines.transforms.humans import (
    bot_joins,
    human_member_events,
    human_messages,
    human_reactors,
)

ENGINE = "streaming"
"""Every plan runs on polars' streaming engine: the raw inputs are lazy scans of spooled
chunks (:class:`pipelines.rawstore.RawStore`), read in morsels, so a plan's memory follows its
aggregates' state, not the day's raw rows. (DataFrames, as the unit tests pass, work too.)"""

VERIFICATION_KEYS = key_columns(AnalyticsVerificationDaily.__table__)[1:]  # after "day"
API_KEYS = key_columns(AnalyticsApiCallsDaily.__table__)[1:]
LONG_POLL = "getUpdates"
"""Long polling waits by design (up to its timeout): a call, but no latency to chart nor
budget to spend; it stays in ``analytics_api_calls_daily`` only."""


def _exact_sum(column: str) -> pl.Expr:
    """A sum that does not depend on row order: integer microseconds, back to milliseconds.

    Float sums change in the last bits with the order rows arrive in; re-runs must be
    identical, so latencies are summed at 1 µs resolution in integers.
    """
    return (pl.col(column) * 1000).round().cast(pl.Int64).sum() / 1000


_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000


def epoch_us(ts: str) -> pl.Expr:
    return pl.col(ts).dt.cast_time_unit("us").dt.epoch("us")


def utc_day(ts: str) -> pl.Expr:
    """The UTC day, by integer arithmetic on epoch microseconds (several times faster than
    ``dt.date()`` on a tz-aware column, and the same for UTC)."""
    return (epoch_us(ts) // _US_PER_DAY).cast(pl.Int32).cast(pl.Date).alias("day")


def utc_hour(ts: str) -> pl.Expr:
    """The UTC hour 0-23."""
    return ((epoch_us(ts) // _US_PER_HOUR) % 24).cast(pl.Int16).alias("hour")


def newest_per_day(frame: pl.DataFrame, ts: str) -> pl.DataFrame:
    """``day, newest``: the latest timestamp of each UTC day present in ``frame``."""
    return frame.group_by(utc_day(ts)).agg(pl.col(ts).max().alias("newest"))


def verification_daily(verifications: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``analytics_verification_daily``: checks and latency per day, group and outcome."""
    keys = ["day", *VERIFICATION_KEYS]
    return (
        verifications.lazy()
        .with_columns(utc_day("timestamp"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("checks"),
            _exact_sum("latency_ms").alias("latency_ms_sum"),
            pl.col("latency_ms").max().alias("latency_ms_max"),
        )
        .sort(keys, nulls_last=True)
        .collect(engine=ENGINE)
    )


def api_calls_daily(api_calls: pl.DataFrame) -> pl.DataFrame:
    """``analytics_api_calls_daily``: calls and latency per day, method and outcome."""
    keys = ["day", *API_KEYS]
    return (
        api_calls.lazy()
        .with_columns(utc_day("timestamp"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            _exact_sum("latency_ms").alias("latency_ms_sum"),
            pl.col("latency_ms").max().alias("latency_ms_max"),
        )
        .sort(keys, nulls_last=True)
        .collect(engine=ENGINE)
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
        .group_by(utc_day("timestamp"), utc_hour("timestamp"), pl.col("group_id"))
        .agg(pl.len().cast(pl.Int64).alias("verifications"))
    )
    m = (
        human_messages(messages.lazy())
        .group_by(
            utc_day("created_at"), utc_hour("created_at"), pl.col("chat_id").alias("group_id")
        )
        .agg(pl.len().cast(pl.Int64).alias("messages"))
    )
    j = (
        human_member_events(member_events.lazy())
        .filter(pl.col("event") == "join")
        .group_by(utc_day("timestamp"), utc_hour("timestamp"), pl.col("chat_id").alias("group_id"))
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
        .collect(engine=ENGINE)
    )


def latency_histogram_daily(
    verifications: pl.DataFrame | pl.LazyFrame, api_calls: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """``analytics_latency_histogram_daily``: fixed-bucket latency counts per day and source."""
    parts = [
        _histogram(verifications.lazy(), "verification"),
        _histogram(api_calls.lazy().filter(pl.col("method") != LONG_POLL), "api"),
    ]
    return (
        pl.concat(parts)
        .sort("day", "source", "bucket_le_ms", nulls_last=True)
        .collect(engine=ENGINE)
    )


_BOUNDS = pl.Series("b", LATENCY_BUCKETS_MS, dtype=pl.Float64)
_BUCKETS = pl.Series("bucket_le_ms", [*LATENCY_BUCKETS_MS, None], dtype=pl.Float64)


def bucket_of(latency_ms: pl.Series) -> pl.Series:
    """The histogram bound of each latency (first bound >= it), NULL for +inf."""
    return _BUCKETS.gather(_BOUNDS.search_sorted(latency_ms, side="left"))


def _bucket(column: str) -> pl.Expr:
    """:func:`bucket_of` as an expression (for lazy plans)."""
    index = pl.lit(_BOUNDS).search_sorted(pl.col(column), side="left")
    return pl.lit(_BUCKETS).gather(index).alias("bucket_le_ms")


def _histogram(frame: pl.LazyFrame, source: str) -> pl.LazyFrame:
    schema = {"day": pl.Date, "source": pl.String, "bucket_le_ms": pl.Float64, "count": pl.Int64}
    counted = (
        frame.select(utc_day("timestamp"), _bucket("latency_ms"))
        .group_by("day", "bucket_le_ms")
        .agg(pl.len().cast(pl.Int64).alias("count"))
    )
    grid = (
        counted.select("day").unique().join(pl.LazyFrame({"bucket_le_ms": _BUCKETS}), how="cross")
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
    verifications: pl.DataFrame,
    messages: pl.DataFrame,
    member_events: pl.DataFrame,
    reactions: pl.DataFrame,
) -> pl.DataFrame:
    """``analytics_group_daily``: one row per day and group with any activity (checks, human
    messages, member events of humans or bots joining, reactions)."""
    keys = ["day", "group_id"]
    v = (
        verifications.lazy()
        .group_by(utc_day("timestamp"), pl.col("group_id"))
        .agg(
            pl.len().cast(pl.Int64).alias("verifications"),
            (pl.col("status") == "success").sum().cast(pl.Int64).alias("passed"),
            (pl.col("status") == "failed").sum().cast(pl.Int64).alias("failed"),
        )
    )
    authors = human_messages(messages.lazy()).select(
        utc_day("created_at"), pl.col("chat_id").alias("group_id"), "user_id"
    )
    m = authors.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("messages"),
        pl.col("user_id").drop_nulls().n_unique().cast(pl.Int64).alias("active_users"),
    )
    e = (
        human_member_events(member_events.lazy())
        .group_by(utc_day("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(
            (pl.col("event") == "join").sum().cast(pl.Int64).alias("joins"),
            pl.col("event").is_in(["leave", "kick"]).sum().cast(pl.Int64).alias("leaves"),
            (pl.col("event") == "kick").sum().cast(pl.Int64).alias("kicks"),
        )
    )
    b = (
        bot_joins(member_events.lazy())
        .group_by(utc_day("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(pl.len().cast(pl.Int64).alias("bots_joined"))
    )
    r = (
        reactions.lazy()
        .group_by(utc_day("timestamp"), pl.col("chat_id").alias("group_id"))
        .agg(pl.col("added").sum().cast(pl.Int64).alias("reactions"))
    )
    reactors = (
        human_reactors(reactions.lazy())
        .select(utc_day("timestamp"), pl.col("chat_id").alias("group_id"), "user_id")
        .unique()
    )
    silent = reactors.join(
        authors.filter(pl.col("user_id").is_not_null()).unique(),
        on=[*keys, "user_id"],
        how="anti",
    )
    ru = reactors.group_by(keys).agg(pl.len().cast(pl.Int64).alias("reacting_users"))
    su = silent.group_by(keys).agg(pl.len().cast(pl.Int64).alias("silent_reactors"))
    counts = measure_columns(AnalyticsGroupDaily.__table__)
    out = v
    for part in (m, e, b, r):
        out = out.join(part, on=keys, how="full", coalesce=True)
    return (
        out.join(ru, on=keys, how="left")
        .join(su, on=keys, how="left")
        .select(*keys, *(pl.col(c).fill_null(0) for c in counts))
        .sort(keys)
        .collect(engine=ENGINE)
    )


def topic_daily(messages: pl.DataFrame) -> pl.DataFrame:
    """``analytics_topic_daily``: human messages and their distinct authors per day, group and
    forum topic (``message_thread_id``; messages outside a topic have none and are left out)."""
    keys = ["day", "group_id", "message_thread_id"]
    return (
        human_messages(messages.lazy())
        .filter(pl.col("message_thread_id").is_not_null())
        .group_by(utc_day("created_at"), pl.col("chat_id").alias("group_id"), "message_thread_id")
        .agg(
            pl.len().cast(pl.Int64).alias("messages"),
            pl.col("user_id").drop_nulls().n_unique().cast(pl.Int64).alias("active_users"),
        )
        .sort(keys)
        .collect(engine=ENGINE)
    )
