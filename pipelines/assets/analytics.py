"""The five daily analytics assets, their checks and their freshness checks.

Each asset is a thin wrapper: read the raw rows of its partitions (shared across assets of the
run), split off invalid raw rows (excluded from the aggregates, counted and reported in metadata
and in the non-blocking ``raw_inputs_valid`` check), run its pure polars transform, validate
the output (the BLOCKING ``output_valid`` check; a failing frame is NOT written and the run
fails), then replace its days in one transaction.

Partition ranges run as one step (``BackfillPolicy.multi_run``, up to ``MAX_DAYS_PER_RUN``
days): a range reads each raw table once and writes each table once.
"""

import datetime as dt
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl

from pipelines import schemas
from pipelines.io import (
    API_CALLS,
    MEMBER_EVENTS,
    MESSAGES,
    VERIFICATIONS,
    RawSource,
    day_bounds,
    replace_days,
)
from pipelines.partitions import MAX_DAYS_PER_RUN, partition_days
from pipelines.resources import DatabaseResource
from pipelines.schemas import Validation, split_valid
from pipelines.transforms import daily
from pipelines.transforms.humans import merge_migrated_chats

GROUP = "analytics"
OUTPUT_CHECK = "output_valid"
"""Blocking: the computed frame matches the table's pandera model (else nothing is written)."""
RAW_CHECK = "raw_inputs_valid"
"""Warning: every raw row read passed its raw model (invalid rows are listed)."""

VERIFICATION_DAILY = "analytics_verification_daily"
API_CALLS_DAILY = "analytics_api_calls_daily"
HOURLY_ACTIVITY = "analytics_hourly_activity"
LATENCY_HISTOGRAM_DAILY = "analytics_latency_histogram_daily"
GROUP_DAILY = "analytics_group_daily"

FRESHNESS_DEADLINE_CRON = "0 2 * * *"
"""A day's partitions must be materialized by 02:00 UTC the next day."""


@dataclass(frozen=True)
class AnalyticsSpec:
    """One analytics table: its raw inputs, transform and output model."""

    table: str
    sources: tuple[RawSource, ...]
    transform: Callable[..., pl.DataFrame]
    model: type[pa.DataFrameModel]
    description: str


SPECS: tuple[AnalyticsSpec, ...] = (
    AnalyticsSpec(
        VERIFICATION_DAILY,
        (VERIFICATIONS,),
        daily.verification_daily,
        schemas.VerificationDaily,
        "Gate checks per UTC day, group, status, cache use, error type and trigger, with "
        "latency sum and max.",
    ),
    AnalyticsSpec(
        API_CALLS_DAILY,
        (API_CALLS,),
        daily.api_calls_daily,
        schemas.ApiCallsDaily,
        "Telegram Bot API calls per UTC day, method, success and error type, with latency "
        "sum and max.",
    ),
    AnalyticsSpec(
        HOURLY_ACTIVITY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS),
        daily.hourly_activity,
        schemas.HourlyActivity,
        "Verifications, human messages and human joins per UTC day, hour and group (a "
        "migrated group under its new id).",
    ),
    AnalyticsSpec(
        LATENCY_HISTOGRAM_DAILY,
        (VERIFICATIONS, API_CALLS),
        daily.latency_histogram_daily,
        schemas.LatencyHistogramDaily,
        "Latency histogram (fixed bounds 5 ms ... 5 s and +inf) per UTC day, for gate checks "
        "and for Bot API calls.",
    ),
    AnalyticsSpec(
        GROUP_DAILY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS),
        daily.group_daily,
        schemas.GroupDaily,
        "Per UTC day and group (a migrated group under its new id): human messages, active "
        "users, verifications, passed, failed, human joins and leaves.",
    ),
)
SPEC_BY_TABLE = {s.table: s for s in SPECS}


@dataclass
class ComputedDays:
    """What one analytics computation produced, before it is written."""

    days: list[dt.date]
    output: pl.DataFrame
    output_check: Validation
    raw_checks: dict[str, Validation]
    newest_source_at: dict[dt.date, dt.datetime | None]


