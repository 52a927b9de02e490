"""Benchmark: updates/s through the whole bot vs bare aiogram with a no-op handler.

Both sides feed the same pre-validated ``Update`` objects (group text messages from users who
are members of both linked channels) to ``Dispatcher.feed_update`` with an in-process
``FakeTelegramSession`` (no HTTP), yielding to the event loop every 100 updates as a polling
bot does between batches.

* ``bare``: ``Dispatcher()`` with one router and a no-op message handler.
Rounds run in interleaved chunks of 2,000 updates (bare, full, bare, full, ...) so both sides
share the machine's noise.

* ``full``: ``create_dispatcher`` — raw-log middleware (users upsert throttle, ``messages``
  row), admin/callback/channel routers, the gate (config cache, admin cache, membership cache
  warm) and a ``verification_log`` row per message, all through the real ``LogWriter`` on the
  chosen database; each chunk's timing includes a ``flush()``, i.e. until every row is
  committed.

Best of ``--rounds``; prints both rates and the ratio, last line ``dispatch: <full/bare>``.
Target (DESIGN.md): >= 0.6.

    uv run python -m bench.dispatch [--updates 20000] [--rounds 3] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update
from rich.console import Console

from bench._common import run_on_database
from bot.runtime.app import BotRuntime, build_runtime
from bot.storage.config import ChannelInfo
from core.db import create_engine
from core.settings import (
    BotSettings,
    DatabaseSettings,
    GateSettings,
    LogWriterSettings,
    Settings,
)
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramSession, FakeWorld

console = Console(stderr=True)

BOT_ID = int(DEFAULT_TOKEN.split(":", 1)[0])
GROUP = -1001234500001
GROUP_1CH = -1001234500002
CHANNELS = (-1002234500001, -1002234500002, -1002234500003)
CREATOR = 100
YIELD_EVERY = 100
CHUNK = 2000
TARGET = 0.6
"""DESIGN.md: the full stack makes at least this share of bare aiogram's rate."""


@dataclass
class BotStack:
    """The world and the bot runtime (:func:`bot.runtime.app.build_runtime`) running on it."""

    world: FakeWorld
    runtime: BotRuntime

    def __getattr__(self, name: str) -> Any:
        """``bot``, ``dp``, ``writer``, ``engine``, ``services``: the runtime's."""
        return getattr(self.runtime, name)


def make_world(users: int, *, latency_s: float = 0.0) -> FakeWorld:
    """One group linking 3 channels, one linking 1; ``users`` members of every channel."""
    world = FakeWorld(bot_id=BOT_ID, latency_s=latency_s)
    world.add_user(CREATOR, "Creator", username="creator")
    world.add_group(GROUP, "Bench group", creator_id=CREATOR)
    world.add_group(GROUP_1CH, "Bench group, one channel", creator_id=CREATOR)
    for i, channel in enumerate(CHANNELS):
        world.add_channel(channel, f"Channel {i}", username=f"bench_channel_{i}")
    for uid in range(1000, 1000 + users):
        world.add_user(uid, f"U{uid}", username=f"user{uid}")
        for channel in CHANNELS:
            world.set_member(channel, uid, "member")
    return world


@contextlib.asynccontextmanager
async def bot_stack(
    url: str, world: FakeWorld, tmp: Path, *, gate: GateSettings | None = None
) -> AsyncIterator[BotStack]:
    """The whole bot on ``url`` and ``world`` (``gate``: its gate settings); both groups
    protected."""
    settings = Settings(
        db=DatabaseSettings(DATABASE_URL=url),
        bot=BotSettings(token=DEFAULT_TOKEN),
        gate=gate or GateSettings(),
        writer=LogWriterSettings(spool_dir=tmp / "spool"),
    )
    session = FakeTelegramSession(world, token=DEFAULT_TOKEN)
    runtime = await build_runtime(settings, session=session, engine=create_engine(url=url))
    stack = BotStack(world, runtime)
    actor = type("Actor", (), {"id": CREATOR, "username": "creator", "first_name": "C"})()
    infos = [ChannelInfo(c, f"bench_channel_{i}", f"Channel {i}") for i, c in enumerate(CHANNELS)]
    now = stack.services.clock.now()
    await stack.services.repo.protect(GROUP, "Bench", actor, infos, now)
    await stack.services.repo.protect(GROUP_1CH, "Bench 1", actor, infos[:1], now)
    try:
        yield stack
    finally:
        await runtime.close()


