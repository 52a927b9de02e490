"""A small round-robin HTTP balancer in front of webhook replicas, as nginx would sit there.

:class:`RoundRobinBalancer` listens on 127.0.0.1 and forwards each request (method, path and
query, headers, body) to the next target in turn. A target that refuses the connection fails
that request with 502 Bad Gateway, as nginx answers; the sender (the fake Telegram's deliverer)
retries it, and round-robin sends the retry to the next target.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Sequence

import aiohttp
from aiohttp import web

log = logging.getLogger("gatepulse.balancer")

#: Hop-by-hop headers and those aiohttp sets itself: never forwarded as they came.
_DROPPED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
)


class RoundRobinBalancer:
    """Forward requests on ``host:port`` (0 = a free port) to ``targets`` in turn.

    Use as an async context manager; ``url`` is its base address. ``targets`` may be changed
    while it runs. ``forwarded`` counts the requests each target was sent, ``answered`` the
    answers by target and status (502 when the target failed).
    """

    def __init__(
        self,
        targets: Sequence[tuple[str, int]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not targets:
            raise ValueError("the balancer needs at least one target")
        self.targets = list(targets)
        self.host = host
        self.port = port
        self.forwarded: dict[tuple[str, int], int] = {}
        self.answered: dict[tuple[str, int], Counter[int]] = {}
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def next_target(self) -> tuple[str, int]:
        target = self.targets[self._next % len(self.targets)]
        self._next += 1
        return target

    async def start(self) -> None:
        # No total timeout: the sender decides how long it waits, as Telegram does.
        self._client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        sock = socket.create_server((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> RoundRobinBalancer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        target = self.next_target()
        self.forwarded[target] = self.forwarded.get(target, 0) + 1
        host, port = target
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED_HEADERS}
        body = await request.read()
        url = f"http://{host}:{port}{request.path_qs}"
        status = 0  # not answered: the sender gave up (cancelled) before the target answered
        try:
            async with self._client.request(
                request.method, url, headers=headers, data=body
            ) as upstream:
                payload = await upstream.read()
                answer_headers = {
                    k: v for k, v in upstream.headers.items() if k.lower() not in _DROPPED_HEADERS
                }
                status = upstream.status
                return web.Response(status=status, body=payload, headers=answer_headers)
        except aiohttp.ClientError as exc:
            log.info("target %s:%s failed: %s", host, port, type(exc).__name__)
            status = 502
            return web.Response(status=502, text="Bad Gateway")
        finally:
            if status:
                self.answered.setdefault(target, Counter())[status] += 1
