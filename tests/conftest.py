"""Shared fixtures: a migrated database per test on the backend under test.

``make test`` runs the suite on SQLite, then runs the tests marked ``db`` again with
``GATEPULSE_TEST_PG_URL`` pointing at a throwaway PostgreSQL server. A test is marked ``db``
automatically when it uses the ``db_url`` fixture (directly or through another fixture).
Tests marked ``postgres`` need PostgreSQL itself and only run in that second pass.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.migrate import run_migrations
from core.settings import DatabaseSettings, LogWriterSettings, PipelineSettings, Settings
from sandbox.redis import TempRedis
from tests.support.pg import ENV_URL

PG_URL = os.environ.get(ENV_URL, "")
BACKEND = "postgresql" if PG_URL else "sqlite"


def pytest_report_header(config: pytest.Config) -> str:
    where = make_url(PG_URL).render_as_string(hide_password=True) if PG_URL else "temp files"
    return f"gatepulse database backend: {BACKEND} ({where})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if {"db_url", "empty_db_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if item.get_closest_marker("postgres") and not PG_URL:
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: runs in make test's PostgreSQL pass")
            )


def _pg_dsn(database: str) -> str:
    return (
        make_url(PG_URL)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def backend() -> str:
    """The database backend this run uses: ``sqlite`` or ``postgresql``."""
    return BACKEND


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each test's database is copied from (fast per-test setup)."""
    if PG_URL:
        name = f"gp_template_{uuid.uuid4().hex[:8]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        run_migrations(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        yield name
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        run_migrations(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
def db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for this test; its async SQLAlchemy URL."""
    if PG_URL:
        name = f"gp_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template_db}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path / "gatepulse.db"
        shutil.copyfile(_template_db, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database with no schema at all (migration tests)."""
    if PG_URL:
        name = f"gp_empty_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


def settings_on(db_url: str, var_dir: Path) -> Settings:
    """Every area at its defaults, on ``db_url``, with var/ (spool, Dagster home) in ``var_dir``."""
    return Settings(
        db=DatabaseSettings(DATABASE_URL=db_url, GATEPULSE_VAR_DIR=var_dir),
        writer=LogWriterSettings(GATEPULSE_VAR_DIR=var_dir),
        pipelines=PipelineSettings(GATEPULSE_VAR_DIR=var_dir),
    )


@pytest.fixture
def app_settings(db_url: str, tmp_path: Path) -> Settings:
    """The settings an entry point would build, on this test's database."""
    return settings_on(db_url, tmp_path / "var")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An async engine on this test's database, disposed afterwards."""
    eng = create_engine(url=db_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[TempRedis]:
    """A throwaway redis-server on 127.0.0.1 (the OS package, installed when missing), started
    by the first test that asks for it and shared by the session's Redis tests."""
    with TempRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: TempRedis) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    with redis.Redis(port=redis_server.port) as client:
        client.flushall()
    return redis_server.url()
