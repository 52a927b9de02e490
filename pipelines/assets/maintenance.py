"""Retention pruning: delete raw log rows past their retention, in short bounded batches."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pipelines.io import sync_engine, table
from pipelines.resources import DatabaseResource, PipelineConfigResource
from pipelines.transforms.retention import TIME_COLUMNS, cutoffs

GROUP = "maintenance"


def prune(url: str, table_cutoffs: Mapping[str, dt.datetime], batch_size: int) -> dict[str, int]:
    """Delete rows older than each table's cutoff, ``batch_size`` rows per transaction.

    Each batch is ``DELETE ... WHERE id IN (SELECT id ... ORDER BY id LIMIT n)`` committed on
    its own, so a concurrent bot insert waits at most one short batch. Returns rows deleted
    per table. Only the tables named in ``table_cutoffs`` are touched.
    """
    engine = sync_engine(url)
    deleted: dict[str, int] = {}
    for name, cutoff in table_cutoffs.items():
        target = table(name)
        when = target.c[TIME_COLUMNS[name]]
        total = 0
        while True:
            batch = (
                sa.select(target.c.id)
                .where(when < cutoff)
                .order_by(target.c.id)
                .limit(batch_size)
                .scalar_subquery()
            )
            with engine.begin() as conn:
                removed = conn.execute(sa.delete(target).where(target.c.id.in_(batch))).rowcount
            total += removed
            if removed < batch_size:
                break
        deleted[name] = total
    return deleted


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
    """Deletes raw log rows older than RETENTION_DAYS (per-table overrides) in bounded batches.

    Never touches analytics tables, member-count snapshots or summaries.
    """
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
