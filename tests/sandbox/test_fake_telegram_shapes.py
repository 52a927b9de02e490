"""The update shapes real groups send, built by the fake Bot API, delivered over HTTP and parsed
by aiogram's own models: ``sender_chat`` messages, automatic forwards, forum topics, service
messages, media, a join reported twice, reactions and changes of the bot's own rights."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.enums import ContentType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    ChatMemberBanned,
    ChatPermissions,
    MessageOriginChannel,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    ReactionTypePaid,
    Update,
)

from sandbox.fake_telegram import FakeWorld
from sandbox.fake_telegram.world import (
    CHANNEL_BOT_ID,
    CONTENT_KINDS,
    GROUP_ANONYMOUS_BOT_ID,
    MESSAGE_CANT_BE_DELETED,
    MESSAGE_THREAD_NOT_FOUND,
    NOT_ENOUGH_RIGHTS_RESTRICT,
    SERVICE_KINDS,
    TELEGRAM_ID,
)
from tests.sandbox.fake_world import (
    ADMIN,
    ALICE,
    ALL_UPDATES,
    BOB,
    CHANNEL,
    EVE,
    FOREIGN,
    GROUP,
    OWNER,
    START,
)

FORUM = -1001500000002
REACTIONS = [*ALL_UPDATES, "message_reaction", "message_reaction_count"]


@pytest.fixture
def forum(world: FakeWorld) -> int:
    world.add_group(FORUM, "Forum", creator_id=OWNER, admin_ids=[ADMIN], is_forum=True)
    return FORUM


def as_json(obj: Any) -> dict[str, Any]:
    return dict(obj.model_dump(mode="json", exclude_none=True))


def parsed(bot: Bot, update: dict[str, Any]) -> Update:
    """The update as aiogram's typed model (raises on any shape aiogram does not accept)."""
    return Update.model_validate(update, context={"bot": bot})


async def delivered(bot: Bot, world: FakeWorld, *updates: dict[str, Any]) -> list[Update]:
    """Push ``updates`` and read them back over HTTP with getUpdates."""
    for update in updates:
        world.push_update(update)
    got = await bot.get_updates(allowed_updates=REACTIONS, timeout=0)
    if got:
        await bot.get_updates(offset=got[-1].update_id + 1, timeout=0)
    return got


async def test_sender_chat_messages_as_telegram_sends_them(bot: Bot, world: FakeWorld) -> None:
    world.link_channel(GROUP, CHANNEL)
    anonymous, as_channel, forward = await delivered(
        bot,
        world,
        world.anonymous_admin_update(GROUP, "from the admins", author_signature="Mod"),
        world.sender_chat_update(GROUP, CHANNEL, "posting as the channel"),
        world.automatic_forward_update(GROUP, "new post"),
    )
    m = anonymous.message
    assert m and m.from_user and m.from_user.id == GROUP_ANONYMOUS_BOT_ID
    assert m.sender_chat and m.sender_chat.id == GROUP and m.author_signature == "Mod"
    m = as_channel.message
    assert m and m.from_user and m.from_user.id == CHANNEL_BOT_ID
    assert m.sender_chat and m.sender_chat.id == CHANNEL and not m.is_automatic_forward
    m = forward.message
    assert m and m.from_user and m.from_user.id == TELEGRAM_ID and m.is_automatic_forward
    assert m.sender_chat and m.sender_chat.id == CHANNEL
    assert isinstance(m.forward_origin, MessageOriginChannel)
    assert m.forward_origin.chat.id == CHANNEL
    # the post exists in the channel too, under the id the forward names
    assert m.forward_origin.message_id in world.chats[CHANNEL].messages
    world.add_group(FORUM, "Unlinked", creator_id=OWNER)
    with pytest.raises(ValueError, match="no linked channel"):
        world.automatic_forward_update(FORUM, "x")


async def test_topic_messages_reply_to_the_topic_creation(
    bot: Bot, world: FakeWorld, forum: int
) -> None:
    created = world.topic_created_update(forum, "Support", by_user_id=ADMIN)
    thread = created["message"]["message_id"]
    in_topic = world.message_update(forum, ALICE, "help?", message_thread_id=thread)
    reply = world.message_update(
        forum, BOB, "sure", reply_to=in_topic["message"]["message_id"], message_thread_id=thread
    )
    general = world.message_update(forum, ALICE, "hi all")
    got = await delivered(bot, world, created, in_topic, reply, general)
    topic, asked, answered, plain = (u.message for u in got)
    assert topic and topic.forum_topic_created and topic.forum_topic_created.name == "Support"
    assert topic.message_thread_id == topic.message_id == thread and topic.is_topic_message
    assert asked and asked.is_topic_message and asked.message_thread_id == thread
    assert asked.reply_to_message and asked.reply_to_message.forum_topic_created
    assert answered and answered.message_thread_id == thread
    assert answered.reply_to_message and answered.reply_to_message.text == "help?"
    assert plain and plain.message_thread_id is None and plain.reply_to_message is None

    # the bot answers in the topic: aiogram passes message_thread_id for topic messages
    sent = await asked.answer("checking")
    assert sent.message_thread_id == thread and sent.is_topic_message
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(forum, "lost", message_thread_id=thread + 100)
    assert error.value.message == MESSAGE_THREAD_NOT_FOUND


