"""Raw rows streamed and spooled for a run: one query per raw table and window, read in chunks
of at most :data:`CHUNK_ROWS` rows, each chunk conformed, checked against its raw model and its
valid rows written to Parquet in a per-run temporary directory (:class:`RawStore`), so the
transforms scan them lazily and a run never holds a whole day of raw rows.

The single-shot reads and the writes stay in :mod:`pipelines.io`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connectorx as cx
import polars as pl
import sqlalchemy as sa

from core.db import plain_url, sqlite_path
from pipelines.io import (
    conform,
    empty_frame,
    read_chat_migrations,
    read_table,
    select_sql,
    sqlite_text,
    typed_rows,
)
from pipelines.schemas import RAW_MODELS, Validation, split_valid
from pipelines.sources import ConfigRead, RawSource
from pipelines.transforms.daily import newest_per_day

PREFETCH_THREADS = 4
"""Raw reads spooled at once in the background (the drivers release the GIL)."""
CHUNK_ROWS = 262_144
"""Raw rows conformed, checked and spooled at a time (one Parquet row group): what a read holds
in memory at once, whatever the day's volume."""


def iter_raw(
    engine: sa.Engine,
    source: RawSource,
    start: dt.datetime,
    end: dt.datetime,
    postgres: PostgresReads | None = None,
) -> Iterator[pl.DataFrame]:
    """Raw rows of ``source`` with ``start <= time < end``, as conformed frames of at most
    about :data:`CHUNK_ROWS` rows: one query, streamed (never the whole result at once).
    The fast drivers open their own connections to the database of ``engine`` (on PostgreSQL
    from ``postgres``, a store's shared ADBC database, when given)."""
    url = engine.url
    if engine.dialect.name == "sqlite":
        yield from _iter_sqlite(url, source, start, end)
        return
    reads = postgres or PostgresReads(url)
    try:
        yield from _iter_postgres(reads, source, start, end)
    finally:
        if postgres is None:
            reads.close()


