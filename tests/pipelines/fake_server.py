"""The fake Bot API server on its own event loop in a thread, for assets that run asyncio.run."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.world import FakeWorld


@contextmanager
def serving(world: FakeWorld) -> Iterator[FakeTelegramServer]:
    """``world`` served on 127.0.0.1 until the block ends."""
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
    assert started.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
