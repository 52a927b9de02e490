"""The synthetic deployment behind ``bench/dashboard.py``: groups, channels, snapshots,
summaries and raw logs loaded with COPY into a migrated PostgreSQL database, then summarized into
the analytics tables by SQL that does what the pipelines do (one row per UTC day and key).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import psycopg2
import sqlalchemy as sa
from rich.progress import Progress

from bench.dashboard_sql import INSERTS, REACTIONS, _distinct, bucket_sql, day_sql
from dashboards.sql import make_engine

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
SHARES = {
    "verification_log": 0.35,
    "api_call_log": 0.28,
    "messages": 0.22,
    "member_events": 0.05,
    "gate_events": 0.06,
    "reaction_events": 0.04,
}
GATE_EVENTS = np.array(
    [
        "muted",
        "prompted",
        "clicked",
        "passed",
        "unmuted",
        "message_deleted",
        "join_request",
        "approved",
        "declined",
        "expired",
    ]
)
GATE_P = np.array([20, 20, 15, 12, 15, 10, 4, 2, 1, 1], dtype=float)
LINK_NAMES = np.array(["spring promo", "partners", "ads", "friends"])
FORUM_EVERY = 5
"""Every fifth group is a forum: 60% of its messages are in one of its topics."""


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


def dsn(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def _copy(conn: Any, table: str, frame: pl.DataFrame) -> None:
    """COPY every column of ``frame`` into the same-named columns of ``table``."""
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f")
    buf.seek(0)
    quoted = ", ".join('"' + c + '"' for c in frame.columns)
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
        forum = (-1_000_000_000_000 - groups) % FORUM_EVERY == 0
        return pl.DataFrame(
            {
                "telegram_message_id": np.arange(offset, offset + n),
                "chat_id": groups,
                "user_id": rng.integers(100_000_000, 100_050_000, n),
                "content": "hello there",
                "content_type": "text",
                "is_bot_message": False,
                "created_at": ts,
                "sender_kind": "user",  # every author here is a person (DESIGN's humans)
                "message_thread_id": _where(forum & (rng.random(n) < 0.6), rng.integers(1, 7, n)),
            }
        )
    if table == "gate_events":
        event = rng.choice(GATE_EVENTS, n, p=GATE_P / GATE_P.sum())
        result = rng.choice(np.array(['{"result": "passed"}', '{"result": "not_subscribed"}']), n)
        return pl.DataFrame(
            {
                "timestamp": ts,
                "group_id": groups,
                "user_id": rng.integers(100_000_000, 100_050_000, n),
                "event": event,
                "detail": _where(event == "clicked", result),
            }
        )
    if table == "reaction_events":
        anonymous = rng.random(n) < 0.1
        return pl.DataFrame(
            {
                "timestamp": ts,
                "chat_id": groups,
                "telegram_message_id": rng.integers(0, 1_000_000, n),
                "user_id": _where(~anonymous, rng.integers(100_000_000, 100_050_000, n)),
                "added": np.where(anonymous, rng.integers(1, 6, n), 1),
                "removed": 0,
            }
        )
    chats = np.where(rng.random(n) < 0.8, groups, rng.choice(world.channels, n))
    event = rng.choice(np.array(["join", "leave", "kick"]), n, p=[0.55, 0.4, 0.05])
    named = (chats == groups) & (event == "join") & (rng.random(n) < 0.3)
    return pl.DataFrame(
        {
            "chat_id": chats,
            "user_id": rng.integers(100_000_000, 100_050_000, n),
            "event": event,
            "timestamp": ts,
            "is_bot": False,
            "invite_link_name": _where(named, rng.choice(LINK_NAMES, n)),
            "via_join_request": False,
        }
    )


def load_raw(url: str, world: World, rows: int, seed: int, progress: Progress) -> None:
    """COPY ``rows`` raw rows split over the raw logs by :data:`SHARES` (indexes rebuilt
    afterwards)."""
    rng = np.random.default_rng(seed)
    conn = psycopg2.connect(dsn(url), options="-c timezone=UTC")
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
                _copy(conn, table, _raw_chunk(table, rng, n, world, done))
                done += n
                progress.advance(task, n)
        task = progress.add_task("rebuild raw indexes", total=len(indexes))
        with conn.cursor() as cur:
            for _, definition in indexes:
                cur.execute(definition)
                progress.advance(task)
    finally:
        conn.close()


SUMMARIZE = {
    "analytics_verification_daily": f"""
        INSERT INTO analytics_verification_daily
            (day, group_id, status, cached, error_type, trigger, checks, latency_ms_sum,
             latency_ms_max)
        SELECT {day_sql("timestamp")}, group_id, status, cached, error_type, trigger, count(*),
               sum(latency_ms), max(latency_ms)
        FROM verification_log GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1""",
    "analytics_api_calls_daily": f"""
        INSERT INTO analytics_api_calls_daily
            (day, method, success, error_type, calls, latency_ms_sum, latency_ms_max)
        SELECT {day_sql("timestamp")}, method, success, error_type, count(*), sum(latency_ms),
               max(latency_ms)
        FROM api_call_log GROUP BY 1, 2, 3, 4 ORDER BY 1""",
    "analytics_latency_histogram_daily": f"""
        INSERT INTO analytics_latency_histogram_daily (day, source, bucket_le_ms, count)
        SELECT {day_sql("timestamp")}, 'verification', {bucket_sql("latency_ms")}, count(*)
        FROM verification_log GROUP BY 1, 3
        UNION ALL
        SELECT {day_sql("timestamp")}, 'api', {bucket_sql("latency_ms")}, count(*)
        FROM api_call_log GROUP BY 1, 3 ORDER BY 1""",
    "analytics_hourly_activity": f"""
        INSERT INTO analytics_hourly_activity (day, hour, group_id, verifications, messages, joins)
        SELECT day, hour, group_id, sum(v), sum(m), sum(j) FROM (
            SELECT {day_sql("timestamp")} AS day,
                   extract(hour FROM timestamp AT TIME ZONE 'UTC')::int AS hour,
                   group_id, count(*) AS v, 0 AS m, 0 AS j
            FROM verification_log GROUP BY 1, 2, 3
            UNION ALL
            SELECT {day_sql("created_at")}, extract(hour FROM created_at AT TIME ZONE 'UTC')::int,
                   chat_id, 0, count(*), 0
            FROM messages GROUP BY 1, 2, 3
            UNION ALL
            SELECT {day_sql("timestamp")}, extract(hour FROM timestamp AT TIME ZONE 'UTC')::int,
                   chat_id, 0, 0, count(*)
            FROM member_events WHERE event = 'join'
              AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2, 3
        ) AS x GROUP BY 1, 2, 3 ORDER BY 1""",
    "analytics_group_daily": f"""
        INSERT INTO analytics_group_daily
            (day, group_id, messages, active_users, verifications, passed, failed, joins, leaves,
             kicks, bots_joined, reactions, reacting_users, silent_reactors)
        SELECT day, group_id, sum(m), sum(u), sum(v), sum(p), sum(f), sum(j), sum(l), sum(k),
               sum(b), sum(r), sum(ru), sum(sr) FROM (
            SELECT {day_sql("created_at")} AS day, chat_id AS group_id, count(*) AS m,
                   count(DISTINCT user_id) AS u, 0 AS v, 0 AS p, 0 AS f, 0 AS j, 0 AS l,
                   0 AS k, 0 AS b, 0 AS r, 0 AS ru, 0 AS sr
            FROM messages GROUP BY 1, 2
            UNION ALL
            SELECT {day_sql("timestamp")}, group_id, 0, 0, count(*),
                   count(*) FILTER (WHERE status = 'success'),
                   count(*) FILTER (WHERE status = 'failed'), 0, 0, 0, 0, 0, 0, 0
            FROM verification_log GROUP BY 1, 2
            UNION ALL
            SELECT {day_sql("timestamp")}, chat_id, 0, 0, 0, 0, 0,
                   count(*) FILTER (WHERE event = 'join' AND NOT is_bot),
                   count(*) FILTER (WHERE event IN ('leave', 'kick') AND NOT is_bot),
                   count(*) FILTER (WHERE event = 'kick' AND NOT is_bot),
                   count(*) FILTER (WHERE event = 'join' AND is_bot), 0, 0, 0
            FROM member_events WHERE chat_id IN (SELECT id FROM protected_groups) GROUP BY 1, 2
            UNION ALL
            SELECT day, group_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, reactions, reacting_users,
                   silent_reactors
            FROM ({REACTIONS}) AS reacted
        ) AS x GROUP BY 1, 2 ORDER BY 1""",
    **{
        table: f"INSERT INTO {table} ({columns}) {select}"
        for table, (columns, select) in INSERTS.items()
    },
    # after the per-group tables: their sums, with users distinct over all groups from raw
    "analytics_all_groups_daily": f"""
        INSERT INTO analytics_all_groups_daily
            (day, messages, active_users, verifications, passed, failed, cache_hits, joins,
             leaves, kicks, bots_joined, reactions, reacting_users, silent_reactors,
             funnel_groups, joined, prompted, clicked, gate_passed, unmuted, denied_clicks,
             still_muted, verify_s_p50, verify_s_p90, join_requests, approved, declined,
             expired, messages_deleted)
        WITH days AS (
            SELECT d::date AS day FROM generate_series(:first, :last, interval '1 day') AS d
        ), g AS (
            SELECT day, sum(messages) AS m, sum(verifications) AS v, sum(passed) AS p,
                   sum(failed) AS f, sum(joins) AS j, sum(leaves) AS l, sum(kicks) AS k,
                   sum(bots_joined) AS b, sum(reactions) AS r
            FROM analytics_group_daily
            WHERE group_id NOT IN (SELECT id FROM enforced_channels) GROUP BY 1
        ), fu AS (
            SELECT day, count(*) AS n, sum(denied_clicks) AS dc, sum(still_muted) AS sm,
                   sum(messages_deleted) AS md
            FROM analytics_funnel_daily GROUP BY 1
        ), hits AS (
            SELECT day, sum(checks) AS h FROM analytics_verification_daily WHERE cached
            GROUP BY 1
        ), authors AS (
            SELECT {day_sql("created_at")} AS day, count(DISTINCT user_id) AS u FROM messages
            WHERE chat_id IN (SELECT id FROM protected_groups) GROUP BY 1
        ), reactors AS (
            SELECT r.day, count(*) AS ru, count(*) FILTER (WHERE s.user_id IS NULL) AS sr
            FROM (
                SELECT DISTINCT {day_sql("timestamp")} AS day, user_id FROM reaction_events
                WHERE user_id IS NOT NULL AND chat_id IN (SELECT id FROM protected_groups)
            ) AS r LEFT JOIN (
                SELECT DISTINCT {day_sql("created_at")} AS day, user_id FROM messages
                WHERE sender_kind = 'user'
            ) AS s USING (day, user_id) GROUP BY 1
        ), ev AS (
            SELECT {day_sql("timestamp")} AS day, {_distinct("prompted")} AS pr,
                   {_distinct("clicked")} AS cl, {_distinct("passed")} AS pa,
                   {_distinct("unmuted")} AS un, {_distinct("join_request")} AS jr,
                   {_distinct("approved")} AS ap, {_distinct("declined")} AS de,
                   {_distinct("expired")} AS ex
            FROM gate_events GROUP BY 1
        ), jo AS (
            SELECT {day_sql("timestamp")} AS day, count(DISTINCT user_id) AS j
            FROM member_events WHERE event = 'join' AND NOT is_bot
              AND chat_id IN (SELECT id FROM protected_groups) GROUP BY 1
        )
        SELECT days.day, coalesce(m, 0), coalesce(u, 0), coalesce(v, 0), coalesce(p, 0),
               coalesce(f, 0), coalesce(h, 0), coalesce(g.j, 0), coalesce(l, 0),
               coalesce(k, 0), coalesce(b, 0), coalesce(r, 0), coalesce(ru, 0),
               coalesce(sr, 0), coalesce(n, 0), coalesce(jo.j, 0), coalesce(pr, 0),
               coalesce(cl, 0), coalesce(pa, 0), coalesce(un, 0), coalesce(dc, 0),
               coalesce(sm, 0), NULL, NULL, coalesce(jr, 0), coalesce(ap, 0),
               coalesce(de, 0), coalesce(ex, 0), coalesce(md, 0)
        FROM days LEFT JOIN g USING (day) LEFT JOIN fu USING (day) LEFT JOIN hits USING (day)
        LEFT JOIN authors USING (day) LEFT JOIN reactors USING (day) LEFT JOIN ev USING (day)
        LEFT JOIN jo USING (day) ORDER BY 1""",
    "analytics_all_groups_hourly": """
        INSERT INTO analytics_all_groups_hourly (day, hour, verifications, messages, joins)
        SELECT day, hour, sum(verifications), sum(messages), sum(joins)
        FROM analytics_hourly_activity GROUP BY 1, 2 ORDER BY 1, 2""",
}
"""Every analytics table and the statement that fills it from the raw logs, over the range
``:start`` - ``:end`` (``:first`` - ``:last`` as days): the whole world."""


def load_deployment(
    url: str, world: World, raw_rows: int, seed: int, progress: Progress
) -> dict[str, int]:
    """Groups, channels, snapshots, summaries, raw logs, then the analytics tables by SQL."""
    rng = np.random.default_rng(seed + 1)
    conn = psycopg2.connect(dsn(url), options="-c timezone=UTC")
    conn.autocommit = True
    created = dt.datetime.combine(world.first_day - dt.timedelta(days=30), dt.time())
    try:
        n = len(world.groups)
        _copy(
            conn,
            "protected_groups",
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
        # each group links one channel, each channel is linked by about two groups
        _copy(
            conn,
            "group_channel_links",
            pl.DataFrame(
                {
                    "group_id": world.groups,
                    "channel_id": world.channels[np.arange(n) % m],
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
    end = world.last_day + dt.timedelta(days=1)
    span = {
        "start": dt.datetime.combine(world.first_day, dt.time(), tzinfo=dt.UTC),
        "end": dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC),
        "first": world.first_day,
        "last": world.last_day,
    }
    counts: dict[str, int] = {}
    engine = make_engine(url)  # autocommit, UTC sessions
    try:
        task = progress.add_task("summarize into analytics tables", total=len(SUMMARIZE))
        with engine.connect() as conn:
            for table, sql in SUMMARIZE.items():
                counts[table] = conn.execute(sa.text(sql), span).rowcount
                progress.advance(task)
            for table in (*SUMMARIZE, "member_count_snapshots", "summaries"):
                conn.execute(
                    sa.text(
                        "INSERT INTO analytics_materializations (table_name, partition_day, "
                        "row_count, newest_source_at, materialized_at) "
                        "SELECT :table, d::date, 1, d + interval '23 hours', "
                        "d + interval '24 hours' "
                        "FROM generate_series(:first, :last, interval '1 day') AS d"
                    ),
                    {"table": table, **span},
                )
            conn.execute(sa.text("VACUUM ANALYZE"))  # autovacuum would, on tables this old
    finally:
        engine.dispose()
    return counts
