"""The demo's alerts: the alert rules replayed over the simulated month, each new alert
delivered to the groups' owners through the fake Telegram server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from cli.demo.report import console
from core.models import Alert
from core.progress import progress_bar
from core.settings import Settings
from pipelines.assets.alerts import replay_alerts
from pipelines.delivery import deliver_alerts
from pipelines.io import sync_engine
from pipelines.resources import AlertConfigResource, DatabaseResource

ALERT_REPLAY_STEP = dt.timedelta(hours=1)
"""The demo evaluates the alert rules once per simulated hour (production: every 5 minutes)."""


def replay_demo_alerts(
    settings: Settings, start: dt.datetime, end: dt.datetime, telegram: Any
) -> dict[str, Any]:
    """The alert rules over the simulated month, as the schedule would have run them, each
    new alert delivered through ``telegram`` (the fake server) to the groups' owners."""
    url, cfg = settings.db.url, settings.alerts
    sent = {"sent": 0, "failed": 0}
    alerts = Alert.__table__
    with sync_engine(url).connect() as conn:
        done_before = conn.scalar(
            sa.select(sa.func.count())
            .select_from(alerts)
            .where(alerts.c.opened_at >= start, alerts.c.opened_at <= end)
        )
    if done_before:  # a demo run reusing its traffic: the month was evaluated already
        return _alert_report(url, {"opened": 0, "resolved": 0, "evaluations": 0}, sent)

    def deliver(now: dt.datetime) -> None:
        done = deliver_alerts(
            DatabaseResource(url=url),
            telegram,
            settings.writer,
            now,
            admin_chat_id=cfg.admin_chat_id,
            max_attempts=cfg.delivery_max_attempts,
        )
        sent["sent"] += done["sent"]
        sent["failed"] += done["failed"]

    steps = int((end - start) / ALERT_REPLAY_STEP)
    with progress_bar(console=console) as bar:
        task = bar.add_task("alert evaluations", total=steps)
        totals = replay_alerts(
            sync_engine(url),
            AlertConfigResource.from_settings(cfg).thresholds(),
            start,
            end,
            step=ALERT_REPLAY_STEP,
            deliver=deliver if cfg.delivery else None,
            on_step=lambda _now: bar.update(task, advance=1),
        )
    return _alert_report(url, totals, sent)


def _alert_report(url: str, totals: dict[str, int], sent: dict[str, int]) -> dict[str, Any]:
    alerts = Alert.__table__
    with sync_engine(url).connect() as conn:
        kinds: dict[str, int] = dict(
            conn.execute(sa.select(alerts.c.kind, sa.func.count()).group_by(alerts.c.kind)).all()
        )
        still_open = conn.scalar(
            sa.select(sa.func.count()).select_from(alerts).where(alerts.c.resolved_at.is_(None))
        )
    return {**totals, **sent, "kinds": kinds, "still_open": int(still_open or 0)}
