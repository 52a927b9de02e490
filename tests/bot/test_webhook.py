"""Webhook mode: real HTTP into the aiohttp app; the secret token is required."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.runtime.app import create_webhook_app
from tests.bot.conftest import ALICE, BOB, GROUP, Harness
from tests.support.waiting import eventually

SECRET = "webhook-secret_123"
PATH = "/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def webhook(http_harness: Harness) -> AsyncIterator[str]:
    app = create_webhook_app(http_harness.dp, http_harness.bot, path=PATH, secret=SECRET)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        await runner.cleanup()


async def test_webhook_requires_the_secret(http_harness: Harness, webhook: str) -> None:
    h = http_harness
    await h.protect()
    update = h.world.join_update(GROUP, ALICE)
    async with aiohttp.ClientSession() as client:
        async with client.post(webhook, json=update) as resp:
            assert resp.status == 401
        async with client.post(webhook, json=update, headers={HEADER: "wrong"}) as resp:
            assert resp.status == 401
        async with client.post(webhook, json=update, headers={HEADER: SECRET + "x"}) as resp:
            assert resp.status == 401
        assert not h.muted(GROUP, ALICE)  # rejected requests never reached the dispatcher
        assert not [m for m, _ in h.world.calls if m == "getChatMember"]
        async with client.post(webhook, json=update, headers={HEADER: SECRET}) as resp:
            assert resp.status == 200
    assert h.muted(GROUP, ALICE)
    # the accepted request was handled before it was answered, after the three refused ones:
    # exactly one check, so none of those was handled later in the background either
    assert [r["trigger"] for r in await h.rows("verification_log")] == ["join"]


async def test_telegram_delivers_to_the_webhook_with_the_secret(
    http_harness: Harness, webhook: str
) -> None:
    h = http_harness
    await h.protect()
    await h.bot.set_webhook(
        webhook, secret_token=SECRET, allowed_updates=h.dp.resolve_used_update_types()
    )
    h.world.push_update(h.world.join_update(GROUP, ALICE))
    message = h.world.message_update(GROUP, BOB, "over the webhook")
    h.world.push_update(message)
    target = message["message"]["message_id"]
    h.world.push_update(h.world.reaction_update(GROUP, target, BOB, new=("👍",)))
    # the fake drops an update from its queue once the webhook has answered it (and the app
    # answers only after handling it; an update not asked for is dropped unsent)
    await eventually(lambda: h.muted(GROUP, ALICE) and not h.world.updates, within=10)
    assert h.world.webhook_errors == []
    messages = await h.rows("messages")
    assert "over the webhook" in [m["content"] for m in messages]
    asked = set(h.world.allowed_updates or ())
    assert {"chat_member", "message_reaction", "message_reaction_count"} <= asked
    reactions = await h.rows("reaction_events")
    assert [(r["user_id"], r["added"], r["removed"]) for r in reactions] == [(BOB, 1, 0)]


def test_a_webhook_without_a_secret_is_refused(http_harness: Harness) -> None:
    with pytest.raises(ValueError, match="secret"):
        create_webhook_app(http_harness.dp, http_harness.bot, path=PATH, secret="")
