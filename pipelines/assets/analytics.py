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
across runs."""

import datetime as dt
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl
import sqlalchemy as sa

from core.models import key_columns
from pipelines import schemas
from pipelines.assets import windows
from pipelines.assets.results import (
    OUTPUT_CHECK,
    day_metadata,
    materialized,
    output_check_result,
)
from pipelines.io import day_bounds, replace_days
from pipelines.io import table as table_of
from pipelines.partitions import partition_days
from pipelines.rawstore import RawRead
from pipelines.resources import DatabaseResource
from pipelines.schemas import Validation, split_valid
from pipelines.sources import (
    API_CALLS,
    BOT_RIGHTS,
    CHANNEL_EVENTS,
    CHANNEL_SNAPSHOTS,
    ENFORCED_CHANNELS,
    GATE_EVENTS,
    GROUP_SNAPSHOTS,
    LAST_PROMPTS,
    LINKS,
    MEMBER_EVENTS,
    MESSAGES,
    MUTE_HISTORY,
    PROMPTS_AND_PASSES,
    PROMPTS_BEFORE,
    PROTECTED_GROUPS,
    REACTIONS,
    RIGHTS_BEFORE,
    UNMUTES_BEFORE,
    VERIFICATIONS,
    ConfigRead,
    Lookback,
    RawSource,
)
from pipelines.transforms import budget, daily, gate, rights, rollups
from pipelines.transforms.humans import merge_migrated_chats

Frame = pl.DataFrame | pl.LazyFrame

GROUP = "analytics"
"""Blocking: the computed frame matches the table's pandera model (else nothing is written)."""
RAW_CHECK = "raw_inputs_valid"
"""Warning: every raw row read passed its raw model (invalid rows are listed)."""

VERIFICATION_DAILY = "analytics_verification_daily"
API_CALLS_DAILY = "analytics_api_calls_daily"
HOURLY_ACTIVITY = "analytics_hourly_activity"
LATENCY_HISTOGRAM_DAILY = "analytics_latency_histogram_daily"
GROUP_DAILY = "analytics_group_daily"
FUNNEL_DAILY = "analytics_funnel_daily"
FUNNEL_LANGUAGE_DAILY = "analytics_funnel_language_daily"
CHANNEL_DAILY = "analytics_channel_daily"
API_BUDGET_DAILY = "analytics_api_budget_daily"
TOPIC_DAILY = "analytics_topic_daily"
INVITE_LINK_DAILY = "analytics_invite_link_daily"
BOT_RIGHTS_DAILY = "analytics_bot_rights_daily"
ALL_GROUPS_DAILY = "analytics_all_groups_daily"
ALL_GROUPS_HOURLY = "analytics_all_groups_hourly"
ALL_GROUPS_FUNNEL_DAILY = "analytics_all_groups_funnel_daily"
ALL_GROUPS_VERIFICATION_DAILY = "analytics_all_groups_verification_daily"
ALL_GROUPS_MEMBERS_DAILY = "analytics_all_groups_members_daily"
ALL_CHANNELS_DAILY = "analytics_all_channels_daily"

STEP = "analytics_tables"
"""The one step (op) computing every selected analytics table of a run."""
SHARD_ROWS = 8_000_000
"""Raw rows (the sum of a per-group table's window reads) per shard of groups: a bigger read
is computed in ``ceil(rows / SHARD_ROWS)`` shards. About 50 MB of a transform's state per
million rows of a per-group table here (Combot's day: 42.5M rows, 6 shards of the group
table); a smaller value holds less at once and scans the spool once more per shard."""
POOL = "database"
"""The concurrency pool of the steps that read raw tables and write analytics tables."""

FRESHNESS_DEADLINE_CRON = "0 2 * * *"
"""A day's partitions must be materialized by 02:00 UTC the next day."""


class PartitionDays:
    """A transform input: the days being computed, as a frame with one ``day`` column (for
    figures that a day without any event still has, such as the muted backlog)."""


PARTITION_DAYS = PartitionDays()
Extra = Lookback | ConfigRead | PartitionDays
"""Inputs besides the window's raw rows: history before it, configuration, the days."""


