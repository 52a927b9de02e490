"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

Built lazily by :func:`defs` (settings are read when Dagster loads it, never at import);
``gatepulse materialize`` runs the jobs of these same definitions (one code path for the CLI,
the demo and a run launched from the UI).

On top of the assets' own decorators this module adds, in one place:

- the bot's raw tables as external assets (:mod:`pipelines.observe`) and each asset's ``deps``
  on the raw tables it reads (from its declared sources), and the dashboard downstream, so
  the lineage reads bot → raw facts → analytics → dashboard;
- declarative automation: today's analytics partitions ``on_cron(PIPELINES_REFRESH_CRON)``
  (default hourly at minute 5), run by the ``default_automation_condition_sensor`` (on by
  default);
- the daily partitions' start: ``PIPELINES_PARTITIONS_START``, else the first raw day, else
  today (an unreachable database gives today and one log line; loading never hangs).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import dagster as dg

from core.settings import PipelineSettings, Settings, load_settings, normalize_database_url
from pipelines.assets.alerts import ALERTS, alerts_asset
from pipelines.assets.analytics import (
    GROUP as ANALYTICS_GROUP,
)
from pipelines.assets.analytics import (
    SPEC_BY_TABLE,
    build_analytics_assets,
    build_freshness_checks,
)
from pipelines.assets.digests import build_digests_asset
from pipelines.assets.maintenance import raw_log_partitions, raw_log_retention
from pipelines.assets.summaries import SUMMARIES, build_summaries_asset
from pipelines.assets.telegram import MEMBER_COUNTS, member_counts
from pipelines.assets.windows import WINDOW_BY_TABLE
from pipelines.observe import (
    RAW_TABLES,
    dashboard_spec,
    first_day,
    observe_raw_tables,
    raw_key,
)
from pipelines.partitions import daily_partitions, weekly_partitions
from pipelines.privacy import build_erasure_sensor, erased_digests_job
from pipelines.resources import (
    AlertConfigResource,
    BotTelegramResource,
    DatabaseResource,
    PipelineConfigResource,
    SummaryConfigResource,
    SummaryLLMResource,
    TelegramResource,
)
from pipelines.schedules import build_jobs, build_schedules
from pipelines.sources import ConfigRead, Lookback

log = logging.getLogger(__name__)

CONFIG_TABLE_OF = {
    "protected_groups": "protected_groups",
    "enforced_channels": "enforced_channels",
    "links": "group_channel_links",
}
"""The table behind each configuration read of :mod:`pipelines.sources`."""
TABLE_ASSETS = {"member_count_snapshots": MEMBER_COUNTS}
"""Tables a raw read selects that an asset of ours writes (not the bot)."""
ALERT_READS = (
    "verification_log",
    "api_call_log",
    "gate_events",
    "bot_rights",
    "protected_groups",
    "enforced_channels",
)
"""The raw tables the alert rules read (``pipelines.assets.alerts``)."""
DASHBOARD_READS = (SUMMARIES, MEMBER_COUNTS, ALERTS)
"""Besides the analytics tables, what the dashboard reads."""


def partitions_start(settings: PipelineSettings, url: str) -> dt.date:
    """Where the daily partitions start: the setting when given, else the first raw day,
    else today (an empty database, or one that cannot be reached: said in one log line)."""
    if settings.partitions_start is not None:
        return settings.partitions_start
    today = dt.datetime.now(dt.UTC).date()
    try:
        found = first_day(url)
    except Exception as exc:  # unreachable server, no schema yet...
        log.warning("partitions start today: cannot read the first raw day (%s)", exc)
        return today
    return min(found, today) if found is not None else today


def raw_deps(table: str) -> list[dg.AssetKey]:
    """The keys of the tables an analytics table's computation reads (its sources, history
    and configuration; every one merges migrated chats, so ``chat_migrations`` too)."""
    spec = SPEC_BY_TABLE[table]
    tables = [s.table for s in spec.sources]
    for extra in spec.extras:
        if isinstance(extra, Lookback):
            tables.append(extra.source.table)
        elif isinstance(extra, ConfigRead):
            tables.append(CONFIG_TABLE_OF[extra.name])
    tables.append("chat_migrations")
    return _keys(tables)


def _keys(tables: Iterable[str]) -> list[dg.AssetKey]:
    out: list[dg.AssetKey] = []
    for name in tables:
        key = dg.AssetKey(TABLE_ASSETS[name]) if name in TABLE_ASSETS else raw_key(name)
        if key not in out:
            out.append(key)
    return out


def analytics_automation(cron: str) -> dg.AutomationCondition[Any]:
    """Today's partition at each ``cron`` tick (UTC; ``PIPELINES_REFRESH_CRON``, default
    hourly at minute 5), never over a run still in progress, and never over an upstream whose
    blocking check failed. The raw tables are observed, not materialized, and the member-count
    snapshots come on their own schedule (every 15 minutes): the condition waits for neither
    (the channel table takes the newest snapshot there is; waiting for a sync since the tick
    kept it stale for up to 15 minutes after every tick, as the rehearsal found)."""
    raw = dg.AssetSelection.assets(*(raw_key(t) for t in RAW_TABLES), MEMBER_COUNTS)
    # a trailing week runs in the same step as its daily table, after it: it waits for nothing
    daily = dg.AssetSelection.assets(*(w.source for w in WINDOW_BY_TABLE.values()))
    return (
        (
            dg.AutomationCondition.on_cron(cron, "UTC")
            & ~dg.AutomationCondition.in_progress()
            & dg.AutomationCondition.all_deps_blocking_checks_passed()
        )
        .ignore(raw | daily)
        .with_label(f"today's partition on_cron({cron})")
    )


