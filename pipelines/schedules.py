"""Jobs and schedules.

- today's partition of every analytics table, hourly at minute 5 by default: not a schedule
  but the assets' automation condition (``AutomationCondition.on_cron`` of the setting
  ``PIPELINES_REFRESH_CRON``, set in :mod:`pipelines.definitions`, evaluated by the
  ``default_automation_condition_sensor``);
- yesterday finalized daily at 00:30 UTC: analytics and summaries (``on_cron`` only ever
  targets the latest partition, today's, so the finished day stays a schedule); retention and
  the raw logs' day partitions ahead (PostgreSQL) at 00:45 UTC;
- the raw tables observed (their newest row) every 15 minutes;
- member-count sync every 15 minutes;
- the alert rules every 5 minutes;
- last week's digests on Monday at 06:00 UTC (after 00:30 has finalized Sunday).
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import dagster as dg

from pipelines.assets.alerts import ALERTS
from pipelines.assets.analytics import GROUP as ANALYTICS_GROUP
from pipelines.assets.analytics import SPECS
from pipelines.assets.digests import WEEKLY_DIGESTS
from pipelines.assets.maintenance import GROUP as MAINTENANCE_GROUP
from pipelines.assets.summaries import SUMMARIES
from pipelines.assets.telegram import MEMBER_COUNTS
from pipelines.assets.windows import WINDOW_SPECS
from pipelines.observe import RAW_TABLES, raw_key

FRESHNESS_CHECK = "freshness_check"
"""The name Dagster gives a time-partition freshness check."""


def _day_of(context: dg.ScheduleEvaluationContext, offset_days: int = 0) -> str:
    when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    return (when.astimezone(dt.UTC).date() + dt.timedelta(days=offset_days)).isoformat()


def build_jobs() -> dict[str, Any]:
    """Partitioned jobs take their partitions from the selected assets. The freshness checks
    are left out of the jobs: their sensor evaluates them, not each run."""
    freshness = dg.AssetSelection.checks(
        *(
            dg.AssetCheckKey(dg.AssetKey(table), FRESHNESS_CHECK)
            for table in (*(s.table for s in SPECS), *(w.table for w in WINDOW_SPECS))
        )
    )
    analytics = dg.AssetSelection.groups(ANALYTICS_GROUP) - freshness
    return {
        "analytics_job": dg.define_asset_job(
            "analytics_job",
            selection=analytics,
            description="Every analytics table for one UTC day.",
        ),
        "finalize_day_job": dg.define_asset_job(
            "finalize_day_job",
            selection=analytics | dg.AssetSelection.assets(SUMMARIES),
            description="A finished UTC day: analytics tables and chat summaries.",
        ),
        "retention_job": dg.define_asset_job(
            "retention_job",
            selection=dg.AssetSelection.groups(MAINTENANCE_GROUP),
            description="Prune raw logs past their retention; make their day partitions ahead.",
        ),
        "member_counts_job": dg.define_asset_job(
            "member_counts_job",
            selection=dg.AssetSelection.assets(MEMBER_COUNTS),
            description="Sync member and subscriber counts from Telegram.",
        ),
        "alerts_job": dg.define_asset_job(
            "alerts_job",
            selection=dg.AssetSelection.assets(ALERTS),
            description="Evaluate the alert rules; open and resolve alerts.",
        ),
        "observe_raw_job": dg.define_asset_job(
            "observe_raw_job",
            selection=dg.AssetSelection.assets(*(raw_key(t) for t in RAW_TABLES)),
            description="Observe the newest row of each raw table the bot writes.",
        ),
        "digests_job": dg.define_asset_job(
            "digests_job",
            selection=dg.AssetSelection.assets(WEEKLY_DIGESTS),
            description="Post one week's digest into each group that opted in.",
        ),
    }


def build_schedules(
    jobs: dict[str, Any], *, alerts_cron: str = "*/5 * * * *"
) -> Sequence[dg.ScheduleDefinition]:
    """The schedules; ``alerts_cron`` is ``PIPELINES_ALERTS_CRON`` (the alerts schedule keeps
    its name ``alerts_every_5_minutes`` whatever its cadence: deployments refer to it)."""

    @dg.schedule(cron_schedule="30 0 * * *", job=jobs["finalize_day_job"], execution_timezone="UTC")
    def finalize_yesterday_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Finalize yesterday: its analytics partitions and its summaries."""
        day = _day_of(context, -1)
        return dg.RunRequest(run_key=f"finalize-{day}", partition_key=day)

    retention_daily = dg.ScheduleDefinition(
        name="retention_daily",
        cron_schedule="45 0 * * *",
        job=jobs["retention_job"],
        execution_timezone="UTC",
        description="Prune raw logs and make their day partitions ahead, once a day, after "
        "yesterday is finalized.",
    )
    member_counts_every_15_minutes = dg.ScheduleDefinition(
        name="member_counts_every_15_minutes",
        cron_schedule="*/15 * * * *",
        job=jobs["member_counts_job"],
        execution_timezone="UTC",
    )
    observe_raw_every_15_minutes = dg.ScheduleDefinition(
        name="observe_raw_every_15_minutes",
        cron_schedule="*/15 * * * *",
        job=jobs["observe_raw_job"],
        execution_timezone="UTC",
        description="The raw tables' newest rows (their freshness in the UI).",
    )
    alerts_every_5_minutes = dg.ScheduleDefinition(
        name="alerts_every_5_minutes",
        cron_schedule=alerts_cron,
        job=jobs["alerts_job"],
        execution_timezone="UTC",
    )

    @dg.schedule(cron_schedule="0 6 * * 1", job=jobs["digests_job"], execution_timezone="UTC")
    def weekly_digests_monday(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        """Last week's digests (the partition of the Monday before), once its Sunday is
        finalized; the run key makes one run per week."""
        week = _day_of(context, -7)
        return dg.RunRequest(run_key=f"digests-{week}", partition_key=week)

    return [
        finalize_yesterday_daily,
        retention_daily,
        member_counts_every_15_minutes,
        observe_raw_every_15_minutes,
        alerts_every_5_minutes,
        weekly_digests_monday,
    ]
