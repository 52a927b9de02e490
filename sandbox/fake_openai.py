"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests of the summary LLM.

Answers ``POST /v1/chat/completions`` the way the OpenAI API reference describes it (a
``chat.completion`` object whose ``choices[0].message.content`` is the text; errors as
``{"error": {...}}`` with the HTTP status, 429 with a ``Retry-After`` header). ``mode`` picks
the behaviour and may be changed while it runs:

- ``ok``: 200 with ``reply`` as the completion;
- ``slow``: the same answer after ``delay_s`` seconds (longer than the client's timeout);
- ``429``: rate limited; ``500``: a server error;
- ``garbage``: 200 with an HTML page instead of JSON; ``empty``: 200 with empty content.

Every request's JSON body and whether it carried a bearer token are recorded in
``requests``/``authorized`` (the token itself is not kept). It runs its own event loop in a
thread, so synchronous code (the Dagster asset) can call it: ``with FakeOpenAI() as fake:``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

MODES = ("ok", "slow", "429", "500", "garbage", "empty")


class FakeOpenAI:
    def __init__(
        self, mode: str = "ok", reply: str = "A fake summary.", delay_s: float = 5.0
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.reply = reply
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.authorized: list[bool] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._released: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_767_225_600,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.authorized.append(request.headers.get("Authorization", "").startswith("Bearer "))
        mode = self.mode
        if mode == "slow":
            assert self._released is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.delay_s)
        if mode == "429":
            limited = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}
            return web.json_response({"error": limited}, status=429, headers={"Retry-After": "20"})
        if mode == "500":
            failed = {"message": "The server had an error", "type": "server_error", "code": None}
            return web.json_response({"error": failed}, status=500)
        if mode == "garbage":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=200)
        content = "" if mode == "empty" else self.reply
        return web.json_response(self._completion(body, content))

    async def _start(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _stop(self) -> None:
        if self._released is not None:
            self._released.set()  # let slow answers go, so that shutdown does not wait
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def prompts(self) -> list[str]:
        """The user message of every request received, in order."""
        return [str(r["messages"][-1]["content"]) for r in self.requests]
