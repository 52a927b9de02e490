"""Daily UTC partitions of every analytics asset; weekly ones (Monday to Monday) of the digests."""

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


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week (weeks run Monday 00:00 UTC to the next Monday)."""
    return day - dt.timedelta(days=day.weekday())


def weekly_partitions(start: dt.date) -> dg.WeeklyPartitionsDefinition:
    """One partition per finished UTC week, Monday to Monday, from the week holding ``start``
    (keys are the Mondays); the week still running is not one yet."""
    return dg.WeeklyPartitionsDefinition(
        start_date=week_start(start).isoformat(), day_offset=1, timezone="UTC", fmt="%Y-%m-%d"
    )