@dataclass(frozen=True)
class AnalyticsSpec:
    """One analytics table: its raw inputs, transform and output model.

    The transform is called with the valid rows of each of ``sources`` over the partition
    window, then one frame per entry of ``extras``, in order; chat ids merged in each.
    """

    table: str
    sources: tuple[RawSource, ...]
    transform: Callable[..., pl.DataFrame]
    model: pa.DataFrameSchema
    description: str
    extras: tuple[Extra, ...] = ()
    by_group: bool = False
    """Every figure is per group (the group in the key, every input read per group): on a big
    window the table is computed shard by shard of groups and the shards concatenated
    (:func:`shard_count`), so that its state (distinct users per group) is a shard's."""

    def reads(
        self, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[RawSource, dt.datetime, dt.datetime]]:
        """Every raw read of a window ``[start, end)``: the sources', then the lookbacks'."""
        lookbacks = [
            (e.source, *e.window(start, end)) for e in self.extras if isinstance(e, Lookback)
        ]
        return [(s, start, end) for s in self.sources] + lookbacks


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
        "sum and max (long polling, getUpdates, included).",
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
        "and for Bot API calls other than long polling (getUpdates).",
    ),
    AnalyticsSpec(
        GROUP_DAILY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS, REACTIONS),
        daily.group_daily,
        schemas.GroupDaily,
        "Per UTC day and group (a migrated group under its new id): human messages, active "
        "users, verifications, passed, failed, human joins, leaves (with kicks) and kicks, bots "
        "joined, reactions added, reacting users and silent reactors (reacted, wrote nothing).",
        by_group=True,
    ),
    AnalyticsSpec(
        FUNNEL_DAILY,
        (VERIFICATIONS, MEMBER_EVENTS, GATE_EVENTS),
        gate.funnel_daily,
        schemas.FunnelDaily,
        "The verification funnel per UTC day and group: humans joined, users prompted, "
        "clicked, passed, unmuted; denied clicks; users still muted at the end of the day; "
        "p50/p90 seconds from mute to unmute; join requests approved, declined, expired; "
        "messages deleted; users the gate's timeout acted on.",
        (MUTE_HISTORY, PARTITION_DAYS),
        by_group=True,
    ),
    AnalyticsSpec(
        FUNNEL_LANGUAGE_DAILY,
        (PROMPTS_AND_PASSES,),
        gate.funnel_language_daily,
        schemas.FunnelLanguageDaily,
        "The funnel per UTC day, group and the language the prompt was shown in: users "
        "prompted in it, and users who passed whose latest prompt was in it (unknown: no "
        "prompt before the pass).",
        (LAST_PROMPTS,),
        by_group=True,
    ),
    AnalyticsSpec(
        CHANNEL_DAILY,
        (CHANNEL_EVENTS, GATE_EVENTS, CHANNEL_SNAPSHOTS),
        gate.channel_daily,
        schemas.ChannelDaily,
        "Per UTC day and linked channel: human joins and leaves, joins within 24 h after a "
        "prompt and leaves within 7 days after an unmute in a group linking it, and the "
        "day's last subscriber count.",
        (PROMPTS_BEFORE, UNMUTES_BEFORE, LINKS),
    ),
    AnalyticsSpec(
        API_BUDGET_DAILY,
        (API_CALLS, MESSAGES),
        budget.api_budget_daily,
        schemas.ApiBudgetDaily,
        "The Bot API budget per UTC day (without getUpdates): calls and sends with their "
        "peaks per second, the peak sends into one chat in a minute, RetryAfter errors, "
        "human messages and calls per message.",
    ),
    AnalyticsSpec(
        TOPIC_DAILY,
        (MESSAGES,),
        daily.topic_daily,
        schemas.TopicDaily,
        "Human messages and active users per UTC day, group and forum topic.",
    ),
    AnalyticsSpec(
        INVITE_LINK_DAILY,
        (MEMBER_EVENTS, GATE_EVENTS),
        gate.invite_link_daily,
        schemas.InviteLinkDaily,
        "Per UTC day, group and named invite link: humans who joined by it, and of them those "
        "who passed the gate and those who left the same day.",
        by_group=True,
    ),
    AnalyticsSpec(
        BOT_RIGHTS_DAILY,
        (BOT_RIGHTS,),
        rights.bot_rights_daily,
        schemas.BotRightsDaily,
        "The bot's own status and rights per UTC day and chat (group, channel or other) as of "
        "the end of the day, its rights changes that day, and the seconds of the day it lacked "
        "what the gate needs (group: admin who may restrict and delete; channel: admin).",
        (RIGHTS_BEFORE, PROTECTED_GROUPS, ENFORCED_CHANNELS, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_DAILY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS, REACTIONS, GATE_EVENTS),
        rollups.all_groups_daily,
        schemas.AllGroupsDaily,
        "Every group together per UTC day (what the dashboard shows with no group selected): "
        "the group and funnel counts summed over the groups, distinct users over all groups, "
        "verification-time percentiles over every unmute; a row for each day.",
        (MUTE_HISTORY, ENFORCED_CHANNELS, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_HOURLY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS),
        rollups.all_groups_hourly,
        schemas.AllGroupsHourly,
        "Verifications, human messages and human joins per UTC day and hour, every group "
        "together (analytics_hourly_activity summed; what the dashboard shows with no group "
        "selected).",
    ),
    AnalyticsSpec(
        ALL_GROUPS_FUNNEL_DAILY,
        (VERIFICATIONS, MEMBER_EVENTS, GATE_EVENTS),
        rollups.all_groups_funnel_daily,
        schemas.AllGroupsFunnelDaily,
        "The verification funnel per UTC day with every group's rows added up (user-days per "
        "group, as the Funnel page counts), the backlog over the groups and the groups' "
        "verification times weighted by their unmutes (what the Funnel page shows with no "
        "group selected).",
        (MUTE_HISTORY, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_VERIFICATION_DAILY,
        (VERIFICATIONS,),
        rollups.all_groups_verification_daily,
        schemas.AllGroupsVerificationDaily,
        "Gate checks per UTC day, status, cache use, error type and trigger over every group, "
        "with latency sum and max (what the Verification page shows with no group selected).",
    ),
    AnalyticsSpec(
        ALL_GROUPS_MEMBERS_DAILY,
        (GROUP_SNAPSHOTS,),
        rollups.all_groups_members_daily,
        schemas.AllGroupsMembersDaily,
        "Protected groups with a member-count sync per UTC day and their last synced member "
        "counts summed (what the Overview's member count reads with no group selected).",
        (PROTECTED_GROUPS,),
    ),
    AnalyticsSpec(
        ALL_CHANNELS_DAILY,
        (CHANNEL_EVENTS, GATE_EVENTS, CHANNEL_SNAPSHOTS),
        rollups.all_channels_daily,
        schemas.AllChannelsDaily,
        "Every linked channel's joins, leaves, joins within 24 h after a prompt and leaves "
        "within 7 days after an unmute per UTC day, summed (what the Overview's subscribers "
        "produced read with no group selected).",
        (PROMPTS_BEFORE, UNMUTES_BEFORE, LINKS),
    ),
)
SPEC_BY_TABLE = {s.table: s for s in SPECS}