async def test_replies_in_a_supergroup_belong_to_a_thread_not_a_topic(
    bot: Bot, world: FakeWorld
) -> None:
    first = world.message_update(GROUP, ALICE, "question")
    reply = world.message_update(GROUP, BOB, "answer", reply_to=first["message"]["message_id"])
    [_, got] = await delivered(bot, world, first, reply)
    assert got.message and got.message.message_thread_id == first["message"]["message_id"]
    assert not got.message.is_topic_message


async def test_every_service_message_parses_with_its_content_type(
    bot: Bot, world: FakeWorld, forum: int
) -> None:
    pinned = world.message_update(forum, ALICE, "rules")["message"]["message_id"]
    thread = world.topic_created_update(forum, "News", by_user_id=OWNER)["message"]["message_id"]
    fields: dict[str, dict[str, Any]] = {
        "forum_topic_created": {"name": "Off-topic"},
        "forum_topic_edited": {"name": "News!", "message_thread_id": thread},
        "forum_topic_closed": {"message_thread_id": thread},
        "forum_topic_reopened": {"message_thread_id": thread},
        "pinned_message": {"message_id": pinned},
        "boost_added": {"boost_count": 4},
        "new_chat_title": {"title": "Forum 2"},
        "left_chat_member": {"user_id": ALICE},
    }
    for kind in SERVICE_KINDS:
        chat = ALICE if kind == "write_access_allowed" else forum
        sender = ALICE if kind == "write_access_allowed" else None
        built = world.service_update(chat, kind, by_user_id=sender, **fields.get(kind, {}))
        update = parsed(bot, built)
        message = update.message
        assert message is not None and message.content_type == ContentType(kind), kind
        if kind.startswith("forum_topic") and kind != "forum_topic_created":
            assert message.message_thread_id == thread and message.is_topic_message
            assert message.reply_to_message and message.reply_to_message.forum_topic_created
    assert world.chat(forum)["title"] == "Forum 2" and not world.is_member(forum, ALICE)
    by_admin = parsed(bot, world.service_update(forum, "video_chat_started", by_user_id=forum))
    assert by_admin.message and by_admin.message.from_user
    assert by_admin.message.from_user.id == GROUP_ANONYMOUS_BOT_ID
    giveaway = parsed(bot, world.service_update(CHANNEL, "giveaway_created"))
    assert giveaway.message and giveaway.message.sender_chat and giveaway.message.from_user is None
    with pytest.raises(ValueError, match="unknown service message"):
        world.service_update(forum, "migrate_to_chat_id")


async def test_media_messages_have_their_content_type(bot: Bot, world: FakeWorld) -> None:
    updates = [world.media_update(GROUP, ALICE, kind, caption="c") for kind in CONTENT_KINDS]
    got = await delivered(bot, world, *updates)
    for kind, update in zip(CONTENT_KINDS, got, strict=True):
        assert update.message and update.message.content_type == ContentType(kind)
        assert update.message.text is None


@pytest.mark.parametrize("message_first", [False, True])
async def test_one_join_reported_twice(bot: Bot, world: FakeWorld, message_first: bool) -> None:
    pair = world.double_join_updates(GROUP, EVE, message_first=message_first)
    got = await delivered(bot, world, *pair)
    kinds = [u.event_type for u in got]
    assert kinds == (["message", "chat_member"] if message_first else ["chat_member", "message"])
    member = next(u.chat_member for u in got if u.chat_member)
    message = next(u.message for u in got if u.message)
    assert member.old_chat_member.status == "left" and member.new_chat_member.status == "member"
    assert message.new_chat_members and message.new_chat_members[0].id == EVE
    assert world.is_member(GROUP, EVE)


async def test_join_through_a_named_invite_link(bot: Bot, world: FakeWorld) -> None:
    [got] = await delivered(bot, world, world.join_update(GROUP, EVE, invite_link_name="spring"))
    assert got.chat_member and got.chat_member.invite_link
    assert got.chat_member.invite_link.name == "spring"


async def test_reactions_arrive_only_when_asked_for(bot: Bot, world: FakeWorld) -> None:
    target = world.message_update(GROUP, ALICE, "vote")["message"]["message_id"]
    world.push_update(world.reaction_update(GROUP, target, BOB, new=("👍",)))
    world.push_update(world.reaction_count_update(CHANNEL, 7, {"🔥": 3, "👍": 1}))
    world.push_update(world.message_update(GROUP, ALICE, "plain"))
    default = await bot.get_updates(timeout=0)  # Telegram's default leaves reactions out
    assert [u.event_type for u in default] == ["message"]
    await bot.get_updates(offset=default[-1].update_id + 1, timeout=0)

    anonymous = world.reaction_update(GROUP, target, None, old=("👍",), new=(), actor_chat_id=GROUP)
    counted = world.reaction_count_update(CHANNEL, 7, {"🔥": 3})
    reaction = world.reaction_update(GROUP, target, BOB, old=(), new=("🔥",))
    got = await delivered(bot, world, anonymous, counted, reaction)
    kinds = ["message_reaction", "message_reaction_count", "message_reaction"]
    assert [u.event_type for u in got] == kinds
    assert got[0].message_reaction and got[0].message_reaction.actor_chat
    assert got[0].message_reaction.user is None and got[0].message_reaction.new_reaction == []
    counts = got[1].message_reaction_count
    assert counts and counts.reactions[0].total_count == 3
    assert got[2].message_reaction and got[2].message_reaction.user
    assert got[2].message_reaction.user.id == BOB


