"""Schema migrations (Alembic, the repo's ``alembic.ini`` and ``migrations/``) and row counts."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from core.db import create_engine
from core.models import Base  # the package: every table is on Base.metadata

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "alembic.ini"
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    """Alembic's config for ``url`` (the repo's ``alembic.ini`` and ``migrations/``)."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def run_migrations(url: str, revision: str = "head") -> None:
    """``alembic upgrade revision`` on ``url`` (blocking; not inside a running event loop)."""
    command.upgrade(alembic_config(url), revision)


def drop_schema(url: str) -> None:
    """``alembic downgrade base`` on ``url``: every table of gatepulse goes."""
    command.downgrade(alembic_config(url), "base")


def head_revision() -> str:
    """The newest revision in ``migrations/versions`` (what ``gatepulse migrate`` goes to)."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:  # pragma: no cover - the repo always has migrations
        raise RuntimeError("migrations/versions holds no revision")
    return head


def _missing_sqlite_file(url: str) -> bool:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return False
    return not u.query.get("uri") and not Path(u.database).exists()


def _stamped_revision(conn: sa.Connection) -> str | None:
    # read directly rather than through alembic's MigrationContext, which logs at INFO
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` was migrated to; ``None`` when it has no gatepulse
    schema (no ``alembic_version`` table). Connection errors are raised as they come.

    A SQLite file that does not exist yet is not created here (a check must not leave an
    empty database behind): it simply has no schema.
    """
    if _missing_sqlite_file(url):
        return None
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_stamped_revision)
    finally:
        await engine.dispose()


async def table_counts(url: str) -> dict[str, int | None]:
    """Row count of every table in the schema (None where the table does not exist yet)."""
    engine = create_engine(url=url, pool=False)
    counts: dict[str, int | None] = {}
    try:
        async with engine.connect() as conn:
            existing = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            for table in Base.metadata.sorted_tables:
                if table.name not in existing:
                    counts[table.name] = None
                    continue
                result = await conn.execute(sa.select(sa.func.count()).select_from(table))
                counts[table.name] = int(result.scalar_one())
    finally:
        await engine.dispose()
    return counts