@dataclass
class ComputedDays:
    """What one analytics computation produced, before it is written."""

    days: list[dt.date]
    output: pl.DataFrame
    output_check: Validation
    raw_checks: dict[str, RawRead]
    newest_source_at: dict[dt.date, dt.datetime | None]
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase (``read``, ``transform``, ``check``; ``write`` once written):
    where a table's time goes, in its materialization's metadata."""


def shard_count(rows: int, shard_rows: int | None = None) -> int:
    """Shards of groups for ``rows`` raw rows: ``ceil(rows / SHARD_ROWS)``, at least one."""
    return max(1, -(-rows // (shard_rows or SHARD_ROWS)))


def in_shard(column: str, shard: int, shards: int) -> pl.Expr:
    """Rows of shard ``shard`` of ``shards``: the group id in ``column`` modulo ``shards``
    (a row without one in shard 0). Applied after the migrated ids are merged, so that a
    group's old and new ids fall in one shard."""
    return (pl.col(column) % shards).fill_null(0) == shard


def compute(
    spec: AnalyticsSpec,
    db: DatabaseResource,
    days: list[dt.date],
    prefetch: Sequence[AnalyticsSpec] = (),
) -> ComputedDays:
    """Read, check and transform ``days`` (contiguous) of ``spec.table``; nothing is written.

    ``prefetch``: other specs of the run, whose reads are started together with these."""
    began = time.perf_counter()
    start, end = day_bounds(days[0], days[-1])
    reads = spec.reads(start, end)
    db.raw.prefetch([*reads, *(r for other in prefetch for r in other.reads(start, end))])
    raw_checks = {s.name: db.raw.read(s, a, b) for s, a, b in reads}
    migrations = db.raw.migrations()  # a migrated group aggregates under its new id

    def merged(frame: Any, chat_column: str | None) -> Any:
        return merge_migrated_chats(frame, chat_column, migrations)

    # raw inputs are lazy scans of the spooled rows: each plan reads the columns it uses;
    # each with the column holding its group id (None: not read per group)
    inputs: list[tuple[Frame, str | None]] = [
        (merged(raw_checks[s.name].lazy(), s.chat_column), s.chat_column) for s in spec.sources
    ]
    for extra in spec.extras:
        if isinstance(extra, Lookback):
            column = extra.source.chat_column
            inputs.append((merged(raw_checks[extra.source.name].lazy(), column), column))
        elif isinstance(extra, ConfigRead):
            inputs.append((merged(db.raw.config(extra), extra.chat_column), extra.chat_column))
        else:
            inputs.append((pl.DataFrame({"day": days}, schema={"day": pl.Date}), None))
    rows = sum(raw_checks[s.name].rows for s in spec.sources)
    shards = shard_count(rows) if spec.by_group else 1
    read = time.perf_counter()
    output = _transform(spec, inputs, shards)
    transformed = time.perf_counter()
    output_check = split_valid(output, spec.model)
    newest: dict[dt.date, dt.datetime] = {}
    for source in spec.sources:
        for day, when in db.raw.newest_per_day(source, start, end).items():
            if day not in newest or when > newest[day]:
                newest[day] = when
    return ComputedDays(
        days=days,
        output=output,
        output_check=output_check,
        raw_checks=raw_checks,
        newest_source_at={d: newest.get(d) for d in days},
        seconds={
            "read": read - began,
            "transform": transformed - read,
            "check": time.perf_counter() - transformed,
        },
    )


