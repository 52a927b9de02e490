"""deploy/postgres/initdb/10-dagster-database.sh, run as the postgres image runs it (with psql)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from tests.support.pg import ENV_URL, ensure_installed

SCRIPT = Path(__file__).resolve().parents[2] / "deploy/postgres/initdb/10-dagster-database.sh"

pytestmark = pytest.mark.postgres


def _run(database: str) -> subprocess.CompletedProcess[str]:
    u = make_url(os.environ[ENV_URL])
    env = {
        **os.environ,
        "PATH": f"{ensure_installed()}:{os.environ.get('PATH', '')}",
        "PGHOST": u.host or "127.0.0.1",
        "PGPORT": str(u.port or 5432),
        "POSTGRES_USER": u.username or "postgres",
        "POSTGRES_DB": "postgres",
        "DAGSTER_POSTGRES_DB": database,
    }
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)


def _databases() -> set[str]:
    u = make_url(os.environ[ENV_URL])
    conn = psycopg2.connect(host=u.host, port=u.port, user=u.username, dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def test_creates_the_dagster_database_once() -> None:
    name = f"gp_init_{uuid.uuid4().hex[:8]}"
    first = _run(name)
    assert first.returncode == 0, first.stderr
    assert f"created database {name}" in first.stdout
    assert name in _databases()
    again = _run(name)  # e.g. run by hand on an older volume: harmless
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout


def test_refuses_an_odd_database_name() -> None:
    done = _run('x"; DROP DATABASE postgres; --')
    assert done.returncode == 1
    assert "DAGSTER_POSTGRES_DB must be" in done.stderr
    assert "postgres" in _databases()
