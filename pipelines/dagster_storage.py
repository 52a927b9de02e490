"""The local Dagster instance's storage: Dagster's own SQLite layout, written cheaply.

Dagster's SQLite event log opens a new SQLAlchemy engine for every event it stores (so no
statement is ever compiled twice from cache) and commits each with a full fsync. A one-week
range of every analytics asset stores ~300 events, which made recording the runs of
``gatepulse materialize`` several times slower than the runs themselves on a small machine.
This storage keeps Dagster's files and schema (``history/``, ``schedules/``; the UI and the
CLI read them as usual) and changes two things for the event log: one engine per database file,
kept while the file is in use, with its connections pooled (a new SQLite connection re-reads
the schema, and closing the last one checkpoints the WAL), and ``PRAGMA synchronous=OFF``.

What that trades: SQLite stays consistent if a process crashes; only an operating-system crash
or power cut during a write can damage the run history (never gatepulse's own data). The
production instance keeps everything in PostgreSQL (``deploy/dagster/dagster.yaml``).
Selected in the repository's ``dagster.yaml`` as ``storage: custom:``.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import yaml
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils import mkdir_p

MODULE = "pipelines.dagster_storage"
ENGINES_KEPT = 8
"""Engines kept at once (the index database and the latest runs' databases)."""


def _unsynced(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def _pooled_engine(conn_string: str) -> sa.Engine:
    """An engine whose few connections stay open, and commit without fsync."""
    engine = sa.create_engine(
        conn_string,
        pool_size=1,
        max_overflow=4,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
    )
    sa.event.listen(engine, "connect", _unsynced)
    return engine


class LocalSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage through one pooled engine, without fsync."""

    _engine: sa.Engine | None = None

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> LocalSqliteRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        if self._engine is None:
            self._engine = _pooled_engine(self._conn_string)
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class LocalSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's sharded SQLite event log with one pooled engine per shard, without fsync."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> LocalSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = _pooled_engine(self.conn_string_for_shard(shard))
            self._engines[shard] = engine
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        while self._engines:
            self._engines.popitem()[1].dispose()


class LocalSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` with the run storage and event log above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self.base_dir = base_dir
        self._run_storage = LocalSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = LocalSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)  # type: ignore[no-untyped-call, arg-type]

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> LocalSqliteStorage:
        mkdir_p(config_value["base_dir"])
        return cls(config_value["base_dir"], inst_data=inst_data)

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(
            MODULE,
            LocalSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir)}),
        )

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return ConfigurableClassData(
            MODULE,
            LocalSqliteRunStorage.__name__,
            yaml.dump({"base_dir": _runs_directory(self.base_dir)}),
        )
