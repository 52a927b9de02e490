"""/protect checks what gating needs (a supergroup, the bot's rights, the caller's rights in
each channel); the block list; group-to-supergroup migrations keep the configuration."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import (
    ADMIN,
    ALICE,
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    DAVE,
    GROUP,
    NEWS,
    Harness,
)

BASIC = -4000000001  # a basic group: negative id without the -100 prefix
UPGRADED = -1001000000077
OUTSIDER_ADMIN = 3001  # administers the group, not the channels


async def _say(h: Harness, chat_id: int, user: int, text: str) -> str:
    before = len(h.sent_to(chat_id))
    await h.feed(h.world.message_update(chat_id, user, text))
    return "\n".join(m.get("text", "") for m in h.sent_to(chat_id)[before:])


async def _refusals(h: Harness) -> list[dict[str, Any]]:
    return [a for a in await h.rows("admin_audit_log") if not a["success"]]


async def test_protect_in_a_basic_group_explains_and_changes_nothing(harness: Harness) -> None:
    harness.world.add_group(BASIC, "Basic", creator_id=CREATOR, supergroup=False)
    reply = await _say(harness, BASIC, CREATOR, "/protect @gp_news")
    assert "basic group" in reply and "supergroup" in reply
    assert await harness.rows("protected_groups") == []
    assert await harness.rows("group_channel_links") == []
    (refused,) = await _refusals(harness)
    assert refused["action"] == "protect" and refused["chat_id"] == BASIC


async def test_protect_needs_the_bot_to_restrict_and_delete(harness: Harness) -> None:
    harness.world.set_bot_admin(GROUP, True, can_restrict_members=False)
    reply = await _say(harness, GROUP, CREATOR, "/protect @gp_news")
    assert "restrict members" in reply and "delete messages" not in reply
    assert await harness.rows("group_channel_links") == []
    harness.world.set_bot_admin(GROUP, False)
    reply = await _say(harness, GROUP, CREATOR, "/protect @gp_news")
    assert "be an administrator" in reply
    assert await harness.rows("group_channel_links") == []
    assert [a["action"] for a in await _refusals(harness)] == ["protect", "protect"]


async def test_only_an_admin_of_each_channel_may_link_it(harness: Harness) -> None:
    """A group admin cannot publish someone else's channel (and its invite link) as a gate."""
    harness.world.set_member(GROUP, OUTSIDER_ADMIN, "administrator")
    reply = await _say(harness, GROUP, OUTSIDER_ADMIN, f"/protect @gp_news {CH_DEALS}")
    assert reply.count("only an administrator of the channel may link it") == 2
    assert await harness.rows("group_channel_links") == []
    # administering one of the two is not enough either: nothing is linked
    harness.world.set_member(CH_NEWS, OUTSIDER_ADMIN, "administrator")
    reply = await _say(harness, GROUP, OUTSIDER_ADMIN, f"/protect @gp_news {CH_DEALS}")
    assert reply.count("only an administrator of the channel may link it") == 1
    assert await harness.rows("group_channel_links") == []
    reply = await _say(harness, GROUP, OUTSIDER_ADMIN, "/protect @gp_news")
    assert "Protected" in reply
    assert [r["channel_id"] for r in await harness.rows("group_channel_links")] == [CH_NEWS]


async def test_an_anonymous_admin_cannot_link_channels(harness: Harness) -> None:
    update = harness.world.message_update(GROUP, ADMIN, "/protect @gp_news")
    message = update["message"]
    message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                       "username": "GroupAnonymousBot"}  # fmt: skip
    message["sender_chat"] = {"id": GROUP, "type": "supergroup", "title": "Group one"}
    before = len(harness.sent_to(GROUP))
    await harness.feed(update)
    reply = "\n".join(m.get("text", "") for m in harness.sent_to(GROUP)[before:])
    assert "not anonymously" in reply
    assert await harness.rows("group_channel_links") == []


async def test_block_and_unblock_a_user(harness: Harness) -> None:
    await harness.protect()
    reply = await _say(harness, GROUP, ADMIN, f"/block {DAVE}")
    assert "blocked" in reply
    (row,) = await harness.rows("access_list")
    assert (row["list_type"], row["subject_id"], row["subject_type"]) == (
        "blacklist",
        DAVE,
        "user",
    )
    assert harness.muted(GROUP, DAVE)
    restriction = await harness.rows("user_restrictions", user_id=DAVE, is_active=True)
    assert [r["reason"] for r in restriction] == ["blocked"]
    assert "already" in await _say(harness, GROUP, ADMIN, f"/block {DAVE}")
    reply = await _say(harness, GROUP, ADMIN, f"/unblock {DAVE}")
    assert "off the block list" in reply
    assert await harness.rows("access_list") == []
    assert not harness.muted(GROUP, DAVE)
    audit = [(a["action"], a["changes"]) for a in await harness.rows("admin_audit_log")]
    assert audit == [
        ("block", {"subject_id": DAVE, "blocked": True}),
        ("unblock", {"subject_id": DAVE, "blocked": False}),
    ]


