"""SQL building blocks shared by the dashboard's query modules: the read-only engine, integer
sums and UTC days on either backend (the group filter is the viewer's scope:
:meth:`dashboards.scope.Scope.group_filter`).

Kept apart from :mod:`dashboards.queries` so that the query modules (``queries`` for the first
analytics tables, ``gate_queries`` for the gate's own) share them without importing each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.db import create_sync_engine

GroupIds = tuple[int, ...]
"""Selected group ids; empty means every group."""


def make_engine(url: str) -> Engine:
    """The dashboard's engine for ``url`` (:func:`core.db.create_sync_engine`): a small pool of
    autocommit connections, for reads only."""
    return create_sync_engine(url, pool_size=4, autocommit=True)


def isum(column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """SUM of an integer column as an integer (PostgreSQL's SUM(bigint) is numeric)."""
    return sa.cast(sa.func.sum(column), sa.BigInteger())


def day_of(column: Any, backend: str) -> sa.ColumnElement[dt.date]:
    """The UTC calendar day of a timestamp column, on either backend."""
    if backend == "sqlite":  # UTC text 'YYYY-MM-DD HH:MM:SS...'
        return sa.type_coerce(sa.func.substr(column, 1, 10), sa.Date())
    return sa.cast(sa.func.timezone("UTC", column), sa.Date())


def start_of(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of ``day``."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def covers(engine: Engine, table: sa.Table, start: dt.date, end: dt.date) -> bool:
    """Whether the daily rollup ``table`` has a row in the range (one index probe). Without
    one (days materialized before the rollup existed) the per-group rows are summed instead."""
    stmt = sa.select(sa.exists().where(table.c.day.between(start, end)))
    with engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())
