"""Every analytics table the pipelines fill from the raw logs for one UTC day, as SQL inside
PostgreSQL (``day.sql``) by DESIGN.md's definitions: humans only (``sender_kind = 'user'``,
member events of people, not bots or Telegram's service accounts). Run in one transaction with
``day``, ``start`` and ``end`` (the day's bounds) as parameters (:func:`params`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.db import Base
from core.models import ANALYTICS_TABLES, LATENCY_BUCKETS_MS
from pipelines.transforms.gate import FUNNEL_USERS
from reference import SERVICE, bucket_sql, columns, quote

TEMPLATE = Path(__file__).with_suffix(".sql").read_text()
"""``day.sql``, with placeholders: ``{merged_views}``, ``{bucket}``, ``{buckets}``,
``{human_message}``, ``{human_event}``, ``{service}``, ``{latency_sum}``, the shared fragments
``{event_users}``, ``{segment}``, ``{unmute_seconds}``, ``{p50}``, ``{p90}``, and
``{columns:TABLE}`` for each table's ``INSERT`` column list."""
GROUP_COLUMNS = {
    "verification_log": "group_id",
    "messages": "chat_id",
    "member_events": "chat_id",
    "gate_events": "group_id",
    "reaction_events": "chat_id",
    "group_channel_links": "group_id",
}
"""The tables ``day.sql`` reads with a group's id, and that column. (``api_call_log`` is
not merged: Telegram's limits are per chat as called; channels never migrate.)"""
CHAT_NOW = """CREATE OR REPLACE TEMP VIEW chat_now AS
WITH RECURSIVE chain (old_chat_id, now_id, seen) AS (
    SELECT old_chat_id, new_chat_id, ARRAY[old_chat_id] FROM chat_migrations
    UNION ALL
    SELECT c.old_chat_id, m.new_chat_id, c.seen || m.old_chat_id
    FROM chain AS c JOIN chat_migrations AS m ON m.old_chat_id = c.now_id
    WHERE m.old_chat_id <> ALL (c.seen)  -- a cycle would be bad data: stop
)
SELECT DISTINCT ON (old_chat_id) old_chat_id, now_id FROM chain
ORDER BY old_chat_id, cardinality(seen) DESC;"""
"""``chat_now`` (``old_chat_id``, ``now_id``): each group that migrated and the id it has now,
a chain of migrations followed to its end."""


def merged_view(table: str, column: str) -> str:
    """``merged_TABLE``: ``table`` with the group id in ``column`` replaced by the id the group
    has now (:data:`CHAT_NOW`)."""
    select = ", ".join(
        f"coalesce(m.now_id, t.{quote(c)}) AS {quote(c)}" if c == column else f"t.{quote(c)}"
        for c in (col.name for col in Base.metadata.tables[table].columns)
    )
    return (
        f"CREATE OR REPLACE TEMP VIEW merged_{table} AS SELECT {select}\n"
        f"FROM {table} AS t LEFT JOIN chat_now AS m ON m.old_chat_id = t.{quote(column)};"
    )


MERGED_VIEWS = "\n".join([CHAT_NOW, *(merged_view(t, c) for t, c in GROUP_COLUMNS.items())])
"""The views every statement of ``day.sql`` reads the raw logs through (DESIGN: a group that
migrated to a supergroup is one group; analytics count the old id's rows under the new id)."""
HUMAN_MESSAGE = (
    f"sender_kind = 'user' AND NOT is_bot_message AND coalesce(user_id, 0) NOT IN ({SERVICE})"
)
HUMAN_EVENT = f"NOT is_bot AND user_id NOT IN ({SERVICE})"
EVENT_USERS = ",\n           ".join(
    f"count(DISTINCT user_id) FILTER (WHERE event = '{event}') AS {name}"
    for name, event in FUNNEL_USERS.items()
)
"""The users with each funnel event (``pipelines.transforms.gate.FUNNEL_USERS``)."""
SEGMENT = """count(*) FILTER (WHERE event = 'unmuted') OVER (
               PARTITION BY group_id, user_id ORDER BY timestamp, event = 'unmuted'
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"""
"""The span of a muted/unmuted event per group and user: the unmutes before it."""
UNMUTE_SECONDS = """SELECT u.group_id, extract(epoch FROM u.timestamp - m.at) AS seconds
        FROM mutes AS u JOIN (
            SELECT group_id, user_id, segment, min(timestamp) AS at FROM mutes
            WHERE event = 'muted' GROUP BY group_id, user_id, segment
        ) AS m USING (group_id, user_id, segment)
        WHERE u.event = 'unmuted' AND u.timestamp >= %(start)s"""
"""The day's unmutes (of CTE ``mutes``) and the seconds since their span's first mute."""
BUCKETS = "VALUES " + ", ".join(
    f"({b}::float8)" for b in (*(float(b) for b in LATENCY_BUCKETS_MS), "NULL")
)
"""The latency histogram's buckets as rows (``NULL`` = +inf)."""
LATENCY_SUM = "sum(round(latency_ms * 1000::float8)::bigint) / 1000.0"
"""The sum of ``latency_ms`` at 1 µs resolution (each latency rounded half to even, summed as
integers): a figure that does not depend on the order rows are summed in."""


def _to_microsecond(seconds: str) -> str:
    """Seconds rounded to the microsecond, half to even (``round`` of a double)."""
    return f"round(({seconds}) * 1e6::float8) / 1e6::float8"


P50 = _to_microsecond("percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)")
P90 = _to_microsecond("percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds)")


def script() -> str:
    """``day.sql`` filled in: the statements to run for one day."""
    sql = (
        TEMPLATE.replace("{merged_views}", MERGED_VIEWS)
        .replace("{bucket}", bucket_sql("latency_ms"))
        .replace("{human_message}", HUMAN_MESSAGE)
        .replace("{human_event}", HUMAN_EVENT)
        .replace("{service}", SERVICE)
        .replace("{buckets}", BUCKETS)
        .replace("{event_users}", EVENT_USERS)
        .replace("{segment}", SEGMENT)
        .replace("{unmute_seconds}", UNMUTE_SECONDS)
        .replace("{latency_sum}", LATENCY_SUM)
        .replace("{p50}", P50)
        .replace("{p90}", P90)
    )
    for table in ANALYTICS_TABLES:
        sql = sql.replace(f"{{columns:{table}}}", f"({columns(table)})")
    return sql


TABLES: tuple[str, ...] = tuple(t for t in ANALYTICS_TABLES if f"{{columns:{t}}}" in TEMPLATE)
"""The analytics tables ``day.sql`` fills, in ``ANALYTICS_TABLES``' order."""


def params(day: dt.date) -> dict[str, object]:
    """The parameters of :func:`script` for ``day``: the day and its UTC bounds."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return {"day": day, "start": start, "end": start + dt.timedelta(days=1)}
