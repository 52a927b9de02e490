"""The ``alerts`` asset: evaluate the alert rules at ``now`` and keep the ``alerts`` table in step.

Not partitioned: every run looks at the raw facts of the window ending now (the rules and their
thresholds are in :mod:`pipelines.transforms.alerts`), then opens and resolves alerts in ONE
transaction, reading the open alerts inside it. Delivery (``delivered_at``) is not done here.
The ``alerts_every_5_minutes`` schedule (:mod:`pipelines.schedules`) runs it.
"""

import datetime as dt
import json
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa

from core.models.kinds import GateEventType
from pipelines.contract import raw_columns
from pipelines.io import read_raw, read_table, sync_engine, table
from pipelines.resources import AlertConfigResource, DatabaseResource
from pipelines.sources import (
    ENFORCED_CHANNELS,
    HISTORY_START,
    PROTECTED_GROUPS,
    RIGHTS_BEFORE,
    RawSource,
)
from pipelines.transforms.alerts import BASELINE, HOUR, Thresholds, conditions, reconcile

GROUP = "alerts"
ALERTS = "alerts"

# Only the rows a rule can fire on are read: the lockdown notices, the failed checks, the
# RetryAfter errors (column and table names are constants, never input).
FAILED_CHECKS = RawSource(
    "alert_failed_checks",
    "verification_log",
    raw_columns("verification_log", ("group_id", "status", "timestamp")),
    "timestamp",
    "status IN ('failed', 'error')",
)
RETRY_AFTERS = RawSource(
    "alert_retry_afters",
    "api_call_log",
    raw_columns("api_call_log", ("chat_id", "error_type", "timestamp")),
    "timestamp",
    "error_type = 'RetryAfter'",
)
UTC_US = pl.Datetime("us", "UTC")


def _ids(url: str, sql: str) -> pl.DataFrame:
    return pl.DataFrame([r[0] for r in read_table(url, sql)], schema={"id": pl.Int64})


def read_facts(url: str, now: dt.datetime) -> dict[str, pl.DataFrame]:
    """The raw facts the rules look at, for the window ending at ``now``."""
    events, marks = table("gate_events"), table("analytics_materializations")
    notices = sa.select(
        events.c.group_id, events.c.user_id, events.c.event, events.c.detail, events.c.timestamp
    ).where(
        events.c.event == GateEventType.PROMPTED.value,
        events.c.user_id.is_(None),
        events.c.timestamp >= now - HOUR,
        events.c.timestamp < now,
    )
    newest = sa.select(marks.c.table_name, sa.func.max(marks.c.materialized_at)).group_by(
        marks.c.table_name
    )
    with sync_engine(url).connect() as conn:
        notice_rows = [
            (g, u, e, None if d is None else json.dumps(d), t)
            for g, u, e, d, t in conn.execute(notices)
        ]
        newest_rows = [tuple(r) for r in conn.execute(newest)]
    gate_events = pl.DataFrame(
        notice_rows,
        schema={
            "group_id": pl.Int64,
            "user_id": pl.Int64,
            "event": pl.String,
            "detail": pl.String,
            "timestamp": UTC_US,
        },
        orient="row",
    )
    return {
        "gate_events": gate_events,
        "verifications": read_raw(url, FAILED_CHECKS, now - HOUR - BASELINE, now),
        "api_calls": read_raw(url, RETRY_AFTERS, now - HOUR, now),
        "last_rights": read_raw(url, RIGHTS_BEFORE.source, HISTORY_START, now),
        "groups": _ids(url, PROTECTED_GROUPS.sql),
        "channels": _ids(url, ENFORCED_CHANNELS.sql),
        "materializations": pl.DataFrame(
            newest_rows, schema={"table_name": pl.String, "materialized_at": UTC_US}, orient="row"
        ),
    }


def evaluate_alerts(url: str, thresholds: Thresholds, now: dt.datetime) -> dict[str, int]:
    """Evaluate every rule at ``now``, then open and resolve alerts in one transaction.

    Returns how many alerts were ``opened``, ``resolved``, and are ``open`` afterwards.
    """
    current = conditions(now=now, thresholds=thresholds, **read_facts(url, now))
    alerts = table(ALERTS)
    with sync_engine(url).begin() as conn:
        rows = conn.execute(
            sa.select(alerts.c.id, alerts.c.chat_id, alerts.c.kind).where(
                alerts.c.resolved_at.is_(None)
            )
        ).all()
        open_alerts = pl.DataFrame(
            [tuple(r) for r in rows],
            schema={"id": pl.Int64, "chat_id": pl.Int64, "kind": pl.String},
            orient="row",
        )
        to_open, to_resolve = reconcile(open_alerts, current, now)
        if to_open.height:
            conn.execute(
                sa.insert(alerts),
                [
                    {
                        "opened_at": now,
                        "chat_id": chat_id,
                        "kind": kind,
                        "severity": severity,
                        "details": json.loads(details),
                    }
                    for chat_id, kind, severity, details in to_open.select(
                        "chat_id", "kind", "severity", "details"
                    ).rows()
                ],
            )
        if to_resolve:
            conn.execute(
                sa.update(alerts).where(alerts.c.id.in_(to_resolve)).values(resolved_at=now)
            )
    return {
        "opened": to_open.height,
        "resolved": len(to_resolve),
        "open": open_alerts.height - len(to_resolve) + to_open.height,
    }


@dg.asset(name=ALERTS, group_name=GROUP, kinds={"polars", "sql"})
def alerts_asset(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    alert_config: AlertConfigResource,
) -> dg.MaterializeResult[Any]:
    """Opens an alert for each raid, failure spike, lost right, throttling or stale pipeline
    that holds now, and resolves the open ones whose condition has cleared."""
    counts = evaluate_alerts(
        database.database_url, alert_config.thresholds(), dt.datetime.now(dt.UTC)
    )
    context.log.info(f"alerts {counts}")
    return dg.MaterializeResult(metadata={"row_count": counts["open"], **counts})
