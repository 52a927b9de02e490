"""The batched raw-log writer: every high-volume raw log row goes through one of these.

``put()`` only appends a tuple to an in-memory list; a background task writes the lists in
one transaction per flush, either when ``batch_size`` rows are waiting or every
``flush_interval_s`` seconds. PostgreSQL (asyncpg) gets binary ``COPY`` through the
engine's own pooled connection; every other backend gets a Core ``executemany``.

Nothing is lost and nothing blocks the caller:

* **Bounded memory.** At most ``max_queue`` rows are held in memory (queued, in flight or
  being replayed). Past that, ``put()`` appends the row to the spool file instead.
* **Outages.** A batch that cannot be written because the database is unreachable is
  appended to the spool (``spool_dir``, JSON lines); the writer retries with exponential
  backoff up to ``retry_max_s`` and, once a write succeeds, replays the spool.
* **Exactly once.** A spool segment is replayed under an exclusive ``flock`` and records its
  progress in a ``.progress`` sidecar. On PostgreSQL every write learns its transaction id
  first: the sidecar stores that id *before* the commit, and a batch whose commit may or may
  not have happened (connection lost during ``COMMIT``) is spooled tagged with it. Replay asks
  the server (``txid_status``) and skips what did commit, so neither a crash between commit
  and sidecar update nor a server dying mid-commit duplicates rows. (SQLite has no in-doubt
  commits; there a process crash between the commit and the sidecar update, a window of
  microseconds, could replay one chunk twice.)
* **Bad rows.** A batch the database refuses for its *data* (NOT NULL, out-of-range values,
  naive datetimes, unencodable types) is bisected with rolled-back trial writes; the bad rows
  go to ``rejected.jsonl`` with the reason (logged once per batch), the good ones are written.
  Every other error counts as "database unavailable": the rows are spooled and retried.

``close()`` drains: pending rows are written, or spooled when that fails; when the database
is reachable the spool is replayed too. ``start()`` replays what an earlier process left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import decimal
import fcntl
import itertools
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import asyncpg.exceptions as apg_exc
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import core.models  # noqa: F401 - registers every table on Base.metadata
from core.db import Base, UTCDateTime, write_turn
from core.settings import LogWriterSettings

log = logging.getLogger(__name__)

WRITABLE_TABLES: tuple[str, ...] = (
    "verification_log",
    "api_call_log",
    "messages",
    "member_events",
    "admin_audit_log",
)
"""The tables :meth:`LogWriter.put` accepts."""

SPOOL_PREFIX = "spool-"
SPOOL_SUFFIX = ".jsonl"
PROGRESS_SUFFIX = ".progress"
REJECTED_FILE = "rejected.jsonl"

_MISSING: Any = object()
_TRIAL_BUDGET = 64  # rolled-back trial writes spent isolating bad rows in one batch
_TZINFO = attrgetter("tzinfo")
#: Rows per multi-row INSERT on SQLite, and SQLite's bound-parameter limit (3.32 and later).
_SQLITE_ROWS_PER_INSERT = 500
_SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
Row = tuple[Any, ...]
Batch = dict["_TableSpec", list[Row]]


# --------------------------------------------------------------------------- counters


@dataclass
class WriterStats:
    """Counters of one writer (this process). ``as_dict()`` for logs and ``/status``.

    Every row accepted by ``put`` counts in ``queued``; it then ends up ``written`` (committed
    straight from memory), ``spooled`` (to the spool file, later ``replayed``) or ``rejected``
    (refused by the database for its data, kept in ``rejected.jsonl``). ``replayed`` also
    counts rows an earlier process spooled; ``replay_skipped`` counts spooled rows whose
    in-doubt transaction turned out to have committed (not written twice).
    """

    written: int = 0
    spooled: int = 0
    replayed: int = 0
    rejected: int = 0
    replay_skipped: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    spool_errors: int = 0
    database_available: bool = True
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    _source: Any = field(default=None, repr=False, compare=False)

    @property
    def queued(self) -> int:
        """Rows accepted by ``put``/``put_many`` so far."""
        return int(self._source._queued) if self._source is not None else 0

    @property
    def in_memory(self) -> int:
        """Rows held in memory right now (queued, in flight or being replayed)."""
        return int(self._source._held) if self._source is not None else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "rejected": self.rejected,
            "replay_skipped": self.replay_skipped,
            "in_memory": self.in_memory,
            "flushes": self.flushes,
            "failed_flushes": self.failed_flushes,
            "spool_errors": self.spool_errors,
            "database_available": self.database_available,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }


# --------------------------------------------------------------------------- table specs


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


class _TableSpec:
    """What the writer needs to know about one table, computed once."""

    def __init__(self, table: sa.Table) -> None:
        self.name = table.name
        self.table = table
        cols = [c for c in table.columns if c.name != "id"]
        self.columns: tuple[str, ...] = tuple(c.name for c in cols)
        self.colset = frozenset(self.columns)
        self.getter = itemgetter(*self.columns)
        self.dt_idx = tuple(i for i, c in enumerate(cols) if isinstance(c.type, UTCDateTime))
        self.json_idx = tuple(i for i, c in enumerate(cols) if isinstance(c.type, sa.JSON))
        # Tables with JSON columns always take the slow path (None -> default, normalising).
        self.fast_len = -1 if self.json_idx else len(self.columns)
        self.defaults: list[Callable[[], Any] | None] = [self._default_of(c) for c in cols]
        self.insert = sa.insert(table)
        self.pending: list[Row] = []
        self._sqlite: tuple[Dialect, str, list[tuple[int, Any]]] | None = None
        self._sqlite_sql: dict[int, str] = {}

    @staticmethod
    def _default_of(column: sa.Column[Any]) -> Callable[[], Any] | None:
        default = column.default
        if default is None or not isinstance(default, sa.ColumnDefault):
            return None
        arg = default.arg
        if default.is_callable:
            return lambda: arg(None)
        return lambda: arg

    def convert(self, row: Mapping[str, Any]) -> Row:
        """``row`` as a tuple in column order; omitted columns get their default or None."""
        if len(row) == self.fast_len:
            try:
                return self.getter(row)  # type: ignore[no-any-return]
            except KeyError:
                pass
        unknown = [k for k in row if k not in self.colset]
        if unknown:
            hint = " (ids are assigned by the database)" if "id" in unknown else ""
            raise ValueError(f"{self.name}: unknown column(s) {sorted(map(str, unknown))}{hint}")
        values = []
        for i, name in enumerate(self.columns):
            value = row.get(name, _MISSING)
            if value is _MISSING or (value is None and i in self.json_idx):
                make = self.defaults[i]
                value = make() if make is not None else None
            if i in self.json_idx and value is not None:
                value = json.loads(_dumps(value))  # what both backends will store
            values.append(value)
        return tuple(values)

    def as_dict(self, values: Row) -> dict[str, Any]:
        return dict(zip(self.columns, values, strict=True))

    def spool_line(self, values: Row, xid: int | None = None) -> str:
        record: dict[str, Any] = {"t": self.name, "r": self.as_dict(values)}
        if xid is not None:
            record["x"] = xid
        return _dumps(record) + "\n"

    def from_spool(self, data: Mapping[str, Any]) -> Row:
        """Inverse of :meth:`spool_line`'s row (datetimes come back tz-aware)."""
        values = list(self.convert(data))
        for i in self.dt_idx:
            if isinstance(values[i], str):
                values[i] = dt.datetime.fromisoformat(values[i])
        return tuple(values)

    def naive_rows(self, rows: list[Row]) -> list[int]:
        """Indexes of rows with a naive datetime (refused: gatepulse stores tz-aware UTC)."""
        bad: set[int] = set()
        for i in self.dt_idx:
            values = list(map(itemgetter(i), rows))
            try:
                if None not in map(_TZINFO, values):
                    continue  # the usual case: every value has a tzinfo (checked in C)
            except AttributeError:
                pass
            bad.update(
                n
                for n, v in enumerate(values)
                if v is not None and (not isinstance(v, dt.datetime) or v.tzinfo is None)
            )
        return sorted(bad)

    def sqlite_statements(
        self, dialect: Dialect, rows: list[Row]
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Multi-row ``INSERT ... VALUES (?, ...), (?, ...)`` statements for ``rows``, each with
        its flat parameters run through each column's bind processor.

        One statement per :data:`_SQLITE_ROWS_PER_INSERT` rows, not one step per row: the
        driver runs in a worker thread and gives up the GIL around every step, so an
        ``executemany`` of N rows waits N times for a busy event loop to hand the GIL back
        (seconds per batch while the loop is CPU-bound, holding SQLite's write lock all along).
        """
        if self._sqlite is None or self._sqlite[0] is not dialect:
            quote = dialect.identifier_preparer.quote
            head = f"INSERT INTO {quote(self.name)} ({', '.join(map(quote, self.columns))}) VALUES "
            procs: list[tuple[int, Any]] = []
            for i, name in enumerate(self.columns):
                impl = self.table.c[name].type.dialect_impl(dialect)
                proc = impl.bind_processor(dialect)
                if proc is not None:
                    procs.append((i, proc))
            self._sqlite = (dialect, head, procs)
            self._sqlite_sql = {}
        _, head, procs = self._sqlite
        width = len(self.columns)
        per_insert = max(1, min(_SQLITE_ROWS_PER_INSERT, _SQLITE_MAX_VARIABLES // width))
        group = "(" + ", ".join("?" * width) + ")"
        for start in range(0, len(rows), per_insert):
            chunk = rows[start : start + per_insert]
            sql = self._sqlite_sql.get(len(chunk))
            if sql is None:
                sql = self._sqlite_sql[len(chunk)] = head + ", ".join([group] * len(chunk))
            if procs:
                flat: list[Any] = []
                for row in chunk:
                    values = list(row)
                    for i, proc in procs:
                        values[i] = proc(values[i])
                    flat.extend(values)
                yield sql, tuple(flat)
            else:
                yield sql, tuple(itertools.chain.from_iterable(chunk))

    def pg_records(self, rows: list[Row]) -> list[Row]:
        if not self.json_idx:
            return rows
        idx = self.json_idx
        return [
            tuple(_dumps(v) if i in idx and v is not None else v for i, v in enumerate(r))
            for r in rows
        ]

    def __repr__(self) -> str:
        return f"<table spec {self.name}>"


def _specs() -> dict[str, _TableSpec]:
    return {name: _TableSpec(Base.metadata.tables[name]) for name in WRITABLE_TABLES}


# --------------------------------------------------------------------------- errors


class _Unavailable(Exception):
    """The database could not take the batch (not the rows' fault). Retry later."""


class _InDoubt(_Unavailable):
    """The connection broke during COMMIT: transaction ``xid`` may or may not have committed."""

    def __init__(self, xid: int, cause: BaseException) -> None:
        super().__init__(f"commit of transaction {xid} in doubt: {_describe(cause)}")
        self.xid = xid


_DATA_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    OverflowError,
    UnicodeError,
    sa_exc.IntegrityError,
    sa_exc.DataError,
    apg_exc.DataError,  # class 22 from the server, and asyncpg's own encoding errors
    apg_exc.IntegrityConstraintViolationError,  # class 23: NOT NULL, CHECK, ...
)


def _is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` blames the rows (retrying would fail the same way)."""
    if isinstance(exc, _Unavailable):
        return False
    if isinstance(exc, _DATA_ERRORS):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        if orig is not None and isinstance(orig, _DATA_ERRORS):
            return True
        # pysqlite: "Error binding parameter 1: type 'X' is not supported"
        return isinstance(exc, sa_exc.ProgrammingError) and "binding parameter" in str(orig)
    if isinstance(exc, sa_exc.StatementError):  # raised while processing bind parameters
        return isinstance(exc.orig, _DATA_ERRORS)
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, sa_exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text[:300]}"


# --------------------------------------------------------------------------- sinks


class _Session(Protocol):
    async def write(self, batch: Batch, on_xid: Callable[[int], None] | None) -> None: ...

    async def trial(self, spec: _TableSpec, rows: list[Row]) -> BaseException | None: ...

    async def xid_status(self, xids: Iterable[int]) -> dict[int, str | None]: ...


class _CoreSession:
    """Core ``executemany`` in one transaction per write (SQLite, or a non-asyncpg driver).

    On SQLite the rows skip SQLAlchemy's per-row parameter dictionaries: each column's own
    bind processor (``UTCDateTime`` -> naive UTC text, JSON -> text, bool -> int) is applied
    in one tight loop and the values go to ``exec_driver_sql`` as multi-row INSERTs, which
    store exactly what an ``insert(table)`` executemany would, in a few driver steps per
    batch. Every write takes this process's :func:`~core.db.write_turn` first.
    """

    def __init__(self, engine: AsyncEngine, timeout: float) -> None:
        self._engine = engine
        self._timeout = timeout
        self._raw = engine.dialect.name == "sqlite" and engine.dialect.paramstyle == "qmark"

    async def _insert(self, conn: AsyncConnection, spec: _TableSpec, rows: list[Row]) -> None:
        if self._raw:
            for sql, params in spec.sqlite_statements(conn.dialect, rows):
                await conn.exec_driver_sql(sql, params)
        else:
            await conn.execute(spec.insert, [spec.as_dict(r) for r in rows])

    async def write(self, batch: Batch, on_xid: Callable[[int], None] | None) -> None:
        # The turn is taken before the timeout starts: waiting for this process's other
        # writers is not the database being unavailable.
        async with (
            write_turn(self._engine),
            asyncio.timeout(self._timeout),
            self._engine.begin() as conn,
        ):
            for spec, rows in batch.items():
                await self._insert(conn, spec, rows)

    async def trial(self, spec: _TableSpec, rows: list[Row]) -> BaseException | None:
        async with (
            write_turn(self._engine),
            asyncio.timeout(self._timeout),
            self._engine.connect() as conn,
        ):
            trans = await conn.begin()
            try:
                await self._insert(conn, spec, rows)
            except Exception as exc:
                return exc
            finally:
                await trans.rollback()
        return None

    async def xid_status(self, xids: Iterable[int]) -> dict[int, str | None]:
        return {}


class _CopySession:
    """asyncpg binary COPY on one pooled connection of the engine, for one flush.

    Transactions are driven with plain BEGIN/COMMIT and asyncpg's own timeouts, so a COMMIT
    that times out or loses its connection is reported as :class:`_InDoubt` with its id.
    """

    def __init__(self, apg: Any, timeout: float) -> None:
        self.apg = apg
        self.timeout = timeout
        self.broken = False

    async def _rollback(self) -> None:
        if self.apg.is_closed():
            return
        try:
            await self.apg.execute("ROLLBACK", timeout=self.timeout)
        except Exception:
            self.broken = True

    async def _copy(self, spec: _TableSpec, rows: list[Row]) -> None:
        await self.apg.copy_records_to_table(
            spec.name, records=spec.pg_records(rows), columns=spec.columns, timeout=self.timeout
        )

    async def write(self, batch: Batch, on_xid: Callable[[int], None] | None) -> None:
        apg, timeout = self.apg, self.timeout
        await apg.execute("BEGIN", timeout=timeout)
        try:
            xid = int(await apg.fetchval("SELECT txid_current()", timeout=timeout))
            if on_xid is not None:
                on_xid(xid)
            for spec, rows in batch.items():
                await self._copy(spec, rows)
        except BaseException:
            await self._rollback()
            raise
        try:
            await apg.execute("COMMIT", timeout=timeout)
        except Exception as exc:
            self.broken = True
            raise _InDoubt(xid, exc) from exc

    async def trial(self, spec: _TableSpec, rows: list[Row]) -> BaseException | None:
        await self.apg.execute("BEGIN", timeout=self.timeout)
        try:
            await self._copy(spec, rows)
        except Exception as exc:
            return exc
        finally:
            await self._rollback()
        return None

    async def xid_status(self, xids: Iterable[int]) -> dict[int, str | None]:
        out: dict[int, str | None] = {}
        for xid in xids:
            try:
                out[xid] = await self.apg.fetchval(
                    "SELECT txid_status($1)", xid, timeout=self.timeout
                )
            except apg_exc.PostgresError:  # e.g. "in the future": another server's id
                out[xid] = None
        return out


# --------------------------------------------------------------------------- spool


@dataclass
class _Progress:
    offset: int = 0
    pending_end: int | None = None
    pending_xid: int | None = None


@dataclass
class _Attempt:
    """One batch on its way in: what is left to write, what was refused, the last xid."""

    batch: Batch
    bad: list[tuple[_TableSpec, Row, str]] = field(default_factory=list)
    xid: int | None = None


class _ReplayCursor:
    """One sealed spool segment, locked for replay, with its progress sidecar."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.progress_path = path.with_name(path.name + PROGRESS_SUFFIX)
        self.file: IO[bytes] = os.fdopen(fd, "rb")
        self.progress = self._load()
        self.file.seek(self.progress.offset)

    def _load(self) -> _Progress:
        try:
            data = json.loads(self.progress_path.read_text())
            return _Progress(int(data["offset"]), data.get("pending_end"), data.get("pending_xid"))
        except FileNotFoundError:
            return _Progress()
        except (ValueError, KeyError, TypeError):
            log.error("log writer: unreadable %s; replaying %s from the start",
                      self.progress_path, self.path.name)  # fmt: skip
            return _Progress()

    def _save(self) -> None:
        tmp = self.progress_path.with_name(self.progress_path.name + ".tmp")
        p = self.progress
        tmp.write_text(
            json.dumps(
                {"offset": p.offset, "pending_end": p.pending_end, "pending_xid": p.pending_xid}
            )
        )
        os.replace(tmp, self.progress_path)

    def resolve(self, status: str | None) -> None:
        """Settle a chunk left pending by a crash, given its transaction's status."""
        if self.progress.pending_end is not None and status == "committed":
            self.progress.offset = self.progress.pending_end
        self.progress.pending_end = self.progress.pending_xid = None
        self._save()
        self.file.seek(self.progress.offset)

    def read(self, limit: int) -> tuple[list[bytes], int]:
        lines: list[bytes] = []
        while len(lines) < limit:
            line = self.file.readline()
            if not line:
                break
            lines.append(line)
        return lines, self.file.tell()

    def mark_pending(self, end: int, xid: int) -> None:
        self.progress.pending_end, self.progress.pending_xid = end, xid
        self._save()

    def advance(self, end: int) -> None:
        self.progress = _Progress(end)
        self._save()

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
        self.progress_path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        self.file.close()  # releases the flock


class _Spool:
    """The spool directory: this writer's active segment, sealed segments, rejected rows."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._prefix = f"{SPOOL_PREFIX}{stamp}-{os.getpid()}-{secrets.token_hex(3)}-"
        self._seq = itertools.count(1)
        self._active: IO[str] | None = None
        self._active_path: Path | None = None

    def ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    # -- writing
    def append(self, lines: Iterable[str]) -> None:
        if self._active is None:
            self.ensure_dir()
            path = self.dir / f"{self._prefix}{next(self._seq):06d}{SPOOL_SUFFIX}"
            # Locked under a hidden name first, so no replayer can see it unlocked (and take
            # it for an empty leftover); the rename keeps the inode and so the lock.
            hidden = self.dir / f".{path.name}.new"
            handle = open(hidden, "a", encoding="ascii")  # noqa: SIM115 - kept open on purpose
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.rename(hidden, path)
            except OSError:
                handle.close()
                raise
            self._active, self._active_path = handle, path
        self._active.writelines(lines)

    def flush(self) -> None:
        if self._active is not None:
            self._active.flush()

    def seal(self, sync: bool = False) -> None:
        """Close the active segment so it can be replayed; new rows start a new one."""
        if self._active is not None:
            self._active.flush()
            if sync:
                os.fsync(self._active.fileno())
            self._active.close()
            self._active = self._active_path = None

    @property
    def has_active(self) -> bool:
        return self._active is not None

    def reject(self, records: Iterable[dict[str, Any]]) -> None:
        self.ensure_dir()
        text = "".join(_dumps(r) + "\n" for r in records)
        with open(self.dir / REJECTED_FILE, "a", encoding="ascii") as handle:
            handle.write(text)

    # -- replaying
    def segments(self) -> list[Path]:
        try:
            names = sorted(
                p
                for p in os.listdir(self.dir)
                if p.startswith(SPOOL_PREFIX) and p.endswith(SPOOL_SUFFIX)
            )
        except FileNotFoundError:
            return []
        active = self._active_path.name if self._active_path else None
        return [self.dir / n for n in names if n != active]

    def lock(self, path: Path) -> _ReplayCursor | None:
        """The segment opened and exclusively locked for replay, or None if someone has it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:  # replayed and deleted meanwhile
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        return _ReplayCursor(path, fd)

    def remove_orphans(self) -> None:
        """Progress files whose segment is gone (a crash between the two unlinks)."""
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.dir):
                if name.endswith(SPOOL_SUFFIX + PROGRESS_SUFFIX):
                    segment = self.dir / name.removesuffix(PROGRESS_SUFFIX)
                    if not segment.exists():
                        (self.dir / name).unlink(missing_ok=True)


# --------------------------------------------------------------------------- the writer


class LogWriter:
    """Batched, outage-proof writer of raw log rows. See the module docstring.

    ``put``/``put_many`` never block and never raise on database trouble (``ValueError`` for an
    unknown table or column). Use as ``async with LogWriter(engine, settings) as writer:``
    or call :meth:`start` and :meth:`close` yourself. Call it from the event loop's thread
    (it is not thread-safe). Rows are dicts of column -> value without ``id``; timestamps
    must be tz-aware; omitted columns get the model's default, or NULL.
    """

    def __init__(self, engine: AsyncEngine, settings: LogWriterSettings | None = None) -> None:
        self.settings = settings or LogWriterSettings()
        self.engine = engine
        self._specs = _specs()
        self._batch_size = self.settings.batch_size
        self._max_queue = self.settings.max_queue
        self._interval = self.settings.flush_interval_s
        self._timeout = self.settings.write_timeout_s
        self._copy = engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"
        self._spool = _Spool(Path(self.settings.spool_dir))
        self._pending_n = 0  # rows in the specs' pending lists
        self._held = 0  # rows in memory: pending, in flight or being replayed
        self._limit = self._max_queue  # put() spools past this; 0 once closed
        self._queued = 0
        self.stats = WriterStats(_source=self)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._stopping = False
        self._closed = False
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._spool_dirty = True  # there may be segments to replay
        self._last_scan = 0.0
        self._cursor: _ReplayCursor | None = None
        self._spool_error_logged = -1e9

    # -- hot path ---------------------------------------------------------------------------

    def put(self, table: str, row: Mapping[str, Any]) -> None:
        """Queue one row (a dict of column -> value without ``id``). O(1), never blocks."""
        spec = self._specs.get(table)
        if spec is None:
            raise ValueError(f"unknown table {table!r}; the writer takes {WRITABLE_TABLES}")
        if len(row) == spec.fast_len:  # every column given: one C call (inlined for speed)
            try:
                values = spec.getter(row)
            except KeyError:
                values = spec.convert(row)
        else:
            values = spec.convert(row)
        self._queued += 1
        if self._held >= self._limit:
            self._overflow(spec, [values])
            return
        spec.pending.append(values)
        self._held += 1
        self._pending_n += 1
        if self._pending_n == self._batch_size:
            self._wake.set()

    def put_many(self, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Queue many rows of one table (same rules as :meth:`put`)."""
        spec = self._specs.get(table)
        if spec is None:
            raise ValueError(f"unknown table {table!r}; the writer takes {WRITABLE_TABLES}")
        converted = [spec.convert(r) for r in rows]
        self._queued += len(converted)
        room = max(0, self._limit - self._held)
        if len(converted) > room:
            self._overflow(spec, converted[room:])
            converted = converted[:room]
        spec.pending.extend(converted)
        self._held += len(converted)
        self._pending_n += len(converted)
        if self._pending_n >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def _overflow(self, spec: _TableSpec, rows: list[Row]) -> None:
        """Memory is full (or the writer is closed): the rows go to the spool file."""
        if self._spool_rows({spec: rows}) and self._closed:
            self._spool.flush()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Replay whatever an earlier writer left in the spool, then start flushing."""
        if self._task is not None:
            return
        self._closed = self._stopping = False
        self._limit = self._max_queue
        try:
            self._spool.ensure_dir()
            self._spool.remove_orphans()
        except OSError as exc:
            log.error("log writer: spool directory %s unusable: %s", self._spool.dir, exc)
        with contextlib.suppress(OSError):  # a status line only; replay handles trouble
            leftovers = spool_files(self._spool.dir)
            if leftovers:
                size = sum(p.stat().st_size for p in leftovers)
                log.info("log writer: replaying %d spool segment(s) (%.1f MB) left in %s",
                         len(leftovers), size / 1e6, self._spool.dir)  # fmt: skip
        try:
            async with self._lock:
                await self._replay_all()
        except Exception:  # never keep the bot from starting; the flusher retries later
            log.exception("log writer: replaying the spool at start failed")
            self._drop_cursor()
        self._task = asyncio.create_task(self._run(), name="gatepulse-log-writer")

    async def flush(self) -> None:
        """Write everything queued so far, now (spooling it if the database is unreachable).

        When the database is reachable this also replays the spool, so after ``flush()``
        every row put so far is in the database, in ``rejected.jsonl``, or in the spool
        because the database is down. Cancelling the caller (``wait_for``) does not interrupt
        a write in progress: it finishes in the background.
        """
        await asyncio.shield(self._flush_now())

    async def _flush_now(self) -> None:
        async with self._lock:
            attempted = self._pending_n > 0
            await self._flush_pending(force=True)
            if not (attempted and self._down_since is not None):  # no second futile attempt
                await self._replay_all()

    async def close(self) -> None:
        """Drain everything (written, or spooled when the database is unreachable) and stop.

        Safe to call twice; a cancelled caller does not interrupt the drain.
        """
        if self._closed and self._closing is None:
            return
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        try:
            await asyncio.shield(self._closing)
        finally:
            if self._closing.done():
                self._closing = None

    async def _close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._closed = True
        self._limit = 0  # from here on put() goes straight to the spool
        try:
            await self._flush_now()
        finally:
            self._drop_cursor()
            self._flush_memory_to_spool()  # rows put during the final flush's awaits
            try:
                self._spool.seal(sync=True)
            except OSError as exc:
                log.error("log writer: could not close the spool file: %s", exc)
            if self.stats.spooled or self.stats.rejected:
                log.info("log writer closed: %s", self.stats.as_dict())

    async def __aenter__(self) -> LogWriter:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the flusher ------------------------------------------------------------------------

    async def _run(self) -> None:
        more = False
        while not self._stopping:
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break
            try:
                async with self._lock:
                    more = await self._cycle()
            except Exception:  # a bug; never let the flusher die
                log.exception("log writer: flush cycle failed")
                more = False
            if more:
                await asyncio.sleep(0)

    async def _cycle(self) -> bool:
        """One flush, plus one replay chunk when the spool has rows. True: more work waits."""
        await self._flush_pending(force=False)
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return False  # backing off; the next attempt (a flush or a replay) probes
        if not self._spool_dirty and self._cursor is None and now - self._last_scan > 10.0:
            self._spool_dirty = True  # look for segments dead processes left, now and then
        if self._spool_dirty or self._cursor is not None:
            if self._cursor is None and self._spool.has_active:
                self._spool.seal()
            return await self._replay_step()
        return self._pending_n >= self._batch_size

    def _take_pending(self) -> Batch:
        batch: Batch = {}
        for spec in self._specs.values():
            if spec.pending:
                batch[spec] = spec.pending
                spec.pending = []
        self._pending_n = 0  # the rows stay in self._held until settled
        return batch

    async def _flush_pending(self, force: bool) -> None:
        if not self._pending_n:
            self._spool.flush()
            return
        batch = self._take_pending()
        count = sum(map(len, batch.values()))
        attempt = _Attempt(batch)
        try:
            if self._down_since is not None and not force and time.monotonic() < self._retry_at:
                self._spool_rows(batch)  # still backing off: straight to the spool
                return
            self.stats.flushes += 1
            written = await self._write_guarded(attempt)
            self.stats.written += written
            self._mark_up()
        except _Unavailable as exc:
            self._mark_down(exc if isinstance(exc, _InDoubt) else exc.__cause__ or exc)
            self._spool_attempt(attempt)
        except BaseException:  # cancelled mid-write (e.g. wait_for around flush()): keep them
            self._spool_attempt(attempt)
            raise
        finally:
            self._held -= count
            self._spool.flush()

    def _spool_attempt(self, attempt: _Attempt) -> None:
        """A write failed: rows already found bad are rejected, the rest spooled, tagged with
        the transaction id of the last attempt (replay skips them if it did commit)."""
        if attempt.bad:
            self._reject(attempt.bad)
        self._spool_rows(attempt.batch, xid=attempt.xid)

    def _flush_memory_to_spool(self) -> None:
        if self._pending_n:
            batch = self._take_pending()
            count = sum(map(len, batch.values()))
            self._spool_rows(batch)
            self._held -= count

    def _spool_rows(self, batch: Batch, xid: int | None = None) -> bool:
        try:
            lines = [spec.spool_line(r, xid) for spec, rows in batch.items() for r in rows]
        except (TypeError, ValueError):  # a value JSON cannot hold even via str(): one by one
            lines = []
            unencodable = []
            for spec, rows in batch.items():
                for r in rows:
                    try:
                        lines.append(spec.spool_line(r, xid))
                    except (TypeError, ValueError) as exc:
                        unencodable.append(
                            {"table": spec.name, "raw": repr(r), "reason": _describe(exc)}
                        )
            self._write_rejected(unencodable)
        try:
            self._spool.append(lines)
        except OSError as exc:
            self.stats.spool_errors += 1
            self.stats.last_error = f"spool: {_describe(exc)}"
            now = time.monotonic()
            if now - self._spool_error_logged > 10.0:  # at most one line per 10 s, not per row
                self._spool_error_logged = now
                log.error("log writer: cannot spool to %s: %s; keeping rows in memory "
                          "(%d spool errors so far)", self._spool.dir, exc,
                          self.stats.spool_errors)  # fmt: skip
            for spec, rows in batch.items():
                spec.pending.extend(rows)
                self._pending_n += len(rows)
                self._held += len(rows)
            return False
        self.stats.spooled += len(lines)
        self._spool_dirty = True
        return True

    # -- state ------------------------------------------------------------------------------

    def _mark_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.stats.failed_flushes += 1
        self.stats.last_error = _describe(exc)
        self.stats.last_error_at = dt.datetime.now(dt.UTC)
        self.stats.database_available = False
        if self._down_since is None:
            self._down_since = now
            self._backoff = min(0.25, self.settings.retry_max_s)
            log.warning("log writer: database unavailable (%s); spooling to %s",
                        self.stats.last_error, self._spool.dir)  # fmt: skip
        else:
            self._backoff = min(self._backoff * 2, self.settings.retry_max_s)
        self._retry_at = now + self._backoff
        self._drop_cursor()

    def _drop_cursor(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def _mark_up(self) -> None:
        if self._down_since is not None:
            log.warning("log writer: database reachable again after %.1f s; replaying the spool",
                        time.monotonic() - self._down_since)  # fmt: skip
            self._down_since = None
            self._spool_dirty = True
        self.stats.database_available = True

    # -- writing with isolation of bad rows -------------------------------------------------

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[_Session]:
        if not self._copy:
            yield _CoreSession(self.engine, self._timeout)
            return
        async with asyncio.timeout(self._timeout):
            conn = await self.engine.connect()
        try:
            raw = await conn.get_raw_connection()
            session = _CopySession(raw.driver_connection, self._timeout)
            try:
                yield session
            except BaseException:
                session.broken = True
                raise
            finally:
                if session.broken or session.apg.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.invalidate()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _write_guarded(
        self,
        attempt: _Attempt,
        on_xid: Callable[[int], None] | None = None,
        before_reject: Callable[[], None] | None = None,
    ) -> int:
        """Write ``batch`` in one transaction, isolating bad rows. Returns rows written.

        Bad rows are recorded in ``rejected.jsonl`` only once the good rows are committed
        (``before_reject`` runs first), so a retried batch does not reject its rows twice.
        Raises :class:`_Unavailable` (or :class:`_InDoubt`) when the database is the problem.
        """
        try:
            async with self._session() as session:
                written = await self._write_isolating(session, attempt, on_xid)
        except _Unavailable:
            raise
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        if before_reject is not None:
            before_reject()
        if attempt.bad:
            self._reject(attempt.bad)
        return written

    async def _write_isolating(
        self, session: _Session, attempt: _Attempt, on_xid: Callable[[int], None] | None
    ) -> int:
        attempt.batch, attempt.bad = self._drop_naive(attempt.batch)

        def remember(xid: int) -> None:
            attempt.xid = xid
            if on_xid is not None:
                on_xid(xid)

        while attempt.batch:
            batch = attempt.batch
            try:
                await session.write(batch, remember)
                return sum(map(len, batch.values()))
            except Exception as exc:
                if not _is_data_error(exc):
                    raise
                error = exc
            found: list[tuple[_TableSpec, Row, str]] = []
            budget = [_TRIAL_BUDGET]
            for spec, rows in batch.items():
                found.extend(
                    (spec, row, why)
                    for row, why in await self._find_bad(session, spec, rows, budget)
                )
            if not found:  # the batch fails only as a whole: keep it, but out of the way
                found = [(s, r, _describe(error)) for s, rows in batch.items() for r in rows]
            attempt.bad.extend(found)
            rejected = {(s, id(r)) for s, r, _ in found}
            attempt.batch = {
                spec: kept
                for spec, rows in batch.items()
                if (kept := [r for r in rows if (spec, id(r)) not in rejected])
            }
        return 0

    async def _find_bad(
        self, session: _Session, spec: _TableSpec, rows: list[Row], budget: list[int]
    ) -> list[tuple[Row, str]]:
        """Bisect ``rows`` with rolled-back trial writes down to the rows that fail.

        After ``_TRIAL_BUDGET`` trials (a systematic error, e.g. every row bad) a failing
        slice is rejected whole instead of row by row, so isolation never stalls the writer.
        """
        budget[0] -= 1
        error = await session.trial(spec, rows)
        if error is None:
            return []
        if not _is_data_error(error):
            raise _Unavailable(_describe(error)) from error
        if len(rows) == 1:
            return [(rows[0], _describe(error))]
        if budget[0] <= 0:
            why = f"{_describe(error)} (one of {len(rows)} rows rejected together)"
            return [(r, why) for r in rows]
        mid = len(rows) // 2
        left = await self._find_bad(session, spec, rows[:mid], budget)
        return left + await self._find_bad(session, spec, rows[mid:], budget)

    def _drop_naive(self, batch: Batch) -> tuple[Batch, list[tuple[_TableSpec, Row, str]]]:
        bad: list[tuple[_TableSpec, Row, str]] = []
        for spec, rows in list(batch.items()):
            if not spec.dt_idx:
                continue
            idx = spec.naive_rows(rows)
            if idx:
                drop = set(idx)
                why = "ValueError: naive or non-datetime timestamp (tz-aware UTC required)"
                bad.extend((spec, rows[i], why) for i in idx)
                batch[spec] = [r for n, r in enumerate(rows) if n not in drop]
        return {s: r for s, r in batch.items() if r}, bad

    def _reject(self, bad: list[tuple[_TableSpec, Row, str]]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        records = [
            {"table": s.name, "row": s.as_dict(r), "reason": why, "rejected_at": now}
            for s, r, why in bad
        ]
        self._write_rejected(records)

    def _write_rejected(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        reasons = sorted({f"{r.get('table', '?')}: {r['reason']}" for r in records})
        log.warning("log writer: the database refused %d row(s), kept in %s: %s",
                    len(records), self._spool.dir / REJECTED_FILE,
                    "; ".join(reasons[:5]) + (" ..." if len(reasons) > 5 else ""))  # fmt: skip
        self.stats.rejected += len(records)
        try:
            self._spool.reject(records)
        except OSError as exc:
            self.stats.spool_errors += 1
            log.error("log writer: cannot write %s: %s; rows: %s", REJECTED_FILE, exc, records)

    # -- replay -----------------------------------------------------------------------------

    async def _replay_all(self) -> None:
        """Replay every segment that can be replayed now (stops at the first outage)."""
        self._spool.seal()
        self._spool_dirty = True
        while await self._replay_step():
            pass

    async def _replay_step(self) -> bool:
        """Replay one chunk. True when there is more to replay right away."""
        if self._cursor is None:
            self._cursor = self._next_segment()
            if self._cursor is None:
                self._spool_dirty = False
                self._last_scan = time.monotonic()
                return False
            try:
                await self._resolve_pending(self._cursor)
            except _Unavailable as exc:
                self._mark_down(exc.__cause__ or exc)
                return False
        cursor = self._cursor
        room = self._max_queue - self._held
        limit = min(max(self._batch_size, 1000), room)
        if limit <= 0:  # memory is full of fresh rows: write (or spool) those first
            await self._flush_pending(force=True)
            return True
        lines, end = cursor.read(limit)
        if not lines:
            cursor.finish()
            self._cursor = None
            log.info("log writer: replayed spool segment %s", cursor.path.name)
            return True
        batch, tagged, bad = self._parse(lines)
        count = sum(map(len, batch.values())) + sum(len(rows) for _, rows in tagged)
        self._held += count
        try:
            try:
                skipped = await self._drop_committed(tagged, batch)
                written = 0
                if batch:
                    written = await self._write_guarded(
                        _Attempt(batch),
                        on_xid=lambda xid: cursor.mark_pending(end, xid),
                        before_reject=lambda: cursor.advance(end),
                    )
            except _Unavailable as exc:
                self._mark_down(exc.__cause__ or exc)  # drops the cursor; progress is on disk
                return False
            except BaseException:  # cancelled: reopen from the progress file next time
                self._drop_cursor()
                raise
            if not batch:
                cursor.advance(end)
            if bad:
                self._write_rejected(bad)
            self.stats.replayed += written
            self.stats.replay_skipped += skipped
            self._mark_up()
            return True
        finally:
            self._held -= count

    def _next_segment(self) -> _ReplayCursor | None:
        try:
            for path in self._spool.segments():
                cursor = self._spool.lock(path)
                if cursor is not None:
                    return cursor
        except OSError as exc:
            self.stats.spool_errors += 1
            log.error("log writer: cannot read the spool in %s: %s", self._spool.dir, exc)
        return None

    async def _resolve_pending(self, cursor: _ReplayCursor) -> None:
        """A previous replayer stopped between recording a transaction and its outcome."""
        xid = cursor.progress.pending_xid
        if xid is None:
            if cursor.progress.pending_end is not None:
                cursor.resolve(None)
            return
        try:
            async with self._session() as session:
                status = (await session.xid_status([xid])).get(xid)
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        if status == "in progress":
            raise _Unavailable(f"transaction {xid} of an earlier replay is still in progress")
        cursor.resolve(status)

    def _parse(
        self, lines: list[bytes]
    ) -> tuple[Batch, list[tuple[int, list[tuple[_TableSpec, Row]]]], list[dict[str, Any]]]:
        batch: Batch = {}
        tagged: dict[int, list[tuple[_TableSpec, Row]]] = {}
        bad: list[dict[str, Any]] = []
        now = dt.datetime.now(dt.UTC).isoformat()
        for line in lines:
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("truncated line (the writing process died mid-line)")
                record = json.loads(line)
                spec = self._specs.get(record["t"])
                if spec is None:
                    raise ValueError(f"unknown table {record['t']!r}")
                row = spec.from_spool(record["r"])
            except (ValueError, KeyError, TypeError) as exc:
                text = line.decode("utf-8", "replace")
                bad.append({"raw": text, "reason": _describe(exc), "rejected_at": now})
                continue
            xid = record.get("x")
            if xid is None:
                batch.setdefault(spec, []).append(row)
            else:
                tagged.setdefault(int(xid), []).append((spec, row))
        return batch, list(tagged.items()), bad

    async def _drop_committed(
        self, tagged: list[tuple[int, list[tuple[_TableSpec, Row]]]], batch: Batch
    ) -> int:
        """Rows spooled after an in-doubt commit: skip those whose transaction committed."""
        if not tagged:
            return 0
        try:
            async with self._session() as session:
                status = await session.xid_status([xid for xid, _ in tagged])
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        skipped = 0
        for xid, rows in tagged:
            state = status.get(xid)
            if state == "committed":
                skipped += len(rows)
                continue
            if state == "in progress":
                raise _Unavailable(f"in-doubt transaction {xid} is still in progress")
            for spec, row in rows:
                batch.setdefault(spec, []).append(row)
        if skipped:
            log.info("log writer: %d spooled row(s) had been committed already; skipped", skipped)
        return skipped


def spool_files(spool_dir: Path | str) -> list[Path]:
    """The spool segments waiting in ``spool_dir`` (for status displays and tests)."""
    directory = Path(spool_dir)
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(SPOOL_PREFIX) and p.name.endswith(SPOOL_SUFFIX)
    )


def read_rejected(spool_dir: Path | str) -> list[dict[str, Any]]:
    """The rows the database refused, as recorded in ``rejected.jsonl``."""
    path = Path(spool_dir) / REJECTED_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


__all__ = [
    "WRITABLE_TABLES",
    "LogWriter",
    "WriterStats",
    "read_rejected",
    "spool_files",
]
