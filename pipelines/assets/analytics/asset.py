"""The analytics tables as Dagster assets: one multi-asset (one step per run) with each
table's checks, and their freshness checks."""

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from pipelines.assets import windows
from pipelines.assets.analytics import catalog
from pipelines.assets.analytics.catalog import AnalyticsSpec
from pipelines.assets.analytics.computing import ComputedDays, compute, write
from pipelines.assets.analytics.previews import preview
from pipelines.assets.results import (
    OUTPUT_CHECK,
    day_metadata,
    materialized,
    output_check_result,
)
from pipelines.partitions import partition_days
from pipelines.resources import DatabaseResource

GROUP = "analytics"
"""The Dagster asset group of the analytics tables."""
RAW_CHECK = "raw_inputs_valid"
"""Warning: every raw row read passed its raw model (invalid rows are listed)."""
STEP = "analytics_tables"
"""The one step (op) computing every selected analytics table of a run."""
POOL = "database"
"""The concurrency pool of the steps that read raw tables and write analytics tables."""

FRESHNESS_DEADLINE_CRON = "0 2 * * *"
"""A day's partitions must be materialized by 02:00 UTC the next day."""


def raw_metadata(computed: ComputedDays) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, check in computed.raw_checks.items():
        out[f"raw_{name}_rows"] = check.rows
        out[f"raw_{name}_invalid"] = check.invalid.height
    return out


def _check_results(spec: AnalyticsSpec, computed: ComputedDays) -> list[dg.AssetCheckResult]:
    invalid_raw = {n: c for n, c in computed.raw_checks.items() if not c.ok}
    return [
        output_check_result(spec.table, computed.output, computed.output_check),
        dg.AssetCheckResult(
            check_name=RAW_CHECK,
            asset_key=spec.table,
            passed=not invalid_raw,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "invalid_rows": sum(c.invalid.height for c in computed.raw_checks.values()),
                "details": dg.MetadataValue.json({n: c.metadata() for n, c in invalid_raw.items()}),
            },
        ),
    ]


def _materialize(
    spec: AnalyticsSpec,
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    days: list[dt.date],
    prefetch: Sequence[AnalyticsSpec],
) -> dg.MaterializeResult[Any]:
    """Compute, check and (unless its output check fails) write ``days`` of ``spec.table``."""
    computed = compute(spec, database, days, prefetch)
    key = dg.AssetKey(spec.table)
    selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == key}
    return materialized(
        context,
        spec.table,
        spec.model.name,
        computed.output_check,
        lambda: write(spec, database, computed),
        computed.seconds,
        {**day_metadata(days), **raw_metadata(computed)},
        [c for c in _check_results(spec, computed) if c.check_name in selected],
        lambda: {"preview": preview(computed.output, spec.table)},
    )


def _check_specs(spec: AnalyticsSpec) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            OUTPUT_CHECK,
            asset=spec.table,
            blocking=True,
            description="The output frame matches its pandera model; failing rows listed.",
        ),
        dg.AssetCheckSpec(
            RAW_CHECK,
            asset=spec.table,
            description="Raw rows that break their model (excluded, counted, listed).",
        ),
    ]


def build_analytics_asset(
    partitions: dg.PartitionsDefinition,
    specs: Sequence[AnalyticsSpec] | None = None,
    weeks: Sequence[windows.WindowSpec] | None = None,
) -> dg.AssetsDefinition:
    """Every analytics table of ``specs`` (default: the catalogue's ``SPECS``, read at call
    time) and trailing-week table of ``weeks`` (default: every one when ``specs`` is the
    default, else none) on ``partitions``,
    with their checks: one multi-asset, so one step per run (each step is recorded events),
    subsettable (``can_subset``): the UI can still materialize a single table. A week is
    computed after the daily tables, from its daily table as written."""
    if weeks is None:
        weeks = windows.WINDOW_SPECS if specs is None else ()
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter of @multi_asset
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        chosen = tuple(catalog.SPECS if specs is None else specs)
        return _define_asset(chosen, tuple(weeks), partitions)


def _define_asset(
    specs: tuple[AnalyticsSpec, ...],
    weeks: tuple[windows.WindowSpec, ...],
    partitions: dg.PartitionsDefinition,
) -> dg.AssetsDefinition:

    @dg.multi_asset(
        name=STEP,
        specs=[
            *(
                dg.AssetSpec(
                    spec.table,
                    group_name=GROUP,
                    kinds={"polars", "sql"},
                    description=spec.description,
                    skippable=True,
                )
                for spec in specs
            ),
            *(
                dg.AssetSpec(
                    week.table,
                    group_name=GROUP,
                    kinds={"polars", "sql"},
                    description=week.description,
                    skippable=True,
                    deps=[week.dep()],
                )
                for week in weeks
            ),
        ],
        check_specs=[
            *(check for spec in specs for check in _check_specs(spec)),
            *(
                dg.AssetCheckSpec(
                    OUTPUT_CHECK,
                    asset=week.table,
                    blocking=True,
                    description="The output frame matches its pandera model.",
                )
                for week in weeks
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        can_subset=True,
    )
    def _asset(
        context: dg.AssetExecutionContext, database: DatabaseResource
    ) -> Iterator[dg.MaterializeResult[Any]]:
        days = partition_days(context.partition_keys)
        selected = [s for s in specs if dg.AssetKey(s.table) in context.selected_asset_keys]
        failed: list[str] = []
        for spec in selected:
            try:
                result = _materialize(spec, context, database, days, selected)
            except Exception:  # the other tables still run, as separate steps would
                context.log.exception(f"{spec.table} failed")
                failed.append(spec.table)
                continue
            yield result
        for week in weeks:  # after the daily tables they add up
            if dg.AssetKey(week.table) not in context.selected_asset_keys:
                continue
            try:
                yield windows.materialize(week, context, database, days)
            except Exception:
                context.log.exception(f"{week.table} failed")
                failed.append(week.table)
        if failed:
            raise dg.Failure(f"failed: {', '.join(failed)}")

    return _asset


def build_analytics_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The analytics tables on ``partitions`` (one multi-asset: :func:`build_analytics_asset`)."""
    return [build_analytics_asset(partitions)]


def build_freshness_checks(
    assets: Sequence[dg.AssetsDefinition],
) -> Sequence[dg.AssetChecksDefinition]:
    """Each analytics asset: yesterday's partition materialized by 02:00 UTC today."""
    return dg.build_time_partition_freshness_checks(
        assets=list(assets), deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
    )
