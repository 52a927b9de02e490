"""Alert recipients and per-group mutes, as the bot keeps them: /start and blocking in private
(``bot_private_chats``), ``/alerts`` in a group (``protected_groups.settings``, audited)."""

from __future__ import annotations

import datetime as dt

from tests.bot.conftest import ADMIN, ALICE, CREATOR, GROUP, START, Harness


async def _say(h: Harness, chat_id: int, user: int, text: str) -> str:
    before = len(h.world.sent_messages)
    await h.feed(h.world.message_update(chat_id, user, text))
    return "\n".join(m.get("text", "") for m in h.world.sent_messages[before:])


async def test_start_block_and_restart_in_private(harness: Harness) -> None:
    h = harness
    assert "/protect @channel" in await _say(h, ADMIN, ADMIN, "/start")
    rows = await h.rows("bot_private_chats")
    assert [(r["user_id"], r["started_at"], r["blocked_at"]) for r in rows] == [
        (ADMIN, START, None)
    ]
    assert h.clock is not None
    h.clock.advance(60)
    await h.feed(h.world.block_bot_update(ADMIN))
    blocked_at = START + dt.timedelta(seconds=60)
    assert [(r["user_id"], r["blocked_at"]) for r in await h.rows("bot_private_chats")] == [
        (ADMIN, blocked_at)
    ]
    h.clock.advance(60)
    await h.feed(h.world.block_bot_update(ADMIN, blocked=False))
    rows = await h.rows("bot_private_chats")
    assert [(r["started_at"], r["blocked_at"]) for r in rows] == [
        (START + dt.timedelta(seconds=120), None)
    ]
    # a block from someone who never started the bot leaves nothing; no bot_rights row for
    # private chats either
    await h.feed(h.world.block_bot_update(ALICE))
    assert [r["user_id"] for r in await h.rows("bot_private_chats")] == [ADMIN]
    assert await h.rows("bot_rights") == []


async def test_alerts_command_mutes_and_unmutes_per_group(harness: Harness) -> None:
    h = harness
    await h.protect()
    listing = await _say(h, GROUP, ADMIN, "/alerts")
    assert "raid (on)" in listing and "permission_lost (on)" in listing
    assert await _say(h, GROUP, ADMIN, "/alerts mute raid") == "Muted alerts here: raid."
    assert await _say(h, GROUP, CREATOR, "/alerts mute all") == (
        "Muted alerts here: failure_spike, permission_lost, raid, stale_pipeline, throttled."
    )
    assert await _say(h, GROUP, ADMIN, "/alerts unmute all") == "Muted alerts here: none."
    assert await _say(h, GROUP, ADMIN, "/alerts unmute raid") == "Muted alerts here: none."
    assert "Usage: /alerts" in await _say(h, GROUP, ADMIN, "/alerts mute floods")
    group = (await h.rows("protected_groups"))[0]
    assert group["settings"]["alerts_muted"] == []
    audit = [a for a in await h.rows("admin_audit_log") if a["action"] == "alerts"]
    assert [(a["actor_id"], a["changes"]["alerts_muted"]["to"]) for a in audit] == [
        (ADMIN, ["raid"]),
        (CREATOR, ["failure_spike", "permission_lost", "raid", "stale_pipeline", "throttled"]),
        (ADMIN, []),
    ]  # the no-op unmute is not audited


async def test_alerts_command_is_for_admins_only(harness: Harness) -> None:
    h = harness
    await h.protect()
    h.world.set_member(GROUP, ALICE, "member")
    await _say(h, GROUP, ALICE, "/alerts mute raid")
    group = (await h.rows("protected_groups"))[0]
    assert "alerts_muted" not in group["settings"]
    refused = [a for a in await h.rows("admin_audit_log") if a["action"] == "alerts"]
    assert [(a["actor_id"], a["success"]) for a in refused] == [(ALICE, False)]
