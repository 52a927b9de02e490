"""The ``alerts`` asset: evaluate the alert rules at ``now`` and keep the ``alerts`` table in step.

Not partitioned: every run looks at the raw facts of the window ending now (the rules and their
thresholds are in :mod:`pipelines.transforms.alerts`), then opens and resolves alerts in ONE
transaction, reading the open alerts inside it; then delivers what is due through the logged
Telegram client (:mod:`pipelines.delivery`). The ``alerts_every_5_minutes`` schedule
(:mod:`pipelines.schedules`) runs it. :func:`replay_alerts` runs the same rules over a past
span (the demo's simulated month), as the schedule would have.
"""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa

from core.models.kinds import GateEventType
from pipelines.contract import raw_columns
from pipelines.delivery import deliver_alerts
from pipelines.io import read_raw, read_table, table
from pipelines.resources import (
    AlertConfigResource,
    DatabaseResource,
    PipelineConfigResource,
    TelegramResource,
)
from pipelines.sources import (
    BOT_RIGHTS,
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


def _ids(engine: sa.Engine, sql: str) -> pl.DataFrame:
    return pl.DataFrame([r[0] for r in read_table(engine, sql)], schema={"id": pl.Int64})


def read_facts(
    engine: sa.Engine, now: dt.datetime, since: dt.datetime | None = None
) -> dict[str, pl.DataFrame]:
    """The raw facts the rules look at, for the window ending at ``now`` (``since``: for
    every moment of ``[since, now]``, as :func:`facts_at` slices them)."""
    since = now if since is None else since
    events, marks = table("gate_events"), table("analytics_materializations")
    notices = sa.select(
        events.c.group_id, events.c.user_id, events.c.event, events.c.detail, events.c.timestamp
    ).where(
        events.c.event == GateEventType.PROMPTED.value,
        events.c.user_id.is_(None),
        events.c.timestamp >= since - HOUR,
        events.c.timestamp < now,
    )
    newest = (
        sa.select(marks.c.table_name, sa.func.max(marks.c.materialized_at)).group_by(
            marks.c.table_name
        )
        if since == now
        else sa.select(marks.c.table_name, marks.c.materialized_at)  # sliced by facts_at
    )
    with engine.connect() as conn:
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
        "verifications": read_raw(engine, FAILED_CHECKS, since - HOUR - BASELINE, now),
        "api_calls": read_raw(engine, RETRY_AFTERS, since - HOUR, now),
        "last_rights": read_raw(
            engine, RIGHTS_BEFORE.source if since == now else BOT_RIGHTS, HISTORY_START, now
        ),
        "groups": _ids(engine, PROTECTED_GROUPS.sql),
        "channels": _ids(engine, ENFORCED_CHANNELS.sql),
        "materializations": pl.DataFrame(
            newest_rows, schema={"table_name": pl.String, "materialized_at": UTC_US}, orient="row"
        ),
    }


def facts_at(facts: dict[str, pl.DataFrame], now: dt.datetime) -> dict[str, pl.DataFrame]:
    """What :func:`read_facts` would have read at ``now``, cut from facts read for a span
    that covers it (``since <= now``)."""
    before = pl.col("timestamp") < now
    return {
        **facts,
        "gate_events": facts["gate_events"].filter(before),
        "verifications": facts["verifications"].filter(before),
        "api_calls": facts["api_calls"].filter(before),
        "last_rights": facts["last_rights"]
        .filter(before)
        .sort("timestamp", "id")
        .group_by("chat_id", maintain_order=True)
        .last(),
        "materializations": facts["materializations"]
        .filter(pl.col("materialized_at") < now)
        .group_by("table_name")
        .agg(pl.col("materialized_at").max()),
    }


def evaluate_alerts(
    engine: sa.Engine,
    thresholds: Thresholds,
    now: dt.datetime,
    facts: dict[str, pl.DataFrame] | None = None,
) -> dict[str, int]:
    """Evaluate every rule at ``now``, then open and resolve alerts in one transaction.

    ``facts``: those of :func:`read_facts` at ``now`` when already at hand (the replay).
    Returns how many alerts were ``opened``, ``resolved``, and are ``open`` afterwards.
    """
    facts = read_facts(engine, now) if facts is None else facts
    current = conditions(now=now, thresholds=thresholds, **facts)
    for attempt in range(3):
        try:
            return _apply(engine, current, now)
        except sa.exc.IntegrityError:
            # another evaluation opened the same (chat, kind) meanwhile (the partial unique
            # index keeps one open): read the open alerts again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _apply(engine: sa.Engine, current: pl.DataFrame, now: dt.datetime) -> dict[str, int]:
    alerts = table(ALERTS)
    with engine.begin() as conn:
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


def replay_alerts(
    engine: sa.Engine,
    thresholds: Thresholds,
    start: dt.datetime,
    end: dt.datetime,
    *,
    step: dt.timedelta = dt.timedelta(minutes=5),
    deliver: Callable[[dt.datetime], object] | None = None,
    on_step: Callable[[dt.datetime], None] | None = None,
) -> dict[str, int]:
    """Evaluate the rules at every ``step`` of ``(start, end]`` as the schedule would have
    (the raw facts read once), delivering after each evaluation that opened something when
    ``deliver`` is given. Returns the alerts ``opened`` and ``resolved`` in all."""
    facts = read_facts(engine, end, since=start)
    totals = {"opened": 0, "resolved": 0, "evaluations": 0}
    now = start + step
    while now <= end:
        counts = evaluate_alerts(engine, thresholds, now, facts_at(facts, now))
        totals["opened"] += counts["opened"]
        totals["resolved"] += counts["resolved"]
        totals["evaluations"] += 1
        if deliver is not None and counts["opened"]:
            deliver(now)
        if on_step is not None:
            on_step(now)
        now += step
    return totals


@dg.asset(name=ALERTS, group_name=GROUP, kinds={"polars", "sql", "telegram"})
def alerts_asset(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    alert_config: AlertConfigResource,
    telegram: TelegramResource,
    pipeline_config: PipelineConfigResource,
) -> dg.MaterializeResult[Any]:
    """Opens an alert for each raid, failure spike, lost right, throttling or stale pipeline
    that holds now, resolves the open ones whose condition has cleared, and sends the new ones
    to the people who run the group (and to ``ALERT_ADMIN_CHAT_ID``)."""
    now = dt.datetime.now(dt.UTC)
    counts = evaluate_alerts(database.engine, alert_config.thresholds(), now)
    delivery = {"sent": 0, "failed": 0}
    if alert_config.delivery:
        delivery = deliver_alerts(
            database,
            telegram,
            pipeline_config.log_writer_settings(),
            now,
            admin_chat_id=alert_config.admin_chat_id,
            max_attempts=alert_config.delivery_max_attempts,
        )
    context.log.info(f"alerts {counts}, delivery {delivery}")
    return dg.MaterializeResult(
        metadata={
            "row_count": counts["open"],
            **counts,
            "sent": delivery["sent"],
            "delivery_failed": delivery["failed"],
        }
    )
