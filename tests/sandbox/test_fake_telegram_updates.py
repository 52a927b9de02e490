"""Updates from the fake Bot API: getUpdates (long polling), webhooks, a polling Dispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update
from aiohttp import web

from sandbox.fake_telegram import FakeTelegramServer, FakeWorld
from tests.sandbox.fake_world import ALICE, ALL_UPDATES, BOB, CHANNEL, EVE, GROUP, OWNER, http_bot
from tests.support.waiting import eventually


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
    # the world takes the call and starts waiting for an update in one step
    await eventually(lambda: [method for method, _ in world.calls] == ["getUpdates"])
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
        await eventually(lambda: world.sent_messages, what="the webhook reply's sendMessage")
        assert world.sent_messages[-1]["text"] == "welcome"
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


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
