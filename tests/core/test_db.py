"""core.db's synchronous engines: one factory, one policy for the pipelines, probes and the
dashboard."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool, QueuePool

from core.db import SQLITE_BUSY_TIMEOUT_S, create_sync_engine


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"  # the async spelling, as settings hold it


def test_a_sync_engine_speaks_the_sync_driver_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = create_sync_engine(_url(tmp_path))
    try:
        assert engine.url.drivername == "sqlite"
        assert isinstance(engine.pool, NullPool)  # a connection per use by default
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            busy_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_ms == SQLITE_BUSY_TIMEOUT_S * 1000
    finally:
        engine.dispose()


def test_a_pooled_autocommit_engine_keeps_its_connections(tmp_path: Path) -> None:
    engine = create_sync_engine(_url(tmp_path), pool_size=2, autocommit=True)
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 2
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:  # no commit asked: autocommit kept the row
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


def test_a_probe_timeout_bounds_the_sqlite_lock_wait(tmp_path: Path) -> None:
    engine = create_sync_engine(_url(tmp_path), connect_timeout_s=3)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000
    finally:
        engine.dispose()
