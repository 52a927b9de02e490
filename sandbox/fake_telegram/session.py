"""An aiogram session that answers from a :class:`FakeWorld` in process, without HTTP.

The parameters are prepared exactly as ``AiohttpSession`` prepares its form fields, answered by
the same :func:`serve_call` the HTTP server uses, and the JSON reply goes through aiogram's own
``check_response``: replies are validated by the real models and errors raise the real aiogram
exceptions. Request middlewares registered on the session still run (``BaseSession.__call__``).

For fast simulations: give it a ``sleep`` that advances a ManualClock (latency then costs no
wall time) and ``instant_timeouts=True`` (a ``timeout`` fault raises at once instead of after
the session timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from sandbox.fake_telegram.protocol import UploadedFile
from sandbox.fake_telegram.world import FakeWorld, Reply, Sleep, complete_reply

if TYPE_CHECKING:
    from aiogram import Bot

FAKE_API = TelegramAPIServer.from_base("http://fake-telegram.invalid")


class FakeTelegramSession(BaseSession):
    """``Bot(token, session=FakeTelegramSession(world))``: the fake world, no sockets."""

    def __init__(
        self,
        world: FakeWorld,
        *,
        token: str | None = None,
        sleep: Sleep = asyncio.sleep,
        instant_timeouts: bool = False,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(api=FAKE_API, timeout=timeout)
        self.world = world
        self.token = token
        self.sleep = sleep
        self.instant_timeouts = instant_timeouts

    def build_params(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
        """The fields ``AiohttpSession.build_form_data`` would send (files become names)."""
        files: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if not prepared:
                continue
            params[key] = prepared
        for key, file in files.items():  # uploads, as the server would receive them
            data = getattr(file, "data", None)
            if isinstance(data, bytes):
                params[key] = UploadedFile(str(getattr(file, "filename", key)), data)
        return params

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        if self.token is not None and bot.token != self.token:
            reply = Reply.error(401, "Unauthorized")
        else:
            reply = await self._answer(method, self.build_params(bot, method), timeout)
        response = self.check_response(
            bot=bot,
            method=method,
            status_code=reply.status,
            content=self.json_dumps(reply.body),
        )
        return cast(TelegramType, response.result)

    async def _answer(
        self, method: TelegramMethod[Any], params: dict[str, Any], limit_s: float | None
    ) -> Reply:
        limit = self.timeout if limit_s is None else limit_s
        world = self.world
        reply = world.call(method.__api_method__, params)
        if reply.hang:
            if not self.instant_timeouts:
                await self.sleep(limit)
            raise TelegramNetworkError(method=method, message="Request timeout error")
        if reply.poll_s > 0 or reply.delay_s > 0:
            try:
                reply = await asyncio.wait_for(
                    complete_reply(world, reply, params, sleep=self.sleep), limit
                )
            except TimeoutError:
                raise TelegramNetworkError(method=method, message="Request timeout error") from None
        return reply

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise TelegramNetworkError(
            method=cast(Any, None), message="the fake Telegram session serves no files"
        )
        yield b""  # pragma: no cover