class PostgresReads:
    """ADBC connections to one PostgreSQL database, for the reads of one store.

    The ADBC driver loads the database's types once per ADBC *database* object: every type,
    each table's and partition's row type included, so about 0.15 s on a deployment with its
    daily partitions (measured on ``bench.dashboard``'s 90 days), paid again by every
    ``adbc.connect``. A run reads about sixteen raw windows, so the first read opens the
    database and each read then takes a clone of it (``adbc_clone``: a connection of its own
    sharing the loaded types, a few milliseconds), closed when the read ends."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        self._root: Any = None
        self._lock = threading.Lock()

    def connect(self) -> Any:
        """A new ADBC connection (DB-API) to the database; the caller closes it."""
        with self._lock:
            if self._root is None:
                # measured: pyarrow and the ADBC driver take seconds to import, paid only by
                # PostgreSQL reads (never on SQLite, nor by a process that only loads the code
                # location)
                import adbc_driver_postgresql.dbapi as adbc

                self._root = adbc.connect(plain_url(self.url))
            return self._root.adbc_clone()

    def close(self) -> None:
        """Close the shared database (clones still open keep it until they close)."""
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            root.close()


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
            yield conform(_from_batches(pending), source)
            pending, held = [], 0
    if pending:
        yield conform(_from_batches(pending), source)


def _from_batches(batches: list[Any]) -> pl.DataFrame:
    frame = pl.from_arrow(batches)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _iter_postgres(
    postgres: PostgresReads, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    # no bind parameters: see _read_postgres
    sql = select_sql(
        source, (f"'{start.isoformat()}'::timestamptz", f"'{end.isoformat()}'::timestamptz")
    )
    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        yield from _batches(cur.fetch_record_batch(), source)


class UnreadableRows(Exception):
    """connectorx could not read a SQLite result (a malformed value): read it with ``sqlite3``."""


def _iter_sqlite(
    url: sa.URL, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    """connectorx's Arrow stream (see :func:`_read_sqlite`); :class:`UnreadableRows` when it
    cannot read the rows, possibly after some chunks: the caller starts over with
    :func:`_iter_sqlite_stdlib`."""
    bounds = (f"'{sqlite_text(start)}'", f"'{sqlite_text(end)}'")
    try:
        reader = cx.read_sql(
            f"sqlite://{sqlite_path(url)}",
            select_sql(source, bounds),
            return_type="arrow_stream",
            batch_size=CHUNK_ROWS,
        )
        yield from _batches(reader, source)
    except (GeneratorExit, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic in connectorx's stream is no Exception
        raise UnreadableRows(str(exc)) from exc


def _iter_sqlite_stdlib(
    url: sa.URL, source: RawSource, start: dt.datetime, end: dt.datetime
) -> Iterator[pl.DataFrame]:
    sql = select_sql(source, (":start", ":end"))
    conn = sqlite3.connect(sqlite_path(url), timeout=30)
    try:
        cursor = conn.execute(sql, {"start": sqlite_text(start), "end": sqlite_text(end)})
        while rows := cursor.fetchmany(CHUNK_ROWS):
            yield typed_rows(rows, source)
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
    engine: sa.Engine,
    source: RawSource,
    start: dt.datetime,
    end: dt.datetime,
    directory: Path,
    postgres: PostgresReads | None = None,
) -> RawRead:
    """Stream one raw read into ``directory``: each chunk checked by the source's raw model,
    its valid rows written to a Parquet file, its invalid rows kept (on PostgreSQL through
    ``postgres`` when given: see :func:`iter_raw`)."""
    try:
        return _spool(source, iter_raw(engine, source, start, end, postgres), directory)
    except UnreadableRows:
        shutil.rmtree(directory, ignore_errors=True)
        return _spool(source, _iter_sqlite_stdlib(engine.url, source, start, end), directory)


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

    ``prefetch`` spools several sources concurrently in the background (the drivers release
    the GIL). The spool lives in a temporary directory (under ``TMPDIR``) removed by
    :meth:`clear`.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._reads: dict[tuple[str, dt.datetime, dt.datetime], RawRead] = {}
        self._migrations: pl.DataFrame | None = None
        self._configs: dict[str, pl.DataFrame] = {}
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self._pending: dict[tuple[str, dt.datetime, dt.datetime], Future[RawRead]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._postgres = None if engine.dialect.name == "sqlite" else PostgresReads(engine.url)
        if self._postgres is not None:  # a store dropped without clear() closes it too
            weakref.finalize(self, self._postgres.close)

    def _spool_dir(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> Path:
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="gatepulse-raw-"))
                # a store dropped without clear() (a test, a crashed step) still removes it
                weakref.finalize(self, shutil.rmtree, self._dir, True)
            stamp = f"{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
            return self._dir / f"{source.name}-{stamp}"

    def read(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> RawRead:
        """The spooled read of ``source`` over ``[start, end)`` (streamed on first use, or
        waited for when :meth:`prefetch` started it)."""
        key = (source.name, start, end)
        with self._lock:
            found = self._reads.get(key)
            pending = self._pending.get(key)
        if found is not None:
            return found
        if pending is not None:
            return pending.result()
        return self._spool(source, start, end)

    def _spool(self, source: RawSource, start: dt.datetime, end: dt.datetime) -> RawRead:
        directory = self._spool_dir(source, start, end)
        found = spool_raw(self.engine, source, start, end, directory, self._postgres)
        with self._lock:
            self._reads[(source.name, start, end)] = found
        return found

    def prefetch(self, reads: Iterable[tuple[RawSource, dt.datetime, dt.datetime]]) -> None:
        """Start spooling each ``(source, start, end)`` not read yet, in the order given, up to
        :data:`PREFETCH_THREADS` at a time, in the background: :meth:`read` waits only for the
        read it asks for, so a table's transform runs while the later tables' reads go on."""
        with self._lock:
            for s, a, b in reads:
                key = (s.name, a, b)
                if key in self._reads or key in self._pending:
                    continue
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=PREFETCH_THREADS, thread_name_prefix="raw-read"
                    )
                self._pending[key] = self._pool.submit(self._spool, s, a, b)

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
            found = read_chat_migrations(self.engine)
            with self._lock:
                self._migrations = found
        return found

    def config(self, read: ConfigRead) -> pl.DataFrame:
        """A configuration table as ``read`` selects it (read once per run)."""
        with self._lock:
            found = self._configs.get(read.name)
        if found is None:
            rows = read_table(self.engine, read.sql)
            found = pl.DataFrame([tuple(r) for r in rows], schema=dict(read.schema), orient="row")
            with self._lock:
                self._configs[read.name] = found
        return found

    def clear(self) -> None:
        """Forget every read (waiting for those under way) and delete the spool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._migrations = None
            self._configs.clear()
            self._reads.clear()
            self._pending.clear()
            spool, self._dir = self._dir, None
        if self._postgres is not None:
            self._postgres.close()  # the next read opens it again
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
