"""The links that add the bot with exactly the rights the gate uses: built once
(:mod:`bot.gate.onboarding`), sent by ``/start`` in private and by ``/protect`` when a right is
missing."""

from __future__ import annotations

from bot.gate.onboarding import CHANNEL_RIGHTS, GROUP_RIGHTS, LINK_NAMES, channel_link, group_link
from bot.routers.chats import GATE_RIGHTS
from tests.bot.conftest import ADMIN, CREATOR, GROUP, Harness

GROUP_LINK = (
    "https://t.me/gatepulse_bot?startgroup=gatepulse"
    "&admin=restrict_members+delete_messages+invite_users"
)
CHANNEL_LINK = "https://t.me/gatepulse_bot?startchannel&admin=invite_users"


def test_the_links_ask_for_exactly_the_rights_the_bot_uses() -> None:
    assert group_link("gatepulse_bot") == GROUP_LINK
    assert channel_link("gatepulse_bot") == CHANNEL_LINK
    # the gate's own check (restrict, delete) plus what join requests need (invite), no more
    assert (*GATE_RIGHTS, "can_invite_users") == GROUP_RIGHTS
    asked = GROUP_LINK.split("&admin=")[1].split("+")
    assert asked == [LINK_NAMES[r] for r in GROUP_RIGHTS]
    assert CHANNEL_LINK.split("&admin=")[1].split("+") == [LINK_NAMES[r] for r in CHANNEL_RIGHTS]


async def _say(h: Harness, chat_id: int, user: int, text: str) -> str:
    before = len(h.world.sent_messages)
    await h.feed(h.world.message_update(chat_id, user, text))
    return "\n".join(m.get("text", "") for m in h.world.sent_messages[before:])


async def test_start_in_private_walks_an_owner_through_three_steps(harness: Harness) -> None:
    reply = await _say(harness, ADMIN, ADMIN, "/start")
    steps = reply.split("\n\n", 1)[1]
    assert steps.splitlines() == [
        "Three steps protect a group:",
        "1. Add me to your group (a supergroup) as an admin; the link pre-selects restrict "
        f"members, delete messages, invite users: {GROUP_LINK}",
        f"2. Add me to each channel members must join, as an admin: {CHANNEL_LINK}",
        "3. In the group, send /protect @channel (or /protect @one @two).",
        "/help lists every command.",
    ]


async def test_protect_answers_a_missing_right_with_the_link(harness: Harness) -> None:
    h = harness
    h.world.set_bot_admin(GROUP, True, can_delete_messages=False)
    assert await _say(h, GROUP, CREATOR, "/protect @gp_news") == (
        "Nothing was changed:\n"
        "I need to delete messages in this group: make me an admin with those rights, then "
        f"/protect again.\nThis link grants them: {GROUP_LINK}"
    )
    h.world.set_bot_admin(GROUP, True)  # the owner followed the link
    assert await _say(h, GROUP, CREATOR, "/protect @gp_secret") == (
        "Nothing was changed:\n@gp_secret: I am not an administrator there. Add me as an "
        f"admin first. This link does it: {CHANNEL_LINK}"
    )
    assert await h.rows("group_channel_links") == []
    assert "Protected" in await _say(h, GROUP, CREATOR, "/protect @gp_news")
