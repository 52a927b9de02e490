"""Daily UTC partitions of every analytics asset."""

from __future__ import annotations

import datetime as dt

import dagster as dg

MAX_DAYS_PER_RUN = 7
"""Backfills run as ranges of at most this many days per run (one read of each raw table per
range; memory grows with the days of a range)."""


def daily_partitions(start: dt.date) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from ``start``; today's (still growing) day is included."""
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
    )


def partition_days(keys: list[str] | tuple[str, ...]) -> list[dt.date]:
    """The UTC days of partition keys, sorted."""
    return sorted(dt.date.fromisoformat(k) for k in keys)