async def test_block_a_channel_identity_by_id(harness: Harness) -> None:
    await harness.protect()
    channel_identity = -1009999999999
    reply = await _say(harness, GROUP, CREATOR, f"/blacklist {channel_identity}")
    assert "blocked" in reply
    (row,) = await harness.rows("access_list")
    assert (row["subject_id"], row["subject_type"]) == (channel_identity, "channel")
    config = await harness.services.repo.group(GROUP)
    assert config is not None and channel_identity in config.blocklist


async def test_block_list_commands_are_for_admins_and_well_formed(harness: Harness) -> None:
    assert "Usage: /block" in await _say(harness, GROUP, ADMIN, "/block")
    assert "Usage: /unblock" in await _say(harness, GROUP, ADMIN, "/unblock a b")
    refused = await _say(harness, GROUP, ALICE, f"/block {DAVE}")
    assert refused == "Only the group's administrators can do that."
    assert await harness.rows("access_list") == []


async def test_approve_and_unapprove_are_the_allow_list(harness: Harness) -> None:
    assert "may now write" in await _say(harness, GROUP, ADMIN, f"/approve {ALICE}")
    (row,) = await harness.rows("access_list")
    assert (row["list_type"], row["subject_id"]) == ("whitelist", ALICE)
    assert "allow list" in await _say(harness, GROUP, ADMIN, f"/unapprove {ALICE}")
    assert await harness.rows("access_list") == []


async def test_a_migrated_group_keeps_its_configuration(harness: Harness) -> None:
    harness.world.add_group(BASIC, "Basic", creator_id=CREATOR, supergroup=False)
    await harness.protect(BASIC, (NEWS,))
    await harness.services.repo.allow(BASIC, DAVE, CREATOR, harness.clock.now())
    harness.services.state.mute(ALICE, BASIC, "not_subscribed", harness.clock.now())
    await harness.drain()
    # Telegram announces it in both chats (the new one from GroupAnonymousBot, as the group):
    # the second notice finds the move done and changes nothing
    for update in harness.world.migrate_group(BASIC, UPGRADED, by_user_id=CREATOR):
        await harness.feed(update)
    assert [g["id"] for g in await harness.rows("protected_groups")] == [UPGRADED]
    links = await harness.rows("group_channel_links")
    assert [(r["group_id"], r["channel_id"]) for r in links] == [(UPGRADED, CH_NEWS)]
    assert [(r["group_id"], r["subject_id"]) for r in await harness.rows("access_list")] == [
        (UPGRADED, DAVE)
    ]
    active = await harness.rows("user_restrictions", is_active=True)
    assert [(r["group_id"], r["user_id"]) for r in active] == [(UPGRADED, ALICE)]
    (moved,) = await harness.rows("chat_migrations")
    assert (moved["old_chat_id"], moved["new_chat_id"]) == (BASIC, UPGRADED)
    audit = [a for a in await harness.rows("admin_audit_log") if a["action"] == "migrate"]
    assert [(a["chat_id"], a["changes"]) for a in audit] == [
        (UPGRADED, {"from_chat_id": BASIC, "to_chat_id": UPGRADED})
    ]
    config = await harness.services.repo.group(UPGRADED)
    assert config is not None and config.whitelist == frozenset({DAVE})
    assert await harness.services.repo.group(BASIC) is None


async def test_status_shows_the_bots_rights(harness: Harness) -> None:
    await harness.protect()
    assert "My rights: restrict and delete (ok)" in await _say(harness, GROUP, ADMIN, "/status")
    harness.world.set_bot_admin(GROUP, True, can_delete_messages=False)
    reply = await _say(harness, GROUP, ADMIN, "/status")
    assert "My rights: MISSING - I cannot delete messages" in reply


async def test_every_change_of_the_bots_rights_is_recorded(harness: Harness) -> None:
    await harness.protect()
    world = harness.world
    await harness.feed(world.change_bot_rights(GROUP, by_user_id=CREATOR, can_invite_users=False))
    await harness.feed(world.change_bot_rights(CH_NEWS, by_user_id=CREATOR, status="left"))
    rows = await harness.rows("bot_rights")
    assert [(r["chat_id"], r["status"], r["is_admin"]) for r in rows] == [
        (GROUP, "administrator", True),
        (CH_NEWS, "left", False),
    ]
    first = rows[0]
    assert first["can_restrict_members"] and first["can_delete_messages"]
    assert not first["can_invite_users"]


