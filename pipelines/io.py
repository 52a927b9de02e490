"""Database I/O for the pipelines: read raw rows fast, write results back in bulk.

What is read is declared in :mod:`pipelines.sources`.

Reads (measured by ``bench/pipeline.py`` and the notes in the README):
- PostgreSQL: ADBC (``adbc_driver_postgresql``; binary COPY straight into Arrow). About 0.7 s
  for 1M verification rows here, against 1.0-1.2 s with connectorx.
- SQLite: connectorx (0.6-0.75 s for 200k rows here; ADBC sqlite 0.6 s but it infers column
  types from the first rows, which breaks on a mostly-NULL ``error_type``; stdlib ``sqlite3``
  2.0-2.7 s). Timestamps are UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, filtered with string
  bounds and made ``Datetime("us", "UTC")`` here.

Reads for a run are streamed and spooled (:mod:`pipelines.rawstore`): the rows arrive in
chunks, each chunk is conformed, checked against its raw model and its valid rows written to
a Parquet file in a per-run temporary directory. The transforms scan those files
lazily on polars' streaming engine, which reads only the columns each plan uses (projection
pushdown) in morsels. So a run never holds a whole day of raw rows: its peak memory follows
the chunk size and the aggregates' state (groups, distinct users), not the raw volume, and a
range of days (a single-run backfill) is one query per raw table whatever its length.

Writes replace whole UTC days of an analytics table in ONE transaction: delete the days, insert
the new rows (PostgreSQL: ``COPY ... FROM STDIN`` through psycopg2; SQLite: ``executemany``),
and record one ``analytics_materializations`` row per day.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import connectorx as cx
import polars as pl
import sqlalchemy as sa

from core.bulk import insert_frame
from core.db import Base, create_sync_engine, plain_url, sqlite_path
from core.models import time_column
from pipelines.sources import MIGRATIONS_SCHEMA, RawSource

UTC = dt.UTC
SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[first 00:00 UTC, last+1 00:00 UTC)``."""
    start = dt.datetime.combine(first, dt.time(), UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC)
    return start, end


def select_sql(source: RawSource, bounds: tuple[str, str]) -> str:
    # Column and table names come from the module constants above, never from input;
    # the time window is always rendered here from datetimes or bound as a parameter.
    if source.query:
        return source.query.format(start=bounds[0], end=bounds[1])
    cols = ", ".join(f'"{c}"' for c in source.columns)
    where = f'"{source.time_column}" >= {bounds[0]} AND "{source.time_column}" < {bounds[1]}'
    if source.extra_where:
        where += f" AND {source.extra_where}"
    return f'SELECT {cols} FROM "{source.table}" WHERE {where}'


def empty_frame(source: RawSource) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(source.columns))