def message_updates(world: FakeWorld, n: int, users: int, seed: int = 1) -> list[Update]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        uid = 1000 + rng.randrange(users)
        raw = world.message_update(GROUP, uid, f"message {rng.random():.6f} from {uid}")
        out.append(Update.model_validate(raw))
    return out


async def feed_all(dp: Dispatcher, bot: Bot, updates: list[Update]) -> None:
    for i, update in enumerate(updates, 1):
        await dp.feed_update(bot, update)
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)


def bare_dispatcher() -> Dispatcher:
    router = Router(name="bare")

    async def on_message(message: Message) -> None:
        return None

    router.message.register(on_message)
    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def run(args: argparse.Namespace, url: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(args.users)
        bare_bot = Bot(DEFAULT_TOKEN, session=FakeTelegramSession(world))
        bare = bare_dispatcher()
        async with bot_stack(url, world, Path(tmp)) as stack:
            console.print(f"warming the cache with {args.users} users...")
            await feed_all(stack.dp, stack.bot, message_updates(world, args.users * 3, args.users))
            await stack.services.drain()
            bare_rates, full_rates = [], []
            for rnd in range(1, args.rounds + 1):
                # fresh updates (new update_ids) each round: the bot handles each update once,
                # so a repeated one would be skipped as already handled, not checked
                updates = message_updates(world, args.updates, args.users, seed=rnd)
                chunks = [updates[i : i + CHUNK] for i in range(0, len(updates), CHUNK)]
                # interleaved chunks: both sides see the same share of a noisy machine
                bare_s = full_s = 0.0
                before = stack.services.checker.counters.cached
                for chunk in chunks:
                    started = time.perf_counter()
                    await feed_all(bare, bare_bot, chunk)
                    bare_s += time.perf_counter() - started
                    started = time.perf_counter()
                    await feed_all(stack.dp, stack.bot, chunk)
                    await stack.writer.flush()  # every row committed: logging fully paid for
                    full_s += time.perf_counter() - started
                bare_rates.append(len(updates) / bare_s)
                full_rates.append(len(updates) / full_s)
                cached = stack.services.checker.counters.cached - before
                console.print(
                    f"round {rnd}: bare {bare_rates[-1]:,.0f}/s, full {full_rates[-1]:,.0f}/s "
                    f"(ratio {full_rates[-1] / bare_rates[-1]:.2f}; "
                    f"{cached}/{len(updates)} checks from cache)"
                )
            await stack.services.drain()
            stats = stack.writer.stats.as_dict()
        await bare_bot.session.close()
    best_bare, best_full = max(bare_rates), max(full_rates)
    ratio = best_full / best_bare
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"backend: {backend}, updates per round: {len(updates)}, rounds: {args.rounds}")
    print(f"bare aiogram feed_update (no-op handler): {best_bare:,.0f} updates/s")
    print(f"full stack (gate, warm cache, all logging): {best_full:,.0f} updates/s")
    print(f"log writer: {stats}")
    print(f"target (DESIGN.md): >= {TARGET}x -> {'met' if ratio >= TARGET else 'MISSED'}")
    print(f"dispatch: {ratio:.2f}")
    return ratio


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dispatch",
        description="Full bot stack vs bare aiogram feed_update: updates per second. "
        "Runtime here: about a minute at the defaults.",
    )
    parser.add_argument("--updates", type=int, default=20_000, help="updates per round")
    parser.add_argument("--users", type=int, default=500, help="distinct (member) users")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best one counts")
    run_on_database(
        parser,
        argv,
        run,
        lambda a: a.updates < 100 or a.users < 1 or a.rounds < 1,
        "--updates must be >= 100, --users and --rounds >= 1",
    )


if __name__ == "__main__":
    main()


__all__ = ["BotStack", "bot_stack", "main", "make_world"]
