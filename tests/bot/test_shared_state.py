"""Bot replicas sharing state through a real Redis (``REDIS_URL``): two runtimes in one test,
one Telegram world, one database, one ManualClock.

These run in the SQLite pass only (the database is incidental here; the three-process test in
``tests/e2e/test_replicas.py`` covers PostgreSQL): they take a copy of the migrated SQLite
template rather than ``db_url``, so that they are not marked ``db``.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.gate.join_requests import RequestCallback
from bot.runtime.app import build_runtime
from bot.runtime.client import OutgoingLimiter
from bot.storage.shared.client import SharedRedis
from core.clock import ManualClock
from core.db import create_engine
from core.settings import RedisSettings
from sandbox.fake_telegram import FakeTelegramSession
from sandbox.redis import TempRedis
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOT_ID,
    CH_DEALS,
    CH_NEWS,
    GROUP,
    START,
    TOKEN,
    Harness,
    Pair,
    make_settings,
    make_world,
)
from tests.support.pg import ENV_URL

ERIN, FRANK = 2005, 2006


@pytest.fixture
def sqlite_url(_template_db: str, tmp_path: Path) -> str:
    if os.environ.get(ENV_URL):
        pytest.skip("Redis tests run in the SQLite pass")
    path = tmp_path / "gatepulse.db"
    shutil.copyfile(_template_db, path)
    return f"sqlite+aiosqlite:///{path}"


async def _pair(
    db_url: str, tmp_path: Path, redis_url: str, shared: SharedRedis | None = None, **gate: Any
) -> AsyncIterator[Pair]:
    clock = ManualClock(START)
    world = make_world(clock=clock)
    for user, name in ((ERIN, "Erin"), (FRANK, "Frank")):
        world.add_user(user, name)
    settings = make_settings(db_url, tmp_path, **gate)
    settings.redis = RedisSettings(REDIS_URL=redis_url)
    engine = create_engine(url=db_url)

    def session() -> FakeTelegramSession:
        return FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)

    first = await build_runtime(settings, clock=clock, session=session(), engine=engine)
    second = await build_runtime(
        settings, clock=clock, session=session(), engine=engine, writer=first.writer
    )
    try:
        yield Pair(Harness(world, first, clock), Harness(world, second, clock))
    finally:
        await second.close()
        await first.close()


@pytest.fixture
async def pair(sqlite_url: str, tmp_path: Path, redis_url: str) -> AsyncIterator[Pair]:
    async for p in _pair(sqlite_url, tmp_path, redis_url, raid_joins=6):
        yield p


async def test_one_replica_asks_telegram_and_the_other_answers_from_the_shared_cache(
    pair: Pair,
) -> None:
    await pair.a.protect()
    first = await pair.a.services.checker.check(ALICE, GROUP, "message", bot=pair.a.bot)
    second = await pair.b.services.checker.check(ALICE, GROUP, "message", bot=pair.b.bot)
    assert (first.failed, first.cached) == (True, False)
    assert (second.failed, second.cached) == (True, True)
    assert [c.id for c in second.missing] == [CH_NEWS, CH_DEALS]
    assert pair.calls("getChatMember", user_id=ALICE) == 2  # one per channel, by replica a
    await pair.b.services.cache.invalidate_user(ALICE)
    third = await pair.a.services.checker.check(ALICE, GROUP, "message", bot=pair.a.bot)
    assert third.cached is False  # forgotten for every replica (a's own copy too)
    assert pair.calls("getChatMember", user_id=ALICE) == 4


async def test_a_join_reported_to_two_replicas_is_handled_once(pair: Pair) -> None:
    await pair.a.protect()
    world = pair.world
    # ALICE: chat_member to a first; ERIN: the message to a first (held for its twin on b)
    alice_member = world.join_update(GROUP, ALICE, invite_link_name="promo")
    alice_message = world.new_members_update(GROUP, [ALICE])
    erin_member = world.join_update(GROUP, ERIN, invite_link_name="spring")
    erin_message = world.new_members_update(GROUP, [ERIN])
    await pair.a.feed(alice_member)
    await pair.b.feed(alice_message)
    await pair.a.feed(erin_message)
    await pair.b.feed(erin_member)
    await pair.b.drain()

    for user in (ALICE, ERIN):
        assert pair.calls("restrictChatMember", user_id=user) == 1
        events = await pair.a.rows("gate_events", user_id=user)
        assert [e["event"] for e in events] == ["muted", "prompted"]
        assert len(await pair.a.rows("verification_log", user_id=user)) == 1
    joins = await pair.a.rows("member_events", event="join")
    assert [(j["user_id"], j["invite_link_name"]) for j in joins] == [
        (ALICE, "promo"),
        (ERIN, "spring"),  # written by b, the twin, with the link a could not know
    ]
    assert len(pair.a.sent_to(GROUP)) == 2  # one prompt each
    assert await pair.a.services.joins.settle(everything=True) == 0  # b took ERIN's row

    client = pair.a.services.shared
    assert client is not None
    keys = [k async for k in client.client.scan_iter(match=f"gatepulse:{BOT_ID}:*")]
    assert keys, "the replicas wrote nothing to Redis"
    for key in keys:  # every key expires
        assert await client.client.pttl(key) > 0, key


async def test_the_send_budget_is_one_for_every_replica(redis_url: str) -> None:
    clock = ManualClock(START)
    shared = [SharedRedis(redis_url, bot_id=BOT_ID) for _ in range(2)]
    limiters = [OutgoingLimiter(clock=clock, shared=s) for s in shared]
    try:
        # 20 messages a minute into one group, taken in turns by two replicas
        waits = [await limiters[i % 2].acquire(GROUP) for i in range(20)]
        assert waits == [0.0] * 20
        assert await limiters[0].acquire(GROUP) == 60.0  # the 21st waits a minute, on either
        # 30 messages a second overall (private chats: no per-chat window)
        clock.advance(120)
        waits = [await limiters[i % 2].acquire(ALICE + i) for i in range(30)]
        assert waits == [0.0] * 30
        assert await limiters[1].acquire(ERIN) == 1.0
    finally:
        for s in shared:
            await s.close()


async def test_the_raid_counter_and_its_lockdown_are_shared(pair: Pair) -> None:
    await pair.a.protect()
    world = pair.world
    joiners = list(range(3001, 3007))
    for user in joiners:
        world.add_user(user, f"Joiner {user}")
    for i, user in enumerate(joiners):  # 6 joins in a minute, three on each replica
        await (pair.a if i % 2 else pair.b).feed(world.join_update(GROUP, user))
    notices = [
        e["detail"]
        for e in await pair.a.rows("gate_events", event="prompted")
        if e["user_id"] is None
    ]
    assert notices == [
        {
            "raid_lockdown": "started",
            "joins": 6,
            "lang": "en",
            "message_id": notices[0]["message_id"],
        }
    ]
    muted = await pair.a.rows("gate_events", user_id=joiners[-1], event="muted")
    assert muted[0]["detail"]["raid"] is True
    pair.a.clock.advance(601)  # the lockdown (600 s) is over: the next event on any replica
    await pair.b.feed(world.message_update(GROUP, ADMIN, "hello"))
    await pair.a.feed(world.message_update(GROUP, ADMIN, "hello again"))
    phases = [
        e["detail"]["raid_lockdown"]
        for e in await pair.a.rows("gate_events", event="prompted")
        if e["user_id"] is None
    ]
    assert phases == ["started", "ended"]  # one end, however many replicas see it


async def test_join_requests_are_pending_for_every_replica(pair: Pair) -> None:
    await pair.a.protect()
    world = pair.world
    await pair.a.feed(world.join_request_update(GROUP, ALICE))
    await pair.a.feed(world.join_request_update(GROUP, ERIN))
    (prompt,) = pair.a.sent_to(ALICE)
    for channel in (CH_NEWS, CH_DEALS):
        world.set_member(channel, ALICE, "member")
    press = RequestCallback(group_id=GROUP).pack()
    await pair.b.feed(world.callback_update(ALICE, ALICE, press, message_id=prompt["message_id"]))
    pair.a.clock.advance(601)  # past GATE_JOIN_REQUEST_TIMEOUT_S: ERIN's request is due
    sweeps = [pair.b.services.join_requests, pair.a.services.join_requests]
    assert [await s.sweep(r.bot) for s, r in zip(sweeps, (pair.b, pair.a), strict=True)] == [1, 0]
    events = [(e["event"], e["user_id"]) for e in await pair.a.rows("gate_events")]
    assert events == [
        ("join_request", ALICE),
        ("join_request", ERIN),
        ("clicked", ALICE),
        ("approved", ALICE),  # on b, though a received the request
        ("expired", ERIN),  # by one replica's sweep
        ("declined", ERIN),
    ]


async def test_reaction_totals_chain_across_replicas(pair: Pair) -> None:
    world = pair.world
    snapshots = [{"👍": 3, "🔥": 1}, {"👍": 5, "🔥": 0}, {"👍": 5}, {"👍": 4, "🔥": 2}]
    for i, counts in enumerate(snapshots):  # a, b, a, b: each against the other's last totals
        await (pair.b if i % 2 else pair.a).feed(world.reaction_count_update(CH_NEWS, 7, counts))
    rows = await pair.a.rows("reaction_events")
    assert [(r["added"], r["removed"]) for r in rows] == [(4, 0), (2, 1), (2, 1)]


async def test_redis_killed_mid_run_falls_back_then_shares_again(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage.shared.client")
    with TempRedis() as server:  # its own server: this one is killed
        async for pair in _pair(sqlite_url, tmp_path, server.url()):
            await _outage(pair.a, server, caplog)  # one replica is enough here


async def _outage(bot: Harness, server: TempRedis, caplog: pytest.LogCaptureFixture) -> None:
    client = bot.runtime.services.shared
    assert client is not None
    now = [0.0]
    client.timer = lambda: now[0]  # the circuit breaker on a timer moved by hand
    world = bot.world
    await bot.protect()
    await bot.feed(world.join_update(GROUP, ALICE))  # Redis up
    server.stop()
    for user in (ERIN, FRANK):  # Redis down: gated on local state, nothing fails
        await bot.feed(world.join_update(GROUP, user))
        await bot.feed(world.new_members_update(GROUP, [user]))  # its twin: still once
        now[0] += 10.0  # past the breaker's pause: the next call tries Redis again
    status = await _status(bot)
    assert "Shared state: Redis at" in status and "UNREACHABLE" in status
    for user in (ALICE, ERIN, FRANK):
        events = await bot.rows("gate_events", user_id=user)
        assert [e["event"] for e in events] == ["muted", "prompted"]
        assert len(await bot.rows("member_events", user_id=user)) == 1
        assert len(await bot.rows("verification_log", user_id=user)) == 1
    server.start()
    now[0] += 10.0
    world.add_user(3100, "Gina")
    await bot.feed(world.join_update(GROUP, 3100))
    assert client.up
    async with aioredis.Redis(port=server.port) as direct:
        assert await direct.exists(client.key("join", GROUP, 3100)) == 1
    said = [r.getMessage() for r in caplog.records if r.name == "bot.storage.shared.client"]
    where = f"127.0.0.1:{server.port}/0"
    assert len(said) == 2, said  # once when it went, once when it came back
    assert said[0].startswith(f"Redis at {where} unreachable (ConnectionError)")
    assert said[1] == f"Redis at {where} is back after 30 s: replicas share state again"
    assert "(ok)" in await _status(bot)


async def _status(bot: Harness) -> str:
    before = len(bot.sent_to(GROUP))
    await bot.feed(bot.world.message_update(GROUP, ADMIN, "/status"))
    return "\n".join(m.get("text", "") for m in bot.sent_to(GROUP)[before:])


async def test_during_an_outage_no_replica_trusts_its_own_stale_no(
    sqlite_url: str, tmp_path: Path
) -> None:
    """a cached "ALICE is in no channel" (its own copy too); Redis goes down; she joins the
    channels and b sees it. a must ask Telegram rather than answer its stale "no" (the
    rehearsal muted a verified member again that way); a "yes" it still serves alone."""
    with TempRedis() as server:
        async for pair in _pair(sqlite_url, tmp_path, server.url()):
            await pair.a.protect()
            first = await pair.a.services.checker.check(ALICE, GROUP, "message", bot=pair.a.bot)
            assert first.failed and pair.calls("getChatMember", user_id=ALICE) == 2
            server.stop()
            for channel in (CH_NEWS, CH_DEALS):
                pair.world.set_member(channel, ALICE, "member")
            again = await pair.a.services.checker.check(ALICE, GROUP, "message", bot=pair.a.bot)
            assert again.passed and not again.cached  # asked Telegram: 2 more calls
            assert pair.calls("getChatMember", user_id=ALICE) == 4
            cached = await pair.a.services.checker.check(ALICE, GROUP, "message", bot=pair.a.bot)
            assert cached.passed and cached.cached  # its own fresh "yes" serves
