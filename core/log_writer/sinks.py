"""Sinks: one database session per write, and what a failed write means.

:class:`_CoreSession` writes through SQLAlchemy Core (SQLite, or a driver other than
asyncpg); :class:`_CopySession` uses asyncpg's binary COPY on a pooled connection of the
engine and knows its transaction ids. A failure either blames the rows
(:func:`_is_data_error`: isolate and reject them) or the database (:class:`_Unavailable`,
and :class:`_InDoubt` for a commit that may or may not have happened: spool and retry).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

import asyncpg.exceptions as apg_exc
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db import write_turn
from core.log_writer.rows import Batch, Row, _TableSpec

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


# --------------------------------------------------------------------------- sessions


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


@contextlib.asynccontextmanager
async def _open_session(
    engine: AsyncEngine, copy: bool, timeout_s: float
) -> AsyncIterator[_Session]:
    """A session for one write: COPY on one pooled asyncpg connection when ``copy``, else Core.

    A connection the session broke (or found closed) is invalidated, not returned to the pool.
    """
    if not copy:
        yield _CoreSession(engine, timeout_s)
        return
    async with asyncio.timeout(timeout_s):
        conn = await engine.connect()
    try:
        raw = await conn.get_raw_connection()
        session = _CopySession(raw.driver_connection, timeout_s)
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
