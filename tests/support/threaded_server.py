"""The fake Bot API server on its own event loop in a thread, for blocking code under test
(Dagster assets and the pipelines' sync wrappers run ``asyncio.run`` themselves)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.world import FakeWorld


@contextlib.contextmanager
def threaded_server(world: FakeWorld) -> Iterator[FakeTelegramServer]:
    server = FakeTelegramServer(world)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake Bot API server did not start")
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
