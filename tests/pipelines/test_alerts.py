"""Alert rules at their threshold edges, reconciling open alerts, and one evaluate-and-write run
on the database under test."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from pipelines.assets.alerts import evaluate_alerts, replay_alerts
from pipelines.io import sync_engine, table
from pipelines.transforms import alerts as rules
from pipelines.transforms.alerts import Thresholds, reconcile

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
T = Thresholds()  # the defaults: 20 failures and 3x, 5 RetryAfter, 26 h
UTC_US = pl.Datetime("us", "UTC")
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def _details(frame: pl.DataFrame) -> dict[int, dict[str, object]]:
    return {c: json.loads(d) for c, d in frame.select("chat_id", "details").rows()}


def _gate(rows: list[tuple[int, int | None, str, str | None, dt.datetime]]) -> pl.DataFrame:
    schema = {
        "group_id": pl.Int64,
        "user_id": pl.Int64,
        "event": pl.String,
        "detail": pl.String,
        "timestamp": UTC_US,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_raid_fires_on_a_lockdown_start_of_the_last_hour_only() -> None:
    started = json.dumps({"raid_lockdown": "started", "joins": 40, "message_id": 7})
    ended = json.dumps({"raid_lockdown": "ended", "joins": 90, "message_id": 8})
    frame = _gate(
        [
            (-1, None, "prompted", started, NOW - HOUR),  # first instant of the hour: in
            (-2, None, "prompted", started, NOW - HOUR - dt.timedelta(microseconds=1)),  # out
            (-3, None, "prompted", ended, NOW - MINUTE),  # the end notice is not a start
            (-4, 5, "prompted", started, NOW - MINUTE),  # a user's prompt is not a notice
            (-5, None, "muted", started, NOW - MINUTE),
            (-6, None, "prompted", started, NOW),  # `now` itself is outside [now - 1 h, now)
        ]
    )
    found = rules.raid(frame, NOW)
    assert found.select("chat_id", "kind", "severity").rows() == [(-1, "raid", "critical")]
    assert _details(found) == {
        -1: {"lockdowns": 1, "joins": 40, "started_at": "2026-03-10T11:00:00.000000+00:00"}
    }


def _checks(group: int, status: str, count: int, at: dt.datetime) -> list[tuple]:
    return [(group, status, at)] * count


def _verifications(rows: list[tuple]) -> pl.DataFrame:
    schema = {"group_id": pl.Int64, "status": pl.String, "timestamp": UTC_US}
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_failure_spike_needs_the_minimum_and_the_factor() -> None:
    recent, week = NOW - MINUTE, NOW - 2 * HOUR
    frame = _verifications(
        # -1: 10 failed + 10 error = 20 (the minimum), baseline 0 -> fires
        _checks(-1, "failed", 10, recent)
        + _checks(-1, "error", 10, recent)
        + _checks(-1, "success", 50, recent)
        # -2: 19 -> below the minimum
        + _checks(-2, "failed", 19, recent)
        # -3: 30 in the hour, 1680 in the week before (10/h): 30 = 3 x 10 -> fires
        + _checks(-3, "failed", 30, recent)
        + _checks(-3, "failed", 1680, week)
        # -4: 30 in the hour, 1681 before (a hair over 10/h) -> 30 < 3 x avg
        + _checks(-4, "failed", 30, recent)
        + _checks(-4, "failed", 1681, week)
    )
    found = rules.failure_spike(frame, NOW, T)
    assert found["chat_id"].to_list() == [-3, -1]
    assert set(found["kind"]) == {"failure_spike"}
    assert _details(found) == {
        -3: {"failures": 30, "hourly_avg_7d": 10.0},
        -1: {"failures": 20, "hourly_avg_7d": 0.0},
    }


def test_permission_lost_in_groups_and_channels() -> None:
    rows = [
        # chat, status, admin, restrict, delete
        (-1, "administrator", True, True, True),  # group, all needed: fine
        (-2, "administrator", True, True, False),  # group, cannot delete: lost
        (-3, "member", False, False, False),  # group, not admin: lost
        (-10, "administrator", True, False, False),  # channel, admin is enough: fine
        (-11, "left", False, False, False),  # channel, not admin: lost
        (-20, "member", False, False, False),  # neither: never
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "chat_id": pl.Int64,
            "status": pl.String,
            "is_admin": pl.Boolean,
            "can_restrict_members": pl.Boolean,
            "can_delete_messages": pl.Boolean,
        },
        orient="row",
    )
    groups = pl.DataFrame({"id": [-1, -2, -3, -4]})
    channels = pl.DataFrame({"id": [-10, -11]})
    found = rules.permission_lost(frame, groups, channels)
    assert found["chat_id"].to_list() == [-11, -3, -2]
    assert _details(found)[-2] == {
        "chat_kind": "group",
        "status": "administrator",
        "is_admin": True,
        "can_restrict_members": True,
        "can_delete_messages": False,
    }
    assert _details(found)[-11]["chat_kind"] == "channel"


def test_throttled_counts_retry_after_per_chat_and_null_as_the_bot() -> None:
    rows = (
        [(-1, "RetryAfter", NOW - MINUTE)] * 5  # exactly the minimum
        + [(-2, "RetryAfter", NOW - MINUTE)] * 4
        + [(-2, "Forbidden", NOW - MINUTE)] * 3  # other errors do not count
        + [(None, "RetryAfter", NOW - MINUTE)] * 5
        + [(-3, "RetryAfter", NOW - 2 * HOUR)] * 9  # too old
    )
    frame = pl.DataFrame(
        rows,
        schema={"chat_id": pl.Int64, "error_type": pl.String, "timestamp": UTC_US},
        orient="row",
    )
    found = rules.throttled(frame, NOW, T)
    assert found.select("chat_id", "kind").rows() == [(-1, "throttled"), (0, "throttled")]
    assert _details(found) == {-1: {"retry_after": 5}, 0: {"retry_after": 5}}


def test_stale_pipeline_after_the_configured_hours() -> None:
    edge = NOW - dt.timedelta(hours=26)
    frame = pl.DataFrame(
        {
            "table_name": ["analytics_group_daily", "analytics_funnel_daily"],
            "materialized_at": [edge, edge - dt.timedelta(microseconds=1)],
        },
        schema={"table_name": pl.String, "materialized_at": UTC_US},
    )
    found = rules.stale_pipeline(frame, NOW, T)
    assert found.select("chat_id", "kind", "severity").rows() == [(0, "stale_pipeline", "warning")]
    assert _details(found) == {
        0: {"tables": {"analytics_funnel_daily": "2026-03-09T09:59:59.999999+00:00"}}
    }
    assert rules.stale_pipeline(frame, NOW - dt.timedelta(microseconds=1), T).height == 0


def _open(rows: list[tuple[int, int, str]]) -> pl.DataFrame:
    schema = {"id": pl.Int64, "chat_id": pl.Int64, "kind": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _current(rows: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(c, k, "warning", "{}") for c, k in rows], schema=rules.CONDITIONS_SCHEMA, orient="row"
    )


def test_reconcile_opens_once_keeps_and_resolves() -> None:
    opened, resolved = reconcile(_open([]), _current([(-1, "raid"), (0, "throttled")]), NOW)
    assert opened.select("chat_id", "kind").rows() == [(-1, "raid"), (0, "throttled")]
    assert opened["opened_at"].to_list() == [NOW, NOW]
    assert resolved == []
    # still true: nothing new; cleared: resolved; a different kind of the same chat opens
    still = _open([(1, -1, "raid"), (2, 0, "throttled")])
    opened, resolved = reconcile(still, _current([(-1, "raid"), (-1, "failure_spike")]), NOW)
    assert opened.select("chat_id", "kind").rows() == [(-1, "failure_spike")]
    assert resolved == [2]
    # after the resolution only alert 1 is open; the throttling comes back: a new alert
    opened, resolved = reconcile(_open([(1, -1, "raid")]), _current([(0, "throttled")]), NOW)
    assert opened.select("chat_id", "kind").rows() == [(0, "throttled")]
    assert resolved == [1]


def test_evaluate_alerts_opens_resolves_and_reopens_in_the_database(db_url: str) -> None:
    engine = sync_engine(db_url)
    retry = {"method": "sendMessage", "success": False, "latency_ms": 1.0}
    with engine.begin() as conn:
        conn.execute(sa.insert(table("protected_groups")), [{"id": -100}])
        conn.execute(
            sa.insert(table("bot_rights")),
            [
                {"timestamp": NOW - HOUR, "chat_id": -100, "status": "member", "is_admin": False},
            ],
        )
        conn.execute(
            sa.insert(table("api_call_log")),
            [{**retry, "chat_id": None, "error_type": "RetryAfter", "timestamp": NOW - MINUTE}] * 5,
        )
        conn.execute(
            sa.insert(table("gate_events")),
            [
                {
                    "timestamp": NOW - MINUTE,
                    "group_id": -100,
                    "user_id": None,
                    "event": "prompted",
                    "detail": {"raid_lockdown": "started", "joins": 25, "message_id": None},
                }
            ],
        )

    assert evaluate_alerts(sync_engine(db_url), T, NOW) == {"opened": 3, "resolved": 0, "open": 3}
    assert evaluate_alerts(sync_engine(db_url), T, NOW + MINUTE) == {
        "opened": 0,
        "resolved": 0,
        "open": 3,
    }
    # two hours on: the raid notice and the RetryAfter errors are out of the window
    later = NOW + 2 * HOUR
    assert evaluate_alerts(sync_engine(db_url), T, later) == {"opened": 0, "resolved": 2, "open": 1}
    alerts = table("alerts")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                alerts.c.chat_id,
                alerts.c.kind,
                alerts.c.severity,
                alerts.c.details,
                alerts.c.opened_at,
                alerts.c.resolved_at,
            ).order_by(alerts.c.id)
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [
            (
                -100,
                "permission_lost",
                "critical",
                {
                    "chat_kind": "group",
                    "status": "member",
                    "is_admin": False,
                    "can_restrict_members": False,
                    "can_delete_messages": False,
                },
                NOW,
                None,
            ),
            (
                -100,
                "raid",
                "critical",
                {"lockdowns": 1, "joins": 25, "started_at": "2026-03-10T11:59:00.000000+00:00"},
                NOW,
                later,
            ),
            (0, "throttled", "warning", {"retry_after": 5}, NOW, later),
        ]
    )
    # the throttling comes back: a second throttled alert, the first stays resolved
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table("api_call_log")),
            [{**retry, "chat_id": None, "error_type": "RetryAfter", "timestamp": later}] * 5,
        )
    assert evaluate_alerts(sync_engine(db_url), T, later + MINUTE) == {
        "opened": 1,
        "resolved": 0,
        "open": 2,
    }
    with engine.connect() as conn:
        throttled = conn.execute(
            sa.select(alerts.c.opened_at, alerts.c.resolved_at)
            .where(alerts.c.kind == "throttled")
            .order_by(alerts.c.id)
        ).all()
    assert [tuple(r) for r in throttled] == [(NOW, later), (later + MINUTE, None)]


def test_replay_evaluates_a_past_span_as_the_schedule_would_have(db_url: str) -> None:
    engine = sync_engine(db_url)
    retry = {"method": "sendMessage", "success": False, "latency_ms": 1.0}
    lost = {"chat_id": -100, "status": "member", "is_admin": False,
            "can_restrict_members": False, "can_delete_messages": False}  # fmt: skip
    back = {"chat_id": -100, "status": "administrator", "is_admin": True,
            "can_restrict_members": True, "can_delete_messages": True}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.insert(table("protected_groups")), [{"id": -100}])
        conn.execute(
            sa.insert(table("bot_rights")),
            [{**lost, "timestamp": NOW - 30 * MINUTE}, {**back, "timestamp": NOW + 90 * MINUTE}],
        )
        conn.execute(
            sa.insert(table("api_call_log")),
            [{**retry, "chat_id": None, "error_type": "RetryAfter", "timestamp": NOW - MINUTE}] * 5,
        )
        conn.execute(
            sa.insert(table("gate_events")),
            [{"timestamp": NOW - MINUTE, "group_id": -100, "user_id": None, "event": "prompted",
              "detail": {"raid_lockdown": "started", "joins": 25, "message_id": None}}],
        )  # fmt: skip
    delivered: list[dt.datetime] = []
    totals = replay_alerts(
        sync_engine(db_url),
        T,
        NOW - HOUR,
        NOW + 3 * HOUR,
        step=30 * MINUTE,
        deliver=delivered.append,
    )
    assert totals == {"opened": 3, "resolved": 3, "evaluations": 8}
    assert delivered == [NOW]  # after the one evaluation that opened something
    alerts = table("alerts")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts.c.chat_id, alerts.c.kind, alerts.c.opened_at, alerts.c.resolved_at)
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        (-100, "permission_lost", NOW, NOW + 2 * HOUR),  # the rights came back at +90 min
        (-100, "raid", NOW, NOW + HOUR),
        (0, "throttled", NOW, NOW + HOUR),
    ]
