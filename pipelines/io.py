"""Database I/O for the pipelines: read raw rows fast, write results back in bulk.

What is read is declared in :mod:`pipelines.sources`.

Reads (measured by ``bench/pipeline.py`` and the notes in the README):
- PostgreSQL: ADBC (``adbc_driver_postgresql``; binary COPY straight into Arrow). About 0.7 s
  for 1M verification rows here, against 1.0-1.2 s with connectorx.
- SQLite: connectorx (0.6-0.75 s for 200k rows here; ADBC sqlite 0.6 s but it infers column
  types from the first rows, which breaks on a mostly-NULL ``error_type``; stdlib ``sqlite3``
  2.0-2.7 s). Timestamps are UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, filtered with string
  bounds and made ``Datetime("us", "UTC")`` here.

Reads are streamed and spooled (:class:`RawStore`): the rows arrive in chunks of at most
:data:`CHUNK_ROWS`, each chunk is conformed, checked against its raw model and its valid rows
written to a Parquet file in a per-run temporary directory. The transforms scan those files
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
import io
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from core.db import Base, backend_of, plain_url, sqlite_path, sync_url
from pipelines.schemas import RAW_MODELS, Validation, split_valid
from pipelines.sources import MIGRATIONS_SCHEMA, ConfigRead, RawSource
from pipelines.transforms.daily import newest_per_day

UTC = dt.UTC
SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
CHUNK_ROWS = 262_144
"""Raw rows conformed, checked and spooled at a time (one Parquet row group): what a read holds
in memory at once, whatever the day's volume."""


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[first 00:00 UTC, last+1 00:00 UTC)``."""
    start = dt.datetime.combine(first, dt.time(), UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC)
    return start, end


def _select_sql(source: RawSource, bounds: tuple[str, str]) -> str:
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


def read_raw(url: str, source: RawSource, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """Raw rows of ``source`` with ``start <= time < end`` as a frame of ``source.columns``."""
    if backend_of(url) == "sqlite":
        return _read_sqlite(url, source, start, end)
    return _read_postgres(url, source, start, end)


def _read_postgres(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    import adbc_driver_postgresql.dbapi as adbc

    # No bind parameters on purpose: ADBC streams a parameterless query with binary COPY, but
    # runs a parameterized one as a prepared statement (2-3x slower here). The bounds are
    # rendered from datetimes by this module, never taken from input.
    sql = _select_sql(
        source, (f"'{start.isoformat()}'::timestamptz", f"'{end.isoformat()}'::timestamptz")
    )
    with adbc.connect(plain_url(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return _conform(frame, source)


def _sqlite_text(when: dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _read_sqlite(url: str, source: RawSource, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """connectorx (types from the declared columns, about 3x faster than ``sqlite3`` here);
    the stdlib driver when connectorx cannot read the rows (e.g. a malformed timestamp text,
    which the stdlib path turns into NULL for the raw model to report)."""
    import connectorx as cx

    # connectorx takes no bind parameters: the bounds are rendered here from datetimes
    bounds = (f"'{_sqlite_text(start)}'", f"'{_sqlite_text(end)}'")
    try:
        frame = cx.read_sql(
            f"sqlite://{sqlite_path(url)}", _select_sql(source, bounds), return_type="polars"
        )
    except Exception:
        return _read_sqlite_stdlib(url, source, start, end)
    return _conform(frame, source)


def _read_sqlite_stdlib(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    sql = _select_sql(source, (":start", ":end"))
    conn = sqlite3.connect(sqlite_path(url), timeout=30)
    try:
        params = {"start": _sqlite_text(start), "end": _sqlite_text(end)}
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    if not rows:
        return empty_frame(source)
    return _typed_rows(rows, source)


def _typed_rows(rows: list[Any], source: RawSource) -> pl.DataFrame:
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


def _conform(frame: pl.DataFrame, source: RawSource) -> pl.DataFrame:
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


def iter_raw(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    """Raw rows of ``source`` with ``start <= time < end``, as conformed frames of at most
    about :data:`CHUNK_ROWS` rows: one query, streamed (never the whole result at once)."""
    if backend_of(url) == "sqlite":
        yield from _iter_sqlite(url, source, start, end)
    else:
        yield from _iter_postgres(url, source, start, end)


def _batches(reader: Any, source: RawSource) -> Iterator[pl.DataFrame]:
    """Arrow record batches of ``reader`` regrouped into conformed frames of ~CHUNK_ROWS."""
    pending: list[Any] = []
    held = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        if held >= CHUNK_ROWS:
            yield _conform(_from_batches(pending), source)
            pending, held = [], 0
    if pending:
        yield _conform(_from_batches(pending), source)


def _from_batches(batches: list[Any]) -> pl.DataFrame:
    frame = pl.from_arrow(batches)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _iter_postgres(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    import adbc_driver_postgresql.dbapi as adbc

    # no bind parameters: see _read_postgres
    sql = _select_sql(
        source, (f"'{start.isoformat()}'::timestamptz", f"'{end.isoformat()}'::timestamptz")
    )
    with adbc.connect(plain_url(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        yield from _batches(cur.fetch_record_batch(), source)


class UnreadableRows(Exception):
    """connectorx could not read a SQLite result (a malformed value): read it with ``sqlite3``."""


def _iter_sqlite(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    """connectorx's Arrow stream (see :func:`_read_sqlite`); :class:`UnreadableRows` when it
    cannot read the rows, possibly after some chunks: the caller starts over with
    :func:`_iter_sqlite_stdlib`."""
    import connectorx as cx

    bounds = (f"'{_sqlite_text(start)}'", f"'{_sqlite_text(end)}'")
    try:
        reader = cx.read_sql(
            f"sqlite://{sqlite_path(url)}",
            _select_sql(source, bounds),
            return_type="arrow_stream",
            batch_size=CHUNK_ROWS,
        )
        yield from _batches(reader, source)
    except (GeneratorExit, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic in connectorx's stream is no Exception
        raise UnreadableRows(str(exc)) from exc


def _iter_sqlite_stdlib(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    sql = _select_sql(source, (":start", ":end"))
    conn = sqlite3.connect(sqlite_path(url), timeout=30)
    try:
        cursor = conn.execute(sql, {"start": _sqlite_text(start), "end": _sqlite_text(end)})
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield _typed_rows(rows, source)
    finally:
        conn.close()


@dataclass
class RawRead:
    """One raw read of a run, spooled: its valid rows in Parquet files (one per chunk), the
    rows that broke the raw model and why (kept in memory: they are few, and reported), and the
    newest valid timestamp of each day."""

    source: RawSource
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    """Every row read, valid or not."""
    invalid: pl.DataFrame = field(default_factory=pl.DataFrame)
    problems: list[dict[str, Any]] = field(default_factory=list)
    newest: dict[dt.date, dt.datetime] = field(default_factory=dict)

    def lazy(self) -> pl.LazyFrame:
        """The valid rows as a lazy scan: a plan reads only the columns it uses."""
        if not self.files:
            return empty_frame(self.source).lazy()
        return pl.scan_parquet(self.files, schema=dict(self.source.columns))

    @property
    def ok(self) -> bool:
        return self.invalid.height == 0 and not self.problems

    def metadata(self, limit: int = 20) -> dict[str, Any]:
        """As :meth:`pipelines.schemas.Validation.metadata`."""
        return Validation(self.invalid.clear(), self.invalid, self.problems).metadata(limit)

    def validation(self) -> Validation:
        """The read as one in-memory :class:`Validation` (for small reads: summaries, tests)."""
        return Validation(self.lazy().collect(), self.invalid, self.problems)


def spool_raw(
    url: str, source: RawSource, start: dt.datetime, end: dt.datetime, directory: Path
) -> RawRead:
    """Stream one raw read into ``directory``: each chunk checked by the source's raw model,
    its valid rows written to a Parquet file, its invalid rows kept."""
    try:
        return _spool(source, iter_raw(url, source, start, end), directory)
    except UnreadableRows:
        shutil.rmtree(directory, ignore_errors=True)
        return _spool(source, _iter_sqlite_stdlib(url, source, start, end), directory)


def _spool(source: RawSource, chunks: Iterable[pl.DataFrame], directory: Path) -> RawRead:
    directory.mkdir(parents=True, exist_ok=True)
    model = RAW_MODELS[source.name]
    read = RawRead(source, invalid=empty_frame(source))
    invalid: list[pl.DataFrame] = []
    for chunk in chunks:
        read.rows += chunk.height
        check = split_valid(chunk, model)
        if check.invalid.height:
            invalid.append(check.invalid)
        read.problems.extend(p for p in check.problems if p not in read.problems)
        if check.valid.height == 0:
            continue
        for day, when in newest_per_day(check.valid, source.time_column).iter_rows():
            if day not in read.newest or when > read.newest[day]:
                read.newest[day] = when
        path = directory / f"{len(read.files):05d}.parquet"
        check.valid.write_parquet(path, compression="lz4", statistics=False)
        read.files.append(path)
    if invalid:
        read.invalid = pl.concat(invalid)
    return read


class RawStore:
    """Raw reads of one run, spooled once per (source, window) and shared by every asset.

    ``prefetch`` spools several sources concurrently (the drivers release the GIL). The spool
    lives in a temporary directory (under ``TMPDIR``) removed by :meth:`clear`.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._reads: dict[tuple[str, dt.datetime, dt.datetime], RawRead] = {}
        self._migrations: pl.DataFrame | None = None
        self._configs: dict[str, pl.DataFrame] = {}
        self._lock = threading.Lock()
        self._dir: Path | None = None

    def _spool_dir(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> Path:
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="gatepulse-raw-"))
                # a store dropped without clear() (a test, a crashed step) still removes it
                weakref.finalize(self, shutil.rmtree, self._dir, True)
            stamp = f"{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
            return self._dir / f"{source.name}-{stamp}"

    def read(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> RawRead:
        """The spooled read of ``source`` over ``[start, end)`` (streamed on first use)."""
        key = (source.name, start, end)
        with self._lock:
            found = self._reads.get(key)
        if found is None:
            found = spool_raw(self.url, source, start, end, self._spool_dir(source, start, end))
            with self._lock:
                self._reads[key] = found
        return found

    def prefetch(self, reads: Iterable[tuple[RawSource, dt.datetime, dt.datetime]]) -> None:
        """Spool each ``(source, start, end)`` not read yet, several at a time."""
        todo = list({(s.name, a, b): (s, a, b) for s, a, b in reads}.values())
        todo = [(s, a, b) for s, a, b in todo if (s.name, a, b) not in self._reads]
        if len(todo) <= 1:
            for s, a, b in todo:
                self.read(s, a, b)
            return
        with ThreadPoolExecutor(max_workers=min(len(todo), 4)) as pool:
            list(pool.map(lambda read: self.read(*read), todo))

    def valid(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> Validation:
        """The rows of a read split by the source's raw model, in memory (small reads only:
        the analytics assets scan :meth:`read` lazily instead)."""
        return self.read(source, start, end).validation()

    def newest_per_day(
        self, source: RawSource, start: dt.datetime, end: dt.datetime
    ) -> dict[dt.date, dt.datetime]:
        """The newest valid raw timestamp of each day (computed while spooling)."""
        return self.read(source, start, end).newest

    def migrations(self) -> pl.DataFrame:
        """``chat_migrations`` (read once per run): see :func:`read_chat_migrations`."""
        with self._lock:
            found = self._migrations
        if found is None:
            found = read_chat_migrations(self.url)
            with self._lock:
                self._migrations = found
        return found

    def config(self, read: ConfigRead) -> pl.DataFrame:
        """A configuration table as ``read`` selects it (read once per run)."""
        with self._lock:
            found = self._configs.get(read.name)
        if found is None:
            rows = read_table(self.url, read.sql)
            found = pl.DataFrame([tuple(r) for r in rows], schema=dict(read.schema), orient="row")
            with self._lock:
                self._configs[read.name] = found
        return found

    def clear(self) -> None:
        """Forget every read and delete the spool."""
        with self._lock:
            self._migrations = None
            self._configs.clear()
            self._reads.clear()
            spool, self._dir = self._dir, None
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)


def read_chat_migrations(url: str) -> pl.DataFrame:
    """``chat_migrations`` (``old_chat_id``, ``new_chat_id``): basic groups that became
    supergroups. A configuration table, small: read whole."""
    rows = read_table(url, 'SELECT "old_chat_id", "new_chat_id" FROM "chat_migrations"')
    return pl.DataFrame([tuple(r) for r in rows], schema=MIGRATIONS_SCHEMA, orient="row")


# --------------------------------------------------------------------------- writes


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=32)
def sync_engine(url: str) -> sa.Engine:
    """A synchronous engine (psycopg2 / sqlite3) for ``url``; no pool kept between calls."""
    engine = sa.create_engine(sync_url(url), poolclass=NullPool)
    if backend_of(url) == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
    return engine


