"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

Built lazily by :func:`defs` (settings are read when Dagster loads it, never at import);
``gatepulse materialize`` builds the same assets and resources from its own settings.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg

from core.settings import PipelineSettings, Settings, load_settings, normalize_database_url
from pipelines.assets.alerts import alerts_asset
from pipelines.assets.analytics import build_analytics_assets, build_freshness_checks
from pipelines.assets.digests import build_digests_asset
from pipelines.assets.maintenance import raw_log_partitions, raw_log_retention
from pipelines.assets.summaries import build_summaries_asset
from pipelines.assets.telegram import member_counts
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


def build_assets(settings: PipelineSettings) -> list[dg.AssetsDefinition]:
    """Every asset, on daily partitions starting at ``settings.partitions_start`` (the digests
    on weekly ones, from the week holding that day)."""
    partitions = daily_partitions(settings.partitions_start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)  # backfill_policy is beta
        return [
            *build_analytics_assets(partitions),
            build_summaries_asset(partitions),
            raw_log_retention,
            raw_log_partitions,
            member_counts,
            alerts_asset,
            build_digests_asset(weekly_partitions(settings.partitions_start)),
        ]


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
    settings: Settings, resources: dict[str, object] | None = None
) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor, with ``resources`` (default: from
    ``settings``)."""
    assets = build_assets(settings.pipelines)
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
        jobs=[*jobs.values(), erased_digests_job],
        schedules=build_schedules(jobs),
        sensors=[sensor, build_erasure_sensor(jobs["finalize_day_job"], erased_digests_job)],
        resources=resources or resources_for(settings),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Dagster's entry point: the settings are read here, once, when the code location loads."""
    return build_definitions(load_settings())
