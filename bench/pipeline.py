"""Pipelines vs SQL inside PostgreSQL: materialize one day of every analytics table.

A throwaway PostgreSQL (sandbox.postgres), migrated; day A gets 1M verifications, 1M API calls
and 0.5M messages (times --scale), day B four times as many, loaded with COPY. Then, in one run:

- pipeline: ``pipelines.runner.materialize_range(day, day)`` — one real in-process Dagster run
  of the five analytics assets with all checks — timed in a fresh child process (which also
  reports its peak RSS);
- sql: the same five aggregates as ``DELETE`` + ``INSERT ... SELECT ... GROUP BY`` inside
  PostgreSQL, one transaction.

Prints both times, peak memory, ``4x/1x`` for the pipeline, and last ``pipeline_vs_sql: ratio``
(pipeline / sql at 1x; target <= 1.0). Usage: ``uv run python -m bench.pipeline [--scale 0.1]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing as mp
import resource
import time
import warnings
from typing import Any

import numpy as np
import polars as pl
import psycopg2

from bench._common import database
from core.db import plain_url
from core.models import ApiCallLog, MemberEvent, Message, VerificationLog

DAY_1X = dt.date(2026, 5, 1)
DAY_4X = dt.date(2026, 5, 2)
GROUPS = 500
CHANNELS = 50
USERS = 200_000
SEEDED = (VerificationLog, ApiCallLog, Message, MemberEvent)
"""The raw logs :func:`seed_day` fills, in the order it fills them."""

SQL_AGGREGATES = """
DELETE FROM analytics_verification_daily WHERE day = %(day)s;
INSERT INTO analytics_verification_daily
    (day, group_id, status, cached, error_type, trigger, checks, latency_ms_sum, latency_ms_max)
SELECT %(day)s, group_id, status, cached, error_type, trigger, count(*), sum(latency_ms),
       max(latency_ms)
FROM verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY group_id, status, cached, error_type, trigger;

DELETE FROM analytics_api_calls_daily WHERE day = %(day)s;
INSERT INTO analytics_api_calls_daily
    (day, method, success, error_type, calls, latency_ms_sum, latency_ms_max)
SELECT %(day)s, method, success, error_type, count(*), sum(latency_ms), max(latency_ms)
FROM api_call_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY method, success, error_type;

DELETE FROM analytics_hourly_activity WHERE day = %(day)s;
INSERT INTO analytics_hourly_activity (day, hour, group_id, verifications, messages, joins)
SELECT %(day)s, hour, group_id, sum(v), sum(m), sum(j) FROM (
    SELECT extract(hour FROM timestamp AT TIME ZONE 'UTC')::int AS hour, group_id,
           1 AS v, 0 AS m, 0 AS j
    FROM verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
    UNION ALL
    SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::int, chat_id, 0, 1, 0
    FROM messages WHERE created_at >= %(start)s AND created_at < %(end)s
      AND {human_message}
    UNION ALL
    SELECT extract(hour FROM timestamp AT TIME ZONE 'UTC')::int, chat_id, 0, 0, 1
    FROM member_events WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND event = 'join' AND chat_id NOT IN (SELECT id FROM enforced_channels)
      AND {human_event}
) AS t GROUP BY hour, group_id;

DELETE FROM analytics_latency_histogram_daily WHERE day = %(day)s;
INSERT INTO analytics_latency_histogram_daily (day, source, bucket_le_ms, count)
SELECT %(day)s, source, bucket, count(*) FROM (
    SELECT 'verification' AS source, {bucket} AS bucket
    FROM verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
    UNION ALL
    SELECT 'api', {bucket}
    FROM api_call_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
) AS t GROUP BY source, bucket;

DELETE FROM analytics_group_daily WHERE day = %(day)s;
INSERT INTO analytics_group_daily
    (day, group_id, messages, active_users, verifications, passed, failed, joins, leaves)
