"""When the dashboard reads a trailing-week table (``analytics_*_7d``) instead of adding up a
daily table's rows: the range shown is the 7 days ending at its last day (the pages' default),
and that day's week was written after every daily day it adds up (their marks in
``analytics_materializations``). A week left behind by a day computed again later, or a
deployment whose weeks were never computed, is read the long way: the same figures either way,
one row per group instead of seven."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.models import WINDOW_DAYS, AnalyticsMaterialization

MARKS = AnalyticsMaterialization.__table__


def is_week(start: dt.date, end: dt.date) -> bool:
    """Whether ``start`` to ``end`` are the :data:`WINDOW_DAYS` days a week row adds up."""
    return (end - start).days == WINDOW_DAYS - 1


def _newest(table: str, days: sa.ColumnElement[bool]) -> sa.ScalarSelect[dt.datetime]:
    m = MARKS
    return (
        sa.select(sa.func.max(m.c.materialized_at))
        .where(m.c.table_name == table, days)
        .scalar_subquery()
    )


def week_serves(
    engine: Engine, week: sa.Table, daily: sa.Table, start: dt.date, end: dt.date
) -> bool:
    """Whether ``week``'s rows of ``end`` hold ``daily`` summed over ``start`` to ``end``
    (:func:`is_week`, and written after each of those days of ``daily``)."""
    if not is_week(start, end):
        return False
    day = MARKS.c.partition_day
    stmt = sa.select(_newest(week.name, day == end), _newest(daily.name, day.between(start, end)))
    with engine.connect() as conn:
        written, added_up = conn.execute(stmt).one()
    return written is not None and (added_up is None or written >= added_up)
