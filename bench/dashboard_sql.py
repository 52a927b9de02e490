"""The names ``bench/dashboard_world.py`` imports, from where the reference SQL now lives
(:mod:`bench.reference`): kept only until that module imports them from there."""

from __future__ import annotations

from bench.reference import bucket_sql, day_sql
from bench.reference.ranges import (
    BUDGET,
    CHANNEL,
    FUNNEL,
    INSERTS,
    LINKS,
    REACTIONS,
    TOPICS,
    _distinct,
)

__all__ = [
    "BUDGET",
    "CHANNEL",
    "FUNNEL",
    "INSERTS",
    "LINKS",
    "REACTIONS",
    "TOPICS",
    "_distinct",
    "bucket_sql",
    "day_sql",
]
