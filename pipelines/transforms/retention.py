"""Retention cutoffs (pure): which raw rows are old enough to prune.

Every raw table that holds people's data and only matters for a while is pruned by one time
column (docs/PRIVACY.md lists them all, with what is deliberately kept):

- the append-only raw logs (``RAW_LOG_TABLES``) by their event time;
- ``alert_deliveries`` by ``attempted_at``: each row names a recipient's private chat id, and
  an attempt only matters while its alert is news (the alert itself is kept: it names a
  group, not a person, and the dashboard shows the alert history);
- ``user_restrictions`` by ``lifted_at``: lifted mutes are history; an active mute has no
  ``lifted_at`` (NULL never compares), so it is never pruned;
- ``users`` by ``last_seen_at``: a profile (names, username) of someone the bot has not seen
  for the retention period; someone who comes back is noted again at their next update;
- ``bot_private_chats`` by ``blocked_at``: someone who blocked the bot long ago cannot get
  alerts anyway; people who started it and did not block it stay (rows with NULL).

``update_health`` (the bot's delivery health, no personal data) goes by ``recorded_at`` too,
so the freshness block's history does not grow without end. The dashboard's owner access goes
the same way: ``dashboard_audit_log`` (who signed in or downloaded, from which address) by
``timestamp``, and ``dashboard_link_uses`` (the used links' nonces, which matter for the 10
minutes a link lives) by ``used_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from core.models import RAW_LOG_TABLES, time_column

TIME_COLUMNS: dict[str, str] = {
    **{name: time_column(name) for name in RAW_LOG_TABLES},
    "alert_deliveries": "attempted_at",
    "user_restrictions": "lifted_at",
    "users": "last_seen_at",
    "bot_private_chats": "blocked_at",
    "update_health": "recorded_at",
    "dashboard_audit_log": "timestamp",
    "dashboard_link_uses": "used_at",
}
"""Every table retention prunes, with the column it goes by: rows whose value is older than
the table's cutoff are deleted (rows where it is NULL never are)."""


def retention_days(default_days: int, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Days kept per pruned table: ``default_days`` unless ``overrides`` names the table.

    Unknown table names in ``overrides`` are refused (they would silently do nothing).
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(TIME_COLUMNS))
    if unknown:
        raise ValueError(
            f"retention overrides name unknown tables {unknown}; the tables retention prunes "
            f"are {list(TIME_COLUMNS)}"
        )
    return {name: overrides.get(name, default_days) for name in TIME_COLUMNS}


def cutoffs(
    now: dt.datetime, default_days: int, overrides: Mapping[str, int] | None = None
) -> dict[str, dt.datetime]:
    """Per pruned table, the instant before which rows are deleted."""
    days = retention_days(default_days, overrides)
    return {name: now - dt.timedelta(days=n) for name, n in days.items()}
