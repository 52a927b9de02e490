"""Benchmark: the data behind every dashboard page, at 10M vs 10k raw rows, and vs raw logs.

Starts its own throwaway PostgreSQL (tests.support.pg) with two migrated databases:

* ``big``:   ``--raw-rows`` raw log rows (default 10M: 40% verification_log, 30% api_call_log,
  25% messages, 5% member_events) over ``--days`` days and ``--groups`` groups, loaded with
  COPY, then summarized into the analytics tables by SQL that does what the pipelines do (one
  row per UTC day and key). Snapshots, summaries, groups, channels and freshness rows too.
* ``small``: the same deployment (same groups, days, snapshots, summaries) with only
  ``--small-raw-rows`` raw rows (default 10k), summarized the same way.

It then times, for the default view (the last 7 days, every group):

* ``dashboard``: every query each page runs (``dashboards.queries.load_*``, no Streamlit cache)
  plus the page's own figure computations, on ``small`` and on ``big``;
* ``raw``: the same figures computed from the raw logs on request (the seed project's way),
  on ``big``. The totals are cross-checked against the dashboard's.

Medians of ``--repeat`` dashboard and ``--raw-repeat`` raw runs after a warm-up, the three
kinds of run alternating so the shared machine's load weighs on all alike. Prints a table,
``dashboard_10M_vs_10k`` (target <= 1.5) and, last, ``dashboard_vs_raw`` (target >= 50).
Loading 10M raw rows takes 3-5 minutes here (2 shared cores); ``--raw-rows`` scales it.

    uv run python -m bench.dashboard [--raw-rows 10000000] [--small-raw-rows 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import psycopg2
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine

from cli.db import run_migrations
from dashboards import queries
from dashboards.metrics import DateRange, checks_per_day, daily_quantiles, kpis, merge_histogram
from tests.support.pg import PostgresUnavailable, TempPostgres

console = Console(stderr=True)

ERRORS = np.array(
    ["TelegramError", "BadRequest", "ChatNotFound", "Forbidden", "NetworkError", "RetryAfter"]
)
TRIGGERS = np.array(["join", "message", "callback", "channel_leave"])
METHODS = np.array(
    [
        "getChatMember",
        "sendMessage",
        "restrictChatMember",
        "deleteMessage",
        "answerCallbackQuery",
        "getChat",
        "getChatMemberCount",
        "getUpdates",
        "editMessageText",
        "createChatInviteLink",
        "banChatMember",
        "getMe",
    ]
)
METHOD_P = np.array([45, 12, 8, 8, 7, 5, 4, 5, 2, 1, 1, 2], dtype=float)
_hours = np.arange(24)
HOUR_P = 0.35 + np.exp(-((_hours - 14) ** 2) / 30.0)  # quiet nights, busy afternoons (UTC)
HOUR_P /= HOUR_P.sum()
CHUNK = 1_000_000
SHARES = {"verification_log": 0.40, "api_call_log": 0.30, "messages": 0.25, "member_events": 0.05}
COLUMNS = {
    "verification_log": (
        "user_id",
        "group_id",
        "status",
        "cached",
        "latency_ms",
        "error_type",
        "trigger",
        "channels_checked",
        "timestamp",
    ),
    "api_call_log": (
        "method",
        "chat_id",
        "user_id",
        "success",
        "latency_ms",
        "error_type",
        "timestamp",
    ),
    "messages": (
        "telegram_message_id",
        "chat_id",
        "user_id",
        "content",
        "content_type",
        "is_bot_message",
        "created_at",
    ),
    "member_events": ("chat_id", "user_id", "event", "timestamp"),
}
BUCKETS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


@dataclass(frozen=True)
class World:
    groups: np.ndarray  # protected group ids
    group_p: np.ndarray  # traffic share of each group (Zipf-like)
    channels: np.ndarray
    first_day: dt.date
    days: int

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days - 1)


def make_world(groups: int, days: int, end: dt.date) -> World:
    weights = 1.0 / np.arange(1, groups + 1) ** 0.8
    return World(
        groups=-1_000_000_000_000 - np.arange(groups, dtype=np.int64),
        group_p=weights / weights.sum(),
        channels=-1_000_000_500_000 - np.arange(max(1, groups // 2), dtype=np.int64),
        first_day=end - dt.timedelta(days=days - 1),
        days=days,
    )


# --------------------------------------------------------------------------- loading


def _dsn(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def _copy(conn: Any, table: str, columns: tuple[str, ...], frame: pl.DataFrame) -> None:
    buf = io.BytesIO()
    frame.select(columns).write_csv(
        buf, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f"
    )
    buf.seek(0)
    quoted = ", ".join('"' + c + '"' for c in columns)
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv)", buf)


def _timestamps(rng: np.random.Generator, n: int, world: World) -> np.ndarray:
    day = rng.integers(0, world.days, n).astype("int64")
    hour = rng.choice(24, n, p=HOUR_P).astype("int64")
    usec = rng.integers(0, 3_600_000_000, n)
    base = np.datetime64(world.first_day.isoformat(), "us")
    stamps: np.ndarray = base + (day * 86_400_000_000 + hour * 3_600_000_000 + usec).astype(
        "timedelta64[us]"
    )
    return stamps


def _where(mask: np.ndarray, values: np.ndarray) -> pl.Series:
    """``values`` where ``mask`` holds, else null."""
    frame = pl.DataFrame({"v": values, "m": mask})
    return frame.select(pl.when(pl.col("m")).then(pl.col("v"))).to_series()


def _raw_chunk(
    table: str, rng: np.random.Generator, n: int, world: World, offset: int
) -> pl.DataFrame:
    ts = _timestamps(rng, n, world)
    groups = rng.choice(world.groups, n, p=world.group_p)
    users = rng.integers(100_000_000, 100_400_000, n)
    if table == "verification_log":
        status = rng.choice(np.array(["success", "failed", "error"]), n, p=[0.85, 0.12, 0.03])
        cached = (rng.random(n) < 0.6) & (status != "error")
        latency = np.where(cached, rng.lognormal(0.0, 0.6, n), rng.lognormal(np.log(60), 0.9, n))
        errors = rng.choice(ERRORS, n)
        return pl.DataFrame(
            {
                "user_id": users,
                "group_id": groups,
                "status": status,
                "cached": cached,
                "latency_ms": latency.round(3),
                "error_type": _where(status == "error", errors),
                "trigger": rng.choice(TRIGGERS, n, p=[0.25, 0.6, 0.1, 0.05]),
                "channels_checked": rng.integers(1, 4, n),
                "timestamp": ts,
            }
        )
    if table == "api_call_log":
        ok = rng.random(n) < 0.97
        errors = rng.choice(ERRORS, n)
        return pl.DataFrame(
            {
                "method": rng.choice(METHODS, n, p=METHOD_P / METHOD_P.sum()),
                "chat_id": groups,
                "user_id": users,
                "success": ok,
                "latency_ms": rng.lognormal(np.log(80), 0.7, n).round(3),
                "error_type": _where(~ok, errors),
                "timestamp": ts,
            }
        )
    if table == "messages":
        return pl.DataFrame(
            {
                "telegram_message_id": np.arange(offset, offset + n),
                "chat_id": groups,
                "user_id": rng.integers(100_000_000, 100_050_000, n),
                "content": "hello there",
                "content_type": "text",
                "is_bot_message": False,
                "created_at": ts,
            }
        )
    chats = np.where(rng.random(n) < 0.8, groups, rng.choice(world.channels, n))
    return pl.DataFrame(
        {
            "chat_id": chats,
            "user_id": users,
            "event": rng.choice(np.array(["join", "leave", "kick"]), n, p=[0.55, 0.4, 0.05]),
            "timestamp": ts,
        }
    )


def load_raw(url: str, world: World, rows: int, seed: int, progress: Progress) -> None:
    """COPY ``rows`` raw rows split over the four raw logs (indexes rebuilt afterwards)."""
    rng = np.random.default_rng(seed)
    conn = psycopg2.connect(_dsn(url), options="-c timezone=UTC")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                "AND indexname NOT LIKE 'pk_%%'",
                (list(SHARES),),
            )
            indexes = cur.fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
        task = progress.add_task(f"COPY {rows:,} raw rows", total=rows)
        for table, share in SHARES.items():
            todo = int(rows * share)
            done = 0
            while done < todo:
                n = min(CHUNK, todo - done)
                _copy(conn, table, COLUMNS[table], _raw_chunk(table, rng, n, world, done))
                done += n
                progress.advance(task, n)
        task = progress.add_task("rebuild raw indexes", total=len(indexes))
        with conn.cursor() as cur:
            for _, definition in indexes:
                cur.execute(definition)
                progress.advance(task)
    finally:
        conn.close()


def _day(col: str) -> str:
    return f"(({col}) AT TIME ZONE 'UTC')::date"


def _bucket(col: str) -> str:
    whens = " ".join(f"WHEN {col} <= {b} THEN {b}" for b in BUCKETS)
    return f"CASE {whens} ELSE NULL END"


SUMMARIZE = {
    "analytics_verification_daily": f"""
        INSERT INTO analytics_verification_daily
            (day, group_id, status, cached, error_type, trigger, checks, latency_ms_sum,
             latency_ms_max)
        SELECT {_day("timestamp")}, group_id, status, cached, error_type, trigger, count(*),
               sum(latency_ms), max(latency_ms)
        FROM verification_log GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1""",
    "analytics_api_calls_daily": f"""
        INSERT INTO analytics_api_calls_daily
            (day, method, success, error_type, calls, latency_ms_sum, latency_ms_max)
        SELECT {_day("timestamp")}, method, success, error_type, count(*), sum(latency_ms),
               max(latency_ms)
        FROM api_call_log GROUP BY 1, 2, 3, 4 ORDER BY 1""",
    "analytics_latency_histogram_daily": f"""
        INSERT INTO analytics_latency_histogram_daily (day, source, bucket_le_ms, count)
        SELECT {_day("timestamp")}, 'verification', {_bucket("latency_ms")}, count(*)
        FROM verification_log GROUP BY 1, 3
        UNION ALL
        SELECT {_day("timestamp")}, 'api', {_bucket("latency_ms")}, count(*)
        FROM api_call_log GROUP BY 1, 3 ORDER BY 1""",
    "analytics_hourly_activity": f"""
        INSERT INTO analytics_hourly_activity (day, hour, group_id, verifications, messages, joins)
        SELECT day, hour, group_id, sum(v), sum(m), sum(j) FROM (
            SELECT {_day("timestamp")} AS day,
                   extract(hour FROM timestamp AT TIME ZONE 'UTC')::int AS hour,
                   group_id, count(*) AS v, 0 AS m, 0 AS j
            FROM verification_log GROUP BY 1, 2, 3
            UNION ALL
            SELECT {_day("created_at")}, extract(hour FROM created_at AT TIME ZONE 'UTC')::int,
                   chat_id, 0, count(*), 0
            FROM messages GROUP BY 1, 2, 3
            UNION ALL
            SELECT {_day("timestamp")}, extract(hour FROM timestamp AT TIME ZONE 'UTC')::int,
                   chat_id, 0, 0, count(*)
            FROM member_events WHERE event = 'join'
              AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2, 3
        ) AS x GROUP BY 1, 2, 3 ORDER BY 1""",
    "analytics_group_daily": f"""
        INSERT INTO analytics_group_daily
            (day, group_id, messages, active_users, verifications, passed, failed, joins, leaves)
        SELECT day, group_id, sum(m), sum(u), sum(v), sum(p), sum(f), sum(j), sum(l) FROM (
            SELECT {_day("created_at")} AS day, chat_id AS group_id, count(*) AS m,
                   count(DISTINCT user_id) AS u, 0 AS v, 0 AS p, 0 AS f, 0 AS j, 0 AS l
            FROM messages GROUP BY 1, 2
            UNION ALL
            SELECT {_day("timestamp")}, group_id, 0, 0, count(*),
                   count(*) FILTER (WHERE status = 'success'),
                   count(*) FILTER (WHERE status = 'failed'), 0, 0
            FROM verification_log GROUP BY 1, 2
            UNION ALL
            SELECT {_day("timestamp")}, chat_id, 0, 0, 0, 0, 0,
                   count(*) FILTER (WHERE event = 'join'),
                   count(*) FILTER (WHERE event IN ('leave', 'kick'))
            FROM member_events WHERE chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2
        ) AS x GROUP BY 1, 2 ORDER BY 1""",
}


def load_deployment(
    url: str, world: World, raw_rows: int, seed: int, progress: Progress
) -> dict[str, int]:
    """Groups, channels, snapshots, summaries, raw logs, then the analytics tables by SQL."""
    rng = np.random.default_rng(seed + 1)
    conn = psycopg2.connect(_dsn(url), options="-c timezone=UTC")
    conn.autocommit = True
    created = dt.datetime.combine(world.first_day - dt.timedelta(days=30), dt.time())
    try:
        n = len(world.groups)
        _copy(
            conn,
            "protected_groups",
            ("id", "title", "enabled", "settings", "member_count", "created_at", "updated_at"),
            pl.DataFrame(
                {
                    "id": world.groups,
                    "title": [f"Group {i}" for i in range(n)],
                    "enabled": rng.random(n) < 0.95,
                    "settings": "{}",
                    "member_count": rng.integers(50, 50_000, n),
                    "created_at": created,
                    "updated_at": created,
                }
            ),
        )
        m = len(world.channels)
        _copy(
            conn,
            "enforced_channels",
            ("id", "username", "title", "subscriber_count", "created_at"),
            pl.DataFrame(
                {
                    "id": world.channels,
                    "username": [f"channel_{i}" for i in range(m)],
                    "title": [f"Channel {i}" for i in range(m)],
                    "subscriber_count": rng.integers(100, 100_000, m),
                    "created_at": created,
                }
            ),
        )
        # member counts every 6 hours for every chat (the sync asset's history)
        chats = np.concatenate([world.groups, world.channels])
        kinds = np.array(["group"] * n + ["channel"] * m)
        steps = world.days * 4
        base = np.datetime64(world.first_day.isoformat(), "us")
        when = base + (np.arange(steps, dtype="int64") * 6 * 3_600_000_000).astype(
            "timedelta64[us]"
        )
        start = rng.integers(50, 50_000, len(chats))
        _copy(
            conn,
            "member_count_snapshots",
            ("chat_id", "kind", "member_count", "synced_at"),
            pl.DataFrame(
                {
                    "chat_id": np.repeat(chats, steps),
                    "kind": np.repeat(kinds, steps),
                    "member_count": (
                        np.repeat(start, steps) + np.tile(np.arange(steps), len(chats))
                    ),
                    "synced_at": np.tile(when, len(chats)),
                }
            ),
        )
        # a 7-day and a 30-day summary per group and day
        days = [world.first_day + dt.timedelta(days=i) for i in range(world.days)]
        rows = [(int(g), kind, d) for g in world.groups for d in days for kind in ("7day", "30day")]
        _copy(
            conn,
            "summaries",
            (
                "chat_id",
                "summary_type",
                "content",
                "token_count",
                "period_start",
                "period_end",
                "created_at",
            ),
            pl.DataFrame(
                {
                    "chat_id": [r[0] for r in rows],
                    "summary_type": [r[1] for r in rows],
                    "content": "Members discussed the release, pricing and onboarding. " * 5,
                    "token_count": 60,
                    "period_start": [
                        dt.datetime.combine(
                            r[2] - dt.timedelta(days=7 if r[1] == "7day" else 30), dt.time()
                        )
                        for r in rows
                    ],
                    "period_end": [dt.datetime.combine(r[2], dt.time()) for r in rows],
                    "created_at": [dt.datetime.combine(r[2], dt.time(1)) for r in rows],
                }
            ),
        )
    finally:
        conn.close()
    load_raw(url, world, raw_rows, seed, progress)
    counts: dict[str, int] = {}
    conn = psycopg2.connect(_dsn(url), options="-c timezone=UTC")
    conn.autocommit = True
    try:
        task = progress.add_task("summarize into analytics tables", total=len(SUMMARIZE))
        with conn.cursor() as cur:
            for table, sql in SUMMARIZE.items():
                cur.execute(sql)
                counts[table] = cur.rowcount
                progress.advance(task)
            for table in (*SUMMARIZE, "member_count_snapshots", "summaries"):
                cur.execute(
                    "INSERT INTO analytics_materializations "
                    "(table_name, partition_day, row_count, newest_source_at, materialized_at) "
                    "SELECT %s, d::date, 1, d + interval '23 hours', d + interval '24 hours' "
                    "FROM generate_series(%s::date, %s::date, interval '1 day') AS d",
                    (table, world.first_day, world.last_day),
                )
            cur.execute("VACUUM ANALYZE")  # autovacuum would, on tables this old
    finally:
        conn.close()
    return counts


# --------------------------------------------------------------------------- the pages


def _ts(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


PageData = dict[str, Any]


def dashboard_pages(engine: Engine, r: DateRange) -> dict[str, Callable[[], PageData]]:
    """What each page loads (the uncached ``load_*``) and computes, for range ``r``."""
    p = r.previous()
    end_ts = _ts(r.end + dt.timedelta(days=1))
    prev_ts = _ts(p.end + dt.timedelta(days=1))

    def overview() -> PageData:
        q = queries
        ver = checks_per_day(
            q.load_group_days(engine, p.start, r.end), q.load_cache_hits(engine, p.start, r.end)
        )
        hist = q.load_histogram(engine, p.start, r.end, "verification")
        api = q.load_api_totals(engine, p.start, r.end)
        groups = q.load_groups(engine)
        ids = [int(i) for i in groups.loc[groups["enabled"], "id"]]
        members = q.load_counts_at(engine, "group", [end_ts, prev_ts], ids)
        fresh = q.load_freshness(engine)
        cur = ver[ver["day"] >= r.start]
        now_members = int(members.loc[members["at"] == 0, "member_count"].sum())
        figures = kpis(
            cur, hist[hist["day"] >= r.start], api[api["day"] >= r.start], len(ids), now_members
        )
        return {"checks": figures.checks, "fresh": len(fresh), "members": now_members}

    def verification() -> PageData:
        ver = queries.load_verification(engine, r.start, r.end)
        hist = queries.load_histogram(engine, r.start, r.end, "verification")
        daily_quantiles(hist)
        merge_histogram(hist)
        return {
            "checks": int(ver["checks"].sum()),
            "checks_per_day": ver.groupby("day")["checks"].sum().to_dict(),
        }

    def activity() -> PageData:
        hourly = queries.load_hourly(engine, r.start, r.end)
        daily = queries.load_group_days(engine, r.start, r.end)
        return {
            "messages": int(hourly["messages"].sum()),
            "messages_per_day": daily.set_index("day")["messages"].to_dict(),
        }

    def groups() -> PageData:
        catalog = queries.load_groups(engine)
        channels = queries.load_channels(engine)
        per_group = queries.load_group_totals(engine, r.start, r.end).set_index("group_id")
        top = catalog.sort_values("member_count", ascending=False)["id"].head(10)
        queries.load_snapshot_history(engine, "group", r.start, r.end, [int(i) for i in top])
        chan = channels.sort_values("subscriber_count", ascending=False)["id"].head(5)
        queries.load_snapshot_history(engine, "channel", r.start, r.end, [int(i) for i in chan])
        return {"top_checks": per_group["verifications"].nlargest(10).to_dict()}

    def api_calls() -> PageData:
        api = queries.load_api_calls(engine, r.start, r.end)
        hist = queries.load_histogram(engine, r.start, r.end, "api")
        merge_histogram(hist)
        return {"calls_per_method": api.groupby("method")["calls"].sum().to_dict()}

    def summaries() -> PageData:
        chat = queries.load_summary_chats(engine)[0]
        return {"summaries": len(queries.load_summaries(engine, chat))}

    return {
        "overview": overview,
        "verification": verification,
        "activity": activity,
        "groups": groups,
        "api_calls": api_calls,
        "summaries": summaries,
    }


def raw_pages(engine: Engine, r: DateRange) -> dict[str, Callable[[], PageData]]:
    """The same figures computed from the raw logs on request, for range ``r``."""
    p = r.previous()
    win = {"start": _ts(r.start), "end": _ts(r.end + dt.timedelta(days=1))}
    both = {"start": _ts(p.start), "end": win["end"], "cur": win["start"]}
    dash = dashboard_pages(engine, r)  # pages whose data is not from raw logs

    def frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
        with engine.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            return pd.DataFrame(result.all(), columns=list(result.keys()))

    ts_range = "timestamp >= :start AND timestamp < :end"

    def overview() -> PageData:
        ver = frame(
            f"SELECT timestamp >= :cur AS current, status, cached, count(*) AS checks "
            f"FROM verification_log WHERE {ts_range} GROUP BY 1, 2, 3",
            both,
        )
        frame(
            f"SELECT timestamp >= :cur AS current, percentile_cont(0.95) WITHIN GROUP "
            f"(ORDER BY latency_ms) FROM verification_log WHERE {ts_range} GROUP BY 1",
            both,
        )
        frame(
            f"SELECT timestamp >= :cur AS current, success, count(*) FROM api_call_log "
            f"WHERE {ts_range} GROUP BY 1, 2",
            both,
        )
        frame(
            f"SELECT {_day('timestamp')} AS day, status, count(*) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1, 2",
            win,
        )
        for table, col in (
            ("verification_log", "timestamp"),
            ("api_call_log", "timestamp"),
            ("messages", "created_at"),
            ("member_events", "timestamp"),
        ):
            frame(f"SELECT max({col}) FROM {table}", {})
        groups = queries.load_groups(engine)
        ids = [int(i) for i in groups.loc[groups["enabled"], "id"]]
        queries.load_counts_at(engine, "group", [win["end"], both["cur"]], ids)
        return {"checks": int(ver.loc[ver["current"], "checks"].sum())}

    def verification() -> PageData:
        ver = frame(
            f"SELECT {_day('timestamp')} AS day, status, cached, error_type, trigger, "
            f"count(*) AS checks, sum(latency_ms), max(latency_ms) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1, 2, 3, 4, 5",
            win,
        )
        frame(
            f"SELECT {_day('timestamp')} AS day, percentile_cont(ARRAY[0.5, 0.95, 0.99]) "
            f"WITHIN GROUP (ORDER BY latency_ms) FROM verification_log WHERE {ts_range} "
            "GROUP BY 1",
            win,
        )
        frame(
            f"SELECT {_bucket('latency_ms')} AS bucket, count(*) FROM verification_log "
            f"WHERE {ts_range} GROUP BY 1",
            win,
        )
        return {
            "checks": int(ver["checks"].sum()),
            "checks_per_day": ver.groupby("day")["checks"].sum().to_dict(),
        }

    def activity() -> PageData:
        hourly = frame(
            f"""SELECT day, hour, sum(v) AS verifications, sum(m) AS messages, sum(j) AS joins
            FROM (
              SELECT {_day("timestamp")} AS day,
                     extract(hour FROM timestamp AT TIME ZONE 'UTC') AS hour,
                     count(*) AS v, 0 AS m, 0 AS j
              FROM verification_log WHERE {ts_range} GROUP BY 1, 2
              UNION ALL
              SELECT {_day("created_at")}, extract(hour FROM created_at AT TIME ZONE 'UTC'),
                     0, count(*), 0
              FROM messages WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2
              UNION ALL
              SELECT {_day("timestamp")}, extract(hour FROM timestamp AT TIME ZONE 'UTC'),
                     0, 0, count(*)
              FROM member_events WHERE {ts_range} AND event = 'join'
                AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2
            ) AS x GROUP BY 1, 2""",
            win,
        )
        daily = frame(
            f"SELECT day, sum(m) AS messages, sum(u) AS active_users FROM ("
            f" SELECT {_day('created_at')} AS day, chat_id, count(*) AS m,"
            f" count(DISTINCT user_id) AS u FROM messages"
            f" WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2) AS x GROUP BY 1",
            win,
        )
        frame(
            f"SELECT {_day('timestamp')} AS day, event, count(*) FROM member_events "
            f"WHERE {ts_range} AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2",
            win,
        )
        return {
            "messages": int(hourly["messages"].sum()),
            "messages_per_day": daily.set_index("day")["messages"].to_dict(),
        }

    def groups() -> PageData:
        checks = frame(
            f"SELECT group_id, count(*) AS verifications, count(*) FILTER "
            f"(WHERE status = 'success') AS passed FROM verification_log WHERE {ts_range} "
            "GROUP BY 1",
            win,
        )
        frame(
            "SELECT chat_id, count(*) AS messages FROM messages "
            "WHERE created_at >= :start AND created_at < :end GROUP BY 1",
            win,
        )
        catalog = queries.load_groups(engine)
        channels = queries.load_channels(engine)
        top = catalog.sort_values("member_count", ascending=False)["id"].head(10)
        queries.load_snapshot_history(engine, "group", r.start, r.end, [int(i) for i in top])
        chan = channels.sort_values("subscriber_count", ascending=False)["id"].head(5)
        queries.load_snapshot_history(engine, "channel", r.start, r.end, [int(i) for i in chan])
        return {"top_checks": checks.set_index("group_id")["verifications"].nlargest(10).to_dict()}

    def api_calls() -> PageData:
        api = frame(
            f"SELECT {_day('timestamp')} AS day, method, success, error_type, count(*) AS calls,"
            f" sum(latency_ms), max(latency_ms) FROM api_call_log WHERE {ts_range}"
            " GROUP BY 1, 2, 3, 4",
            win,
        )
        frame(
            f"SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)"
            f" FROM api_call_log WHERE {ts_range}",
            win,
        )
        return {"calls_per_method": api.groupby("method")["calls"].sum().to_dict()}

    return {
        "overview": overview,
        "verification": verification,
        "activity": activity,
        "groups": groups,
        "api_calls": api_calls,
        "summaries": dash["summaries"],
    }


def _timed(load: Callable[[], PageData]) -> float:
    started = time.perf_counter()
    load()
    return time.perf_counter() - started


def measure_all(
    small: dict[str, Callable[[], PageData]],
    big: dict[str, Callable[[], PageData]],
    raw: dict[str, Callable[[], PageData]],
    repeat: int,
    raw_repeat: int,
) -> tuple[
    dict[str, float], dict[str, float], dict[str, float], dict[str, PageData], dict[str, PageData]
]:
    """Median seconds per page on ``small``, ``big`` and from ``raw`` logs, after a warm-up of
    each. The runs alternate (small, big, now and then raw) so that the load of this shared,
    noisy machine weighs on all three alike. Also returns the big and raw pages' data."""
    times: dict[str, dict[str, float]] = {"small": {}, "big": {}, "raw": {}}
    big_data: dict[str, PageData] = {}
    raw_data: dict[str, PageData] = {}
    step = max(1, repeat // max(1, raw_repeat))
    for name in small:
        small[name]()
        big_data[name] = big[name]()
        raw_data[name] = raw[name]()
        runs: dict[str, list[float]] = {"small": [], "big": [], "raw": []}
        for i in range(repeat):
            runs["small"].append(_timed(small[name]))
            runs["big"].append(_timed(big[name]))
            if i % step == 0 and len(runs["raw"]) < raw_repeat:
                runs["raw"].append(_timed(raw[name]))
        while len(runs["raw"]) < raw_repeat:
            runs["raw"].append(_timed(raw[name]))
        for kind, values in runs.items():
            times[kind][name] = statistics.median(values)
    return times["small"], times["big"], times["raw"], big_data, raw_data


def _short(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in value.items()}
    return int(value) if isinstance(value, (int, np.integer)) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--raw-rows", type=int, default=10_000_000, help="raw rows in 'big'")
    parser.add_argument("--small-raw-rows", type=int, default=10_000, help="raw rows in 'small'")
    parser.add_argument("--days", type=int, default=90, help="days of history")
    parser.add_argument("--groups", type=int, default=200, help="protected groups")
    parser.add_argument("--range-days", type=int, default=7, help="days the pages show")
    parser.add_argument("--repeat", type=int, default=15, help="timed dashboard runs per page")
    parser.add_argument("--raw-repeat", type=int, default=3, help="timed raw runs per page")
    args = parser.parse_args(argv)
    if min(args.raw_rows, args.small_raw_rows, args.days, args.groups, args.repeat) < 1:
        parser.error("every count must be >= 1")
    if args.range_days * 2 > args.days:
        parser.error("--days must cover at least twice --range-days (KPI deltas)")

    world = make_world(args.groups, args.days, dt.datetime.now(dt.UTC).date())
    r = DateRange(world.last_day - dt.timedelta(days=args.range_days - 1), world.last_day)
    try:
        server = TempPostgres()
    except PostgresUnavailable as exc:
        console.print(f"[red]error:[/] {exc}")
        return 3
    try:
        server.start()
        admin = psycopg2.connect(_dsn(server.url()))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE big")
            cur.execute("CREATE DATABASE small")
        admin.close()
        urls = {name: server.url(name) for name in ("small", "big")}
        analytics: dict[str, dict[str, int]] = {}
        started = time.perf_counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for name, rows in (("small", args.small_raw_rows), ("big", args.raw_rows)):
                run_migrations(urls[name])
                analytics[name] = load_deployment(
                    urls[name], world, rows, seed=11, progress=progress
                )
        console.print(f"loaded in {time.perf_counter() - started:.0f} s")

        engines = {name: queries.make_engine(url) for name, url in urls.items()}
        small_t, big_t, raw_t, big_d, raw_d = measure_all(
            dashboard_pages(engines["small"], r),
            dashboard_pages(engines["big"], r),
            raw_pages(engines["big"], r),
            args.repeat,
            args.raw_repeat,
        )
        for engine in engines.values():
            engine.dispose()
    finally:
        server.cleanup()

    mismatches = [
        f"{page}.{key}"
        for page, data in raw_d.items()
        for key, value in data.items()
        if key in big_d[page] and _norm(big_d[page][key]) != _norm(value)
    ]
    print(f"PostgreSQL, {args.groups} groups, {args.days} days; pages show {r.label()}")
    for name in ("small", "big"):
        rows = args.small_raw_rows if name == "small" else args.raw_rows
        detail = ", ".join(
            f"{k.removeprefix('analytics_')}={v:,}" for k, v in analytics[name].items()
        )
        total_rows = sum(analytics[name].values())
        print(f"{name}: {rows:,} raw rows -> {total_rows:,} analytics rows ({detail})")
    lo, hi = _short(args.small_raw_rows), _short(args.raw_rows)
    print(
        f"{'page':<14}{lo + ' ms':>10}{hi + ' ms':>10}{hi + '/' + lo:>10}"
        f"{'raw ' + hi + ' ms':>14}{'raw/dash':>10}"
    )
    for page in small_t:
        print(
            f"{page:<14}{small_t[page] * 1e3:>10.1f}{big_t[page] * 1e3:>10.1f}"
            f"{big_t[page] / small_t[page]:>10.2f}{raw_t[page] * 1e3:>14.1f}"
            f"{raw_t[page] / big_t[page]:>10.1f}"
        )
    total_small, total_big, total_raw = (sum(t.values()) for t in (small_t, big_t, raw_t))
    print(
        f"{'all pages':<14}{total_small * 1e3:>10.1f}{total_big * 1e3:>10.1f}"
        f"{total_big / total_small:>10.2f}{total_raw * 1e3:>14.1f}{total_raw / total_big:>10.1f}"
    )
    print(
        "cross-check dashboard figures vs raw logs: "
        + ("identical" if not mismatches else f"DIFFERENT in {', '.join(mismatches)}")
    )
    print(f"dashboard_{hi}_vs_{lo}: {total_big / total_small:.2f}  (target <= 1.5)")
    print(f"dashboard_vs_raw: {total_raw / total_big:.1f}")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    raise SystemExit(main())