async def test_losing_a_right_the_gate_needs_tells_the_admins_once(harness: Harness) -> None:
    await harness.protect()
    world = harness.world
    before = len(harness.sent_to(GROUP))
    await harness.feed(world.change_bot_rights(GROUP, by_user_id=CREATOR, can_invite_users=False))
    assert len(harness.sent_to(GROUP)) == before  # a right the gate does not need: quiet
    await harness.feed(
        world.change_bot_rights(GROUP, by_user_id=CREATOR, can_restrict_members=False)
    )
    (told,) = [m["text"] for m in harness.sent_to(GROUP)[before:]]
    assert "can no longer restrict members" in told
    # the same rights again (another right changes): not told a second time
    await harness.feed(
        world.change_bot_rights(
            GROUP, by_user_id=CREATOR, can_restrict_members=False, can_pin_messages=False
        )
    )
    assert len(harness.sent_to(GROUP)) == before + 1
    # a linked channel that drops the bot: every group linking it is told
    await harness.feed(world.change_bot_rights(CH_DEALS, by_user_id=CREATOR, status="left"))
    assert (
        "no longer an administrator of the linked channel Deals"
        in (harness.sent_to(GROUP)[-1]["text"])
    )
    assert len(await harness.rows("bot_rights")) == 4


def _message_id(update: dict[str, Any]) -> int:
    return int(update["message"]["message_id"])


async def test_a_blocked_user_is_deleted_and_stays_muted_without_a_prompt(
    harness: Harness,
) -> None:
    await harness.protect()
    await _say(harness, GROUP, ADMIN, f"/block {DAVE}")
    prompts_before = len(harness.sent_to(GROUP))
    world = harness.world
    world.set_member(CH_NEWS, DAVE, "member")  # joining the channels does not lift a block
    world.set_member(CH_DEALS, DAVE, "member")
    update = world.message_update(GROUP, DAVE, "let me in")
    await harness.feed(update)
    assert (GROUP, _message_id(update)) in world.deleted_messages
    assert harness.muted(GROUP, DAVE)
    assert len(harness.sent_to(GROUP)) == prompts_before  # no prompt, no second mute
    events = [(e["event"], e["detail"]) for e in await harness.rows("gate_events")]
    assert events == [
        ("muted", {"reason": "blocked"}),
        ("message_deleted", {"reason": "blocked", "message_id": _message_id(update)}),
    ]


async def test_a_blocked_channel_identity_is_deleted_even_if_allowed(harness: Harness) -> None:
    await harness.protect()
    identity = -1002000000099
    harness.world.add_channel(identity, "Loud", username="gp_loud")
    await _say(harness, GROUP, ADMIN, f"/allow {identity}")
    allowed = harness.world.sender_chat_update(GROUP, identity, "hello as a channel")
    await harness.feed(allowed)
    assert (GROUP, _message_id(allowed)) not in harness.world.deleted_messages
    await _say(harness, GROUP, ADMIN, f"/block {identity}")
    blocked = harness.world.sender_chat_update(GROUP, identity, "hello again")
    await harness.feed(blocked)
    assert (GROUP, _message_id(blocked)) in harness.world.deleted_messages


async def test_a_channel_identity_cannot_command_and_is_gated(harness: Harness) -> None:
    await harness.protect()
    identity = -1002000000098
    harness.world.add_channel(identity, "Sneaky", username="gp_sneaky")
    update = harness.world.sender_chat_update(GROUP, identity, "/unprotect")
    await harness.feed(update)
    assert (GROUP, _message_id(update)) in harness.world.deleted_messages
    assert len(await harness.rows("group_channel_links")) == 2  # nothing unlinked
    (refused,) = await _refusals(harness)
    assert refused["action"] == "unprotect"
    assert refused["changes"] == {"refused": "channel_sender"}


async def test_settings_switch_banning_channel_identities(harness: Harness) -> None:
    await harness.protect()
    identity = -1002000000097
    harness.world.add_channel(identity, "Ads", username="gp_ads")
    assert "Banning channel identities is on" in await _say(
        harness, GROUP, ADMIN, "/settings ban_channels on"
    )
    await harness.feed(harness.world.sender_chat_update(GROUP, identity, "ads"))
    assert harness.world.banned_sender_chats(GROUP) == {identity}
    shown = await _say(harness, GROUP, ADMIN, "/settings")
    assert "Ban channel identities: on" in shown
    audit = [a for a in await harness.rows("admin_audit_log") if a["action"] == "settings"]
    assert [a["changes"] for a in audit] == [{"ban_channel_senders": {"from": False, "to": True}}]
    assert "Usage: /settings" in await _say(harness, GROUP, ADMIN, "/settings ban_channels maybe")


async def test_every_migration_is_recorded_even_of_an_unprotected_group(harness: Harness) -> None:
    """Analytics join a group's two ids: the move is recorded whether or not it was gated."""
    harness.world.add_group(BASIC, "Basic", creator_id=CREATOR, supergroup=False)
    await harness.feed(harness.world.message_update(BASIC, ALICE, "hello from the old id"))
    for update in harness.world.migrate_group(BASIC, UPGRADED, by_user_id=CREATOR):
        await harness.feed(update)
    (moved,) = await harness.rows("chat_migrations")
    assert (moved["old_chat_id"], moved["new_chat_id"]) == (BASIC, UPGRADED)
    assert await harness.rows("protected_groups") == []
    kinds = [(m["chat_id"], m["sender_kind"]) for m in await harness.rows("messages")]
    assert kinds == [(BASIC, "user"), (BASIC, "service"), (UPGRADED, "service")]
