"""The new analytics tables' figures as SQL over the raw rows, on SQLite and PostgreSQL.

Each entry of :func:`per_day_pairs` is (figures of the analytics table per day, the same
figures straight from the raw logs per day), both ``day, value...``. The muted backlog and
the verify-time quantiles, which need "the last event up to" and "the mute this unmute ends",
have their own queries below.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import sqlalchemy as sa

from core.models import SERVICE_ACCOUNT_IDS
from pipelines.io import sync_engine

SERVICE = ", ".join(str(i) for i in sorted(SERVICE_ACCOUNT_IDS))
HUMAN = f"NOT is_bot AND user_id NOT IN ({SERVICE})"
HUMAN_MESSAGE = (
    f"sender_kind = 'user' AND NOT is_bot_message AND coalesce(user_id, 0) NOT IN ({SERVICE})"
)
GROUP_CHAT = "chat_id NOT IN (SELECT id FROM enforced_channels)"
LINKED = "chat_id IN (SELECT channel_id FROM group_channel_links)"
SEND = "(method LIKE 'send%' OR method IN ('copyMessage', 'forwardMessage'))"
FUNNEL_EVENTS = {
    "prompted": "prompted",
    "clicked": "clicked",
    "passed": "passed",
    "unmuted": "unmuted",
    "join_requests": "join_request",
    "approved": "approved",
    "declined": "declined",
    "expired": "expired",
    "timed_out": "timed_out",
}


class Dialect:
    """Time expressions of one backend (SQLite keeps UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``)."""

    def __init__(self, backend: str) -> None:
        self.pg = backend == "postgresql"

    def day(self, col: str) -> str:
        if self.pg:
            return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({col}, 1, 10)"

    def trunc(self, col: str, unit: str) -> str:
        if self.pg:
            return f"date_trunc('{unit}', {col} AT TIME ZONE 'UTC')"
        return f"substr({col}, 1, {19 if unit == 'second' else 16})"

    def minus_days(self, col: str, days: int) -> str:
        if self.pg:
            return f"({col} - interval '{days} days')"
        return f"(datetime(substr({col}, 1, 19), '-{days} days') || substr({col}, 20))"

    def at(self, when: dt.datetime) -> str:
        if self.pg:
            return f"'{when.isoformat()}'::timestamptz"
        return f"'{when.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _sums(table: str, columns: str) -> str:
    sums = ", ".join(f"sum({c})" for c in columns.split(", "))
    return f"SELECT day, {sums} FROM {table} GROUP BY day"


ZEROS = ", ".join(["0"] * len(FUNNEL_EVENTS))


def per_day_pairs(backend: str) -> dict[str, tuple[str, str]]:
    q = Dialect(backend)
    ts, g = '"timestamp"', 'g."timestamp"'
    distinct = ", ".join(
        f"count(DISTINCT CASE WHEN event = '{e}' THEN user_id END) AS {c}"
        for c, e in FUNNEL_EVENTS.items()
    )
    return {
        "group_daily": (
            _sums(
                "analytics_group_daily",
                "kicks, bots_joined, reactions, reacting_users, silent_reactors",
            ),
            f"""
            SELECT d, sum(k), sum(b), sum(r), sum(u), sum(s) FROM (
                SELECT {q.day(ts)} AS d,
                       sum(CASE WHEN event = 'kick' AND {HUMAN} THEN 1 ELSE 0 END) AS k,
                       sum(CASE WHEN event = 'join' AND is_bot AND user_id NOT IN ({SERVICE})
                                THEN 1 ELSE 0 END) AS b, 0 AS r, 0 AS u, 0 AS s
                FROM member_events WHERE {GROUP_CHAT} GROUP BY 1
                UNION ALL
                SELECT {q.day(ts)}, 0, 0, sum(added), 0, 0 FROM reaction_events GROUP BY 1
                UNION ALL
                SELECT d, 0, 0, 0, count(*),
                       sum(CASE WHEN EXISTS (
                           SELECT 1 FROM messages AS m WHERE m.chat_id = p.chat_id
                           AND m.user_id = p.user_id AND {q.day("m.created_at")} = p.d
                           AND {HUMAN_MESSAGE}) THEN 0 ELSE 1 END)
                FROM (SELECT DISTINCT {q.day(ts)} AS d, chat_id, user_id FROM reaction_events
                      WHERE user_id IS NOT NULL AND user_id NOT IN ({SERVICE}) AND added > 0
                ) AS p GROUP BY d
            ) AS t GROUP BY d""",
        ),
        "funnel": (
            _sums(
                "analytics_funnel_daily",
                f"joined, {', '.join(FUNNEL_EVENTS)}, denied_clicks, messages_deleted",
            ),
            f"""
            SELECT d, sum(j), {", ".join(f"sum({c})" for c in FUNNEL_EVENTS)}, sum(dc), sum(md)
            FROM (
                SELECT {q.day(ts)} AS d, group_id, 0 AS j, {distinct}, 0 AS dc,
                       sum(CASE WHEN event = 'message_deleted' THEN 1 ELSE 0 END) AS md
                FROM gate_events GROUP BY 1, 2
                UNION ALL
                SELECT {q.day(ts)}, chat_id, count(DISTINCT user_id), {ZEROS},
                       0, 0
                FROM member_events WHERE event = 'join' AND {GROUP_CHAT} AND {HUMAN}
                GROUP BY 1, 2
                UNION ALL
                SELECT {q.day(ts)}, group_id, 0, {ZEROS}, count(*), 0
                FROM verification_log WHERE trigger = 'callback' AND status = 'failed'
                GROUP BY 1, 2
            ) AS t GROUP BY d""",
        ),
        "channel": (
            _sums(
                "analytics_channel_daily",
                "joins, leaves, joins_after_prompt, leaves_after_unmute_7d, subscriber_count",
            ),
            f"""
            SELECT d, sum(j), sum(lv), sum(jp), sum(lu), sum(sc) FROM (
                SELECT {q.day("e.timestamp")} AS d,
                       sum(CASE WHEN event = 'join' THEN 1 ELSE 0 END) AS j,
                       sum(CASE WHEN event IN ('leave', 'kick') THEN 1 ELSE 0 END) AS lv,
                       sum(CASE WHEN event = 'join' AND EXISTS ({_gate_before(q, "prompted", 1)})
                                THEN 1 ELSE 0 END) AS jp,
                       sum(CASE WHEN event IN ('leave', 'kick')
                                AND EXISTS ({_gate_before(q, "unmuted", 7)})
                                THEN 1 ELSE 0 END) AS lu,
                       0 AS sc
                FROM member_events AS e WHERE {LINKED} AND {HUMAN} GROUP BY 1
                UNION ALL
                SELECT {q.day("s.synced_at")}, 0, 0, 0, 0, sum(member_count)
                FROM member_count_snapshots AS s WHERE {LINKED} AND s.synced_at = (
                    SELECT max(synced_at) FROM member_count_snapshots AS o
                    WHERE o.chat_id = s.chat_id
                      AND {q.day("o.synced_at")} = {q.day("s.synced_at")})
                GROUP BY 1
            ) AS t GROUP BY d""",
        ),
        "budget": (
            _sums(
                "analytics_api_budget_daily",
                "calls, peak_calls_per_s, sends, peak_sends_per_s, peak_group_sends_per_min, "
                "retry_after, human_messages",
            ),
            f"""
            SELECT d, sum(c), sum(pc), sum(s), sum(ps), sum(pg), sum(r), sum(h) FROM (
                SELECT {q.day(ts)} AS d, count(*) AS c, 0 AS pc,
                       sum(CASE WHEN {SEND} THEN 1 ELSE 0 END) AS s, 0 AS ps, 0 AS pg,
                       sum(CASE WHEN error_type = 'RetryAfter' THEN 1 ELSE 0 END) AS r, 0 AS h
                FROM api_call_log WHERE method <> 'getUpdates' GROUP BY 1
                UNION ALL
                SELECT d, 0, max(n), 0, max(ns), 0, 0, 0 FROM (
                    SELECT {q.day(ts)} AS d, {q.trunc(ts, "second")} AS sec, count(*) AS n,
                           sum(CASE WHEN {SEND} THEN 1 ELSE 0 END) AS ns
                    FROM api_call_log WHERE method <> 'getUpdates' GROUP BY 1, 2
                ) AS per_second GROUP BY d
                UNION ALL
                SELECT d, 0, 0, 0, 0, max(n), 0, 0 FROM (
                    SELECT {q.day(ts)} AS d, chat_id, {q.trunc(ts, "minute")}, count(*) AS n
                    FROM api_call_log WHERE method <> 'getUpdates' AND {SEND}
                      AND chat_id IS NOT NULL GROUP BY 1, 2, 3
                ) AS per_minute GROUP BY d
                UNION ALL
                SELECT {q.day("created_at")}, 0, 0, 0, 0, 0, 0, count(*) FROM messages
                WHERE {HUMAN_MESSAGE} GROUP BY 1
            ) AS t GROUP BY d""",
        ),
        "topic": (
            _sums("analytics_topic_daily", "messages, active_users"),
            f"""
            SELECT d, sum(n), sum(u) FROM (
                SELECT {q.day("created_at")} AS d, count(*) AS n, count(DISTINCT user_id) AS u
                FROM messages WHERE {HUMAN_MESSAGE} AND message_thread_id IS NOT NULL
                GROUP BY 1, chat_id, message_thread_id
            ) AS t GROUP BY d""",
        ),
        "invite_link": (
            _sums("analytics_invite_link_daily", 'joins, passed, "left"'),
            f"""
            SELECT d, count(*),
                   sum(CASE WHEN EXISTS (
                       SELECT 1 FROM gate_events AS g WHERE g.group_id = j.chat_id
                       AND g.user_id = j.user_id AND g.event = 'passed'
                       AND {g} >= j.joined_at AND {q.day(g)} = j.d) THEN 1 ELSE 0 END),
                   sum(CASE WHEN EXISTS (
                       SELECT 1 FROM member_events AS x WHERE x.chat_id = j.chat_id
                       AND x.user_id = j.user_id AND x.event IN ('leave', 'kick')
                       AND NOT x.is_bot AND x."timestamp" > j.joined_at
                       AND {q.day('x."timestamp"')} = j.d) THEN 1 ELSE 0 END)
            FROM (
                SELECT {q.day(ts)} AS d, chat_id, invite_link_name, user_id,
                       min({ts}) AS joined_at
                FROM member_events WHERE event = 'join' AND invite_link_name IS NOT NULL
                  AND {GROUP_CHAT} AND {HUMAN} GROUP BY 1, 2, 3, 4
            ) AS j GROUP BY d""",
        ),
        "bot_rights": (
            _sums("analytics_bot_rights_daily", "changes"),
            f"SELECT {q.day(ts)}, count(*) FROM bot_rights GROUP BY 1",
        ),
    }


def _gate_before(q: Dialect, event: str, days: int) -> str:
    """A gate ``event`` of the member event ``e``'s user, in a group linking ``e``'s channel,
    in ``[e - days, e]``."""
    return f"""
        SELECT 1 FROM gate_events AS g JOIN group_channel_links AS l ON l.group_id = g.group_id
        WHERE l.channel_id = e.chat_id AND g.user_id = e.user_id AND g.event = '{event}'
          AND g."timestamp" >= {q.minus_days('e."timestamp"', days)}
          AND g."timestamp" <= e."timestamp"
    """


def still_muted(url: str, backend: str, day: dt.date) -> int:
    """Users whose last muted/unmuted event up to the end of ``day`` is ``muted`` (at one
    instant an unmute comes last)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    sql = f"""
        SELECT count(*) FROM (
            SELECT event, row_number() OVER (
                PARTITION BY group_id, user_id
                ORDER BY "timestamp" DESC, CASE WHEN event = 'unmuted' THEN 0 ELSE 1 END
            ) AS rn
            FROM gate_events WHERE event IN ('muted', 'unmuted') AND user_id IS NOT NULL
              AND "timestamp" < {Dialect(backend).at(end)}
        ) AS t WHERE rn = 1 AND event = 'muted'"""
    with sync_engine(url).connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def verify_quantiles(
    url: str, backend: str, first: dt.date, *, all_groups: bool = False
) -> dict[tuple[Any, ...], tuple[float, float]]:
    """(day, group) -> (p50, p90) of the seconds from the mute each unmute (from ``first`` on)
    ends to the unmute; the mute's start is the first ``muted`` since the previous unmute.
    ``all_groups``: (day,) -> the same over every group's unmutes."""
    q = Dialect(backend)
    since = dt.datetime.combine(first, dt.time(), dt.UTC)
    sql = f"""
        SELECT {q.day('u."timestamp"')}, u.group_id, u."timestamp", (
            SELECT min(m."timestamp") FROM gate_events AS m
            WHERE m.group_id = u.group_id AND m.user_id = u.user_id AND m.event = 'muted'
              AND m."timestamp" <= u."timestamp" AND NOT EXISTS (
                SELECT 1 FROM gate_events AS p WHERE p.group_id = u.group_id
                AND p.user_id = u.user_id AND p.event = 'unmuted'
                AND p."timestamp" >= m."timestamp" AND p."timestamp" < u."timestamp")
        ) FROM gate_events AS u
        WHERE u.event = 'unmuted' AND u.user_id IS NOT NULL AND u."timestamp" >= {q.at(since)}"""
    seconds: dict[tuple[Any, ...], list[float]] = {}
    with sync_engine(url).connect() as conn:
        for day, group, unmuted, muted in conn.execute(sa.text(sql)):
            if muted is not None:
                span = _when(unmuted) - _when(muted)
                key = (str(day),) if all_groups else (str(day), int(group))
                seconds.setdefault(key, []).append(span.total_seconds())
    return {k: (_linear(v, 0.5), _linear(v, 0.9)) for k, v in seconds.items()}


def _when(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _linear(values: list[float], q: float) -> float:
    """The quantile with linear interpolation (PostgreSQL's ``percentile_cont``)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
