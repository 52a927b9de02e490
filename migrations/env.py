"""Alembic environment: async, URL from gatepulse settings, batch mode on SQLite."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

import core.models  # noqa: F401 - registers every table on Base.metadata
from core.db import Base, UTCDateTime, backend_of, create_engine
from core.partitions import partition_names
from core.settings import DatabaseSettings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    """An explicit ``sqlalchemy.url`` (tests, the CLI) wins; the ``alembic`` command line is an
    entry point of its own and reads ``DATABASE_URL`` from the settings."""
    explicit = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    return explicit or DatabaseSettings().url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations spell the stored type, not gatepulse's Python wrapper of it.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection | None = None, **extra: Any) -> None:
    backend = connection.dialect.name if connection else backend_of(_url())
    is_sqlite = backend == "sqlite"
    # The raw logs' day partitions (PostgreSQL) are tables the models do not list on purpose:
    # autogenerate must not propose to drop them (core.partitions). Read lazily, inside
    # Alembic's transaction: a query here would begin one that Alembic then never commits.
    partitions: list[set[str]] = []

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        if type_ != "table" or connection is None:
            return True
        if not partitions:
            partitions.append(partition_names(connection))
        return name not in partitions[0]

    context.configure(
        include_name=include_name,
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=is_sqlite,
        render_item=_render_item,
        **extra,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(url=_url(), pool=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
