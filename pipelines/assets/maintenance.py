"""Retention pruning: delete raw rows past their retention, in short bounded batches."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pipelines.io import sync_engine, table
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


def prune(url: str, table_cutoffs: Mapping[str, dt.datetime], batch_size: int) -> dict[str, int]:
    """Delete rows older than each table's cutoff, ``batch_size`` rows per transaction.

    Each batch is ``DELETE ... WHERE key IN (SELECT key ... ORDER BY key LIMIT n)`` committed
    on its own, so a concurrent bot insert waits at most one short batch. Returns rows deleted
    per table. Only the tables named in ``table_cutoffs`` are touched.
    """
    engine = sync_engine(url)
    deleted: dict[str, int] = {}
    for name, cutoff in table_cutoffs.items():
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
            with engine.begin() as conn:
                removed = conn.execute(sa.delete(target).where(key.in_(batch))).rowcount
            total += removed
            if removed < batch_size:
                break
        deleted[name] = total
    return deleted


def count_expired(url: str, table_cutoffs: Mapping[str, dt.datetime]) -> dict[str, tuple[int, int]]:
    """Per table, (rows :func:`prune` would delete now, rows it would keep); changes nothing.

    The same condition as :func:`prune`, counted in one read-only transaction.
    """
    counts: dict[str, tuple[int, int]] = {}
    with sync_engine(url).connect() as conn:
        for name, cutoff in table_cutoffs.items():
            expired = sa.func.count().filter(_expired(name, cutoff))
            query = sa.select(expired, sa.func.count()).select_from(table(name))
            gone, total = conn.execute(query).one()
            counts[name] = (int(gone), int(total) - int(gone))
    return counts


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
    """Deletes raw rows older than RETENTION_DAYS (per-table overrides) in bounded batches:
    the raw logs, alert deliveries, lifted mutes, users not seen since, long-blocked private
    chats (``pipelines.transforms.retention``). Never touches analytics tables, member-count
    snapshots, summaries, configuration or active mutes."""
    now = dt.datetime.now(dt.UTC)
    table_cutoffs = cutoffs(
        now, pipeline_config.retention_days, pipeline_config.retention_overrides
    )
    deleted = prune(database.database_url, table_cutoffs, pipeline_config.retention_batch_size)
    context.log.info(f"retention deleted {deleted}")
    return dg.MaterializeResult(
        metadata={
            "row_count": sum(deleted.values()),
            "deleted": dg.MetadataValue.json(deleted),
            "cutoffs": dg.MetadataValue.json({k: v.isoformat() for k, v in table_cutoffs.items()}),
        }
    )
