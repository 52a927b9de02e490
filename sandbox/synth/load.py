"""The one way synthetic rows reach a database: bulk, a frame at a time (``COPY ... FROM
STDIN`` on PostgreSQL, one ``executemany`` on SQLite), inside one transaction.

:func:`load` writes a whole :class:`~sandbox.synth.shape.Shape` (the config tables, then the
raw logs streamed chunk by chunk, with a progress bar for long loads); :func:`write_rows`
writes hand-placed rows (a test's specific situation) by the same path.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from core.bulk import insert_frame
from core.db import sync_url
from core.partitions import ensure_partitions
from core.progress import progress_bar
from sandbox.synth.raw import raw_frames
from sandbox.synth.schema import dtype, generated_columns, scalar_default, series, table_of
from sandbox.synth.shape import RAW_TABLES, Shape
from sandbox.synth.world import world_frames

BIG = 1_000_000
"""Raw rows from which a PostgreSQL load drops the raw logs' indexes and rebuilds them after."""


def engine_for(url: str) -> sa.Engine:
    """A synchronous engine for ``url`` (psycopg2 / sqlite3), no pool."""
    return sa.create_engine(sync_url(url), poolclass=NullPool)


def _json_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, sa.JSON)]


def write(conn: sa.Connection, name: str, frame: pl.DataFrame) -> int:
    """Append ``frame`` (columns of table ``name``; JSON as text) in bulk; the rows written."""
    if not frame.height:
        return 0
    table = table_of(name)
    if conn.dialect.name != "postgresql":  # executemany binds JSON columns as objects
        frame = frame.with_columns(
            pl.Series(c, [None if v is None else json.loads(v) for v in frame[c]], pl.Object)
            for c in _json_columns(table)
            if c in frame.columns
        )
    insert_frame(conn, table, frame)
    return frame.height


def frame_of(name: str, rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Hand-written rows of table ``name`` as a frame :func:`write` takes: the columns the
    rows name and those with a scalar default, a missing value at that default (else NULL),
    JSON as text. (COPY applies no client-side default: the frame carries them.)"""
    rows = list(rows)
    table = table_of(name)
    named = {k for row in rows for k in row}
    unknown = named - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{name} has no columns {sorted(unknown)}")
    data = {}
    for column in generated_columns(table):
        if column.name not in named and scalar_default(column) is None:
            continue  # NULL, or the database's own default
        values = [row.get(column.name, scalar_default(column)) for row in rows]
        if isinstance(column.type, sa.JSON):
            values = [None if v is None else json.dumps(v) for v in values]
        data[column.name] = series(
            column, pl.Series(values, dtype=dtype(column), strict=False), len(rows)
        )
    return pl.DataFrame(data)


def write_rows(url: str, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, int]:
    """Hand-placed rows per table (in the order given: referenced tables first), in one
    transaction; the rows written per table."""
    written: dict[str, int] = {}
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for name, table_rows in rows.items():
                written[name] = written.get(name, 0) + write(conn, name, frame_of(name, table_rows))
    finally:
        engine.dispose()
    return written


def _drop_raw_indexes(conn: sa.Connection) -> list[str]:
    """Drop the raw logs' secondary indexes (PostgreSQL); their definitions, to rebuild."""
    found = conn.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:tables) "
            "AND indexname NOT LIKE 'pk_%'"
        ),
        {"tables": list(RAW_TABLES)},
    ).all()
    for index, _ in found:
        conn.execute(sa.text(f'DROP INDEX "{index}"'))
    return [definition for _, definition in found]


def load(
    url: str,
    shape: Shape,
    *,
    now: dt.datetime | None = None,
    world: bool = True,
    progress: bool = False,
) -> dict[str, int]:
    """Write the world of ``shape`` into the migrated database at ``url`` in one transaction:
    with ``world``, its owner, groups, channels, links and users (created ``now``), then its
    raw logs, generated and written a chunk at a time. Returns the rows written per table."""
    now = now or dt.datetime.combine(shape.first_day, dt.time(), dt.UTC)
    written: dict[str, int] = {}
    engine = engine_for(url)
    try:
        with engine.begin() as conn, progress_bar(progress) as bar:
            if world:
                for name, frame in world_frames(shape, now):
                    written[name] = write(conn, name, frame)
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                ensure_partitions(conn, shape.day_list)
            rebuild = (
                _drop_raw_indexes(conn) if postgres and sum(shape.rows.values()) >= BIG else []
            )
            task = bar.add_task("synthetic raw rows", total=sum(shape.rows.values()))
            for name, frame, drawn in raw_frames(shape):
                written[name] = written.get(name, 0) + write(conn, name, frame)
                bar.advance(task, drawn)
            if rebuild:
                task = bar.add_task("rebuild raw indexes", total=len(rebuild))
                for definition in rebuild:
                    conn.execute(sa.text(definition))
                    bar.advance(task)
    finally:
        engine.dispose()
    return written
