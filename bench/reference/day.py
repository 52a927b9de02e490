"""Every analytics table of one UTC day as SQL inside PostgreSQL (``day.sql``), by the
pipelines' definitions: humans only (``sender_kind = 'user'``, member events of people, not
bots or Telegram's service accounts). Run in one transaction with ``day``, ``start`` and
``end`` (the day's bounds) as parameters."""

from __future__ import annotations

from pathlib import Path

from bench.reference import SERVICE, bucket_sql, columns
from core.models import ANALYTICS_TABLES

TEMPLATE = Path(__file__).with_suffix(".sql").read_text()
"""``day.sql``, with placeholders: ``{bucket}``, ``{human_message}``, ``{human_event}``,
``{service}``, and ``{columns:TABLE}`` for each table's ``INSERT`` column list."""
HUMAN_MESSAGE = (
    f"sender_kind = 'user' AND NOT is_bot_message AND coalesce(user_id, 0) NOT IN ({SERVICE})"
)
HUMAN_EVENT = f"NOT is_bot AND user_id NOT IN ({SERVICE})"


def script() -> str:
    """``day.sql`` filled in: the statements to run for one day."""
    sql = (
        TEMPLATE.replace("{bucket}", bucket_sql("latency_ms"))
        .replace("{human_message}", HUMAN_MESSAGE)
        .replace("{human_event}", HUMAN_EVENT)
        .replace("{service}", SERVICE)
    )
    for table in ANALYTICS_TABLES:
        sql = sql.replace(f"{{columns:{table}}}", f"({columns(table)})")
    return sql
