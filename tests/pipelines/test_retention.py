"""`gatepulse retention [--dry-run]`: exact counts on a seeded database; a dry run changes
nothing; what retention must never touch stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from core.db import Base
from pipelines.io import sync_engine
from pipelines.transforms.retention import TIME_COLUMNS

OLD, ANCIENT, RECENT = 100, 300, 1  # days ago; RETENTION_DAYS=30, messages 200
ENV = {"RETENTION_DAYS": "30", "RETENTION_DAYS_OVERRIDES": '{"messages": 200}', "COLUMNS": "200"}


def _seed(url: str, now: dt.datetime) -> None:
    def at(days: int | None) -> dt.datetime | None:
        return None if days is None else now - dt.timedelta(days=days)

    def ages(*days: int) -> list[dt.datetime | None]:
        return [at(d) for d in days]

    rows: dict[str, list[dict[str, Any]]] = {
        "verification_log": [
            {"user_id": 7, "group_id": -1, "status": "success", "latency_ms": 1.0,
             "trigger": "join", "timestamp": t} for t in ages(OLD, OLD, RECENT)
        ],
        "api_call_log": [
            {"method": "getMe", "success": True, "latency_ms": 1.0, "timestamp": t}
            for t in ages(OLD, RECENT)
        ],
        "messages": [
            {"telegram_message_id": i, "chat_id": -1, "created_at": t}
            for i, t in enumerate(ages(ANCIENT, OLD, RECENT))
        ],
        "member_events": [
            {"chat_id": -1, "user_id": 7, "event": "join", "timestamp": t} for t in ages(OLD)
        ],
        "admin_audit_log": [{"action": "protect", "timestamp": t} for t in ages(RECENT)],
        "gate_events": [
            {"group_id": -1, "user_id": 7, "event": "muted", "timestamp": t}
            for t in ages(OLD, RECENT)
        ],
        "bot_rights": [{"chat_id": -1, "status": "administrator", "timestamp": t}
                       for t in ages(OLD)],
        "reaction_events": [
            {"chat_id": -1, "telegram_message_id": 1, "user_id": 7, "added": 1, "timestamp": t}
            for t in ages(OLD, OLD)
        ],
        "alerts": [{"id": 1, "chat_id": -1, "kind": "raid", "severity": "warning",
                    "opened_at": at(OLD)}],
        "alert_deliveries": [
            {"alert_id": 1, "recipient_chat_id": 7, "ok": True, "attempted_at": t}
            for t in ages(OLD, RECENT)
        ],
        "user_restrictions": [  # two lifted long ago, one lifted lately, one active (old)
            {"user_id": 7, "group_id": -1, "is_active": lifted is None,
             "created_at": at(ANCIENT), "lifted_at": lifted}
            for lifted in [*ages(OLD, OLD, RECENT), None]
        ],
        "users": [
            {"id": 7 + i, "first_name": "U", "first_seen_at": at(ANCIENT), "last_seen_at": t}
            for i, t in enumerate(ages(OLD, RECENT, RECENT))
        ],
        "bot_private_chats": [  # blocked long ago, blocked lately, never blocked
            {"user_id": 7 + i, "started_at": at(ANCIENT), "blocked_at": t}
            for i, t in enumerate([*ages(OLD, RECENT), None])
        ],
        "owners": [{"id": 7, "first_name": "U", "created_at": at(ANCIENT)}],
        "update_health": [
            {"recorded_at": t, "bot_id": 1, "mode": "polling", "interval_s": 60.0}
            for t in ages(OLD, RECENT)
        ],
        "dashboard_audit_log": [
            {"id": f"a{i}", "timestamp": t, "viewer": "owner", "user_id": 7, "action": "sign_in"}
            for i, t in enumerate(ages(OLD, RECENT))
        ],
        "dashboard_link_uses": [
            {"nonce": f"n{i}", "used_at": t} for i, t in enumerate(ages(ANCIENT, OLD, RECENT))
        ],
    }  # fmt: skip
    with sync_engine(url).begin() as conn:
        for name, values in rows.items():
            conn.execute(sa.insert(Base.metadata.tables[name]), values)


#: per pruned table: (rows that go, rows kept) with ENV's retention
EXPECTED = {
    "verification_log": (2, 1),
    "api_call_log": (1, 1),
    "messages": (1, 2),
    "member_events": (1, 0),
    "admin_audit_log": (0, 1),
    "gate_events": (1, 1),
    "bot_rights": (1, 0),
    "reaction_events": (2, 0),
    "alert_deliveries": (1, 1),
    "user_restrictions": (2, 2),
    "users": (1, 2),
    "bot_private_chats": (1, 2),
    "update_health": (1, 1),
    "dashboard_audit_log": (1, 1),
    "dashboard_link_uses": (2, 1),
}


def _counts(url: str) -> dict[str, int]:
    with sync_engine(url).connect() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()
        }


def _rows_of(output: str) -> dict[str, list[str]]:
    """The rich table's body rows, by their first cell."""
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines()]
    return {row[0]: row[1:] for row in cells if row}


def test_retention_dry_run_then_prune(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(EXPECTED) == set(TIME_COLUMNS)
    monkeypatch.setenv("DATABASE_URL", db_url)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    now = dt.datetime.now(dt.UTC)
    _seed(db_url, now)
    before = _counts(db_url)
    runner = CliRunner()

    dry = runner.invoke(app, ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "nothing deleted" in dry.output
    shown = _rows_of(dry.output)
    for name, (gone, kept) in EXPECTED.items():
        days = 200 if name == "messages" else 30
        cutoff = now - dt.timedelta(days=days)
        assert shown[name][0] == str(days), name
        assert shown[name][1][:10] == f"{cutoff:%Y-%m-%d}", name
        # the old rows of this test have no day partitions (PostgreSQL: in the default one)
        assert shown[name][2:] == [str(gone), str(kept), "0"], name
    gone_total = sum(gone for gone, _ in EXPECTED.values())
    kept_total = sum(kept for _, kept in EXPECTED.values())
    assert shown["total"][2:] == [str(gone_total), str(kept_total), "0"]
    assert _counts(db_url) == before  # a dry run changes nothing

    done = runner.invoke(app, ["retention"])
    assert done.exit_code == 0, done.output
    deleted = {name: int(cells[0]) for name, cells in _rows_of(done.output).items()}
    assert {cells[1] for cells in _rows_of(done.output).values()} == {"0"}
    assert deleted == {**{name: gone for name, (gone, _) in EXPECTED.items()}, "total": gone_total}
    after = _counts(db_url)
    assert {name: after[name] for name in EXPECTED} == {
        name: kept for name, (_, kept) in EXPECTED.items()
    }
    untouched = set(before) - set(EXPECTED)
    assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}
    assert after["alerts"] == after["owners"] == 1
    with sync_engine(db_url).connect() as conn:
        active = conn.execute(sa.text("SELECT count(*) FROM user_restrictions WHERE is_active"))
        assert active.scalar_one() == 1  # an active mute stays, however old

    again = runner.invoke(app, ["retention", "--dry-run"])
    assert _rows_of(again.output)["total"][2:] == ["0", str(kept_total), "0"]


def test_retention_refuses_an_unknown_table(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RETENTION_DAYS_OVERRIDES", '{"analytics_group_daily": 3}')
    done = CliRunner().invoke(app, ["retention", "--dry-run"])
    assert done.exit_code == 2
    assert "unknown tables ['analytics_group_daily']" in done.output
