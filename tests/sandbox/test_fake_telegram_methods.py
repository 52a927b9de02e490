"""The fake Bot API's methods, called by the real aiogram Bot over HTTP, and the in-process
FakeTelegramSession answering exactly like the HTTP server.

Every served method must return something aiogram's models accept (or the call would hang
on a validation error), refuse what Telegram refuses with Telegram's own texts, and keep
its history bounded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BufferedInputFile,
    ChatFullInfo,
    ChatInviteLink,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from core.clock import ManualClock
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeTelegramSession, FakeWorld
from tests.sandbox.fake_world import (
    ADMIN,
    ALICE,
    ALL_UPDATES,
    BOB,
    CAROL,
    CHANNEL,
    DAN,
    EVE,
    FOREIGN,
    GROUP,
    OWNER,
    PRIVATE_CHANNEL,
    START,
    http_bot,
    make_world,
)
from tests.support.bots import close_bot


async def test_get_me_is_the_bot_of_the_token(bot: Bot, world: FakeWorld) -> None:
    me = await bot.get_me()
    assert me.id == bot.id == world.bot_id
    assert me.is_bot and me.username == "gatepulse_bot"


@pytest.mark.parametrize(
    ("chat", "user", "kind"),
    [
        (GROUP, OWNER, ChatMemberOwner),
        (GROUP, ADMIN, ChatMemberAdministrator),
        (GROUP, ALICE, ChatMemberMember),
        (GROUP, BOB, ChatMemberLeft),
        (CHANNEL, BOB, ChatMemberMember),
        (CHANNEL, CAROL, ChatMemberRestricted),
        (CHANNEL, DAN, ChatMemberBanned),
        (CHANNEL, EVE, ChatMemberLeft),
        (CHANNEL, 123456, ChatMemberAdministrator),
    ],
)
async def test_get_chat_member_returns_the_right_subtype(
    bot: Bot, chat: int, user: int, kind: type
) -> None:
    member = await bot.get_chat_member(chat, user)
    assert type(member) is kind
    assert member.user.id == user
    if isinstance(member, ChatMemberRestricted):
        assert member.is_member is True
        assert member.can_send_messages is False


async def test_get_chat_member_by_channel_username(bot: Bot) -> None:
    member = await bot.get_chat_member("@news_channel", BOB)
    assert isinstance(member, ChatMemberMember)


async def test_get_chat_gives_full_info(bot: Bot) -> None:
    group = await bot.get_chat(GROUP)
    assert isinstance(group, ChatFullInfo)
    assert group.type == "supergroup" and group.title == "Test group"
    assert group.permissions is not None and group.permissions.can_send_messages
    assert group.invite_link and group.invite_link.startswith("https://t.me/+")
    channel = await bot.get_chat("@news_channel")
    assert channel.id == CHANNEL and channel.username == "news_channel"
    private = await bot.get_chat(PRIVATE_CHANNEL)
    assert private.invite_link == "https://t.me/+private"
    foreign = await bot.get_chat("@foreign_channel")  # public: visible, but no invite link
    assert foreign.id == FOREIGN and foreign.invite_link is None
    person = await bot.get_chat(ALICE)
    assert person.type == "private" and person.first_name == "Alice"


async def test_send_message_with_inline_keyboard(bot: Bot, world: FakeWorld) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Join News", url="https://t.me/news_channel")],
            [InlineKeyboardButton(text="I joined", callback_data="recheck:21")],
        ]
    )
    message = await bot.send_message(GROUP, "Please join first", reply_markup=keyboard)
    assert isinstance(message, Message)
    assert message.chat.id == GROUP and message.from_user and message.from_user.id == bot.id
    assert message.text == "Please join first"
    assert message.date == START
    assert message.reply_markup and message.reply_markup.model_dump() == keyboard.model_dump()
    assert world.sent_messages[-1]["message_id"] == message.message_id
    second = await bot.send_message(GROUP, "again", reply_to_message_id=message.message_id)
    assert second.message_id == message.message_id + 1
    assert second.reply_to_message and second.reply_to_message.message_id == message.message_id


async def test_edit_message_text(bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "one")
    edited = await bot.edit_message_text("two", chat_id=GROUP, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "two"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("two", chat_id=GROUP, message_id=sent.message_id)


async def test_restrict_then_lift(bot: Bot, world: FakeWorld) -> None:
    until = START + dt.timedelta(days=1)
    assert await bot.restrict_chat_member(
        GROUP, ALICE, ChatPermissions(can_send_messages=False), until_date=until
    )
    muted = await bot.get_chat_member(GROUP, ALICE)
    assert isinstance(muted, ChatMemberRestricted)
    assert muted.is_member and not muted.can_send_messages
    assert muted.until_date == until
    assert world.is_muted(GROUP, ALICE)
    assert world.restrictions[(GROUP, ALICE)]["can_send_messages"] is False
    assert world.restrictions[(GROUP, ALICE)]["until_date"] == int(until.timestamp())

    everything = ChatPermissions(**dict.fromkeys(ChatPermissions.model_fields, True))
    assert await bot.restrict_chat_member(GROUP, ALICE, everything)
    assert isinstance(await bot.get_chat_member(GROUP, ALICE), ChatMemberMember)
    assert not world.is_muted(GROUP, ALICE)


async def test_timed_restrictions_run_out(bot: Bot, world: FakeWorld) -> None:
    clock = world.clock
    assert isinstance(clock, ManualClock)
    hour = clock.now() + dt.timedelta(hours=1)
    await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions(), until_date=hour)
    soon = clock.now() + dt.timedelta(seconds=10)  # under 30 s: Telegram makes it forever
    await bot.ban_chat_member(GROUP, DAN, until_date=soon)
    assert world.restrictions[(GROUP, ALICE)]["until_date"] == int(hour.timestamp())
    clock.advance(3601)
    assert isinstance(await bot.get_chat_member(GROUP, ALICE), ChatMemberMember)
    assert not world.is_muted(GROUP, ALICE)
    banned = await bot.get_chat_member(GROUP, DAN)
    assert isinstance(banned, ChatMemberBanned)
    assert banned.until_date.timestamp() == 0


async def test_restrict_a_user_who_is_not_in_the_group(bot: Bot, world: FakeWorld) -> None:
    assert await bot.restrict_chat_member(GROUP, BOB, ChatPermissions(can_send_messages=False))
    member = await bot.get_chat_member(GROUP, BOB)
    assert isinstance(member, ChatMemberRestricted) and member.is_member is False


async def test_restrict_refusals_use_telegram_texts(bot: Bot, world: FakeWorld) -> None:
    with pytest.raises(TelegramBadRequest, match="user is an administrator of the chat"):
        await bot.restrict_chat_member(GROUP, ADMIN, ChatPermissions())
    with pytest.raises(TelegramBadRequest, match="can't remove chat owner"):
        await bot.restrict_chat_member(GROUP, OWNER, ChatPermissions())
    world.set_bot_admin(GROUP, True, can_restrict_members=False)
    with pytest.raises(
        TelegramBadRequest, match="not enough rights to restrict/unrestrict chat member"
    ):
        await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions())
    assert (GROUP, ALICE) not in world.restrictions


async def test_delete_message(bot: Bot, world: FakeWorld) -> None:
    update = world.message_update(GROUP, ALICE, "spam")
    message_id = update["message"]["message_id"]
    assert await bot.delete_message(GROUP, message_id)
    assert (GROUP, message_id) in world.deleted_messages
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(GROUP, message_id)


async def test_counts_admins_and_invite_links(bot: Bot, world: FakeWorld) -> None:
    # Olga, Arun, the bot and Alice are in the group; News has 100 anonymous subscribers,
    # Bob, the restricted member Carol and the bot (Dan is banned, Eve left).
    assert await bot.get_chat_member_count(GROUP) == 4
    assert await bot.get_chat_member_count(CHANNEL) == 103
    admins = await bot.get_chat_administrators(GROUP)
    assert {a.user.id for a in admins} == {OWNER, ADMIN, bot.id}
    link = await bot.create_chat_invite_link(PRIVATE_CHANNEL, name="gate")
    assert isinstance(link, ChatInviteLink) and link.creator.id == bot.id
    assert link.invite_link.startswith("https://t.me/+") and link.name == "gate"
    exported = await bot.export_chat_invite_link(PRIVATE_CHANNEL)
    assert exported.startswith("https://t.me/+") and exported != link.invite_link
    assert (await bot.get_chat(PRIVATE_CHANNEL)).invite_link == exported


async def test_ban_unban_leave_and_commands(bot: Bot, world: FakeWorld) -> None:
    assert await bot.ban_chat_member(GROUP, ALICE)
    assert isinstance(await bot.get_chat_member(GROUP, ALICE), ChatMemberBanned)
    assert await bot.unban_chat_member(GROUP, ALICE, only_if_banned=True)
    assert isinstance(await bot.get_chat_member(GROUP, ALICE), ChatMemberLeft)
    from aiogram.types import BotCommand

    assert await bot.set_my_commands([BotCommand(command="status", description="Status")])
    assert world.commands == [{"command": "status", "description": "Status"}]
    assert await bot.leave_chat(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup"):
        await bot.get_chat_member(GROUP, ALICE)


async def test_answer_callback_query_once(bot: Bot, world: FakeWorld) -> None:
    sent = await bot.send_message(GROUP, "prompt")
    update = world.callback_update(GROUP, ALICE, "recheck", message_id=sent.message_id)
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="Still missing: News", show_alert=True)
    assert world.answered_callbacks[-1]["text"] == "Still missing: News"
    assert world.answered_callbacks[-1]["show_alert"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_every_served_method_is_accepted_by_aiogram(bot: Bot, world: FakeWorld) -> None:
    """One pass over every method the world serves, each through aiogram's own models."""
    from aiogram.types import BotCommand

    sent = await bot.send_message(GROUP, "hello")
    world.push_update(world.message_update(GROUP, ALICE, "hi"))
    query = world.callback_update(GROUP, ALICE, "x", message_id=sent.message_id)["callback_query"]
    world.join_request_update(GROUP, BOB)
    world.join_request_update(GROUP, CAROL)
    results = [
        await bot.get_me(),
        await bot.get_updates(timeout=0),
        await bot.get_webhook_info(),
        await bot.send_chat_action(GROUP, "typing"),
        await bot.send_document(ALICE, BufferedInputFile(b"{}", filename="data.json")),
        await bot.edit_message_text("edited", chat_id=GROUP, message_id=sent.message_id),
        await bot.edit_message_reply_markup(
            chat_id=GROUP,
            message_id=sent.message_id,
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="ok")]]
            ),
        ),
        await bot.answer_callback_query(query["id"]),
        await bot.get_chat(GROUP),
        await bot.get_chat_member(GROUP, ALICE),
        await bot.get_chat_member_count(GROUP),
        await bot.get_chat_administrators(GROUP),
        await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions()),
        await bot.ban_chat_member(GROUP, ALICE),
        await bot.unban_chat_member(GROUP, ALICE),
        await bot.ban_chat_sender_chat(GROUP, FOREIGN),
        await bot.unban_chat_sender_chat(GROUP, FOREIGN),
        await bot.approve_chat_join_request(GROUP, BOB),
        await bot.decline_chat_join_request(GROUP, CAROL),
        await bot.create_chat_invite_link(GROUP),
        await bot.export_chat_invite_link(GROUP),
        await bot.set_my_commands([BotCommand(command="help", description="Help")]),
        await bot.get_my_commands(),
        await bot.delete_my_commands(),
        await bot.delete_message(GROUP, sent.message_id),
        await bot.delete_messages(GROUP, [sent.message_id + 5]),
        await bot.set_webhook("http://127.0.0.1:9/hook"),
        await bot.delete_webhook(),
        await bot.leave_chat(GROUP),
        await bot.log_out(),
        await bot.close(),
    ]
    assert all(result is not None for result in results)
    assert {method for method, _ in world.calls} == set(world.methods)
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="not allowed!")


