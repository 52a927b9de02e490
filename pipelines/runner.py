"""Materialize every asset over a range of days, in process, fast (``gatepulse materialize``).

One real Dagster run of the code location's own job (``analytics_job``, or
``finalize_day_job`` with the summaries) over the whole range, or one per chunk of
``chunk_days`` days when asked, recorded in the instance the caller passes (the CLI and the
demo: the persistent one of ``DAGSTER_HOME``, so that the UI shows every partition, check
result and run). The assets run with a partition *range*, as the UI's backfill of that range
does (every asset of those jobs has ``BackfillPolicy.single_run()``: one run per range), so
each raw table is read once per run and each analytics table written once per run, with all
checks evaluated, in one step for all the analytics tables (a multi-asset); fewer runs and
steps record fewer events, and recording events is what the persistent instance costs. A run
launched from the UI for a partition or a range is the same job with the same tags. Member
counts and retention are separate unpartitioned runs, on request; the raw tables are observed
at the end (their newest rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import dagster as dg

from core.progress import progress_bar
from core.settings import Settings, normalize_database_url
from pipelines.assets.summaries import SUMMARIES
from pipelines.assets.telegram import MEMBER_COUNTS
from pipelines.definitions import build_definitions, partitions_start, resources_for
from pipelines.resources import TelegramResource

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class MaterializeError(RuntimeError):
    """A run failed; the message names the failed steps/checks."""


def _chunks(start: dt.date, end: dt.date, size: int) -> list[tuple[dt.date, dt.date]]:
    out = []
    first = start
    while first <= end:
        last = min(end, first + dt.timedelta(days=size - 1))
        out.append((first, last))
        first = last + dt.timedelta(days=1)
    return out


def _row_counts(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    # A partition-range step reports one materialization per partition, each carrying the
    # step's metadata: count each asset once per run.
    counts: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization  # type: ignore[union-attr]
        name = mat.asset_key.to_user_string()
        if name in counts:
            continue
        value = mat.metadata.get("row_count")
        counts[name] = int(value.value) if value is not None else 0  # type: ignore[arg-type]
    return counts


def _failure(result: dg.ExecuteInProcessResult) -> str:
    parts = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            error = data.error
            while error is not None and error.cause is not None:
                error = error.cause
            parts.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            parts.append(f"check {evaluation.asset_check_key.to_user_string()} failed")
    return "; ".join(parts) or "run failed"


def materialize_range(
    start: dt.date,
    end: dt.date,
    *,
    settings: Settings,
    database_url: str | None = None,
    progress: bool = True,
    summaries: bool = True,
    member_counts_sync: bool = False,
    retention: bool = False,
    telegram: TelegramResource | None = None,
    chunk_days: int | None = None,
    on_chunk: Callable[[dt.date, dt.date], None] | None = None,
    observe: bool = True,
    instance: dg.DagsterInstance | None = None,
) -> dict[str, int]:
    """Materialize every analytics asset (and summaries) for each UTC day in ``[start, end]``.

    Returns rows written per table, summed over the days (plus ``member_count_snapshots``
    when ``member_counts_sync`` and ``raw_log_retention`` = rows pruned when ``retention``).
    One run over the whole range, or one per ``chunk_days`` days when given. Raises
    :class:`MaterializeError` when a run fails (e.g. a blocking check); earlier chunks stay
    written. ``database_url`` defaults to ``settings.db.url``. The runs are recorded in
    ``instance``: the entry points pass the persistent one
    (:func:`pipelines.home.open_instance`), so the UI shows them; the default is an
    ephemeral instance (a library call writes nothing to ``DAGSTER_HOME``). ``observe``
    observes the raw tables' newest rows at the end.
    """
    if end < start:
        raise ValueError(f"--from {start} is after --to {end}")
    if chunk_days is not None and chunk_days < 1:
        raise ValueError("chunk_days must be >= 1")
    url = normalize_database_url(database_url) if database_url else settings.db.url
    first = min(partitions_start(settings.pipelines, url), start)
    resources = resources_for(settings, database_url=url, telegram=telegram)
    defs = build_definitions(settings, resources, start=first)
    days_job = defs.resolve_job_def("finalize_day_job" if summaries else "analytics_job")
    owned = instance is None
    instance = instance or dg.DagsterInstance.ephemeral()
    totals: dict[str, int] = {}
    chunks = _chunks(start, end, chunk_days or (end - start).days + 1)

    def run(job_name: str | dg.JobDefinition, label: str, **kwargs: Any) -> None:
        job = defs.resolve_job_def(job_name) if isinstance(job_name, str) else job_name
        result = job.execute_in_process(
            instance=instance, run_config=QUIET_RUN_CONFIG, raise_on_error=False, **kwargs
        )
        for name, rows in _row_counts(result).items():
            totals[name] = totals.get(name, 0) + rows
        if not result.success:
            raise MaterializeError(f"{label}{_failure(result)}")

    def run_chunk(first: dt.date, last: dt.date) -> None:
        run(days_job, f"days {first}..{last}: ", tags=range_tags(first, last))

    # Member counts first: their getChatMemberCount calls land in api_call_log, and the day
    # partitions that follow then count them. Retention last, over what the days have read.
    before = [(MEMBER_COUNTS, "member_counts_job")] if member_counts_sync else []
    after = [("raw_log_retention", "retention_job")] if retention else []

    try:
        with progress_bar(progress) as bar:
            for name, job in before:
                task = bar.add_task(name.replace("_", " "), total=1)
                run(job, "")
                bar.advance(task)
            days_task = bar.add_task("days materialized", total=(end - start).days + 1)
            for first_day, last_day in chunks:
                bar.update(days_task, description=f"materializing {first_day}..{last_day}")
                run_chunk(first_day, last_day)
                bar.advance(days_task, (last_day - first_day).days + 1)
                if on_chunk:
                    on_chunk(first_day, last_day)
            bar.update(days_task, description="days materialized")
            for name, job in after:
                task = bar.add_task(name.replace("_", " "), total=1)
                run(job, "")
                bar.advance(task)
            if observe:
                run("observe_raw_job", "observing the raw tables: ")
    finally:
        if owned:
            instance.dispose()
    if member_counts_sync:
        totals["member_count_snapshots"] = totals.pop(MEMBER_COUNTS, 0)
    return totals


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """The tags of a run over the days ``first..last``: a single partition's key, or a
    partition range (what the UI's backfill of a range launches, one run per range)."""
    if first == last:
        return {PARTITION_TAG: first.isoformat()}
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


__all__ = ["SUMMARIES", "MaterializeError", "materialize_range", "range_tags"]
