"""The database layer: declarative base, column types, and the one engine factory.

:func:`create_engine` gives the async engine (the bot, the log writer, migrations);
:func:`create_sync_engine` the synchronous one (the pipelines' polars reads and bulk writes,
the dashboard's pandas reads). Both share the URL handling, the connect arguments and the pool
policy below.

Both backends behave the same from Python: Telegram ids are 64-bit, timestamps go in and come
out as tz-aware UTC (SQLite stores UTC text and gets its tzinfo back here), JSON is JSONB on
PostgreSQL and JSON text on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from core.retry import Retry, RetryPolicy
from core.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UTC = dt.UTC


#: SQLAlchemy's text for a SQLite ``DATETIME``: what ``datetime.isoformat(" ",
#: "microseconds")`` gives for a naive value (:meth:`UTCDateTime.bind_processor`).
_SQLITE_TEXT = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: gatepulse stores tz-aware UTC only")
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp that is always tz-aware UTC in Python.

    PostgreSQL: ``timestamptz``. SQLite: UTC text without offset (sorts and compares as time).
    Naive datetimes are refused: every timestamp in gatepulse is made aware at the source.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = _aware_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's ``DATETIME`` stores, made by ``isoformat``:
        :meth:`process_bind_param` then that type's ``%``-formatting of seven fields cost
        over twice as much, and the log writer binds one or two per raw row."""
        impl = self.impl_instance
        if dialect.name != "sqlite" or getattr(impl, "_storage_format", None) != _SQLITE_TEXT:
            return super().bind_processor(dialect)

        def process(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            return _aware_utc(value).isoformat(" ", "microseconds")[:-6]  # less "+00:00"

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        when: dt.datetime = (
            dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        )  # text when SQLite hands back a raw expression
        if when.tzinfo is None:
            return when.replace(tzinfo=UTC)
        return when.astimezone(UTC)


TelegramId = sa.BigInteger
"""Telegram user and chat ids exceed 2**31: always BIGINT."""

SurrogateKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""Auto-increment primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite."""

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        int: sa.BigInteger(),
        dt.datetime: UTCDateTime(),
        dt.date: sa.Date(),
        dict[str, Any]: JSONType,
        float: sa.Float(),
        bool: sa.Boolean(),
        str: sa.String(),
    }


def backend_of(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"`` for a SQLAlchemy URL."""
    return make_url(url).get_backend_name()


def sync_url(url: str) -> str:
    """The synchronous SQLAlchemy URL for the same database (psycopg2 / pysqlite)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    return u.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def plain_url(url: str | URL) -> str:
    """A driver-less URL (``postgresql://`` or ``sqlite:///``) for connectorx, ADBC, libpq."""
    u = make_url(url)
    name = u.get_backend_name()
    return u.set(drivername=name).render_as_string(hide_password=False)


def sqlite_path(url: str | URL) -> str:
    """The file path of a SQLite URL (an engine's ``url`` will do)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database:
        raise ValueError(f"not a SQLite file URL: {url}")
    return u.database


# ---------------------------------------------------------------- owner-only files
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents owner-only (0700); folders that already
    exist are left as they are (they are not gatepulse's to change)."""
    missing: list[Path] = []
    for folder in (directory, *directory.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered through the umask


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """A descriptor on ``path`` opened with ``flags``, the file created (or kept) 0600."""
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # a umask narrower than 077, or a file from before
    except OSError:
        os.close(fd)
        raise
    return fd


def create_private_sqlite_file(path: str) -> None:
    """Make the SQLite file ``path`` owner-only before SQLite first opens it: its folder is
    created 0700 (when gatepulse creates it) and a missing file is created empty and 0600.
    SQLite gives its ``-wal``, ``-shm`` and journal files the main file's permissions."""
    file = Path(path)
    private_dir(file.parent)
    if not file.exists():
        os.close(open_private(file, os.O_WRONLY | os.O_CREAT))


SQLITE_BUSY_TIMEOUT_S = 30
"""How long a SQLite connection waits for another writer's lock before it fails."""
PG_SESSION_OPTIONS = "-c timezone=UTC"
"""PostgreSQL sessions of the sync engines run in UTC: timestamps read back are UTC-aware."""


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _sqlite_sync_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(
    settings: DatabaseSettings | None = None, *, url: str | None = None, pool: bool = True
) -> AsyncEngine:
    """An async engine for ``settings.url`` (or ``url``) with the configured pool.

    The entry point builds the settings once and passes them (or just a ``url``, then with
    the default pool options); nothing here reads the environment.

    PostgreSQL gets ``pool_pre_ping``, the configured size/overflow and recycling. SQLite gets
    WAL, a busy timeout and foreign keys on every connection; its file is created owner-only
    (0600, a folder it creates 0700: :func:`create_private_sqlite_file`).
    ``pool=False`` uses ``NullPool`` (migrations, short CLI runs).
    """
    if settings is None:
        if url is None:
            raise TypeError("create_engine needs the database settings or a url")
        settings = DatabaseSettings.model_construct()  # the pool defaults; no environment read
    url = url or settings.url
    kwargs: dict[str, Any] = {"echo": settings.echo}
    if backend_of(url) == "sqlite":
        u = make_url(url)
        path = u.database
        if path and path != ":memory:" and not u.query.get("uri"):
            create_private_sqlite_file(path)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        if not pool:
            kwargs["poolclass"] = NullPool
    else:
        if pool:
            kwargs.update(
                pool_pre_ping=settings.pool_pre_ping,
                pool_size=settings.pool_size,
                max_overflow=settings.max_overflow,
                pool_recycle=settings.pool_recycle_s,
            )
        else:
            kwargs["poolclass"] = NullPool
    engine = _create_async_engine(url, **kwargs)
    if backend_of(url) == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def create_sync_engine(
    url: str,
    *,
    pool_size: int = 0,
    connect_timeout_s: float | None = None,
    autocommit: bool = False,
) -> sa.Engine:
    """A synchronous engine (psycopg2 / sqlite3) for ``url`` (async spellings are converted).

    ``pool_size=0`` opens a connection per use (``NullPool``: the pipelines' short runs, probes);
    a positive size keeps that many (and as many again on overflow), pre-pinged and recycled
    (a long-lived reader such as the dashboard). ``connect_timeout_s`` bounds the connect (and
    SQLite's wait for a lock; default :data:`SQLITE_BUSY_TIMEOUT_S` there, the driver's own on
    PostgreSQL). ``autocommit`` spares readers a BEGIN/ROLLBACK round trip per query.
    SQLite connections enforce foreign keys; PostgreSQL sessions run in UTC.
    """
    kwargs: dict[str, Any] = {}
    if backend_of(url) == "sqlite":
        kwargs["connect_args"] = {"timeout": connect_timeout_s or SQLITE_BUSY_TIMEOUT_S}
    else:
        args: dict[str, Any] = {"options": PG_SESSION_OPTIONS}
        if connect_timeout_s is not None:
            args["connect_timeout"] = connect_timeout_s
        kwargs["connect_args"] = args
    if pool_size:
        kwargs.update(
            pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
        )
    else:
        kwargs["poolclass"] = NullPool
    if autocommit:
        kwargs["isolation_level"] = "AUTOCOMMIT"
    engine = sa.create_engine(sync_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_sync_on_connect)
    return engine


_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def write_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """This process's turn to write through ``engine``: hold it around a write transaction.

    SQLite has one writer at a time, and its busy handler (the ``busy_timeout`` poll) is
    neither fair nor aware of who waits: two writers of one process that meet on the file
    lock can starve each other until one times out. So every writer of a process (the log
    writer, the gate's state writer, admin changes) takes a turn from one FIFO
    ``asyncio.Lock`` per engine and event loop, and the file lock is only ever contended by
    other processes. PostgreSQL has row locks and MVCC: there the turn is free.

    Keep the turn short: never hold it across an await that waits for another writer, for
    Telegram or for a simulated clock.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    loop = asyncio.get_running_loop()
    per_loop = _WRITE_LOCKS.setdefault(engine.sync_engine, {})
    lock = per_loop.get(loop)
    if lock is None:
        for old in [k for k in per_loop if k.is_closed()]:
            del per_loop[old]
        lock = per_loop[loop] = asyncio.Lock()
    async with lock:
        yield


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(url: str) -> None:
    """``SELECT 1`` on ``url`` over a fresh connection; raises what the driver raises."""
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    finally:
        await engine.dispose()


def wait_for_database(
    url: str,
    timeout_s: float = 60.0,
    interval_s: float = 1.0,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Block until ``url`` answers ``SELECT 1``; return the number of attempts.

    Raises ``TimeoutError`` (with the last error in the message) once ``timeout_s`` has passed
    on ``monotonic``; waits ``interval_s`` between attempts with ``sleep``.
    """
    deadline = monotonic() + timeout_s
    attempts = 0

    async def attempt() -> None:
        nonlocal attempts
        attempts += 1
        await asyncio.wait_for(ping(url), timeout=max(interval_s, 5.0))

    def until_deadline(_fault: Exception, _retry: int) -> float | None:
        return None if monotonic() + interval_s > deadline else interval_s

    async def pause(seconds: float) -> None:
        sleep(seconds)  # the caller's blocking sleep: nothing else runs on this loop

    policy = RetryPolicy(Retry(Exception, sys.maxsize, until_deadline), sleep=pause)
    try:
        asyncio.run(policy.call(attempt))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
        shown = make_url(url).render_as_string(hide_password=True)
        raise TimeoutError(
            f"database at {shown} did not answer within {timeout_s:g}s "
            f"({attempts} attempts; last error: {reason})"
        ) from None
    return attempts