def test_malformed_parameters_get_a_400_not_a_crash() -> None:
    world = make_world()
    cases = [
        ("deleteMessages", {"chat_id": str(GROUP), "message_ids": "5"}),
        ("sendMessage", {"chat_id": str(GROUP), "text": "x", "reply_markup": "{not json"}),
        ("getChatMember", {"chat_id": "not-a-chat", "user_id": "1"}),
        ("getChatMember", {"chat_id": str(GROUP), "user_id": "abc"}),
        ("getChatMember", {"chat_id": str(GROUP)}),
        ("getUpdates", {"limit": "many"}),
        ("restrictChatMember", {"chat_id": str(GROUP), "user_id": str(ALICE)}),
        ("answerCallbackQuery", {}),
        ("setMyCommands", {"commands": "[1, 2]"}),
    ]
    for method, params in cases:
        reply = world.call(method, params)
        assert reply.status == 400, (method, params, reply.body)
        assert reply.body["ok"] is False
        assert reply.body["description"].startswith("Bad Request: ")


async def _script(bot: Bot, world: FakeWorld) -> list[Any]:
    """The same conversation, whatever the transport: results and errors, as plain data."""
    out: list[Any] = []

    async def step(coro: Any) -> None:
        try:
            result = await coro
        except Exception as exc:
            out.append((type(exc).__name__, getattr(exc, "message", str(exc))))
        else:
            dump = getattr(result, "model_dump", None)
            if isinstance(result, list):
                out.append([r.model_dump(mode="json") for r in result])
            else:
                out.append(dump(mode="json") if dump else result)

    world.fail_next("getChat", "chat_not_found")
    world.fail_next("sendMessage", "retry_after", retry_after=3)
    await step(bot.get_me())
    await step(bot.get_chat(GROUP))
    await step(bot.get_chat(GROUP))
    for user in (OWNER, ADMIN, ALICE, BOB):
        await step(bot.get_chat_member(GROUP, user))
    for user in (BOB, CAROL, DAN, EVE):
        await step(bot.get_chat_member(CHANNEL, user))
    await step(bot.get_chat_member(FOREIGN, BOB))
    await step(bot.send_message(GROUP, "first"))
    await step(bot.send_message(GROUP, "second"))
    await step(bot.restrict_chat_member(GROUP, ALICE, ChatPermissions(can_send_messages=False)))
    await step(bot.get_chat_member(GROUP, ALICE))
    await step(bot.get_chat_member_count(CHANNEL))
    await step(bot.create_chat_invite_link(PRIVATE_CHANNEL))
    await step(bot.delete_message(GROUP, 1))
    world.push_update(world.join_update(CHANNEL, EVE))
    await step(bot.get_updates(allowed_updates=ALL_UPDATES, timeout=0))
    return out


async def test_in_process_session_answers_like_http(server: FakeTelegramServer) -> None:
    bot = http_bot(server)
    try:
        over_http = await _script(bot, server.world)
    finally:
        await close_bot(bot)

    world = make_world()
    in_process = Bot(DEFAULT_TOKEN, session=FakeTelegramSession(world, token=DEFAULT_TOKEN))
    direct = await _script(in_process, world)
    assert direct == over_http
    assert [m for m, _ in world.calls] == [m for m, _ in server.world.calls]
    errors = [step[0] for step in direct if isinstance(step, tuple)]
    assert errors == ["TelegramBadRequest", "TelegramBadRequest", "TelegramRetryAfter"]


def test_history_stays_bounded() -> None:
    world = make_world(history_limit=20)
    for n in range(100):
        world.call("getMe", {})
        world.message_update(GROUP, ALICE, f"m{n}")
    assert 10 <= len(world.calls) <= 20
    assert len(world.chats[GROUP].messages) <= 20
    assert world.chats[GROUP].messages[100]["text"] == "m99"  # the newest are kept
