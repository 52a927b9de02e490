"""The writer's state, intake and batches: rows in, and one batch at a time out.

:class:`_BatchWriter` holds what a writer knows: the rows in memory (at most ``max_queue``;
past that ``put()`` spools), whether the database is up (with the backoff while it is not)
and the replay cursor. A batch is written in one transaction, its bad rows isolated and
rejected, or spooled when the database is unavailable. :class:`~core.log_writer.LogWriter`
builds the lifecycle, the flusher task and the replay of the spool on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Base
from core.log_writer.isolation import _Attempt, _write_isolating
from core.log_writer.rows import (
    WRITABLE_TABLES,
    Batch,
    Row,
    _by_key,
    _specs,
    _table_name,
    _TableSpec,
)
from core.log_writer.sinks import _describe, _InDoubt, _open_session, _Session, _Unavailable
from core.log_writer.spool import REJECTED_FILE, _ReplayCursor, _Spool
from core.log_writer.stats import WriterStats
from core.settings import LogWriterSettings

log = logging.getLogger("core.log_writer")  # the package's one logger, as before the split


class _BatchWriter:
    """A :class:`~core.log_writer.LogWriter`'s state, intake and batches (its base class).

    Rows queued by ``put``/``put_many`` (for a model class or a table name: one dict lookup)
    wait in their table spec's ``pending`` list; ``_flush_pending`` takes them as one batch
    and writes it (bad rows isolated and rejected) or, when the database is unavailable,
    spools it. The public contract is LogWriter's.
    """

    def __init__(self, engine: AsyncEngine, settings: LogWriterSettings) -> None:
        self.settings = settings
        self.engine = engine
        self._specs = _specs()
        self._by_key = _by_key(self._specs)  # model class or table name -> spec
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

    def put(
        self,
        table: type[Base] | str,
        row: Mapping[str, Any] | None = None,
        /,
        **columns: Any,
    ) -> None:
        """Queue one row, O(1), never blocks: ``put(VerificationLog, user_id=1, ...)``.

        ``table`` is a raw log's model class (or its table name); the row is given as
        keyword arguments, or as one mapping of column -> value (without ``id``).
        """
        spec = self._by_key.get(table)
        if spec is None:
            raise ValueError(
                f"unknown table {_table_name(table)!r}; the writer takes {WRITABLE_TABLES}"
            )
        if row is None:
            row = columns
        elif columns:
            raise TypeError("put() takes the row as a mapping or as keywords, not both")
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

    def put_many(self, table: type[Base] | str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Queue many rows of one table (mappings; same rules as :meth:`put`)."""
        spec = self._by_key.get(table)
        if spec is None:
            raise ValueError(
                f"unknown table {_table_name(table)!r}; the writer takes {WRITABLE_TABLES}"
            )
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

    # -- one batch: written, or spooled ------------------------------------------------------

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

    def _session(self) -> contextlib.AbstractAsyncContextManager[_Session]:
        return _open_session(self.engine, self._copy, self._timeout)

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
                written = await _write_isolating(session, attempt, on_xid)
        except _Unavailable:
            raise
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        if before_reject is not None:
            before_reject()
        if attempt.bad:
            self._reject(attempt.bad)
        return written

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
