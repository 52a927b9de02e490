"""Daily UTC partitions of every analytics asset."""

from __future__ import annotations

import datetime as dt

import dagster as dg


def daily_partitions(start: dt.date) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from ``start``; today's (still growing) day is included."""
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
    )


def partition_days(keys: list[str] | tuple[str, ...]) -> list[dt.date]:
    """The UTC days of partition keys, sorted."""
    return sorted(dt.date.fromisoformat(k) for k in keys)
