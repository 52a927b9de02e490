"""Alert delivery: who gets what (pure), then a pass through the logged client against the fake
Bot API server, with a recipient who blocked the bot, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from core.models.kinds import muted_alert_kinds as muted_kinds
from core.settings import LogWriterSettings
from pipelines.delivery import deliver_alerts
from pipelines.io import sync_engine, table
from pipelines.resources import BotTelegramResource, DatabaseResource
from pipelines.transforms.alert_delivery import (
    Attempt,
    Audience,
    GroupInfo,
    due,
    recipients,
    render,
)
from sandbox.fake_telegram import DEFAULT_TOKEN
from sandbox.fake_telegram.world import FakeWorld
from tests.support.threaded_server import threaded_server

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
G, G2, CH, OPS = -1001500000001, -1001500000002, -1002500000001, -1001500000999
OWNER, ADMIN, MEMBER, OTHER = 7, 8, 9, 10


def _audience(**kw: Any) -> Audience:
    base: dict[str, Any] = {
        "groups": {
            G: GroupInfo("Readers", OWNER),
            G2: GroupInfo("Writers", OTHER, frozenset({"raid", "permission_lost"})),
        },
        "channel_groups": {CH: [G, G2]},
        "admins": {G: [OWNER, ADMIN], G2: [OTHER, ADMIN]},
        "reachable": frozenset({OWNER, ADMIN, MEMBER, OTHER}),
        "channel_titles": {CH: "News"},
    }
    return Audience(**{**base, **kw})


def test_recipients_follow_groups_channels_mutes_and_the_admin_chat() -> None:
    a = _audience()
    assert recipients(G, "raid", a) == [OWNER, ADMIN]
    assert recipients(G2, "raid", a) == []  # muted there
    assert recipients(G2, "throttled", a) == [ADMIN, OTHER]
    # a channel: the people of every group linking it, each group's mute honoured
    assert recipients(CH, "permission_lost", a) == [OWNER, ADMIN]
    assert recipients(0, "stale_pipeline", a) == []
    with_ops = _audience(admin_chat_id=OPS)
    assert recipients(0, "stale_pipeline", with_ops) == [OPS]
    assert recipients(G2, "raid", with_ops) == [OPS]  # a group's mute is not the operator's
    # only people who started the bot and did not block it
    assert recipients(G, "raid", _audience(reachable=frozenset({ADMIN}))) == [ADMIN]
    # the owner counts even when Telegram would not list the administrators
    assert recipients(G, "raid", _audience(admins={})) == [OWNER]


def test_a_recipient_is_due_until_a_success_a_final_error_or_the_last_attempt() -> None:
    attempts = [
        Attempt(1, True, None),
        Attempt(2, False, "Forbidden"),
        Attempt(3, False, "NetworkError"),
        Attempt(4, False, "NetworkError"),
        Attempt(4, False, "RetryAfter"),
        Attempt(4, False, "NetworkError"),
    ]
    assert due([1, 2, 3, 4, 5], attempts, max_attempts=3) == [3, 5]


def test_muted_kinds_ignore_what_is_not_a_kind() -> None:
    assert muted_kinds({"alerts_muted": ["raid", "nonsense", 3]}) == frozenset({"raid"})
    assert muted_kinds({"alerts_muted": "raid"}) == frozenset()
    assert muted_kinds(None) == frozenset()


def test_the_raid_message_says_what_where_and_what_to_do() -> None:
    text = render(
        chat_id=G,
        kind="raid",
        severity="critical",
        details={"lockdowns": 1, "joins": 80, "started_at": "2026-11-20T11:58:30+00:00"},
        opened_at=NOW,
        audience=_audience(),
    )
    assert text == (
        "🚨 gatepulse alert · raid\n"
        "Raid in “Readers”: 80 joins within a minute. The gate locked the group down at "
        "2026-11-20 11:58 UTC; newcomers stay muted until they verify.\n"
        "Since 2026-11-20 12:00 UTC.\n"
        "Stop these for the group: /alerts mute raid (in the group)."
    )


def _seed(url: str) -> dict[str, int]:
    t = table
    ids: dict[str, int] = {}
    with sync_engine(url).begin() as conn:
        conn.execute(sa.insert(t("owners")), [{"id": OWNER, "created_at": NOW, "updated_at": NOW}])
        conn.execute(
            sa.insert(t("protected_groups")),
            [
                {"id": G, "title": "Readers", "owner_id": OWNER, "enabled": True,
                 "settings": {}, "created_at": NOW, "updated_at": NOW},
            ],
        )  # fmt: skip
        conn.execute(
            sa.insert(t("enforced_channels")),
            [{"id": CH, "title": "News", "created_at": NOW, "updated_at": NOW}],
        )
        conn.execute(
            sa.insert(t("group_channel_links")),
            [{"group_id": G, "channel_id": CH, "created_at": NOW}],
        )
        conn.execute(
            sa.insert(t("bot_private_chats")),
            [
                {"user_id": u, "started_at": NOW, "blocked_at": None, "updated_at": NOW}
                for u in (OWNER, ADMIN, MEMBER)
            ],
        )
        alerts = t("alerts")
        for name, chat_id, kind, severity, details, opened, resolved in (
            ("raid", G, "raid", "critical",
             {"lockdowns": 1, "joins": 80, "started_at": "2026-11-20T11:50:00+00:00"},
             NOW - dt.timedelta(minutes=10), None),
            ("channel", CH, "permission_lost", "critical",
             {"chat_kind": "channel", "status": "left", "is_admin": False}, NOW, None),
            ("stale", 0, "stale_pipeline", "warning",
             {"tables": {"analytics_group_daily": "2026-11-18T00:00:00+00:00"}}, NOW, None),
            ("resolved", G, "throttled", "warning", {"retry_after": 9},
             NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1)),
            ("old", G, "failure_spike", "warning", {"failures": 40, "hourly_avg_7d": 1.0},
             NOW - dt.timedelta(days=2), None),
        ):  # fmt: skip
            ids[name] = conn.execute(
                sa.insert(alerts)
                .values(
                    chat_id=chat_id,
                    kind=kind,
                    severity=severity,
                    details=details,
                    opened_at=opened,
                    resolved_at=resolved,
                )
                .returning(alerts.c.id)
            ).scalar_one()
    return ids


def _world() -> FakeWorld:
    world = FakeWorld()
    for uid, name in ((OWNER, "Owner"), (ADMIN, "Admin"), (MEMBER, "Member")):
        world.add_user(uid, name)
    world.add_group(G, "Readers", creator_id=OWNER, admin_ids=[ADMIN])
    world.set_member(G, MEMBER, "member")
    world.add_group(OPS, "Operators", creator_id=OWNER)
    world.add_channel(CH, "News", creator_id=OWNER)
    world.block_bot_update(ADMIN)  # the admin blocked the bot since starting it
    return world


@pytest.mark.db
def test_delivery_sends_each_alert_once_and_records_every_attempt(
    db_url: str, tmp_path: Any
) -> None:
    ids = _seed(db_url)
    world = _world()
    writer = LogWriterSettings.model_construct(spool_dir=tmp_path / "spool")
    with threaded_server(world) as server:
        telegram = BotTelegramResource(api_base=server.base_url, token=DEFAULT_TOKEN)
        database = DatabaseResource(url=db_url)
        first = deliver_alerts(database, telegram, writer, NOW, admin_chat_id=OPS, max_attempts=3)
        again = deliver_alerts(
            database, telegram, writer, NOW + dt.timedelta(minutes=5), admin_chat_id=OPS,
            max_attempts=3,
        )  # fmt: skip
    assert first == {"alerts": 3, "sent": 5, "failed": 2}
    assert again == {"alerts": 3, "sent": 0, "failed": 0}  # nothing repeats
    with sync_engine(db_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT alert_id, recipient_chat_id, ok, error_type FROM alert_deliveries "
                "ORDER BY alert_id, recipient_chat_id"
            )
        ).all()
        alerts, private = table("alerts"), table("bot_private_chats")
        at = dict(conn.execute(sa.select(alerts.c.id, alerts.c.delivered_at)).all())
        blocked_at = dict(conn.execute(sa.select(private.c.user_id, private.c.blocked_at)).all())
        calls = conn.execute(
            sa.text("SELECT method, count(*) FROM api_call_log GROUP BY method ORDER BY method")
        ).all()
    raid, channel, stale = ids["raid"], ids["channel"], ids["stale"]
    assert [tuple(r) for r in rows] == [
        (raid, OPS, True, None),
        (raid, OWNER, True, None),
        (raid, ADMIN, False, "Forbidden"),
        (channel, OPS, True, None),
        (channel, OWNER, True, None),
        (channel, ADMIN, False, "Forbidden"),
        (stale, OPS, True, None),
    ]
    assert at[raid] == at[channel] == at[stale] == NOW
    assert at[ids["resolved"]] is None and at[ids["old"]] is None
    assert blocked_at == {OWNER: None, ADMIN: NOW, MEMBER: None}
    # every call went through the logged client: the admin lookup once, 7 sends
    assert [tuple(c) for c in calls] == [("getChatAdministrators", 1), ("sendMessage", 7)]
    to_owner = [m["text"] for m in world.sent_messages if m["chat"]["id"] == OWNER]
    assert len(to_owner) == 2 and to_owner[0].startswith("🚨 gatepulse alert · raid\n")
    assert "I am no longer an administrator of channel “News”" in to_owner[1]
    assert not [m for m in world.sent_messages if m["chat"]["id"] == MEMBER]
