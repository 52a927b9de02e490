"""Materialize every asset over a range of days, in process, fast (``gatepulse materialize``).

One real Dagster run per chunk of up to ``chunk_days`` days on an ephemeral instance: the
analytics assets (and summaries) run with a partition *range* (as Dagster backfills do,
``BackfillPolicy.multi_run``), so each raw table is read once per chunk and each analytics
table written once per chunk, with all checks evaluated. Member counts and retention are
separate unpartitioned runs, on request.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from core.progress import progress_bar
from core.settings import Settings, normalize_database_url
from pipelines.assets.analytics import SPECS
from pipelines.assets.maintenance import raw_log_retention
from pipelines.assets.summaries import SUMMARIES, build_summaries_asset
from pipelines.assets.telegram import MEMBER_COUNTS, member_counts
from pipelines.definitions import resources_for
from pipelines.partitions import MAX_DAYS_PER_RUN, daily_partitions
from pipelines.resources import TelegramResource

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
    chunk_days: int = MAX_DAYS_PER_RUN,
    on_chunk: Callable[[dt.date, dt.date], None] | None = None,
) -> dict[str, int]:
    """Materialize every analytics asset (and summaries) for each UTC day in ``[start, end]``.

    Returns rows written per table, summed over the days (plus ``member_count_snapshots``
    when ``member_counts_sync`` and ``raw_log_retention`` = rows pruned when ``retention``).
    Raises :class:`MaterializeError` when a run fails (e.g. a blocking check); earlier chunks
    stay written. ``database_url`` defaults to ``settings.db.url``.
    """
    if end < start:
        raise ValueError(f"--from {start} is after --to {end}")
    if chunk_days < 1:
        raise ValueError("chunk_days must be >= 1")
    url = normalize_database_url(database_url) if database_url else settings.db.url
    partitions = daily_partitions(min(settings.pipelines.partitions_start, start))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        assets: list[Any] = list(_analytics_assets(partitions))
        if summaries:
            assets.append(build_summaries_asset(partitions))
    resources = resources_for(settings, database_url=url, telegram=telegram)
    instance = dg.DagsterInstance.ephemeral()
    totals: dict[str, int] = {}
    chunks = _chunks(start, end, chunk_days)

    def run(selection: list[Any], label: str, **kwargs: Any) -> None:
        result = dg.materialize(
            selection,
            resources=resources,
            instance=instance,
            run_config=QUIET_RUN_CONFIG,
            raise_on_error=False,
            **kwargs,
        )
        for name, rows in _row_counts(result).items():
            totals[name] = totals.get(name, 0) + rows
        if not result.success:
            raise MaterializeError(f"{label}{_failure(result)}")

    def run_chunk(first: dt.date, last: dt.date) -> None:
        if first == last:
            kwargs: dict[str, Any] = {"partition_key": first.isoformat()}
        else:
            kwargs = {"tags": {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}}
        run(assets, f"days {first}..{last}: ", **kwargs)

    def run_single(asset: dg.AssetsDefinition) -> None:
        run([asset], "")

    # Member counts first: their getChatMemberCount calls land in api_call_log, and the day
    # partitions that follow then count them. Retention last, over what the days have read.
    before: list[tuple[str, dg.AssetsDefinition]] = []
    after: list[tuple[str, dg.AssetsDefinition]] = []
    if member_counts_sync:
        before.append((MEMBER_COUNTS, member_counts))
    if retention:
        after.append(("raw_log_retention", raw_log_retention))

    with warnings.catch_warnings(), progress_bar(progress) as bar:
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        for name, asset in before:
            task = bar.add_task(name.replace("_", " "), total=1)
            run_single(asset)
            bar.advance(task)
        days_task = bar.add_task("days materialized", total=(end - start).days + 1)
        for first, last in chunks:
            bar.update(days_task, description=f"materializing {first}..{last}")
            run_chunk(first, last)
            bar.advance(days_task, (last - first).days + 1)
            if on_chunk:
                on_chunk(first, last)
        bar.update(days_task, description="days materialized")
        for name, asset in after:
            task = bar.add_task(name.replace("_", " "), total=1)
            run_single(asset)
            bar.advance(task)
    if member_counts_sync:
        totals["member_count_snapshots"] = totals.pop(MEMBER_COUNTS, 0)
    return totals


def _analytics_assets(partitions: dg.PartitionsDefinition) -> Sequence[dg.AssetsDefinition]:
    from pipelines.assets.analytics import build_analytics_assets

    assets = build_analytics_assets(partitions)
    assert len(assets) == len(SPECS)
    return assets


__all__ = ["SUMMARIES", "MaterializeError", "materialize_range"]
