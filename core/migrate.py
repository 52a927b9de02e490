"""Schema migrations (Alembic, the repo's ``alembic.ini`` and ``migrations/``) and row counts."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from core.db import Base, create_engine

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = ROOT / "alembic.ini"


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


async def table_counts(url: str) -> dict[str, int | None]:
    """Row count of every table in the schema (None where the table does not exist yet)."""
    import core.models  # noqa: F401 - registers every table on Base.metadata

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
