"""The dashboard's read-only role: reads the dashboard tables, nothing else, writes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import plain_url
from core.migrate import alembic_config, run_migrations
from core.models import (
    ANALYTICS_TABLES,
    RAW_LOG_TABLES,
    AnalyticsGroupDaily,
    Base,
    ProtectedGroup,
)
from core.roles import (
    READONLY_ROLE,
    ReadonlyUserError,
    ensure_readonly_user,
)

ROLE_REVISION = "ce1097037c19"
BEFORE_ROLE = "c9760c0853d7"
DASHBOARD_TABLES = {
    *ANALYTICS_TABLES,
    "member_count_snapshots",
    "summaries",
    "analytics_materializations",
    "protected_groups",
    "enforced_channels",
    "alerts",
    "update_health",
    "group_admins",
}
HIDDEN_TABLES = set(Base.metadata.tables) - DASHBOARD_TABLES
READABLE_COLUMNS = {"group_channel_links": ("group_id", "channel_id")}
"""Hidden tables whose listed columns the role may read (an owner's scope: which channels
their groups link, not who linked them)."""
INSERT_ONLY_TABLES = {"dashboard_link_uses", "dashboard_audit_log"}
"""What the dashboard writes (used sign-in links, its audit): INSERT, no SELECT, nothing else."""


def _dsn(url: str, user: str | None = None) -> str:
    u = make_url(plain_url(url))
    if user is not None:
        u = u.set(username=user, password=None)
    return u.render_as_string(hide_password=False)


async def _privileges(url: str, grantee: str) -> dict[str, set[str]]:
    """Privileges of ``grantee`` on every table of the schema that exists at this revision."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        out: dict[str, set[str]] = {}
        for table in Base.metadata.tables:
            if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                continue
            out[table] = {
                p
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
                if await conn.fetchval("SELECT has_table_privilege($1, $2, $3)", grantee, table, p)
            }
        return out
    finally:
        await conn.close()


async def _role_exists(url: str, role: str) -> bool:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))
    finally:
        await conn.close()


async def _grants_held(url: str, role: str) -> tuple[bool, bool]:
    """Whether ``role`` holds privileges in (or on) this database, and in (or on) another
    database of the cluster.

    ``pg_shdepend`` is shared by all databases: it lists the role's grants everywhere, those
    on objects of a database (``dbid``) and those on databases themselves (``dbid = 0``).
    """
    conn = await asyncpg.connect(_dsn(url))
    try:
        row = await conn.fetchrow(
            """
            SELECT coalesce(bool_or(here), false), coalesce(bool_or(NOT here), false)
            FROM (
                SELECT CASE WHEN d.dbid = 0
                            THEN d.classid = 'pg_database'::regclass AND d.objid = db.oid
                            ELSE d.dbid = db.oid END AS here
                FROM pg_shdepend d
                JOIN pg_roles r ON r.oid = d.refobjid
                JOIN pg_database db ON db.datname = current_database()
                WHERE r.rolname = $1 AND d.refclassid = 'pg_authid'::regclass
            ) grants
            """,
            role,
        )
        return bool(row[0]), bool(row[1])
    finally:
        await conn.close()


@pytest.fixture
async def readonly_user(db_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """A login user in the read-only role, with one row in two dashboard tables."""
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(ProtectedGroup).values(id=-1001, title="Readers", enabled=True)
        )
        counts = dict(messages=5, active_users=2, verifications=3, passed=2, failed=1, joins=1)
        await conn.execute(
            sa.insert(AnalyticsGroupDaily).values(
                day=now.date(), group_id=-1001, leaves=0, **counts
            )
        )
    name = f"gp_ro_{uuid.uuid4().hex[:10]}"
    result = await ensure_readonly_user(db_url, name, "not-checked-under-trust-auth")
    assert result.created and result.role == READONLY_ROLE
    yield name
    admin = await asyncpg.connect(_dsn(db_url))
    try:
        await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_role_reads_exactly_the_dashboard_tables(db_url: str) -> None:
    privileges = await _privileges(db_url, READONLY_ROLE)
    readable = {t for t, p in privileges.items() if "SELECT" in p}
    assert readable == DASHBOARD_TABLES, "grant new dashboard tables in their migration"
    assert set(RAW_LOG_TABLES) <= HIDDEN_TABLES
    writable = {t: p - {"SELECT"} for t, p in privileges.items() if p - {"SELECT"}}
    assert writable == {table: {"INSERT"} for table in INSERT_ONLY_TABLES}


