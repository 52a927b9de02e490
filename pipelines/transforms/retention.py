"""Retention cutoffs (pure): which raw rows are old enough to prune."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from core.models import RAW_LOG_TABLES, time_column

TIME_COLUMNS: dict[str, str] = {name: time_column(name) for name in RAW_LOG_TABLES}
"""The time column of each raw log table; rows older than the cutoff are pruned."""


def cutoffs(
    now: dt.datetime, default_days: int, overrides: Mapping[str, int] | None = None
) -> dict[str, dt.datetime]:
    """Per raw log table, the instant before which rows are deleted.

    Unknown table names in ``overrides`` are refused (they would silently do nothing).
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(RAW_LOG_TABLES))
    if unknown:
        raise ValueError(
            f"retention overrides name unknown tables {unknown}; raw log tables are "
            f"{list(RAW_LOG_TABLES)}"
        )
    return {
        name: now - dt.timedelta(days=overrides.get(name, default_days)) for name in RAW_LOG_TABLES
    }
