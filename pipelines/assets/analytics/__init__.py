"""The daily analytics assets, their checks and their freshness checks.

Every analytics table is an asset of ONE multi-asset (:func:`build_analytics_asset`): one step
per run computes the selected tables one after the other (``can_subset``: the UI can still
materialize a single table; each table keeps its own materialization per day and its own
checks). Each step is events in Dagster's event log (start, success, a concurrency slot), and
recording events is what a persistent instance costs, so one step beats thirteen. A table that
raises fails the run at the end, after the other tables are written, as its own step would.

Per table: read the raw rows of its partitions (shared across the tables of the run) and
whatever else its transform takes (history before the window, configuration, the days:
:class:`AnalyticsSpec`), split off invalid raw rows (excluded from the aggregates, counted and
reported in metadata and in the non-blocking ``raw_inputs_valid`` check), merge a migrated
group's ids, run its pure polars transform, validate the output (the BLOCKING ``output_valid``
check; a failing frame is NOT written and the run fails), then replace its days in one
transaction.

A backfill is one run over its whole range (``BackfillPolicy.single_run``): one streamed query
per raw table, spooled in chunks (:class:`pipelines.rawstore.RawStore`), so memory does not grow
with the length of the range; each table is written once. The analytics step takes a slot of
the Dagster concurrency pool :data:`POOL` (its limit: ``concurrency: pools:`` in the
instance's ``dagster.yaml``), which caps how many steps read and write the database at once
across runs.

The parts: :mod:`.catalog` (each table's inputs, transform and model), :mod:`.computing`
(read, transform, check, write a table's days), :mod:`.previews` (a table's first rows in the
UI, without people's data) and :mod:`.asset` (the multi-asset, its checks, the freshness
checks).
"""

from pipelines.assets.analytics.asset import (
    FRESHNESS_DEADLINE_CRON,
    GROUP,
    POOL,
    RAW_CHECK,
    STEP,
    build_analytics_asset,
    build_analytics_assets,
    build_freshness_checks,
)
from pipelines.assets.analytics.catalog import (
    ALL_CHANNELS_DAILY,
    ALL_GROUPS_DAILY,
    ALL_GROUPS_FUNNEL_DAILY,
    ALL_GROUPS_HOURLY,
    ALL_GROUPS_MEMBERS_DAILY,
    ALL_GROUPS_VERIFICATION_DAILY,
    API_BUDGET_DAILY,
    API_CALLS_DAILY,
    BOT_RIGHTS_DAILY,
    CHANNEL_DAILY,
    FUNNEL_DAILY,
    FUNNEL_LANGUAGE_DAILY,
    GROUP_DAILY,
    HOURLY_ACTIVITY,
    INVITE_LINK_DAILY,
    LATENCY_HISTOGRAM_DAILY,
    PARTITION_DAYS,
    SPEC_BY_TABLE,
    SPECS,
    TOPIC_DAILY,
    VERIFICATION_DAILY,
    AnalyticsSpec,
    PartitionDays,
)
from pipelines.assets.analytics.computing import (
    SHARD_ROWS,
    ComputedDays,
    compute,
    in_shard,
    shard_count,
    write,
)
from pipelines.assets.analytics.previews import HIDDEN, PREVIEW_ROWS, hidden_columns, preview
from pipelines.assets.results import OUTPUT_CHECK

__all__ = [
    "ALL_CHANNELS_DAILY",
    "ALL_GROUPS_DAILY",
    "ALL_GROUPS_FUNNEL_DAILY",
    "ALL_GROUPS_HOURLY",
    "ALL_GROUPS_MEMBERS_DAILY",
    "ALL_GROUPS_VERIFICATION_DAILY",
    "API_BUDGET_DAILY",
    "API_CALLS_DAILY",
    "BOT_RIGHTS_DAILY",
    "CHANNEL_DAILY",
    "FRESHNESS_DEADLINE_CRON",
    "FUNNEL_DAILY",
    "FUNNEL_LANGUAGE_DAILY",
    "GROUP",
    "GROUP_DAILY",
    "HIDDEN",
    "HOURLY_ACTIVITY",
    "INVITE_LINK_DAILY",
    "LATENCY_HISTOGRAM_DAILY",
    "OUTPUT_CHECK",
    "PARTITION_DAYS",
    "POOL",
    "PREVIEW_ROWS",
    "RAW_CHECK",
    "SHARD_ROWS",
    "SPECS",
    "SPEC_BY_TABLE",
    "STEP",
    "TOPIC_DAILY",
    "VERIFICATION_DAILY",
    "AnalyticsSpec",
    "ComputedDays",
    "PartitionDays",
    "build_analytics_asset",
    "build_analytics_assets",
    "build_freshness_checks",
    "compute",
    "hidden_columns",
    "in_shard",
    "preview",
    "shard_count",
    "write",
]