def table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def replace_days(
    url: str,
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
    engine = sync_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.delete(target).where(target.c.day.between(days[0], days[-1])))
        if frame.height:
            insert_frame(conn, target, frame)
        conn.execute(sa.insert(table("analytics_materializations")), marks)
    return counts


def insert_frame(conn: sa.Connection, target: sa.Table, frame: pl.DataFrame) -> None:
    """Bulk insert ``frame`` into ``target`` on ``conn`` (inside the caller's transaction)."""
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="", float_precision=None)
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            cur.copy_expert(
                f'COPY "{target.name}" ({cols}) FROM STDIN WITH (FORMAT csv)',
                buffer,
            )
    else:
        conn.execute(sa.insert(target), frame.to_dicts())


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


def read_table(url: str, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """Small reads (configuration tables): rows of a text query with bound parameters."""
    with sync_engine(url).connect() as conn:
        return list(conn.execute(sa.text(sql), dict(params or {})).all())


def first_raw_day(url: str) -> dt.date | None:
    """The UTC day of the oldest raw event (verifications, API calls, messages, joins)."""
    from core.models import time_column

    found = []
    for name in ("verification_log", "api_call_log", "messages", "member_events"):
        column = time_column(name)
        rows = read_table(url, f'SELECT MIN("{column}") FROM "{name}"')
        value = rows[0][0] if rows else None
        if value is not None:
            text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
            found.append(dt.date.fromisoformat(text[:10]))
    return min(found) if found else None
