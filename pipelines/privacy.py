"""After an erasure (:mod:`core.erasure`): the summaries it deleted, written again.

An erasure deletes every summary that named or quoted the person and lists the days whose
summaries must be written again (``erasures.rows_removed.summary_days``). ``gatepulse forget``
writes them at once; an erasure asked for in Telegram (``/forgetme``) is picked up by the
``erased_summaries`` sensor, which requests a ``finalize_day_job`` run (analytics and summaries)
for each of those days and marks the erasure done. What is written comes from the raw rows that
are left, so no name comes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import sqlalchemy as sa

from pipelines.io import sync_engine, table
from pipelines.resources import DatabaseResource


def pending(url: str) -> list[tuple[int, list[dt.date]]]:
    """Erasures whose summaries are still to be written again: (id, days)."""
    erasures = table("erasures")
    out: list[tuple[int, list[dt.date]]] = []
    with sync_engine(url).connect() as conn:
        for erasure_id, removed in conn.execute(
            sa.select(erasures.c.id, erasures.c.rows_removed).order_by(erasures.c.id)
        ):
            details: dict[str, Any] = removed or {}
            if details.get("summaries_rewritten", True):
                continue
            days = [dt.date.fromisoformat(d) for d in details.get("summary_days", [])]
            out.append((int(erasure_id), days))
    return out


def mark_rewritten(url: str, erasure_ids: list[int]) -> None:
    erasures = table("erasures")
    with sync_engine(url).begin() as conn:
        for erasure_id in erasure_ids:
            removed = conn.scalar(
                sa.select(erasures.c.rows_removed).where(erasures.c.id == erasure_id)
            )
            conn.execute(
                sa.update(erasures)
                .where(erasures.c.id == erasure_id)
                .values(rows_removed={**(removed or {}), "summaries_rewritten": True})
            )


def build_erasure_sensor(job: Any) -> dg.SensorDefinition:
    @dg.sensor(
        name="erased_summaries",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,  # an erasure is an obligation
    )
    def erased_summaries(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> Iterator[dg.RunRequest]:
        """A finalize run for every day whose summaries an erasure deleted."""
        todo = pending(database.database_url)
        days = sorted({day for _, ds in todo for day in ds})
        for day in days:
            key = day.isoformat()
            yield dg.RunRequest(run_key=f"erasure-{todo[-1][0]}-{key}", partition_key=key)
        if todo:
            mark_rewritten(database.database_url, [erasure_id for erasure_id, _ in todo])
            context.log.info(f"summaries of {len(days)} days requested after erasures")

    return erased_summaries
