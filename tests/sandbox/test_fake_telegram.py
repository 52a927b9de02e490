"""The fake Bot API, exercised by the real aiogram Bot with its real AiohttpSession.

Every served method must return something aiogram's models accept (or the call would hang on a
validation error), errors must look like Telegram's, and the in-process FakeTelegramSession must
answer exactly like the HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    CallbackQuery,
    ChatFullInfo,
    ChatInviteLink,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatMemberUpdated,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web

from core.clock import ManualClock
from sandbox.fake_telegram import (
    DEFAULT_TOKEN,
    FakeTelegramServer,
    FakeTelegramSession,
    FakeWorld,
    FaultPlan,
)
from sandbox.fake_telegram.scenarios import DEMO_GROUP_ID, build_world

GROUP = -1001500000001
CHANNEL = -1002500000001  # public, bot is admin
PRIVATE_CHANNEL = -1002500000002  # invite link only, bot is admin
FOREIGN = -1002500000003  # public, bot not in it
OWNER, ADMIN, ALICE, BOB, CAROL, DAN, EVE = 11, 12, 21, 22, 23, 24, 25
START = dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)
ALL_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member"]


async def close_bot(bot: Bot) -> None:
    """Close the bot's HTTP session without AiohttpSession's 0.25 s wait for TLS shutdown
    (plain HTTP on 127.0.0.1 has none)."""
    inner = getattr(bot.session, "_session", None)
    if inner is not None and not inner.closed:
        await inner.close()
    else:
        await bot.session.close()


def make_world(**kwargs: Any) -> FakeWorld:
    world = FakeWorld(clock=ManualClock(START), **kwargs)
    world.add_user(OWNER, "Olga", username="olga")
    world.add_user(ADMIN, "Arun", username="arun")
    for uid, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAN, "Dan"), (EVE, "Eve")):
        world.add_user(uid, name, username=name.lower())
    world.add_group(GROUP, "Test group", creator_id=OWNER, admin_ids=[ADMIN])
    world.add_channel(CHANNEL, "News", username="news_channel", subscribers=100)
    world.add_channel(PRIVATE_CHANNEL, "Private", invite_link="https://t.me/+private")
    world.add_channel(FOREIGN, "Foreign", username="foreign_channel", bot_is_admin=False)
    world.set_member(GROUP, ALICE, "member")
    world.set_member(CHANNEL, BOB, "member")
    world.set_member(CHANNEL, CAROL, "restricted", is_member=True)
    world.set_member(CHANNEL, DAN, "kicked")
    world.set_member(CHANNEL, EVE, "left")
    return world


@pytest.fixture
def world() -> FakeWorld:
    return make_world()


@pytest.fixture
async def server(world: FakeWorld) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(world) as srv:
        yield srv


def http_bot(server: FakeTelegramServer, token: str = DEFAULT_TOKEN, timeout: float = 5) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url), timeout=timeout)
    return Bot(token, session=session)


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = http_bot(server)
    yield bot
    await close_bot(bot)


# ---------------------------------------------------------------------------- methods
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

    everything = ChatPermissions(
        can_send_messages=True,
        can_send_audios=True,
        can_send_documents=True,
        can_send_photos=True,
        can_send_videos=True,
        can_send_video_notes=True,
        can_send_voice_notes=True,
        can_send_polls=True,
        can_send_other_messages=True,
        can_add_web_page_previews=True,
        can_react_to_messages=True,
        can_invite_users=True,
    )
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
    results = [
        await bot.get_me(),
        await bot.get_updates(timeout=0),
        await bot.get_webhook_info(),
        await bot.send_chat_action(GROUP, "typing"),
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


# ---------------------------------------------------------------------------- updates
async def test_pushed_updates_parse_as_aiogram_updates(bot: Bot, world: FakeWorld) -> None:
    sent = await bot.send_message(GROUP, "prompt")
    world.push_update(world.message_update(GROUP, ALICE, "hello"))
    world.push_update(world.join_update(CHANNEL, EVE))
    world.push_update(world.leave_update(CHANNEL, BOB))
    world.push_update(world.callback_update(GROUP, ALICE, "recheck", message_id=sent.message_id))
    world.push_update(world.new_members_update(GROUP, [EVE]))
    world.push_update(world.bot_added_update(GROUP, OWNER))

    updates = await bot.get_updates(allowed_updates=ALL_UPDATES, timeout=0)
    assert [u.event_type for u in updates] == [
        "message",
        "chat_member",
        "chat_member",
        "callback_query",
        "message",
        "my_chat_member",
    ]
    assert all(isinstance(u, Update) for u in updates)
    assert updates[0].message and updates[0].message.text == "hello"
    joined = updates[1].chat_member
    assert isinstance(joined, ChatMemberUpdated)
    assert joined.old_chat_member.status == "left" and joined.new_chat_member.status == "member"
    left = updates[2].chat_member
    assert left and left.new_chat_member.status == "left" and left.from_user.id == BOB
    query = updates[3].callback_query
    assert isinstance(query, CallbackQuery) and query.data == "recheck"
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert updates[4].message and [u.id for u in updates[4].message.new_chat_members or []] == [EVE]
    # the world changed with the updates
    assert world.is_member(CHANNEL, EVE) and not world.is_member(CHANNEL, BOB)

    # offset confirms: the same batch is not returned again
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert again == []


async def test_update_ids_only_grow(bot: Bot, world: FakeWorld) -> None:
    early = world.message_update(GROUP, ALICE, "built first, pushed last")
    world.push_update(world.message_update(GROUP, ALICE, "one"))
    [first] = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=first.update_id + 1, timeout=0) == []
    late_id = world.push_update(early)
    assert late_id > first.update_id
    [late] = await bot.get_updates(offset=first.update_id + 1, timeout=0)
    assert late.message and late.message.text == "built first, pushed last"
    reply = world.message_update(GROUP, BOB, "re", reply_to=late.message.message_id)
    world.push_update(
        world.message_update(GROUP, ALICE, "re-re", reply_to=reply["message"]["message_id"])
    )
    [_, nested] = await bot.get_updates(offset=late.update_id, timeout=0)
    assert nested.message and nested.message.reply_to_message
    assert nested.message.reply_to_message.reply_to_message is None


async def test_chat_member_updates_need_allowed_updates(bot: Bot, world: FakeWorld) -> None:
    world.push_update(world.join_update(CHANNEL, EVE))
    world.push_update(world.message_update(GROUP, ALICE, "hi"))
    updates = await bot.get_updates(timeout=0)  # Telegram's default leaves chat_member out
    assert [u.event_type for u in updates] == ["message"]


async def test_long_poll_returns_when_an_update_arrives(bot: Bot, world: FakeWorld) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20, allowed_updates=ALL_UPDATES))
    await asyncio.sleep(0.1)
    assert not poll.done()
    world.push_update(world.message_update(GROUP, ALICE, "wake up"))
    updates = await asyncio.wait_for(poll, 10)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_webhook_delivery_with_secret(bot: Bot, world: FakeWorld) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    got = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        got.set()
        # answer with a method in the webhook reply, as aiogram can
        return web.json_response({"method": "sendMessage", "chat_id": GROUP, "text": "welcome"})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/hook"
        assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=ALL_UPDATES)
        info = await bot.get_webhook_info()
        assert info.url == url
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates(timeout=0)
        update_id = world.push_update(world.message_update(GROUP, ALICE, "via webhook"))
        await asyncio.wait_for(got.wait(), 10)
        secret, body = received[0]
        assert secret == "s3cret"
        parsed = Update.model_validate(body)
        assert parsed.update_id == update_id and parsed.message and parsed.message.text
        for _ in range(100):
            if world.sent_messages:
                break
            await asyncio.sleep(0.02)
        assert world.sent_messages[-1]["text"] == "welcome"
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------- errors
async def test_error_replies_look_like_telegram(
    bot: Bot, world: FakeWorld, server: FakeTelegramServer
) -> None:
    with pytest.raises(TelegramBadRequest, match="member list is inaccessible"):
        await bot.get_chat_member(FOREIGN, ALICE)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(-100999, ALICE)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat("@no_such_channel")
    world.kick_bot(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hello?")
    world.remove_chat(CHANNEL)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(CHANNEL, BOB)

    stranger = http_bot(server, token="999:WRONG-token-of-someone-else-xxxxxxx")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await close_bot(stranger)

    async with aiohttp.ClientSession() as http:
        url = f"{server.base_url}/bot{DEFAULT_TOKEN}/noSuchMethod"
        async with http.post(url) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        url = f"{server.base_url}/bot{DEFAULT_TOKEN}/getchatmembercount"
        async with http.post(url, json={"chat_id": PRIVATE_CHANNEL}) as resp:
            # method names ignore case, JSON bodies work; only the bot is in the private channel
            assert await resp.json() == {"ok": True, "result": 1}


@pytest.mark.parametrize(
    ("kind", "exception", "text"),
    [
        ("retry_after", TelegramRetryAfter, "Too Many Requests: retry after 7"),
        ("forbidden", TelegramForbiddenError, "Forbidden: bot is not a member of the channel"),
        ("chat_not_found", TelegramBadRequest, "Bad Request: chat not found"),
        ("bad_request", TelegramBadRequest, "Bad Request: PARTICIPANT_ID_INVALID"),
        ("server_error", TelegramServerError, "Internal Server Error"),
    ],
)
async def test_fail_next_raises_the_real_aiogram_exception(
    bot: Bot, world: FakeWorld, kind: str, exception: type[Exception], text: str
) -> None:
    world.fail_next("getChatMember", kind, retry_after=7)
    with pytest.raises(exception, match=text) as info:
        await bot.get_chat_member(CHANNEL, BOB)
    if kind == "retry_after":
        assert isinstance(info.value, TelegramRetryAfter) and info.value.retry_after == 7
    # only the next call failed
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)


async def test_forbidden_fault_texts_follow_the_chat(bot: Bot, world: FakeWorld) -> None:
    expected = {
        ALICE: "Forbidden: bot was blocked by the user",
        CHANNEL: "Forbidden: bot is not a member of the channel chat",
        GROUP: "Forbidden: bot was kicked from the supergroup chat",
    }
    for chat_id, text in expected.items():
        world.fail_next("sendMessage", "forbidden")
        with pytest.raises(TelegramForbiddenError, match=text):
            await bot.send_message(chat_id, "hi")


async def test_timeout_fault_times_the_client_out(server: FakeTelegramServer) -> None:
    bot = http_bot(server, timeout=0.3)
    try:
        server.world.fail_next("getChat", "timeout")
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.get_chat(GROUP)
        assert (await bot.get_chat(GROUP)).id == GROUP
    finally:
        await close_bot(bot)


async def test_latency_and_slow_replies_still_answer(bot: Bot, world: FakeWorld) -> None:
    world.latency_s = 0.01
    world.fail_next("getChatMemberCount", "slow")
    world.faults.slow_s = 0.05
    assert await bot.get_chat_member_count(GROUP) == 4
    assert world.injected_faults == [("getChatMemberCount", "slow")]


def test_fault_plan_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        world = make_world(faults=FaultPlan(rate=0.3, seed=seed))
        for _ in range(200):
            world.call("getChatMember", {"chat_id": str(CHANNEL), "user_id": str(BOB)})
            world.call("getMe", {})
        return world.injected_faults

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 <= len(first) <= 90  # about 30% of 200 getChatMember calls, none on getMe
    assert {method for method, _ in first} == {"getChatMember"}
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(rate=0.1, kinds=("meteor",))
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate=1.5)


def test_latency_spread_is_seeded() -> None:
    def draws(seed: int) -> list[float]:
        world = FakeWorld(seed=seed, latency_s=0.05, latency_spread=0.5)
        return [world.call("getMe", {}).delay_s for _ in range(50)]

    first = draws(3)
    assert first == draws(3) and first != draws(4)
    assert len(set(first)) == 50 and all(d > 0 for d in first)
    assert FakeWorld(latency_s=0.05).call("getMe", {}).delay_s == 0.05


def test_scripting_mistakes_are_refused() -> None:
    world = make_world()
    with pytest.raises(ValueError, match="unknown status"):
        world.set_member(GROUP, ALICE, "vip")
    with pytest.raises(ValueError, match="unknown fault kind"):
        world.fail_next("getChat", "meteor")
    with pytest.raises(KeyError):
        world.join_update(-5, ALICE)
    with pytest.raises(ValueError, match="unknown scenario"):
        build_world("nope")
    assert build_world("demo").chat(DEMO_GROUP_ID)["type"] == "supergroup"


# ---------------------------------------------------------------------------- session parity
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


async def test_in_process_session_timeouts_and_latency_cost_no_wall_time() -> None:
    clock = ManualClock(START)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    world = make_world(latency_s=0.25)
    session = FakeTelegramSession(world, sleep=sleep, instant_timeouts=True, timeout=30)
    bot = Bot(DEFAULT_TOKEN, session=session)
    assert (await bot.get_chat(GROUP)).id == GROUP
    world.fail_next("getChat", "timeout")
    with pytest.raises(TelegramNetworkError, match="Request timeout error"):
        await bot.get_chat(GROUP)
    assert sleeps == [0.25]
    with pytest.raises(TelegramUnauthorizedError):
        await Bot("1:" + "x" * 30, session=FakeTelegramSession(world, token=DEFAULT_TOKEN)).get_me()


async def test_dispatcher_polling_receives_pushed_updates(
    server: FakeTelegramServer, world: FakeWorld
) -> None:
    from aiogram import Dispatcher
    from aiogram.types import ChatMemberUpdated as MemberUpdate

    dp = Dispatcher()
    seen: list[str] = []
    done = asyncio.Event()

    @dp.message()
    async def on_message(message: Message) -> None:
        seen.append(f"message:{message.text}")
        await message.answer("got it")

    @dp.chat_member()
    async def on_member(event: MemberUpdate) -> None:
        seen.append(f"chat_member:{event.new_chat_member.status}")
        done.set()

    bot = http_bot(server)
    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=True)
    )
    try:
        world.push_update(world.message_update(GROUP, ALICE, "hi"))
        world.push_update(world.join_update(CHANNEL, EVE))  # chat_member: polled because used
        await asyncio.wait_for(done.wait(), 15)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 15)
    assert seen == ["message:hi", "chat_member:member"]
    assert world.sent_messages[-1]["text"] == "got it"
    assert world.allowed_updates and "chat_member" in world.allowed_updates


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


def test_history_stays_bounded() -> None:
    world = make_world(history_limit=20)
    for n in range(100):
        world.call("getMe", {})
        world.message_update(GROUP, ALICE, f"m{n}")
    assert 10 <= len(world.calls) <= 20
    assert len(world.chats[GROUP].messages) <= 20
    assert world.chats[GROUP].messages[100]["text"] == "m99"  # the newest are kept


# ---------------------------------------------------------------------------- the command
def test_cli_help_and_bad_arguments() -> None:
    from typer.testing import CliRunner

    from cli.telegram import app

    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "BOT_API_BASE" in result.output and "--fault-rate" in result.output
    result = runner.invoke(app, ["--scenario", "nope"])
    assert result.exit_code == 2 and "unknown scenario 'nope'" in result.output
    result = runner.invoke(app, ["--token", "no-colon"])
    assert result.exit_code == 2 and "--token must look like" in result.output
    result = runner.invoke(app, ["--fault-rate", "3"])
    assert result.exit_code == 2


async def test_cli_serves_the_demo_world(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.telegram import _serve

    world = build_world("demo")
    serving = asyncio.create_task(_serve(world, DEFAULT_TOKEN, "127.0.0.1", 0, "demo"))
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            out = capsys.readouterr().out
            if "BOT_API_BASE=" in out:
                break
        base = out.split("BOT_API_BASE=", 1)[1].strip()
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
        demo_bot = Bot(DEFAULT_TOKEN, session=session)
        try:
            chat = await demo_bot.get_chat(DEMO_GROUP_ID)
            assert chat.title == "gatepulse demo group"
        finally:
            await close_bot(demo_bot)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def test_the_command_knows_the_real_scenarios_and_token():
    from cli import telegram
    from sandbox.fake_telegram import scenarios, server

    assert telegram.SCENARIOS == scenarios.SCENARIOS
    assert telegram.DEFAULT_TOKEN == server.DEFAULT_TOKEN

    from cli import demo

    assert demo.FAKE_TOKEN == server.DEFAULT_TOKEN
