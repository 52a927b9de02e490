"""The rehearsal's verdicts beyond exactly-once (:mod:`cli.rehearse.ledger`): fresh without
anyone's hand, alerts once, the dashboard up, a clean end. Each is a :class:`Check` row."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cli.rehearse.ledger import Check
from core.db import create_sync_engine
from core.models import Alert, AlertDelivery
from dashboards.pages import PAGES
from reference.compare import compare_day, summarize
from reference.day import TABLES as ANALYTICS_TABLES
from sandbox.fake_telegram import FakeWorld
from sandbox.screenshots import visit

AUTOMATION_TAGS = ("dagster/sensor_name", "dagster/schedule_name", "dagster/backfill")
"""A run with one of these tags was launched by the daemon (a sensor, a schedule, a backfill);
one without any was launched by a person (the UI, the CLI)."""
ANALYTICS_JOB_HINTS = ("__ASSET_JOB", "analytics")


@dataclass(frozen=True)
class DagsterRun:
    run_id: str
    job: str
    status: str
    created: dt.datetime
    tags: dict[str, str]

    @property
    def by_automation(self) -> bool:
        return any(t in self.tags for t in AUTOMATION_TAGS)

    @property
    def partition(self) -> str | None:
        return self.tags.get("dagster/partition")


def dagster_runs(database_url: str, dagster_db: str) -> list[DagsterRun]:
    """Every run in the instance's PostgreSQL storage, oldest first, with its tags."""
    u = make_url(database_url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=dagster_db
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT run_id, pipeline_name, status, create_timestamp FROM runs")
            rows = cur.fetchall()
            cur.execute("SELECT run_id, key, value FROM run_tags")
            tags: dict[str, dict[str, str]] = {}
            for run_id, key, value in cur.fetchall():
                tags.setdefault(run_id, {})[key] = value
    finally:
        conn.close()
    runs = [
        DagsterRun(r[0], r[1], r[2], r[3].replace(tzinfo=dt.UTC), tags.get(r[0], {})) for r in rows
    ]
    return sorted(runs, key=lambda r: r.created)


def _refreshes(runs: Sequence[DagsterRun], day: dt.date) -> list[DagsterRun]:
    """Runs of today's analytics partition."""
    return [r for r in runs if r.partition == day.isoformat() and "alert" not in r.job]


def materialized(database_url: str, dagster_db: str, day: dt.date) -> dict[str, dt.datetime]:
    """When each asset's ``day`` partition was last materialized (UTC), from the instance's
    event log in PostgreSQL."""
    u = make_url(database_url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=dagster_db
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT asset_key, max(timestamp) FROM event_logs "
                "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND partition = %s "
                "GROUP BY asset_key",
                (day.isoformat(),),
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    out = {}
    for key, at in rows:
        name = "/".join(json.loads(key)) if key.startswith("[") else key
        out[name] = at.replace(tzinfo=dt.UTC)
    return out


def wait_for_refresh(
    database_url: str, dagster_db: str, day: dt.date, after: dt.datetime, timeout_s: float
) -> dt.datetime | None:
    """When every analytics table the recomputation covers (``reference.day.TABLES``) had its
    ``day`` partition materialized again after
    ``after`` (the automation launches the daily tables and the all-groups rollups in turn),
    waiting up to ``timeout_s``; None when some were not."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = materialized(database_url, dagster_db, day)
        fresh = [done[t] for t in ANALYTICS_TABLES if t in done and done[t] > after]
        if len(fresh) == len(ANALYTICS_TABLES):
            return max(fresh)
        if time.monotonic() > deadline:
            return None
        time.sleep(2.0)


def fresh(
    database_url: str, dagster_db: str, day: dt.date, traffic_end: dt.datetime, timeout_s: float
) -> list[Check]:
    """Today's tables refreshed by the automation alone after traffic stopped, and equal to the
    recomputation from the raw tables (:mod:`reference`)."""
    refresh = wait_for_refresh(database_url, dagster_db, day, traffic_end, timeout_s)
    runs = dagster_runs(database_url, dagster_db)
    manual = [r for r in runs if not r.by_automation]
    today = _refreshes(runs, day)
    statuses = Counter(r.status for r in today)
    stale = [
        t
        for t, at in materialized(database_url, dagster_db, day).items()
        if t in ANALYTICS_TABLES and at <= traffic_end
    ]
    checks = [
        Check(
            "fresh: refreshed by the automation",
            refresh is not None and not manual,
            f"{len(today)} runs of today's partition ({dict(statuses)}); "
            + (
                f"every analytics table refreshed within "
                f"{(refresh - traffic_end).total_seconds():.0f} s after the raw tables went quiet"
                if refresh
                else f"not refreshed within {timeout_s:.0f} s after the raw tables went quiet: "
                + ", ".join(stale or ["none materialized"])
            )
            + f"; {len(manual)} runs launched by hand",
        )
    ]
    if refresh is None:
        checks.append(Check("fresh: today's tables = recomputation", False, "no refresh to check"))
        return checks
    for attempt in range(3):  # a run of the next tick may commit meanwhile: compare again
        try:
            diffs = compare_day(database_url, day)
            break
        except sa.exc.OperationalError:
            if attempt == 2:
                raise
            time.sleep(2.0)
    checks.append(Check("fresh: today's tables = recomputation", not diffs, summarize(diffs)))
    return checks


def alerts_once(
    database_url: str,
    world: FakeWorld,
    expected: dict[str, tuple[int, int]],
    timeout_s: float = 0.0,
) -> list[Check]:
    """:func:`_alerts_once`, polled until every check passes or ``timeout_s`` is over (the
    alerts run on a schedule: the last one may still be on its way)."""
    deadline = time.monotonic() + timeout_s
    while True:
        checks = _alerts_once(database_url, world, expected)
        if all(c.passed for c in checks) or time.monotonic() > deadline:
            return checks
        time.sleep(3.0)


def _alerts_once(
    database_url: str, world: FakeWorld, expected: dict[str, tuple[int, int]]
) -> list[Check]:
    """Each expected alert (kind -> (chat id, owner id)) opened exactly once, delivered to the
    owner exactly once (one successful attempt, one message with its text in the owner's
    private chat)."""
    engine = create_sync_engine(database_url)
    checks = []
    try:
        with engine.connect() as conn:
            for kind, (chat_id, owner) in expected.items():
                alerts = conn.execute(
                    sa.select(Alert.id).where(Alert.kind == kind, Alert.chat_id == chat_id)
                ).all()
                ids = [a.id for a in alerts]
                sent = conn.execute(
                    sa.select(AlertDelivery.telegram_message_id).where(
                        AlertDelivery.alert_id.in_(ids),
                        AlertDelivery.recipient_chat_id == owner,
                        AlertDelivery.ok.is_(True),
                    )
                ).all()
                texts = {
                    m.get("text")
                    for m in world.sent_messages
                    if m["chat"]["id"] == owner and m["message_id"] in {s[0] for s in sent}
                }
                copies = sum(
                    1
                    for m in world.sent_messages
                    if m["chat"]["id"] == owner and m.get("text") in texts
                )
                ok = len(ids) == 1 and len(sent) == 1 and copies == 1
                checks.append(
                    Check(
                        f"alerts once: {kind}",
                        ok,
                        f"{len(ids)} alert(s) on chat {chat_id}, {len(sent)} delivery(ies) "
                        f"recorded, {copies} message(s) in the owner's chat",
                    )
                )
    finally:
        engine.dispose()
    return checks


def dashboard_pages(base: str, log: Path, when: str) -> Check:
    """Every page answers 200 and runs to its end without an exception (its content, or a
    message it shows itself, such as the database being unreachable during an outage), read
    through the read-only role; no traceback in the dashboard's log."""
    visits = visit(base, [(title, slug) for _script, title, _icon, slug in PAGES])
    bad = [f"{v.title}: {v.status} {v.problem or ''}".strip() for v in visits if not v.ok]
    tracebacks = sum("Traceback" in line for line in log.read_text(errors="replace").splitlines())
    detail = f"{len(visits) - len(bad)}/{len(visits)} pages answered"
    told = [f"{v.title}: {v.message}" for v in visits if v.ok and v.message]
    if told:
        detail += f" ({len(told)} with a message, e.g. {told[0][:120]})"
    if bad:
        detail += "; " + "; ".join(bad[:3])
    if tracebacks:
        detail += f"; {tracebacks} traceback(s) in its log"
    return Check(f"dashboard up ({when})", not bad and not tracebacks, detail)


def spool_empty(folders: Sequence[Path]) -> Check:
    """No row left in any replica's log-writer spool."""
    left = [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]
    rows = sum(p.stat().st_size for p in left)
    return Check(
        "clean end: spool empty",
        rows == 0,
        "no spooled rows" if rows == 0 else f"{len(left)} spool file(s), {rows} bytes left",
    )


def clean_exit(
    codes: dict[str, int | None], not_applied: list[str], left: dict[str, int]
) -> list[Check]:
    """Exit codes after SIGTERM, the replicas' shutdown lines, and processes a service's leader
    left running behind it (``left``: service name -> times)."""
    unclean = {name: code for name, code in codes.items() if code != 0}
    return [
        Check(
            "clean end: nothing unapplied at shutdown",
            not not_applied,
            "no 'not applied at shutdown' line" if not not_applied else not_applied[0][-160:],
        ),
        Check(
            "clean end: every process exits on SIGTERM",
            not unclean,
            f"{len(codes)} processes exited 0"
            if not unclean
            else ", ".join(f"{n}: {'killed' if c is None else c}" for n, c in unclean.items()),
        ),
        Check(
            "clean end: nothing left running",
            not left,
            "no process left behind"
            if not left
            else ", ".join(f"{n} left processes behind {c}x (killed)" for n, c in left.items()),
        ),
    ]