async def test_reaction_types_and_totals_as_the_bot_api_documents_them(
    bot: Bot, world: FakeWorld
) -> None:
    target = world.message_update(GROUP, ALICE, "vote")["message"]["message_id"]
    custom = "5368324170671202286"
    changed = world.reaction_update(
        GROUP, target, BOB, old=("👍",), new=(f"custom:{custom}", "paid")
    )
    counted = world.reaction_count_update(CHANNEL, 7, {"👍": 2, "🔥": 0, "custom:77": 1})
    reaction, totals = await delivered(bot, world, changed, counted)
    event = reaction.message_reaction
    assert event and event.date == START and event.chat.id == GROUP
    assert [type(r) for r in event.old_reaction] == [ReactionTypeEmoji]
    assert [type(r) for r in event.new_reaction] == [ReactionTypeCustomEmoji, ReactionTypePaid]
    assert [as_json(r) for r in (*event.old_reaction, *event.new_reaction)] == [
        {"type": "emoji", "emoji": "👍"},
        {"type": "custom_emoji", "custom_emoji_id": custom},
        {"type": "paid"},
    ]
    counts = totals.message_reaction_count
    assert counts and counts.date == START and counts.message_id == 7
    assert [(as_json(c.type), c.total_count) for c in counts.reactions] == [  # absent: left out
        ({"type": "emoji", "emoji": "👍"}, 2),
        ({"type": "custom_emoji", "custom_emoji_id": "77"}, 1),
    ]
    world.add_user(99, "Helper", username="helper_bot", is_bot=True)
    with pytest.raises(ValueError, match="bots"):
        world.reaction_update(GROUP, target, 99)
    with pytest.raises(ValueError, match="administrators"):
        world.reaction_count_update(FOREIGN, 1, {"👍": 1})
    world.set_bot_admin(GROUP, False)
    with pytest.raises(ValueError, match="administrators"):
        world.reaction_update(GROUP, target, BOB)


async def test_an_admin_banning_a_member(bot: Bot, world: FakeWorld) -> None:
    [got] = await delivered(bot, world, world.kick_update(GROUP, ALICE, by_user_id=ADMIN))
    change = got.chat_member
    assert change and change.from_user.id == ADMIN
    assert change.old_chat_member.status == "member"
    assert isinstance(change.new_chat_member, ChatMemberBanned)
    assert change.new_chat_member.user.id == ALICE
    assert world.member_status(GROUP, ALICE) == "kicked"
    assert (await bot.get_chat_member(GROUP, ALICE)).status == "kicked"


async def test_the_bot_losing_rights_emits_my_chat_member(bot: Bot, world: FakeWorld) -> None:
    theirs = world.message_update(GROUP, ALICE, "hello")["message"]["message_id"]
    update = world.change_bot_rights(
        GROUP, by_user_id=OWNER, can_restrict_members=False, can_delete_messages=False
    )
    [got] = await delivered(bot, world, update)
    change = got.my_chat_member
    assert change and change.from_user.id == OWNER
    assert change.old_chat_member.can_restrict_members is True  # type: ignore[union-attr]
    assert change.new_chat_member.can_restrict_members is False  # type: ignore[union-attr]
    with pytest.raises(TelegramBadRequest) as error:
        await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions(can_send_messages=False))
    assert error.value.message == NOT_ENOUGH_RIGHTS_RESTRICT
    with pytest.raises(TelegramBadRequest) as error:
        await bot.delete_message(GROUP, theirs)
    assert error.value.message == MESSAGE_CANT_BE_DELETED
    own = await bot.send_message(GROUP, "mine")
    assert await bot.delete_message(GROUP, own.message_id)  # its own messages it may delete

    demoted = parsed(bot, world.change_bot_rights(GROUP, by_user_id=OWNER, status="member"))
    assert demoted.my_chat_member and demoted.my_chat_member.new_chat_member.status == "member"
    kicked = parsed(bot, world.change_bot_rights(GROUP, by_user_id=OWNER, status="kicked"))
    assert kicked.my_chat_member and kicked.my_chat_member.new_chat_member.status == "kicked"
    restored = parsed(bot, world.change_bot_rights(GROUP, by_user_id=OWNER))
    assert restored.my_chat_member
    assert restored.my_chat_member.new_chat_member.status == "administrator"