@pytest.mark.postgres
async def test_readonly_user_selects_dashboard_tables_and_nothing_else(
    db_url: str, readonly_user: str
) -> None:
    conn = await asyncpg.connect(_dsn(db_url, readonly_user))
    try:
        assert await conn.fetchval("SELECT title FROM protected_groups WHERE id = -1001") == (
            "Readers"
        )
        assert await conn.fetchval("SELECT messages FROM analytics_group_daily") == 5
        for table in sorted(DASHBOARD_TABLES):
            await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        for table in sorted(HIDDEN_TABLES):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        for table, columns in READABLE_COLUMNS.items():
            await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} LIMIT 1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT created_by FROM {table} LIMIT 1")
    finally:
        await conn.close()


WRITES = (
    "INSERT INTO summaries (chat_id, summary_type, content, token_count, period_start, "
    "period_end, created_at) VALUES (1, '7day', 'x', 1, now(), now(), now())",
    "UPDATE protected_groups SET enabled = false",
    "DELETE FROM analytics_group_daily",
    "TRUNCATE analytics_group_daily",
    "CREATE TABLE sneaky (id int)",
    "UPDATE dashboard_audit_log SET user_id = NULL",
    "DELETE FROM dashboard_link_uses",
    "INSERT INTO verification_log (user_id, group_id, status, cached, latency_ms, trigger, "
    "channels_checked, timestamp) VALUES (1, 1, 'success', false, 1, 'join', 1, now())",
)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", WRITES, ids=lambda s: " ".join(s.split()[:2]))
async def test_readonly_user_cannot_write(db_url: str, readonly_user: str, statement: str) -> None:
    conn = await asyncpg.connect(_dsn(db_url, readonly_user))
    try:
        # Its sessions start read-only...
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute(statement)
        # ...and with that switched off by the user, the grants still say no.
        await conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()
    admin = await asyncpg.connect(_dsn(db_url))
    try:
        assert await admin.fetchval("SELECT count(*) FROM analytics_group_daily") == 1
        assert await admin.fetchval("SELECT enabled FROM protected_groups") is True
        assert await admin.fetchval("SELECT to_regclass('sneaky')") is None
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_create_readonly_user_is_idempotent_and_refuses_the_owner(
    db_url: str, readonly_user: str
) -> None:
    again = await ensure_readonly_user(db_url, readonly_user, "another-password")
    assert not again.created
    owner = make_url(db_url).username or "postgres"
    with pytest.raises(ReadonlyUserError, match="superuser, the connecting user"):
        await ensure_readonly_user(db_url, owner, "x")
    with pytest.raises(ReadonlyUserError, match="does not exist"):
        await ensure_readonly_user(db_url, readonly_user, "x", role="no_such_role")
    assert await _role_exists(db_url, READONLY_ROLE)


@pytest.mark.postgres
def test_role_migration_up_down_up(empty_db_url: str) -> None:
    import asyncio

    run_migrations(empty_db_url)
    granted = asyncio.run(_privileges(empty_db_url, READONLY_ROLE))
    assert {t for t, p in granted.items() if p} == DASHBOARD_TABLES | INSERT_ONLY_TABLES

    # The role is cluster-wide: the downgrade drops it unless it still holds privileges in
    # another database on the server (e.g. the other test databases), and keeps it otherwise.
    _, used_elsewhere = asyncio.run(_grants_held(empty_db_url, READONLY_ROLE))
    command.downgrade(alembic_config(empty_db_url), BEFORE_ROLE)
    kept = asyncio.run(_role_exists(empty_db_url, READONLY_ROLE))
    assert kept == used_elsewhere
    if kept:  # ...with nothing left on this database
        granted = asyncio.run(_privileges(empty_db_url, READONLY_ROLE))
        assert {t for t, p in granted.items() if p} == set()
    used_here, _ = asyncio.run(_grants_held(empty_db_url, READONLY_ROLE))
    assert not used_here

    run_migrations(empty_db_url)
    granted = asyncio.run(_privileges(empty_db_url, READONLY_ROLE))
    assert {t for t, p in granted.items() if p} == DASHBOARD_TABLES | INSERT_ONLY_TABLES