def _transform(
    spec: AnalyticsSpec, inputs: Sequence[tuple[Frame, str | None]], shards: int
) -> pl.DataFrame:
    """``spec.transform`` over ``inputs``; with several ``shards``, once per shard of groups
    (each input with a group column filtered to the shard), the parts concatenated in key
    order (each group's rows are in one shard: the same rows as one pass)."""
    if shards == 1:
        return spec.transform(*(frame for frame, _ in inputs))
    parts = [
        spec.transform(
            *(
                frame if column is None else frame.filter(in_shard(column, shard, shards))
                for frame, column in inputs
            )
        )
        for shard in range(shards)
    ]
    return pl.concat(parts).sort(key_columns(spec.table))


def write(spec: AnalyticsSpec, db: DatabaseResource, computed: ComputedDays) -> dict[dt.date, int]:
    """Replace the computed days of ``spec.table`` (one transaction); its time goes in
    ``computed.seconds["write"]``."""
    began = time.perf_counter()
    written = replace_days(
        db.engine,
        spec.table,
        computed.output,
        computed.days,
        newest_source_at=computed.newest_source_at,
    )
    computed.seconds["write"] = time.perf_counter() - began
    return written


PREVIEW_ROWS = 10
"""Rows of the written table shown in each materialization's metadata (the Dagster UI)."""
HIDDEN = "‹hidden›"
"""What a preview shows instead of a value that may be a person's (docs/PRIVACY.md)."""


def hidden_columns(table: str) -> frozenset[str]:
    """The columns of ``table`` whose values stay out of previews: free text (an invite link's
    name, a title: admins choose them, and they can name a person). Text columns limited to a
    fixed set of values (a status, an error type) are shown."""
    columns = table_of(table).columns
    return frozenset(
        c.name
        for c in columns
        if isinstance(c.type, sa.String) and "isin" not in c.info.get("check", {})
    )


def _cell(name: str, value: Any, hidden: frozenset[str]) -> str:
    if value is None:
        return ""
    if name in hidden:
        return HIDDEN
    if name.endswith("chat_id") and isinstance(value, int) and value > 0:
        return HIDDEN  # a positive chat id is a person's private chat
    return str(value)


def preview(frame: pl.DataFrame, table: str, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The first ``rows`` rows of ``frame`` (rows of ``table``) as a Markdown table, for the
    Dagster UI, without people's data (:func:`hidden_columns`, private chats' ids): Dagster
    keeps it in its run history, outside the database's retention and erasure."""
    head = frame.head(rows)
    hidden = hidden_columns(table)

    def line(cells: Any) -> str:
        return "| " + " | ".join(cells) + " |"

    lines = [
        line(head.columns),
        "|" + "---|" * len(head.columns),
        *(
            line(_cell(n, v, hidden) for n, v in zip(head.columns, row, strict=True))
            for row in head.rows()
        ),
    ]
    if frame.height > rows:
        lines.append(f"\n{rows} of {frame.height} rows")
    return dg.MetadataValue.md("\n".join(lines))


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
    """Every analytics table of ``specs`` (default :data:`SPECS`) and trailing-week table of
    ``weeks`` (default: every one when ``specs`` is the default, else none) on ``partitions``,
    with their checks: one multi-asset, so one step per run (each step is recorded events),
    subsettable (``can_subset``): the UI can still materialize a single table. A week is
    computed after the daily tables, from its daily table as written."""
    if weeks is None:
        weeks = windows.WINDOW_SPECS if specs is None else ()
    with warnings.catch_warnings():
        # backfill_policy is a beta parameter of @multi_asset
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return _define_asset(tuple(SPECS if specs is None else specs), tuple(weeks), partitions)


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
