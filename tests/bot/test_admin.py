"""Admin commands: only admins, clear refusals, usage on bad arguments, everything audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    DAVE,
    GROUP,
    Harness,
)

CONFIG_TABLES = ("protected_groups", "enforced_channels", "group_channel_links", "access_list")


async def _config(h: Harness) -> dict[str, list[dict[str, Any]]]:
    return {t: await h.rows(t) for t in CONFIG_TABLES}


def _replies(h: Harness) -> list[str]:
    return [m.get("text", "") for m in h.sent_to(GROUP)]


async def _say(h: Harness, user: int, text: str, **kw: Any) -> str:
    before = len(h.sent_to(GROUP))
    await h.feed(h.world.message_update(GROUP, user, text, **kw))
    new = _replies(h)[before:]
    return "\n".join(new)


async def test_protect_links_channels_and_audits(harness: Harness) -> None:
    reply = await _say(harness, CREATOR, f"/protect @gp_news {CH_DEALS}")
    assert "Protected" in reply and "@gp_news" in reply
    links = await harness.rows("group_channel_links")
    assert sorted(r["channel_id"] for r in links) == sorted([CH_NEWS, CH_DEALS])
    group = (await harness.rows("protected_groups"))[0]
    assert group["id"] == GROUP and group["enabled"] is True and group["owner_id"] == CREATOR
    channels = {r["id"]: r for r in await harness.rows("enforced_channels")}
    assert channels[CH_NEWS]["username"] == "gp_news"
    assert channels[CH_DEALS]["invite_link"] == "https://t.me/+deals_invite"
    audit = await harness.rows("admin_audit_log")
    assert [(a["action"], a["actor_id"], a["success"]) for a in audit] == [
        ("protect", CREATOR, True),
        ("protect", CREATOR, True),
    ]
    assert {a["changes"]["channel_id"] for a in audit} == {CH_NEWS, CH_DEALS}
    # protecting again changes nothing new
    again = await _say(harness, ADMIN, "/protect @gp_news")
    assert "Already linked" in again
    assert len(await harness.rows("group_channel_links")) == 2
    # and the gate now runs with the new config at once (cache dropped)
    await harness.feed(harness.world.message_update(GROUP, ALICE, "hi"))
    assert harness.muted(GROUP, ALICE)


async def test_non_admin_is_refused_and_audited(harness: Harness) -> None:
    reply = await _say(harness, BOB, "/protect @gp_news")
    assert reply == "Only the group's administrators can do that."
    assert await harness.rows("group_channel_links") == []
    audit = await harness.rows("admin_audit_log")
    assert [(a["action"], a["actor_id"], a["success"]) for a in audit] == [("protect", BOB, False)]
    for command in ("/status", "/settings gate off", "/allow @alice", "/deny @alice"):
        assert await _say(harness, BOB, command) == "Only the group's administrators can do that."
    audit = await harness.rows("admin_audit_log")
    assert [a["action"] for a in audit] == ["protect", "status", "settings", "allow", "deny"]
    assert not any(a["success"] for a in audit)


async def test_unsubscribed_non_admin_command_is_gated_not_answered(harness: Harness) -> None:
    await harness.protect()
    reply = await _say(harness, ALICE, "/status")
    assert "Only the group's administrators" not in reply
    assert "please join" in reply  # the join prompt instead
    assert harness.muted(GROUP, ALICE)
    assert [a["success"] for a in await harness.rows("admin_audit_log")] == [False]


async def test_protect_explains_missing_channel_and_missing_admin_rights(harness: Harness) -> None:
    reply = await _say(harness, CREATOR, "/protect @gp_secret")
    assert "not an administrator" in reply and "@gp_secret" in reply
    reply = await _say(harness, CREATOR, "/protect @no_such_channel")
    assert "no such channel" in reply
    reply = await _say(harness, CREATOR, "/protect @gp_news @gp_secret")
    assert "Nothing was changed" in reply
    assert await harness.rows("group_channel_links") == []  # all or nothing
    reply = await _say(harness, CREATOR, f"/protect {GROUP}")
    assert "is not a channel" in reply
    audit = await harness.rows("admin_audit_log")
    assert [(a["action"], a["success"]) for a in audit] == [("protect", False)] * 4


@pytest.mark.parametrize(
    "command",
    [
        "/protect",
        "/protect gp_news",
        "/protect @x",
        "/protect @" + "a" * 40,
        "/protect " + " ".join(f"@channel{i:02d}" for i in range(11)),
        "/protect 12345",
        "/unprotect @a @b",
        "/unprotect news!",
        "/settings gate maybe",
        "/settings volume on",
        "/settings gate on extra",
        "/settings digest on",
        "/settings top_posters weekly",
        "/settings prompt_ttl",
        "/settings prompt_ttl 10",
        "/settings prompt_ttl 30s",
        "/settings prompt_ttl 2d",
        "/settings prompt_ttl 0m",
        "/settings timeout soon",
        "/settings timeout 31d",
        "/settings timeout 1h 2h",
        "/settings on_timeout kill",
        "/settings clean_service maybe",
        "/settings welcome",
        "/settings welcome uk",
        "/allow",
        "/allow @alice @bob",
        "/allow al ice",
        "/deny",
        "/deny ¯\\_(ツ)_/¯",
    ],
)
async def test_malformed_arguments_get_usage_and_change_nothing(
    harness: Harness, command: str
) -> None:
    await harness.protect()
    before = await _config(harness)
    reply = await _say(harness, CREATOR, command)
    assert reply.startswith("Usage: /")
    assert await _config(harness) == before
    assert await harness.rows("admin_audit_log") == []


async def test_unprotect_one_then_all(harness: Harness) -> None:
    await harness.protect()
    assert "@gp_secret is not linked" in await _say(harness, CREATOR, "/unprotect @gp_secret")
    assert "Unlinked 1" in await _say(harness, CREATOR, "/unprotect @gp_news")
    assert [r["channel_id"] for r in await harness.rows("group_channel_links")] == [CH_DEALS]
    assert "Unlinked 1" in await _say(harness, ADMIN, "/unprotect")
    assert await harness.rows("group_channel_links") == []
    assert "No channel is linked" in await _say(harness, ADMIN, "/unprotect")
    audit = await harness.rows("admin_audit_log")
    assert [(a["action"], a["resource"]) for a in audit] == [
        ("unprotect", "@gp_news"),
        ("unprotect", "*"),
    ]
    # with nothing linked the gate lets everyone write
    await harness.feed(harness.world.message_update(GROUP, ALICE, "free"))
    assert not harness.muted(GROUP, ALICE)


async def test_settings_switch_the_gate(harness: Harness) -> None:
    assert "not protected yet" in await _say(harness, CREATOR, "/settings gate off")
    await harness.protect()
    assert "Gate: on" in await _say(harness, CREATOR, "/settings")
    assert "Gate is off" in await _say(harness, CREATOR, "/settings gate off")
    await harness.feed(harness.world.message_update(GROUP, ALICE, "gate is off"))
    assert not harness.muted(GROUP, ALICE)
    assert "Gate is on" in await _say(harness, ADMIN, "/settings Gate ON")
    await harness.feed(harness.world.message_update(GROUP, ALICE, "gate is on"))
    assert harness.muted(GROUP, ALICE)
    audit = await harness.rows("admin_audit_log")
    assert [a["changes"]["enabled"] for a in audit] == [
        {"from": True, "to": False},
        {"from": False, "to": True},
    ]


async def test_settings_digest_and_top_posters(harness: Harness) -> None:
    await harness.protect()
    shown = await _say(harness, CREATOR, "/settings")
    assert shown.startswith(
        "Gate: on\nBan channel identities: off\nWeekly digest: off\n"
        "Top posters in the digest: off\nA linked channel I lost: hold\n"
        "Unanswered prompts deleted after: 10m\nTimeout for newcomers: off\n"
        "At the timeout: mute\nDelete join/leave messages: off\nWelcome text: default\n"
        "Language: en\nBilingual prompts: off\nUsage: /settings"
    )
    assert await _say(harness, CREATOR, "/settings digest WEEKLY") == (
        "Weekly digest: weekly (posted here each Monday morning UTC, about last week)."
    )
    await _say(harness, ADMIN, "/settings digest weekly")  # no change: not audited again
    assert await _say(harness, ADMIN, "/settings top_posters on") == (
        "Top posters in the digest: on."
    )
    shown = await _say(harness, CREATOR, "/settings")
    assert "Weekly digest: weekly\nTop posters in the digest: on\n" in shown
    await _say(harness, CREATOR, "/settings digest off")
    group = (await harness.rows("protected_groups"))[0]
    assert group["settings"] == {"digest": "off", "top_posters": True}
    audit = [a for a in await harness.rows("admin_audit_log") if a["action"] == "settings"]
    assert [(a["resource"], a["changes"]) for a in audit] == [
        ("digest", {"digest": {"from": "off", "to": "weekly"}}),
        ("top_posters", {"top_posters": {"from": False, "to": True}}),
        ("digest", {"digest": {"from": "weekly", "to": "off"}}),
    ]


async def test_allow_and_deny(harness: Harness) -> None:
    await harness.protect()
    # Alice gets muted; the bot has now seen her (users upsert)
    await harness.feed(harness.world.join_update(GROUP, ALICE))
    assert harness.muted(GROUP, ALICE)
    assert "I do not know @nobody" in await _say(harness, CREATOR, "/allow @nobody")
    assert "may now write" in await _say(harness, CREATOR, "/allow @Alice")
    assert not harness.muted(GROUP, ALICE)  # allowing lifts the gate's mute
    assert "already on" in await _say(harness, CREATOR, f"/allow {ALICE}")
    await harness.feed(harness.world.message_update(GROUP, ALICE, "whitelisted"))
    assert not harness.muted(GROUP, ALICE)
    entries = await harness.rows("access_list")
    assert [(e["group_id"], e["subject_id"], e["list_type"]) for e in entries] == [
        (GROUP, ALICE, "whitelist")
    ]
    assert "off the allow list" in await _say(harness, ADMIN, "/deny @alice")
    assert "not on" in await _say(harness, ADMIN, "/deny @alice")
    assert await harness.rows("access_list") == []
    harness.services.actions._prompted.clear()
    await harness.feed(harness.world.message_update(GROUP, ALICE, "checked again"))
    assert harness.muted(GROUP, ALICE)
    # reply form and a numeric id of a user never seen
    original = harness.world.message_update(GROUP, ADMIN, "note")
    await harness.feed(original)
    msg_id = original["message"]["message_id"]
    assert "may now write" in await _say(harness, CREATOR, "/allow", reply_to=msg_id)
    assert "may now write" in await _say(harness, CREATOR, f"/allow {DAVE + 1000}")
    audit = await harness.rows("admin_audit_log")
    assert [(a["action"], a["resource"]) for a in audit] == [
        ("allow", str(ALICE)),
        ("deny", str(ALICE)),
        ("allow", str(ADMIN)),
        ("allow", str(DAVE + 1000)),
    ]


async def test_status_reports_channels_mutes_and_todays_checks(harness: Harness) -> None:
    assert "not protected" in await _say(harness, CREATOR, "/status")
    await harness.protect()
    world = harness.world
    await harness.feed(world.join_update(GROUP, ALICE))  # failed, from Telegram
    await harness.feed(world.message_update(GROUP, BOB, "one"))  # success, from Telegram
    await harness.feed(world.message_update(GROUP, BOB, "two"))  # success, cached
    await harness.drain()
    status = await _say(harness, CREATOR, "/status")
    assert "Gate: on" in status
    assert "@gp_news" in status and "Deals" in status
    assert "Muted (waiting to join): 1" in status
    assert "Checks today (UTC): 3, answered from cache: 33%" in status


async def test_private_chat_start_help_and_group_only_commands(harness: Harness) -> None:
    world = harness.world

    async def private(text: str) -> str:
        before = len(world.sent_messages)
        await harness.feed(world.message_update(ALICE, ALICE, text))
        return "\n".join(m.get("text", "") for m in world.sent_messages[before:])

    assert "/protect @channel" in await private("/start")
    assert "/protect @channel" in await private("/help")
    assert "works in a group" in await private("/protect @gp_news")
    assert "Unknown command" in await private("/frobnicate")
    assert await private("just chatting") == ""
    assert await harness.rows("messages") == []  # private chats are not logged