def _sqlite_schema(path: Path) -> tuple[str | None, list[tuple[str, str, str | None]]]:
    """The alembic revision and every schema object (kind, name, SQL) of a SQLite file."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        objects = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        return (revision[0] if revision else None), list(objects)


def test_role_migration_is_a_no_op_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    cfg = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(cfg, BEFORE_ROLE)
    revision, before = _sqlite_schema(path)
    assert revision == BEFORE_ROLE
    assert ("table", "protected_groups") in {(kind, name) for kind, name, _ in before}

    command.upgrade(cfg, ROLE_REVISION)  # runs on SQLite, and only moves the revision
    assert _sqlite_schema(path) == (ROLE_REVISION, before)
    command.downgrade(cfg, BEFORE_ROLE)
    assert _sqlite_schema(path) == (BEFORE_ROLE, before)
    command.upgrade(cfg, "head")
    revision, _ = _sqlite_schema(path)
    assert revision == ScriptDirectory.from_config(cfg).get_current_head()


async def test_readonly_user_is_refused_on_sqlite_and_for_odd_names(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ReadonlyUserError, match="only on PostgreSQL"):
        await ensure_readonly_user(url, "dashboard", "pw")
    for bad in ("Robert'); DROP TABLE users;--", "UPPER", "", "x" * 64):
        with pytest.raises(ReadonlyUserError, match="not a plain PostgreSQL role name"):
            await ensure_readonly_user(url, bad, "pw")


def test_cli_explains_a_missing_password_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.delenv("GATEPULSE_SURELY_UNSET", raising=False)
    args = ["create-readonly-user", "dash", "--password-env", "GATEPULSE_SURELY_UNSET"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2
    assert "GATEPULSE_SURELY_UNSET is unset or empty" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)

    done = CliRunner().invoke(app, ["create-readonly-user", "Bad Name", "--password-env", "X"])
    assert done.exit_code == 2
    assert "not a plain PostgreSQL role name" in done.output


@pytest.mark.postgres
async def test_every_dashboard_query_runs_as_the_readonly_user(
    db_url: str, readonly_user: str
) -> None:
    """Every ``load_*`` query of the dashboard, through the role the compose stack gives it."""
    import inspect

    import pandas as pd

    from dashboards import queries
    from dashboards.scope import Scope, load_scope

    url = make_url(db_url).set(username=readonly_user, password=None)
    engine = queries.make_engine(url.render_as_string(hide_password=False))
    day = dt.date(2026, 3, 1)
    arguments = {
        "engine": engine, "start": day, "end": day, "groups": (-1001,), "source": "verification",
        "kind": "group", "until": dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "chat_ids": [-1001],
        "instants": [dt.datetime(2026, 3, 2, tzinfo=dt.UTC)], "chat_id": -1001,
        "scope": Scope.operator(), "ids": (-1001,),
    }  # fmt: skip
    loaders = {n: f for n, f in vars(queries).items() if n.startswith("load_") and callable(f)}
    assert len(loaders) >= 8, sorted(loaders)
    results = {}
    try:
        for name, load in sorted(loaders.items()):
            params = inspect.signature(load).parameters.values()
            unknown = [p.name for p in params if p.name not in arguments and p.default is p.empty]
            assert not unknown, f"teach this test the arguments {unknown} of {name}"
            kwargs = {p.name: arguments[p.name] for p in params if p.name in arguments}
            results[name] = load(**kwargs)  # raises on "permission denied"
        owner = load_scope(engine, 42)  # reads group_admins and group_channel_links
        assert (owner.group_ids, owner.channel_ids) == ((), ())
    finally:
        engine.dispose()
    assert list(results["load_groups"]["id"]) == [-1001]
    assert results["load_newest_day"] == day
    frames = [r for r in results.values() if isinstance(r, pd.DataFrame)]
    assert any("messages" in f.columns and f["messages"].sum() == 5 for f in frames)


@pytest.mark.postgres
async def test_readonly_user_records_used_links_and_the_audit_and_nothing_more(
    db_url: str, readonly_user: str
) -> None:
    """The dashboard's writes (issue 27) through the role, as the dashboard makes them."""
    from core.owner_links import Claim
    from dashboards import queries, signin

    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    url = make_url(db_url).set(username=readonly_user, password=None)
    engine = queries.make_engine(url.render_as_string(hide_password=False))
    try:
        claim = Claim(user_id=42, issued_at=now, nonce="ab" * 16)
        assert signin.use_link(engine, claim, now) is True
        assert signin.use_link(engine, claim, now) is False  # a replay fails to insert
        signin.record(engine, "sign_in", viewer="owner", user_id=42, group_ids=[-1001], now=now)
    finally:
        engine.dispose()
    # reading them back is refused (HIDDEN_TABLES), so are updates and deletes (WRITES)
    admin = await asyncpg.connect(_dsn(db_url))
    try:
        assert await admin.fetchval("SELECT nonce FROM dashboard_link_uses") == "ab" * 16
        assert await admin.fetchval("SELECT group_ids::text FROM dashboard_audit_log") == "[-1001]"
    finally:
        await admin.close()