def compute(
    spec: AnalyticsSpec,
    db: DatabaseResource,
    days: list[dt.date],
    prefetch: Sequence[RawSource] = (),
) -> ComputedDays:
    """Read, check and transform ``days`` (contiguous) of ``spec.table``; nothing is written."""
    start, end = day_bounds(days[0], days[-1])
    db.raw.prefetch({s.name: s for s in (*spec.sources, *prefetch)}.values(), start, end)
    raw_checks = {s.name: db.raw.valid(s, start, end) for s in spec.sources}
    migrations = db.raw.migrations()  # a migrated group aggregates under its new id
    output = spec.transform(
        *(
            merge_migrated_chats(raw_checks[s.name].valid, s.chat_column, migrations)
            for s in spec.sources
        )
    )
    newest: dict[dt.date, dt.datetime] = {}
    for source in spec.sources:
        for day, when in db.raw.newest_per_day(source, start, end).items():
            if day not in newest or when > newest[day]:
                newest[day] = when
    return ComputedDays(
        days=days,
        output=output,
        output_check=split_valid(output, spec.model),
        raw_checks=raw_checks,
        newest_source_at={d: newest.get(d) for d in days},
    )


def write(spec: AnalyticsSpec, db: DatabaseResource, computed: ComputedDays) -> dict[dt.date, int]:
    """Replace the computed days of ``spec.table`` (one transaction)."""
    return replace_days(
        db.database_url,
        spec.table,
        computed.output,
        computed.days,
        newest_source_at=computed.newest_source_at,
    )


def raw_metadata(computed: ComputedDays) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, check in computed.raw_checks.items():
        out[f"raw_{name}_rows"] = check.valid.height + check.invalid.height
        out[f"raw_{name}_invalid"] = check.invalid.height
    return out


def _check_results(spec: AnalyticsSpec, computed: ComputedDays) -> list[dg.AssetCheckResult]:
    invalid_raw = {n: c for n, c in computed.raw_checks.items() if not c.ok}
    return [
        dg.AssetCheckResult(
            check_name=OUTPUT_CHECK,
            asset_key=spec.table,
            passed=computed.output_check.ok,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows": computed.output.height,
                **{
                    k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                    for k, v in computed.output_check.metadata().items()
                },
            },
        ),
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


def _sources_for(keys: Any) -> list[RawSource]:
    wanted: dict[str, RawSource] = {}
    for key in keys:
        spec = SPEC_BY_TABLE.get(key.to_user_string())
        if spec is not None:
            wanted.update({s.name: s for s in spec.sources})
    return list(wanted.values())


def _build_asset(spec: AnalyticsSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter of @asset
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return _define_asset(spec, partitions)


def _define_asset(spec: AnalyticsSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.table,
        group_name=GROUP,
        kinds={"polars", "sql"},
        description=spec.description,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN),
        check_specs=[
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
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, database: DatabaseResource
    ) -> Iterator[dg.MaterializeResult[Any]]:
        days = partition_days(context.partition_keys)
        computed = compute(spec, database, days, _sources_for(context.selected_asset_keys))
        checks = _check_results(spec, computed)
        metadata: dict[str, Any] = {
            "days": len(days),
            "first_day": days[0].isoformat(),
            "last_day": days[-1].isoformat(),
            **raw_metadata(computed),
        }
        if not computed.output_check.ok:
            context.log.error(
                f"{spec.table}: {computed.output_check.invalid.height} output rows fail "
                f"{spec.model.__name__}; nothing written"
            )
            yield dg.MaterializeResult(
                metadata={**metadata, "row_count": 0, "written": False}, check_results=checks
            )
            return
        written = write(spec, database, computed)
        yield dg.MaterializeResult(
            metadata={**metadata, "row_count": sum(written.values()), "written": True},
            check_results=checks,
        )

    return _asset


def build_analytics_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """One asset per analytics table on ``partitions``."""
    return [_build_asset(spec, partitions) for spec in SPECS]


def build_freshness_checks(
    assets: Sequence[dg.AssetsDefinition],
) -> Sequence[dg.AssetChecksDefinition]:
    """Each analytics asset: yesterday's partition materialized by 02:00 UTC today."""
    return dg.build_time_partition_freshness_checks(
        assets=list(assets), deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
    )
