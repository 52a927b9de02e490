"""Raw-log upkeep: retention pruning, and the day partitions of the raw logs on PostgreSQL.

Retention deletes in short bounded batches; on PostgreSQL the partitioned raw logs
(:mod:`core.partitions`) first lose every day partition wholly past the cutoff with one
``DROP``, so that only the partly expired day and the default partition are deleted in batches.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa

from core.partitions import (
    days_ahead,
    drop_partition,
    ensure_partitions,
    expired_partitions,
    partition_rows,
    partitioned_tables,
    stray_days,
)
from pipelines.io import table
from pipelines.resources import DatabaseResource, PipelineConfigResource
from pipelines.transforms.retention import TIME_COLUMNS, cutoffs

GROUP = "maintenance"


def _expired(name: str, cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """The rows of ``name`` that retention deletes: its time column before ``cutoff``."""
    return table(name).c[TIME_COLUMNS[name]] < cutoff


def _key(target: sa.Table) -> sa.Column[Any]:
    """The table's one primary-key column (``id``, or the Telegram id it is keyed by)."""
    (key,) = target.primary_key.columns
    return key


def prune(
    engine: sa.Engine,
    table_cutoffs: Mapping[str, dt.datetime],
    batch_size: int,
    dropped: dict[str, list[str]] | None = None,
) -> dict[str, int]:
    """Delete rows older than each table's cutoff; return rows deleted per table.

    PostgreSQL, partitioned raw logs: each day partition wholly before the cutoff is counted,
    detached and dropped, each step in a transaction of its own
    (:func:`core.partitions.drop_partition`); its name is added to
    ``dropped[table]`` when ``dropped`` is given. Then, everywhere, what is left before the
    cutoff (the partly expired day and the default partition there; everything on SQLite) goes
    in batches: ``DELETE ... WHERE time < cutoff AND key IN (SELECT key ... ORDER BY key LIMIT
    n)`` committed on its own, so a concurrent bot insert waits at most one short batch (the
    time condition lets PostgreSQL prune the batch to the partitions that can hold such rows).
    Only the tables named in ``table_cutoffs`` are touched.
    """
    by_day = partitioned_tables() if engine.dialect.name == "postgresql" else {}
    deleted: dict[str, int] = {}
    with engine.connect() as conn:  # one connection, one transaction per step
        for name, cutoff in table_cutoffs.items():
            total = 0
            if name in by_day:
                with conn.begin():
                    expired = expired_partitions(conn, name, cutoff)
                for partition in expired:
                    with conn.begin():
                        total += partition_rows(conn, partition)
                    drop_partition(conn, name, partition)
                    if dropped is not None:
                        dropped.setdefault(name, []).append(partition)
            deleted[name] = total + delete_in_batches(conn, name, cutoff, batch_size)
    return deleted


def delete_in_batches(conn: sa.Connection, name: str, cutoff: dt.datetime, batch_size: int) -> int:
    """Delete the rows of ``name`` before ``cutoff``, ``batch_size`` per committed
    transaction on ``conn`` (the whole of retention on SQLite); return the rows deleted."""
    target = table(name)
    key = _key(target)
    total = 0
    while True:
        batch = (
            sa.select(key)
            .where(_expired(name, cutoff))
            .order_by(key)
            .limit(batch_size)
            .scalar_subquery()
        )
        with conn.begin():
            removed = conn.execute(
                sa.delete(target).where(_expired(name, cutoff), key.in_(batch))
            ).rowcount
        total += removed
        if removed < batch_size:
            return total


def count_expired(
    engine: sa.Engine, table_cutoffs: Mapping[str, dt.datetime]
) -> dict[str, tuple[int, int]]:
    """Per table, (rows :func:`prune` would delete now, rows it would keep); changes nothing.

    The same condition as :func:`prune`, counted in one read-only transaction.
    """
    counts: dict[str, tuple[int, int]] = {}
    with engine.connect() as conn:
        for name, cutoff in table_cutoffs.items():
            expired = sa.func.count().filter(_expired(name, cutoff))
            query = sa.select(expired, sa.func.count()).select_from(table(name))
            gone, total = conn.execute(query).one()
            counts[name] = (int(gone), int(total) - int(gone))
    return counts


def partitions_to_drop(
    engine: sa.Engine, table_cutoffs: Mapping[str, dt.datetime]
) -> dict[str, list[tuple[str, int]]]:
    """Per partitioned table, the day partitions :func:`prune` would drop now, with their
    rows; changes nothing (empty on SQLite)."""
    if engine.dialect.name != "postgresql":
        return {}
    plan: dict[str, list[tuple[str, int]]] = {}
    with engine.connect() as conn:
        for name in partitioned_tables():
            if name not in table_cutoffs:
                continue
            for partition in expired_partitions(conn, name, table_cutoffs[name]):
                plan.setdefault(name, []).append((partition, partition_rows(conn, partition)))
    return plan


def make_partitions(engine: sa.Engine, today: dt.date, ahead: int) -> list[str]:
    """Make the raw logs' day partitions of ``today`` .. ``today + ahead``, and of every day
    with rows in a default partition (they move out into their day's partition, which
    retention can then drop whole); PostgreSQL only. Returns the partitions created."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        return ensure_partitions(conn, [*days_ahead(today, ahead), *stray_days(conn)])


@dg.asset(
    name="raw_log_partitions",
    group_name=GROUP,
    kinds={"sql", "postgres"},
)
def raw_log_partitions(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    pipeline_config: PipelineConfigResource,
) -> dg.MaterializeResult[Any]:
    """Makes the day partitions of the large raw logs on PostgreSQL for today and the next
    PIPELINES_PARTITIONS_AHEAD_DAYS days (``core.partitions``), and of any day whose rows
    landed in a default partition meanwhile (moving them out of it). Idempotent; nothing to do
    on SQLite."""
    today = dt.datetime.now(dt.UTC).date()
    created = make_partitions(database.engine, today, pipeline_config.partitions_ahead_days)
    context.log.info(f"created {len(created)} partitions: {created}")
    return dg.MaterializeResult(
        metadata={
            "row_count": len(created),
            "created": dg.MetadataValue.json(created),
            "through": (
                today + dt.timedelta(days=pipeline_config.partitions_ahead_days)
            ).isoformat(),
        }
    )


@dg.asset(
    name="raw_log_retention",
    group_name=GROUP,
    kinds={"sql"},
)
def raw_log_retention(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    pipeline_config: PipelineConfigResource,
) -> dg.MaterializeResult[Any]:
    """Deletes raw rows older than RETENTION_DAYS (per-table overrides): on PostgreSQL whole
    day partitions of the large raw logs are dropped, the rest goes in bounded batches: the
    raw logs, alert deliveries, lifted mutes, users not seen since, long-blocked private
    chats (``pipelines.transforms.retention``). Never touches analytics tables, member-count
    snapshots, summaries, configuration or active mutes."""
    now = dt.datetime.now(dt.UTC)
    table_cutoffs = cutoffs(
        now, pipeline_config.retention_days, pipeline_config.retention_overrides
    )
    dropped: dict[str, list[str]] = {}
    deleted = prune(database.engine, table_cutoffs, pipeline_config.retention_batch_size, dropped)
    context.log.info(f"retention deleted {deleted}; partitions dropped: {dropped}")
    return dg.MaterializeResult(
        metadata={
            "row_count": sum(deleted.values()),
            "deleted": dg.MetadataValue.json(deleted),
            "partitions_dropped": dg.MetadataValue.json(dropped),
            "cutoffs": dg.MetadataValue.json({k: v.isoformat() for k, v in table_cutoffs.items()}),
        }
    )
