"""A fake Telegram Bot API: a scriptable world, an aiohttp server and an in-process session."""

from sandbox.fake_telegram.server import DEFAULT_TOKEN, FakeTelegramServer, create_app
from sandbox.fake_telegram.session import FakeTelegramSession
from sandbox.fake_telegram.world import (
    FAULT_KINDS,
    FakeWorld,
    FaultPlan,
    Reply,
    complete_reply,
    serve_call,
)

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "FakeTelegramServer",
    "FakeTelegramSession",
    "FakeWorld",
    "FaultPlan",
    "Reply",
    "complete_reply",
    "create_app",
    "serve_call",
]
