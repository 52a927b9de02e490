"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

Built lazily by :func:`defs` (settings are read when Dagster loads it, never at import).
"""

from __future__ import annotations

import warnings

import dagster as dg

from core.settings import PipelineSettings
from pipelines.assets.analytics import build_analytics_assets, build_freshness_checks
from pipelines.assets.maintenance import raw_log_retention
from pipelines.assets.summaries import build_summaries_asset
from pipelines.assets.telegram import member_counts
from pipelines.partitions import daily_partitions
from pipelines.resources import (
    BotTelegramResource,
    DatabaseResource,
    PipelineConfigResource,
    TelegramResource,
)
from pipelines.schedules import build_jobs, build_schedules


def build_assets(settings: PipelineSettings) -> list[dg.AssetsDefinition]:
    """Every asset, on daily partitions starting at ``settings.partitions_start``."""
    partitions = daily_partitions(settings.partitions_start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)  # backfill_policy is beta
        return [
            *build_analytics_assets(partitions),
            build_summaries_asset(partitions),
            raw_log_retention,
            member_counts,
        ]


def default_resources(
    database_url: str = "", telegram: TelegramResource | None = None
) -> dict[str, object]:
    """Resources fed by settings at run time (empty fields mean "use the setting")."""
    return {
        "database": DatabaseResource(url=database_url),
        "telegram": telegram or BotTelegramResource(),
        "pipeline_config": PipelineConfigResource(),
    }


def build_definitions(
    settings: PipelineSettings | None = None, resources: dict[str, object] | None = None
) -> dg.Definitions:
    settings = settings or PipelineSettings()
    assets = build_assets(settings)
    analytics = [a for a in assets if "analytics" in a.group_names_by_key.values()]
    with warnings.catch_warnings():
        # time-partition freshness checks are "superseded" by FreshnessPolicy, which is not
        # an asset check; we want a real check per asset, evaluated by a sensor
        warnings.simplefilter("ignore")
        freshness = build_freshness_checks(analytics)
        sensor = dg.build_sensor_for_freshness_checks(freshness_checks=freshness)
    jobs = build_jobs()
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness,
        jobs=list(jobs.values()),
        schedules=build_schedules(jobs),
        sensors=[sensor],
        resources=resources or default_resources(),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