def _with_lineage(spec: dg.AssetSpec, automation: dg.AutomationCondition[Any]) -> dg.AssetSpec:
    """Add the raw tables an asset reads to its deps; today's analytics partitions on
    ``automation``."""
    name = spec.key.to_user_string()
    if name in SPEC_BY_TABLE:
        return spec.merge_attributes(deps=raw_deps(name)).replace_attributes(
            automation_condition=automation
        )
    if name in WINDOW_BY_TABLE:  # its daily table's days: a dep of the spec already
        return spec.replace_attributes(automation_condition=automation)
    if name == SUMMARIES:
        return spec.merge_attributes(deps=_keys(["messages", "chat_migrations"]))
    if name == ALERTS:
        return spec.merge_attributes(deps=_keys(ALERT_READS))
    return spec


def build_assets(settings: PipelineSettings, start: dt.date) -> list[Any]:
    """Every asset, on daily partitions starting at ``start`` (the digests on weekly ones,
    from the week holding that day), with the raw tables upstream and the dashboard
    downstream."""
    partitions = daily_partitions(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)  # backfill_policy is beta
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        assets = [
            *build_analytics_assets(partitions),
            build_summaries_asset(partitions),
            raw_log_retention,
            raw_log_partitions,
            member_counts,
            alerts_asset,
            build_digests_asset(weekly_partitions(start)),
        ]
        automation = analytics_automation(settings.refresh_cron)
        mapped = list(dg.map_asset_specs(partial(_with_lineage, automation=automation), assets))
    analytics = [k for a in mapped for k in a.keys if a.group_names_by_key[k] == ANALYTICS_GROUP]
    dashboard = dashboard_spec([*(k.to_user_string() for k in analytics), *DASHBOARD_READS])
    return [observe_raw_tables, *mapped, dashboard]


def resources_for(
    settings: Settings,
    *,
    database_url: str | None = None,
    telegram: TelegramResource | None = None,
) -> dict[str, object]:
    """The resources, configured from ``settings`` (built once by the entry point).

    ``DATABASE_URL``, ``BOT_TOKEN`` and ``SUMMARY_LLM_API_KEY`` go in as ``dg.EnvVar`` when
    they come from the environment, so that the Dagster UI shows their names and not their
    values.
    """
    url: Any = database_url or _as_env_var("DATABASE_URL", settings.db.url, normalize_database_url)
    token = _as_env_var("BOT_TOKEN", settings.bot.token.get_secret_value(), str.strip)
    llm_key = _as_env_var(
        "SUMMARY_LLM_API_KEY", settings.summary_llm.api_key.get_secret_value(), str.strip
    )
    return {
        "database": DatabaseResource(url=url),
        "telegram": telegram or BotTelegramResource.from_settings(settings.bot, token=token),
        "pipeline_config": PipelineConfigResource.from_settings(
            settings.pipelines, settings.writer
        ),
        "alert_config": AlertConfigResource.from_settings(settings.alerts),
        "summary_config": SummaryConfigResource.from_settings(settings.gate),
        "summary_llm": SummaryLLMResource.from_settings(settings.summary_llm, api_key=llm_key),
    }


def _as_env_var(name: str, value: str, normalize: Callable[[str], str]) -> Any:
    """``dg.EnvVar(name)`` when the environment variable holds ``value``, else ``value``."""
    raw = os.environ.get(name, "")
    return dg.EnvVar(name) if raw and normalize(raw) == value else value


def build_definitions(
    settings: Settings,
    resources: dict[str, object] | None = None,
    *,
    start: dt.date | None = None,
) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor, with ``resources`` (default: from
    ``settings``); daily partitions from ``start`` (default: :func:`partitions_start`)."""
    if start is None:
        start = partitions_start(settings.pipelines, settings.db.url)
    assets = build_assets(settings.pipelines, start)
    analytics = [
        a
        for a in assets
        if isinstance(a, dg.AssetsDefinition) and ANALYTICS_GROUP in a.group_names_by_key.values()
    ]
    with warnings.catch_warnings():
        # time-partition freshness checks are "superseded" by FreshnessPolicy, which is not
        # an asset check; we want a real check per asset, evaluated by a sensor
        warnings.simplefilter("ignore")
        freshness = build_freshness_checks(analytics)
        sensor = dg.build_sensor_for_freshness_checks(freshness_checks=freshness)
    jobs = build_jobs()
    resources = resources or resources_for(settings)
    # The op job gets its resources here, before its sensor targets it: left to Definitions,
    # binding them would copy the sensor (Dagster then warns about the sensor's beta `owners`).
    edits_job = erased_digests_job.graph.to_job(
        name=erased_digests_job.name,
        description=erased_digests_job.description,
        resource_defs=resources,
    )
    automation = dg.AutomationConditionSensorDefinition(
        "default_automation_condition_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Evaluates the assets' automation conditions (today's analytics hourly).",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness,
        jobs=[*jobs.values(), edits_job],
        schedules=build_schedules(jobs, alerts_cron=settings.pipelines.alerts_cron),
        sensors=[
            sensor,
            automation,
            build_erasure_sensor(jobs["finalize_day_job"], edits_job),
        ],
        resources=resources,
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Dagster's entry point: the settings are read here, once, when the code location loads."""
    return build_definitions(load_settings())


def location_job(name: str) -> dg.JobDefinition:
    """A job of the code location exactly as Dagster loads it (settings from the environment):
    the reconstructable target of ``dg.execute_job``, i.e. what a run launched from the UI
    executes."""
    return defs().resolve_job_def(name)