def read_raw(
    engine: sa.Engine, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """Raw rows of ``source`` with ``start <= time < end`` as a frame of ``source.columns``
    (read through the fast drivers on the database of ``engine``)."""
    if engine.dialect.name == "sqlite":
        return _read_sqlite(engine.url, source, start, end)
    return _read_postgres(engine.url, source, start, end)


def _read_postgres(
    url: sa.URL, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    # measured: pyarrow and the ADBC driver take seconds to import, paid only by PostgreSQL
    # reads (never on SQLite, nor by a process that only loads the code location)
    import adbc_driver_postgresql.dbapi as adbc

    # No bind parameters on purpose: ADBC streams a parameterless query with binary COPY, but
    # runs a parameterized one as a prepared statement (2-3x slower here). The bounds are
    # rendered from datetimes by this module, never taken from input.
    sql = select_sql(
        source, (f"'{start.isoformat()}'::timestamptz", f"'{end.isoformat()}'::timestamptz")
    )
    with adbc.connect(plain_url(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return conform(frame, source)


def sqlite_text(when: dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _read_sqlite(
    url: sa.URL, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """connectorx (types from the declared columns, about 3x faster than ``sqlite3`` here);
    the stdlib driver when connectorx cannot read the rows (e.g. a malformed timestamp text,
    which the stdlib path turns into NULL for the raw model to report)."""
    # connectorx takes no bind parameters: the bounds are rendered here from datetimes
    bounds = (f"'{sqlite_text(start)}'", f"'{sqlite_text(end)}'")
    try:
        frame = cx.read_sql(
            f"sqlite://{sqlite_path(url)}", select_sql(source, bounds), return_type="polars"
        )
    except Exception:
        return _read_sqlite_stdlib(url, source, start, end)
    return conform(frame, source)


def _read_sqlite_stdlib(
    url: sa.URL, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    sql = select_sql(source, (":start", ":end"))
    conn = sqlite3.connect(sqlite_path(url), timeout=30)
    try:
        params = {"start": sqlite_text(start), "end": sqlite_text(end)}
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    if not rows:
        return empty_frame(source)
    return typed_rows(rows, source)


def typed_rows(rows: list[Any], source: RawSource) -> pl.DataFrame:
    """``sqlite3`` rows as a frame of ``source.columns`` (a malformed value becomes NULL)."""
    names = list(source.columns)
    # floats may come back as ints from SQLite: let polars infer, then cast
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    exprs = []
    for name, dtype in source.columns.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            exprs.append(
                col.cast(pl.String).str.to_datetime(
                    SQLITE_TS_FORMAT, time_unit="us", time_zone="UTC", strict=False
                )
            )
        elif dtype == pl.Boolean:
            exprs.append(col.cast(pl.Int64, strict=False).cast(pl.Boolean))
        else:
            exprs.append(col.cast(dtype, strict=False))
    return frame.select(exprs)


def conform(frame: pl.DataFrame, source: RawSource) -> pl.DataFrame:
    if frame.height == 0:
        return empty_frame(source)
    exprs = []
    for name, dtype in source.columns.items():
        col = pl.col(name)
        have = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and have == pl.String:
            col = col.str.to_datetime(
                SQLITE_TS_FORMAT, time_unit="us", time_zone="UTC", strict=False
            )
        elif isinstance(dtype, pl.Datetime) and isinstance(have, pl.Datetime):
            if have.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            col = col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        elif have != dtype:
            col = col.cast(dtype, strict=False)
        exprs.append(col)
    return frame.select(exprs)


def read_chat_migrations(engine: sa.Engine) -> pl.DataFrame:
    """``chat_migrations`` (``old_chat_id``, ``new_chat_id``): basic groups that became
    supergroups. A configuration table, small: read whole."""
    rows = read_table(engine, 'SELECT "old_chat_id", "new_chat_id" FROM "chat_migrations"')
    return pl.DataFrame([tuple(r) for r in rows], schema=MIGRATIONS_SCHEMA, orient="row")


# --------------------------------------------------------------------------- writes


@lru_cache(maxsize=32)
def sync_engine(url: str) -> sa.Engine:
    """The synchronous engine for ``url`` (:func:`core.db.create_sync_engine`), one per URL:
    for entry points that hold a URL and no :class:`pipelines.resources.DatabaseResource`."""
    return create_sync_engine(url)


def table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def replace_days(
    engine: sa.Engine,
    table_name: str,
    frame: pl.DataFrame,
    days: Sequence[dt.date],
    *,
    newest_source_at: Mapping[dt.date, dt.datetime | None] | None = None,
    materialized_at: dt.datetime | None = None,
) -> dict[dt.date, int]:
    """Replace ``days`` of ``table_name`` with ``frame`` in one transaction.

    ``frame`` holds the table's columns without ``id``; rows outside ``days`` are refused.
    One ``analytics_materializations`` row per day is written in the same transaction.
    Returns the rows written per day.
    """
    if not days:
        return {}
    days = sorted(days)
    outside = frame.filter(~pl.col("day").is_in(pl.Series(days, dtype=pl.Date).implode()))
    if outside.height:
        raise ValueError(f"{outside.height} rows of {table_name} fall outside the days replaced")
    target = table(table_name)
    per_day = dict(frame.group_by("day").len().iter_rows()) if frame.height else {}
    counts = {d: int(per_day.get(d, 0)) for d in days}
    now = materialized_at or dt.datetime.now(UTC)
    newest = newest_source_at or {}
    marks = [
        {
            "table_name": table_name,
            "partition_day": d,
            "row_count": counts[d],
            "newest_source_at": newest.get(d),
            "materialized_at": now,
        }
        for d in days
    ]
    with engine.begin() as conn:
        conn.execute(sa.delete(target).where(target.c.day.between(days[0], days[-1])))
        if frame.height:
            insert_frame(conn, target, frame)
        conn.execute(sa.insert(table("analytics_materializations")), marks)
    return counts


def record_materialization(
    conn: sa.Connection,
    table_name: str,
    row_count: int,
    *,
    partition_day: dt.date | None = None,
    newest_source_at: dt.datetime | None = None,
    materialized_at: dt.datetime | None = None,
) -> None:
    conn.execute(
        sa.insert(table("analytics_materializations")),
        {
            "table_name": table_name,
            "partition_day": partition_day,
            "row_count": row_count,
            "newest_source_at": newest_source_at,
            "materialized_at": materialized_at or dt.datetime.now(UTC),
        },
    )


def read_table(engine: sa.Engine, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """Small reads (configuration tables): rows of a text query with bound parameters."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), dict(params or {})).all())


def first_raw_day(engine: sa.Engine) -> dt.date | None:
    """The UTC day of the oldest raw event (verifications, API calls, messages, joins)."""
    found = []
    for name in ("verification_log", "api_call_log", "messages", "member_events"):
        column = time_column(name)
        rows = read_table(engine, f'SELECT MIN("{column}") FROM "{name}"')
        value = rows[0][0] if rows else None
        if value is not None:
            text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
            found.append(dt.date.fromisoformat(text[:10]))
    return min(found) if found else None