SELECT %(day)s, group_id, sum(messages), sum(active_users), sum(verifications), sum(passed),
       sum(failed), sum(joins), sum(leaves) FROM (
    SELECT group_id, 0 AS messages, 0 AS active_users, count(*) AS verifications,
           count(*) FILTER (WHERE status = 'success') AS passed,
           count(*) FILTER (WHERE status = 'failed') AS failed, 0 AS joins, 0 AS leaves
    FROM verification_log WHERE timestamp >= %(start)s AND timestamp < %(end)s
    GROUP BY group_id
    UNION ALL
    SELECT chat_id, count(*), count(DISTINCT user_id), 0, 0, 0, 0, 0
    FROM messages WHERE created_at >= %(start)s AND created_at < %(end)s
      AND {human_message} GROUP BY chat_id
    UNION ALL
    SELECT chat_id, 0, 0, 0, 0, 0, count(*) FILTER (WHERE event = 'join'),
           count(*) FILTER (WHERE event IN ('leave', 'kick'))
    FROM member_events WHERE timestamp >= %(start)s AND timestamp < %(end)s
      AND chat_id NOT IN (SELECT id FROM enforced_channels) AND {human_event}
    GROUP BY chat_id
) AS t GROUP BY group_id;
"""


def _sql_aggregates() -> str:
    """The analytics as SQL, by DESIGN's definitions: humans only (``sender_kind = 'user'``,
    member events of people, not bots or Telegram's service accounts)."""
    from core.models import SERVICE_ACCOUNT_IDS

    service = ", ".join(str(i) for i in sorted(SERVICE_ACCOUNT_IDS))
    human_message = (
        f"sender_kind = 'user' AND NOT is_bot_message AND coalesce(user_id, 0) NOT IN ({service})"
    )
    human_event = f"NOT is_bot AND user_id NOT IN ({service})"
    return (
        SQL_AGGREGATES.replace("{bucket}", _bucket_case())
        .replace("{human_message}", human_message)
        .replace("{human_event}", human_event)
    )


def _bucket_case() -> str:
    from core.models import LATENCY_BUCKETS_MS

    whens = " ".join(f"WHEN latency_ms <= {float(b)} THEN {float(b)}" for b in LATENCY_BUCKETS_MS)
    return f"(CASE {whens} ELSE NULL END)"


def _times(rng: np.random.Generator, day: dt.date, n: int) -> pl.Series:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    micros = np.sort(rng.integers(0, 86_400_000_000, n))
    return pl.Series(micros).cast(pl.Duration("us")) + start


def _copy(conn: Any, table: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="")
    buffer.seek(0)
    with conn.cursor() as cur:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buffer)
    conn.commit()


