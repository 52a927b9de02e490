"""The backup and restore procedures of docs/OPERATIONS.md, run for real."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, plain_url, sqlite_path
from core.migrate import run_migrations, table_counts
from core.models import AnalyticsGroupDaily, ProtectedGroup
from core.roles import READONLY_ROLE
from tests.support.pg import ensure_installed

DROP_PARTITIONED = (
    "DO $$ DECLARE t regclass; BEGIN FOR t IN SELECT partrelid FROM pg_partitioned_table "
    "LOOP EXECUTE format('DROP TABLE %s CASCADE', t); END LOOP; END $$"
)  # as in docs/OPERATIONS.md (Backup and restore)


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(ProtectedGroup).values(id=-42, title="Backed up"))
        await conn.execute(
            sa.insert(AnalyticsGroupDaily).values(
                day=sa.func.current_date(), group_id=-42, messages=7, active_users=1,
                verifications=0, passed=0, failed=0, joins=0, leaves=0,
            )
        )  # fmt: skip


async def _title(url: str) -> str | None:
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            query = sa.select(ProtectedGroup.title).where(ProtectedGroup.id == -42)
            return await conn.scalar(query)
    finally:
        await engine.dispose()


def _pg(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ensure_installed() / tool), *args], capture_output=True, text=True)


@pytest.mark.postgres
def test_pg_dump_then_restore_after_migrate(db_url: str, empty_db_url: str, tmp_path: Path) -> None:
    asyncio.run(_fill_and_dispose(create_engine(url=db_url)))
    dump = tmp_path / "gatepulse.dump"
    done = _pg("pg_dump", "-Fc", "-f", str(dump), plain_url(db_url))
    assert done.returncode == 0, done.stderr

    # The documented order: migrate the new database (role, schema), drop its (empty)
    # partitioned raw logs (pg_restore --clean cannot drop a partition's inherited key), then
    # restore over it.
    run_migrations(empty_db_url)
    done = _pg("psql", "-v", "ON_ERROR_STOP=1", "-c", DROP_PARTITIONED, plain_url(empty_db_url))
    assert done.returncode == 0, done.stderr
    done = _pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
               "-d", plain_url(empty_db_url), str(dump))  # fmt: skip
    assert done.returncode == 0, done.stderr

    assert asyncio.run(_title(empty_db_url)) == "Backed up"
    counts = asyncio.run(table_counts(empty_db_url))
    assert counts["analytics_group_daily"] == 1
    restored = make_url(empty_db_url).database
    check = _pg(
        "psql", "-tAc",
        f"SELECT has_table_privilege('{READONLY_ROLE}', 'analytics_group_daily', 'SELECT'), "
        f"has_table_privilege('{READONLY_ROLE}', 'messages', 'SELECT')",
        plain_url(empty_db_url),
    )  # fmt: skip
    assert check.stdout.strip() == "t|f", (restored, check.stderr)
    run_migrations(empty_db_url)  # the restored revision is current: a no-op


def test_sqlite_online_backup_is_a_working_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gatepulse.db'}"
    run_migrations(url)
    asyncio.run(_fill_and_dispose(create_engine(url=url)))
    copy = tmp_path / "backup.db"
    with (
        closing(sqlite3.connect(sqlite_path(url))) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)  # what the documented one-liner does
    copy_url = f"sqlite+aiosqlite:///{copy}"
    run_migrations(copy_url)  # already current: a no-op
    assert asyncio.run(_title(copy_url)) == "Backed up"


async def _fill_and_dispose(engine: AsyncEngine) -> None:
    try:
        await _fill(engine)
    finally:
        await engine.dispose()
