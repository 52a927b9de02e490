"""The fake Bot API over HTTP: an aiohttp app serving ``/bot{token}/{method}`` from a FakeWorld.

Point aiogram at it with ``TelegramAPIServer.from_base(server.base_url)`` (or
``BOT_API_BASE=server.base_url`` for :func:`bot.runtime.client.create_bot`). Requests may be
multipart/form-data (what aiogram's ``AiohttpSession`` sends), urlencoded, JSON or a query
string. A wrong token gets Telegram's 401, an unknown method its 404.

When ``setWebhook`` was called with a URL, :class:`FakeTelegramServer` POSTs every pushed update
there (with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set) under Telegram's rules:
see :mod:`sandbox.fake_telegram.webhook`.

The access log is off: request paths hold the bot token, and it must never reach a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.fake_telegram.protocol import UploadedFile
from sandbox.fake_telegram.webhook import TELEGRAM_TIMEOUT_S, WebhookDeliverer
from sandbox.fake_telegram.world import FakeWorld, Reply, serve_call

log = logging.getLogger("gatepulse.fake_telegram")

DEFAULT_TOKEN = "123456:TEST-TOKEN-for-the-fake-server"
WORLD_KEY: web.AppKey[FakeWorld] = web.AppKey("world", FakeWorld)
TOKEN_KEY: web.AppKey[str] = web.AppKey("token", str)


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _BadBody("Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _BadBody("Bad Request: can't parse JSON object")
        params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            params[key] = value
        elif isinstance(value, web.FileField):  # an upload: its name and bytes (attach://)
            params[key] = UploadedFile(value.filename, value.file.read())
        else:
            params[key] = bytes(value).decode("utf-8", "replace")
    return params


class _BadBody(Exception):
    pass


def _json_response(reply: Reply) -> web.Response:
    return web.json_response(reply.body, status=reply.status)


async def _handle(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    if request.match_info["token"] != request.app[TOKEN_KEY]:
        return _json_response(Reply.error(401, "Unauthorized"))
    try:
        params = await _read_params(request)
    except _BadBody as exc:
        return _json_response(Reply.error(400, str(exc)))
    reply = await serve_call(world, request.match_info["method"], params)
    # A hanging reply has already slept hang_s: the client normally gave up long before.
    return _json_response(reply)


async def _not_found(request: web.Request) -> web.StreamResponse:
    return _json_response(Reply.error(404, "Not Found"))


def create_app(world: FakeWorld, token: str = DEFAULT_TOKEN) -> web.Application:
    """The aiohttp application answering Bot API calls for ``token`` from ``world``."""
    app = web.Application()
    app[WORLD_KEY] = world
    app[TOKEN_KEY] = token
    app.router.add_route("*", "/bot{token}/{method}", _handle)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


class FakeTelegramServer:
    """Run :func:`create_app` on ``host:port`` (0 = a free port) as an async context manager.

    ``base_url`` is what ``BOT_API_BASE`` / ``TelegramAPIServer.from_base`` need.
    ``webhook_timeout_s`` is how long a webhook delivery waits for its answer (Telegram's 60 s),
    ``webhook_retry_s`` the first back-off before a failed delivery is retried.
    """

    def __init__(
        self,
        world: FakeWorld | None = None,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_retry_s: float = 0.2,
        webhook_timeout_s: float = TELEGRAM_TIMEOUT_S,
    ) -> None:
        self.world = world if world is not None else FakeWorld()
        self.token = token
        self.host = host
        self.port = port
        self.webhook_retry_s = webhook_retry_s
        self.webhook_timeout_s = webhook_timeout_s
        self.deliverer = WebhookDeliverer(
            self.world, timeout_s=webhook_timeout_s, retry_s=webhook_retry_s
        )
        self.app = create_app(self.world, token)
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            await runner.cleanup()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self._delivery = asyncio.create_task(self._deliver_webhooks(), name="fake-tg-webhook")

    async def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._runner is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    # ------------------------------------------------------------------ webhook delivery
    async def _deliver_webhooks(self) -> None:
        """Deliver pushed updates to the webhook (once set) as Telegram does, until stopped."""
        await self.deliverer.run()
