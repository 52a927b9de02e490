"""The webhook's secret check over real HTTP: any header that is not the secret, non-ASCII
included, is a 401 (never a 500 and a traceback) and never reaches the dispatcher."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Message
from aiohttp.test_utils import BaseTestServer, TestClient, TestServer

from bot.runtime.app import create_webhook_app

SECRET = "webhook-secret_123"
PATH = "/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 1_767_225_600,
        "chat": {"id": -1001, "type": "supergroup", "title": "g"},
        "from": {"id": 42, "is_bot": False, "first_name": "Alice"},
        "text": "hello",
    },
}


def _app(handled: list[str]) -> Any:
    dp = Dispatcher()

    @dp.message()
    async def on_message(message: Message) -> None:
        handled.append(message.text or "")

    bot = Bot("123456:" + "A" * 35)  # never called: the handler answers nothing
    return create_webhook_app(dp, bot, path=PATH, secret=SECRET)


async def _raw_post(server: BaseTestServer, secret: bytes) -> int:
    """POST with the header's bytes as given (a client library would encode them itself)."""
    body = json.dumps(UPDATE).encode()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n" + HEADER.encode() + b": " + secret + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


@pytest.mark.parametrize(
    "odd",
    [
        "wébhook-secret_123",
        "секрет",
        "webhook-secret_123 👋",
        SECRET + "\u200b",  # the secret and a zero-width space
    ],
)
async def test_a_non_ascii_secret_header_is_401(odd: str, caplog: pytest.LogCaptureFixture) -> None:
    handled: list[str] = []
    async with TestClient(TestServer(_app(handled))) as client:
        with caplog.at_level(logging.WARNING):
            resp = await client.post(PATH, json=UPDATE, headers={HEADER: odd})  # as UTF-8
            assert resp.status == 401, await resp.text()
            # not UTF-8 at all (Latin-1 bytes): aiohttp hands them over as surrogate escapes
            assert await _raw_post(client.server, odd.encode("latin-1", "replace")) == 401
            assert await _raw_post(client.server, b"\xff\xfe" + SECRET.encode()) == 401
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert handled == []  # refused before the dispatcher
        resp = await client.post(PATH, json=UPDATE, headers={HEADER: SECRET})
        assert resp.status == 200
    assert handled == ["hello"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser recurses
        b'{"update_id": 1, "message": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
        b'{"update_id": 1, "x": ' + b"[" * 900 + b"]" * 900 + b"}",  # parses; not an update
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
    ],
    ids=["nested-array", "nested-update", "nested-extra", "not-json", "not-utf8", "array"],
)
async def test_a_body_that_is_no_update_is_400_with_one_line(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """With the right secret, a body that is not an update (nested too deep included: a
    ``RecursionError``) answers 400 and logs one line without a traceback, not a 500."""
    handled: list[str] = []
    async with TestClient(TestServer(_app(handled))) as client:
        with caplog.at_level(logging.INFO):
            resp = await client.post(
                PATH,
                data=body,
                headers={HEADER: SECRET, "Content-Type": "application/json"},
            )
            assert resp.status == 400, await resp.text()
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].exc_info is None and "400" in lines[0].getMessage()
        resp = await client.post(PATH, json=UPDATE, headers={HEADER: SECRET})
        assert resp.status == 200  # the server is none the worse
    assert handled == ["hello"]