def seed_day(dsn: str, day: dt.date, verifications: int, api_calls: int, messages: int) -> None:
    """Synthetic raw logs for one UTC day, loaded with COPY."""
    rng = np.random.default_rng(day.toordinal())
    groups = -1_000_000_000_000 - np.arange(GROUPS)
    status = rng.choice(["success", "failed", "error"], verifications, p=[0.8, 0.15, 0.05])
    v = pl.DataFrame(
        {
            "user_id": rng.integers(1, USERS, verifications),
            "group_id": rng.choice(groups, verifications),
            "status": status,
            "cached": rng.random(verifications) < 0.7,
            "latency_ms": rng.gamma(2.0, 40.0, verifications).round(3),
            "trigger": rng.choice(["join", "message", "callback", "channel_leave"], verifications),
            "channels_checked": rng.integers(1, 4, verifications),
            "timestamp": _times(rng, day, verifications),
        }
    ).with_columns(
        error_type=pl.when(pl.col("status") == "error").then(
            pl.lit(
                pl.Series(rng.choice(["NetworkError", "Forbidden", "RetryAfter"], verifications))
            )
        )
    )
    ok = rng.random(api_calls) < 0.95
    a = pl.DataFrame(
        {
            "method": rng.choice(
                ["getChatMember", "sendMessage", "restrictChatMember", "deleteMessage"], api_calls
            ),
            "chat_id": rng.choice(groups, api_calls),
            "user_id": rng.integers(1, USERS, api_calls),
            "success": ok,
            "latency_ms": rng.gamma(2.0, 60.0, api_calls).round(3),
            "timestamp": _times(rng, day, api_calls),
        }
    ).with_columns(
        error_type=pl.when(~pl.col("success")).then(
            pl.lit(pl.Series(rng.choice(["BadRequest", "RetryAfter"], api_calls)))
        )
    )
    bots = rng.random(messages) < 0.05
    m = pl.DataFrame(
        {
            "telegram_message_id": np.arange(messages),
            "chat_id": rng.choice(groups, messages),
            "user_id": rng.integers(1, USERS, messages),
            "content_type": ["text"] * messages,
            "is_bot_message": bots,
            "sender_kind": np.where(bots, "bot", "user"),
            "created_at": _times(rng, day, messages),
        }
    )
    n_events = max(messages // 10, 1)
    e = pl.DataFrame(
        {
            "chat_id": rng.choice(
                np.concatenate([groups, -2_000_000_000_000 - np.arange(CHANNELS)]), n_events
            ),
            "user_id": rng.integers(1, USERS, n_events),
            "event": rng.choice(["join", "join", "leave", "kick"], n_events),
            "timestamp": _times(rng, day, n_events),
            "is_bot": rng.random(n_events) < 0.02,
            "via_join_request": np.zeros(n_events, dtype=bool),
        }
    )
    conn = psycopg2.connect(dsn)
    try:
        for model, frame in zip(SEEDED, (v, a, m, e), strict=True):
            _copy(conn, model.__tablename__, frame)
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def ensure_channels(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO enforced_channels (id, title, created_at) "
            "SELECT -2000000000000 - g, 'channel', now() FROM generate_series(0, %s) AS g "
            "ON CONFLICT DO NOTHING",
            (CHANNELS - 1,),
        )
    conn.close()


def time_sql(dsn: str, day: dt.date) -> float:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    params = {"day": day, "start": start, "end": start + dt.timedelta(days=1)}
    conn = psycopg2.connect(dsn)
    try:
        began = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.execute(_sql_aggregates(), params)
        return time.perf_counter() - began
    finally:
        conn.close()


def _pipeline_child(url: str, day: dt.date, queue: Any) -> None:
    warnings.simplefilter("ignore")
    from core.settings import DatabaseSettings, Settings
    from pipelines.runner import materialize_range

    settings = Settings(db=DatabaseSettings(DATABASE_URL=url))
    # one warm-up run on an empty day: imports and first-use costs are not the aggregate's
    materialize_range(
        day - dt.timedelta(days=30),
        day - dt.timedelta(days=30),
        settings=settings,
        progress=False,
        summaries=False,
    )
    began = time.perf_counter()
    totals = materialize_range(day, day, settings=settings, progress=False, summaries=False)
    seconds = time.perf_counter() - began
    queue.put((seconds, _peak_rss_mb(), totals))


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``ru_maxrss`` survives fork+exec (it would report the parent's
    seeding peak), so read the kernel's high-water mark of this address space instead."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_pipeline(url: str, day: dt.date) -> tuple[float, float, dict[str, int]]:
    """Seconds and peak RSS (MB) of materialize_range(day, day) in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_pipeline_child, args=(url, day, queue))
    child.start()
    result = queue.get(timeout=1800)
    child.join()
    return result  # type: ignore[no-any-return]


def warm(dsn: str) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        for model in SEEDED:
            cur.execute(f"SELECT count(*) FROM {model.__tablename__}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 1M verifications / 1M API calls / 0.5M messages",
    )
    args = parser.parse_args()
    if not 0 < args.scale <= 4:
        parser.error("--scale must be in (0, 4]")
    n_v, n_a, n_m = (int(x * args.scale) for x in (1_000_000, 1_000_000, 500_000))
    with database(postgres=True) as url:
        dsn = plain_url(url)
        ensure_channels(dsn)
        began = time.perf_counter()
        seed_day(dsn, DAY_1X, n_v, n_a, n_m)
        seed_day(dsn, DAY_4X, 4 * n_v, 4 * n_a, 4 * n_m)
        print(
            f"seeded 1x ({n_v:,} verifications, {n_a:,} API calls, {n_m:,} messages) and 4x "
            f"in {time.perf_counter() - began:.1f}s"
        )
        warm(dsn)
        results: dict[str, dict[str, float]] = {}
        for label, day in (("1x", DAY_1X), ("4x", DAY_4X)):
            sql_s = time_sql(dsn, day)
            pipe_s, peak_mb, totals = time_pipeline(url, day)
            results[label] = {"sql": sql_s, "pipeline": pipe_s, "peak_mb": peak_mb}
            print(
                f"{label}: pipeline {pipe_s:.2f}s (peak RSS {peak_mb:.0f} MB), "
                f"SQL in PostgreSQL {sql_s:.2f}s, ratio {pipe_s / sql_s:.2f}; rows {totals}"
            )
        scaling = results["4x"]["pipeline"] / results["1x"]["pipeline"]
        print(
            f"pipeline 4x/1x: {scaling:.2f} (target <= 4.4); "
            f"SQL 4x/1x: {results['4x']['sql'] / results['1x']['sql']:.2f}"
        )
        print(f"pipeline_vs_sql: {results['1x']['pipeline'] / results['1x']['sql']:.2f}")


if __name__ == "__main__":
    main()
