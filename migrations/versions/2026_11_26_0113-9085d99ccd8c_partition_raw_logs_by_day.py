"""partition raw logs by day (issue 15)

On PostgreSQL the large append-only raw logs become declaratively range-partitioned by UTC day
on their time column, so that retention drops a whole day at once instead of deleting its rows
in batches. For each table: create the partitioned table (``LIKE`` the old one: same columns,
defaults, the ``id`` sequence), a ``DEFAULT`` partition, one partition per day that holds rows
plus today (the days ahead are made by the ``raw_log_partitions`` asset and the bot's start-up;
few tables keep a new database quick to copy); copy the rows; hand the ``id`` sequence over;
drop the old table and take its name; then the primary key ``(id, time)`` (a partitioned table's
key must hold the partition key) and the old table's indexes, read from the catalogue and
created again (PostgreSQL makes them on every partition). The copy rewrites every row once: on a
large database run it in a quiet hour. The downgrade does the reverse: a plain table with the
rows, ``id`` key and indexes.

SQLite: nothing (plain tables; retention deletes in batches there). The table list is frozen
here on purpose; ``core.partitions`` only supplies the partition names and bounds.

Revision ID: 9085d99ccd8c
Revises: 6a23bca8f920
Create Date: 2026-11-26 01:13:00.000000+00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.partitions import day_bounds, default_name, partition_name

revision: str = "9085d99ccd8c"
down_revision: str | Sequence[str] | None = "6a23bca8f920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {
    "verification_log": "timestamp",
    "api_call_log": "timestamp",
    "messages": "created_at",
    "member_events": "timestamp",
    "gate_events": "timestamp",
    "reaction_events": "timestamp",
}


def _q(name: str) -> str:
    return op.get_bind().dialect.identifier_preparer.quote_identifier(name)


def _run(sql: str, **params: object) -> sa.CursorResult:
    return op.get_bind().execute(sa.text(sql), params)


def _partitioned(table: str) -> bool:
    return bool(
        _run(
            "SELECT 1 FROM pg_catalog.pg_partitioned_table "
            "WHERE partrelid = CAST(CAST(:t AS text) AS regclass)",
            t=table,
        ).first()
    )


def _indexes(table: str) -> list[str]:
    """The definitions of the table's indexes but its primary key."""
    return list(
        _run(
            "SELECT indexdef FROM pg_catalog.pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = :t AND indexname <> :pk ORDER BY indexname",
            t=table,
            pk=f"pk_{table}",
        ).scalars()
    )


def _swap(table: str, new: str, key: str, indexes: list[str]) -> None:
    """Move the ``id`` sequence to ``new``, drop ``table``, rename ``new`` to it, key it."""
    sequence = _run("SELECT pg_get_serial_sequence(:t, 'id')", t=table).scalar_one()
    _run(f"ALTER SEQUENCE {sequence} OWNED BY {_q(new)}.id")
    _run(f"DROP TABLE {_q(table)}")
    _run(f"ALTER TABLE {_q(new)} RENAME TO {_q(table)}")
    _run(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q('pk_' + table)} PRIMARY KEY ({key})")
    for definition in indexes:
        _run(definition)
    _run(f"ANALYZE {_q(table)}")


def _partition(table: str, column: str) -> None:
    if _partitioned(table):
        return
    new = f"{table}__partitioned"
    indexes = _indexes(table)
    days = set(
        _run(
            f"SELECT DISTINCT CAST(timezone('UTC', {_q(column)}) AS date) FROM {_q(table)}"
        ).scalars()
    )
    days.add(dt.datetime.now(dt.UTC).date())
    _run(
        f"CREATE TABLE {_q(new)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        f"PARTITION BY RANGE ({_q(column)})"
    )
    _run(f"CREATE TABLE {_q(default_name(table))} PARTITION OF {_q(new)} DEFAULT")
    for day in sorted(days):
        lo, hi = day_bounds(day)
        _run(
            f"CREATE TABLE {_q(partition_name(table, day))} PARTITION OF {_q(new)} "
            f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
        )
    _run(f"INSERT INTO {_q(new)} SELECT * FROM {_q(table)}")
    _swap(table, new, f"id, {_q(column)}", indexes)


def _unpartition(table: str) -> None:
    if not _partitioned(table):
        return
    new = f"{table}__plain"
    # a partitioned table's own indexes read "ON ONLY <table>"; a plain table's do not
    indexes = [d.replace(" ON ONLY ", " ON ", 1) for d in _indexes(table)]
    _run(f"CREATE TABLE {_q(new)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    _run(f"INSERT INTO {_q(new)} SELECT * FROM {_q(table)}")
    _swap(table, new, "id", indexes)  # dropping the parent drops its partitions


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column in TABLES.items():
        _partition(table, column)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TABLES:
        _unpartition(table)
