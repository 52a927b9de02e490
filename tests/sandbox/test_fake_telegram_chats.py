"""Chats as Telegram keeps them, through the real aiogram Bot: basic groups and supergroups,
linked discussion channels and forums, the upgrade of a basic group, sender-chat bans and join
requests — over HTTP and through the in-process session alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramMigrateToChat
from aiogram.types import ChatPermissions, Update

from core.clock import ManualClock
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramSession, FakeWorld
from sandbox.fake_telegram.joinrequests import USER_CHAT_WINDOW_S
from sandbox.fake_telegram.world import (
    CANT_INITIATE,
    CHAT_ADMIN_REQUIRED,
    GROUP_ANONYMOUS_BOT_ID,
    GROUP_UPGRADED,
    HIDE_REQUESTER_MISSING,
    NEED_ADMIN_RIGHTS_CHANNEL,
    NOT_ENOUGH_RIGHTS_RESTRICT,
    SUPERGROUPS_ONLY,
    USER_ALREADY_PARTICIPANT,
)
from tests.sandbox.fake_world import (
    ADMIN,
    ALICE,
    ALL_UPDATES,
    BOB,
    CAROL,
    CHANNEL,
    EVE,
    FOREIGN,
    GROUP,
    OWNER,
    make_world,
)
from tests.support.bots import close_bot

BASIC = -4500000001
FORUM = -1001500000002
MUTE = ChatPermissions(can_send_messages=False)


@pytest.fixture
def basic(world: FakeWorld) -> int:
    world.add_group(BASIC, "Basic", creator_id=OWNER, admin_ids=[ADMIN], supergroup=False)
    world.set_member(BASIC, ALICE, "member")
    return BASIC


@pytest.fixture
async def local_bot() -> AsyncIterator[tuple[Bot, FakeWorld]]:
    """A Bot answered in process by its own world (no HTTP)."""
    world = make_world()
    bot = Bot(DEFAULT_TOKEN, session=FakeTelegramSession(world))
    yield bot, world
    await close_bot(bot)


async def bad_request(call: object) -> str:
    with pytest.raises(TelegramBadRequest) as error:
        await call  # type: ignore[misc]
    return error.value.message


async def test_basic_groups_refuse_supergroup_only_methods(
    bot: Bot, world: FakeWorld, basic: int
) -> None:
    chat = await bot.get_chat(basic)
    assert chat.type == "group"
    assert await bad_request(bot.restrict_chat_member(basic, ALICE, MUTE)) == SUPERGROUPS_ONLY
    assert await bad_request(bot.ban_chat_sender_chat(basic, CHANNEL)) == SUPERGROUPS_ONLY
    assert await bad_request(bot.unban_chat_sender_chat(basic, CHANNEL)) == SUPERGROUPS_ONLY
    assert not world.is_muted(basic, ALICE)
    assert (await bot.get_chat(GROUP)).type == "supergroup"


async def test_sender_chat_bans_are_recorded(bot: Bot, world: FakeWorld) -> None:
    assert await bot.ban_chat_sender_chat(GROUP, FOREIGN)
    assert world.banned_sender_chats(GROUP) == {FOREIGN}
    assert await bot.unban_chat_sender_chat(GROUP, FOREIGN)
    assert world.banned_sender_chats(GROUP) == set()
    world.set_bot_admin(GROUP, True, can_restrict_members=False)
    text = await bad_request(bot.ban_chat_sender_chat(GROUP, FOREIGN))
    assert text == NOT_ENOUGH_RIGHTS_RESTRICT
    world.set_bot_admin(CHANNEL, True, can_restrict_members=False, can_post_messages=False)
    assert (
        await bad_request(bot.ban_chat_sender_chat(CHANNEL, FOREIGN)) == NEED_ADMIN_RIGHTS_CHANNEL
    )
    assert await bad_request(bot.send_message(CHANNEL, "post")) == NEED_ADMIN_RIGHTS_CHANNEL


async def test_linked_channel_and_forum_in_get_chat(bot: Bot, world: FakeWorld) -> None:
    world.link_channel(GROUP, CHANNEL)
    world.add_group(FORUM, "Forum", creator_id=OWNER, is_forum=True)
    group, channel, forum = [await bot.get_chat(c) for c in (GROUP, CHANNEL, FORUM)]
    assert group.linked_chat_id == CHANNEL and channel.linked_chat_id == GROUP
    assert forum.is_forum and not group.is_forum and forum.linked_chat_id is None
    with pytest.raises(ValueError, match="only a supergroup"):
        world.add_group(-1, "x", creator_id=OWNER, supergroup=False, is_forum=True)


async def test_a_basic_group_upgraded_to_a_supergroup(
    bot: Bot, world: FakeWorld, basic: int
) -> None:
    old_update, new_update = world.migrate_group(basic, by_user_id=OWNER)
    new_id = world.migrated_to(basic)
    assert new_id == int(f"-100{abs(basic)}")
    old_msg = Update.model_validate(old_update, context={"bot": bot}).message
    new_msg = Update.model_validate(new_update, context={"bot": bot}).message
    assert old_msg and old_msg.chat.type == "group" and old_msg.migrate_to_chat_id == new_id
    assert old_msg.from_user and old_msg.from_user.id == OWNER
    assert new_msg and new_msg.chat.id == new_id and new_msg.migrate_from_chat_id == basic
    assert new_msg.from_user and new_msg.from_user.id == GROUP_ANONYMOUS_BOT_ID
    assert new_msg.sender_chat and new_msg.sender_chat.id == new_id and new_msg.message_id == 1

    with pytest.raises(TelegramMigrateToChat) as moved:
        await bot.send_message(basic, "hello?")
    assert moved.value.migrate_to_chat_id == new_id and GROUP_UPGRADED in moved.value.message
    with pytest.raises(TelegramMigrateToChat):
        await bot.get_chat_member(basic, ALICE)

    # members, admins and the bot's rights carried over; supergroup methods now work
    assert (await bot.get_chat(new_id)).type == "supergroup"
    assert (await bot.get_chat_member(new_id, ADMIN)).status == "administrator"
    assert (await bot.get_chat_member(new_id, OWNER)).status == "creator"
    assert await bot.restrict_chat_member(new_id, ALICE, MUTE)
    assert world.is_muted(new_id, ALICE)
    with pytest.raises(ValueError, match="not a basic group"):
        world.migrate_group(basic)


async def test_join_requests_approved_and_declined(bot: Bot, world: FakeWorld) -> None:
    world.push_update(world.join_request_update(GROUP, EVE, bio="hi"))
    world.push_update(world.join_request_update(GROUP, BOB, invite_link_name="ads"))
    world.push_update(world.join_request_update(GROUP, CAROL))
    got = await bot.get_updates(allowed_updates=[*ALL_UPDATES, "chat_join_request"], timeout=0)
    requests = [u.chat_join_request for u in got]
    assert all(requests) and [r.from_user.id for r in requests if r] == [EVE, BOB, CAROL]
    first = requests[0]
    assert first and first.user_chat_id == EVE and first.bio == "hi"
    assert requests[1] and requests[1].invite_link and requests[1].invite_link.name == "ads"
    assert requests[1].invite_link.creates_join_request
    assert world.pending_join_requests(GROUP) == [EVE, BOB, CAROL]
    # the bot may write to the requester in private
    assert (await bot.send_message(first.user_chat_id, "Join the channels first")).chat.id == EVE

    assert await first.approve()  # aiogram's shortcut: approveChatJoinRequest
    assert await bot.approve_chat_join_request(GROUP, BOB)
    assert await bot.decline_chat_join_request(GROUP, CAROL)
    assert world.is_member(GROUP, EVE) and world.is_member(GROUP, BOB)
    assert not world.is_member(GROUP, CAROL) and world.pending_join_requests(GROUP) == []
    offset = got[-1].update_id + 1
    joins = await bot.get_updates(offset=offset, allowed_updates=ALL_UPDATES, timeout=0)
    assert [u.event_type for u in joins] == ["chat_member", "chat_member"]
    direct, linked = (u.chat_member for u in joins)
    assert direct and direct.via_join_request and direct.new_chat_member.user.id == EVE
    assert direct.new_chat_member.status == "member" and direct.invite_link is None
    assert linked and linked.invite_link and linked.invite_link.name == "ads"

    text = await bad_request(bot.approve_chat_join_request(GROUP, CAROL))
    assert text == HIDE_REQUESTER_MISSING
    world.join_request_update(GROUP, ALICE)  # already a member
    text = await bad_request(bot.approve_chat_join_request(GROUP, ALICE))
    assert text == USER_ALREADY_PARTICIPANT
    world.join_request_update(GROUP, CAROL)
    world.set_bot_admin(GROUP, True, can_invite_users=False)
    assert await bad_request(bot.decline_chat_join_request(GROUP, CAROL)) == CHAT_ADMIN_REQUIRED


async def test_a_join_requests_private_chat_is_open_for_five_minutes(
    bot: Bot, world: FakeWorld
) -> None:
    clock = world.clock
    assert isinstance(clock, ManualClock)
    world.join_request_update(GROUP, EVE)
    world.join_request_update(GROUP, CAROL)
    world.message_update(CAROL, CAROL, "hello bot")  # Carol opens a chat with the bot
    clock.advance(USER_CHAT_WINDOW_S)
    sent = await bot.send_message(EVE, "still in time")
    clock.advance(1)
    with pytest.raises(TelegramForbiddenError) as refused:
        await bot.send_message(EVE, "too late")
    assert refused.value.message == CANT_INITIATE
    assert await bot.edit_message_text("edited", chat_id=EVE, message_id=sent.message_id)
    assert (await bot.send_message(CAROL, "she wrote to us")).chat.id == CAROL
    world.join_request_update(GROUP, EVE)  # asking again opens it again
    assert (await bot.send_message(EVE, "in time again")).chat.id == EVE


async def test_the_in_process_session_answers_the_same(
    local_bot: tuple[Bot, FakeWorld],
) -> None:
    bot, world = local_bot
    world.add_group(BASIC, "Basic", creator_id=OWNER, supergroup=False)
    assert await bad_request(bot.restrict_chat_member(BASIC, OWNER, MUTE)) == SUPERGROUPS_ONLY
    world.join_request_update(GROUP, EVE)
    assert await bot.approve_chat_join_request(GROUP, EVE)
    assert world.is_member(GROUP, EVE) and world.updates[-1]["chat_member"]["via_join_request"]
    assert await bot.ban_chat_sender_chat(GROUP, FOREIGN)
    assert world.banned_sender_chats(GROUP) == {FOREIGN}
    world.migrate_group(BASIC, -1009)
    with pytest.raises(TelegramMigrateToChat) as moved:
        await bot.get_chat(BASIC)
    assert moved.value.migrate_to_chat_id == -1009
