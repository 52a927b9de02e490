"""Each update handled once across replicas, however Telegram delivers it again (issue 25, 3a).

Two webhook replicas (``a``, ``b``) of one bot share one world, one database, one log writer
and one Redis (or a Redis that is down: the database's ``update_claims`` decides). Telegram's
redelivery is played by feeding the same update again; a replica "killed" mid-request is a
handler task cancelled while a Bot API call of its is held (:class:`PausingSession`). Nothing
here sleeps: the held call and the ManualClock set the timing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web

from bot.gate.actions import JoinedCallback
from bot.runtime.app import build_runtime, create_webhook_app
from bot.runtime.claims import UpdateClaims
from core.clock import ManualClock
from core.db import create_engine
from core.settings import BotSettings, LogWriterSettings, RedisSettings
from sandbox.fake_telegram import FakeTelegramSession, FakeWorld
from sandbox.redis import TempRedis
from tests.bot.conftest import (
    ALICE,
    BOB,
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

SECRET = "exactly-once-secret"
PATH = "/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
LEASE_S = 15.0


class PausingSession(FakeTelegramSession):
    """The fake session, able to hold the next call of one Bot API method until released."""

    def __init__(self, world: FakeWorld) -> None:
        super().__init__(world, token=TOKEN, instant_timeouts=True)
        self.hold: str | None = None
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    def pause_at(self, method: str) -> None:
        self.hold = method
        self.reached.clear()
        self.release.clear()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        if method.__api_method__ == self.hold:
            self.hold = None
            self.reached.set()
            await self.release.wait()
        return await super().make_request(bot, method, timeout)


@dataclass
class Replicas(Pair):
    """Two webhook replicas; ``a`` talks through a :class:`PausingSession`."""

    a_session: PausingSession
    clock: ManualClock

    async def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        await self.b.drain()
        return await self.a.rows(table, **where)

    async def events(self, user_id: int) -> list[str]:
        return [e["event"] for e in await self.rows("gate_events", user_id=user_id)]

    async def start_on_a(self, update: Mapping[str, Any], pause_at: str) -> asyncio.Task[Any]:
        """``a`` handles ``update`` in a task of its own, held at its first ``pause_at``
        (returned once it got there)."""
        self.a_session.pause_at(pause_at)
        task = asyncio.create_task(self.a.feed(update))
        await self.a_session.reached.wait()
        return task

    async def kill_a_at(self, update: Mapping[str, Any], pause_at: str) -> None:
        """``a`` dies while it handles ``update``, at its first ``pause_at`` call (which
        never leaves): its request goes unanswered."""
        task = await self.start_on_a(update, pause_at)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _dead_redis_url() -> str:
    with socket.socket() as s:  # a port nobody listens on: every Redis call fails
        s.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{s.getsockname()[1]}/0"


async def _replicas(db_url: str, tmp_path: Path, redis_url: str) -> AsyncIterator[Replicas]:
    clock = ManualClock(START)
    world = make_world(clock=clock)
    settings = make_settings(db_url, tmp_path)
    settings.bot = BotSettings(
        token=TOKEN,
        request_timeout_s=5.0,
        mode="webhook",
        health_interval_s=0,
        update_lease_s=LEASE_S,
    )
    settings.redis = RedisSettings(REDIS_URL=redis_url)
    engine = create_engine(url=db_url)
    a_session = PausingSession(world)
    first = await build_runtime(settings, clock=clock, session=a_session, engine=engine)
    second = await build_runtime(
        settings,
        clock=clock,
        session=FakeTelegramSession(world, token=TOKEN, instant_timeouts=True),
        engine=engine,
        writer=first.writer,
    )
    try:
        yield Replicas(
            Harness(world, first, clock), Harness(world, second, clock), a_session, clock
        )
    finally:
        a_session.release.set()
        await second.close()
        await first.close()


@pytest.fixture
async def replicas(db_url: str, tmp_path: Path, redis_url: str) -> AsyncIterator[Replicas]:
    async for r in _replicas(db_url, tmp_path, redis_url):
        yield r


@pytest.fixture
async def replicas_without_redis(db_url: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    async for r in _replicas(db_url, tmp_path, _dead_redis_url()):
        yield r


@pytest.fixture
async def webhook_b(replicas: Replicas) -> AsyncIterator[str]:
    """``b`` behind its real aiohttp webhook app."""
    app = create_webhook_app(replicas.b.dp, replicas.b.bot, path=PATH, secret=SECRET)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        await runner.cleanup()


async def _assert_gated_once(
    r: Replicas, user_id: int, events: tuple[str, ...] = ("muted", "prompted")
) -> None:
    """One check, one mute, one prompt (and one of each ``gate_events`` row)."""
    assert r.calls("restrictChatMember", user_id=user_id) == 1
    assert await r.events(user_id) == list(events)
    assert len(await r.rows("verification_log", user_id=user_id)) == 1
    assert len([m for m in r.world.sent_messages if m["chat"]["id"] == GROUP]) == 1


async def test_an_update_answered_by_a_and_delivered_again_to_b_is_skipped(
    replicas: Replicas,
) -> None:
    r = replicas
    await r.a.protect()
    join = r.world.join_update(GROUP, ALICE, invite_link_name="promo")
    message = r.world.message_update(GROUP, BOB, "hello")  # BOB is in both channels
    for update in (join, message):
        await r.a.feed(update)
        await r.b.feed(update)  # a's answer was lost: Telegram delivers it again, to b

    await _assert_gated_once(r, ALICE)
    assert r.calls("getChatMember", user_id=ALICE) == 2  # one per channel, by a only
    joins = await r.rows("member_events", event="join")
    assert [(j["user_id"], j["invite_link_name"]) for j in joins] == [(ALICE, "promo")]
    assert len(await r.rows("messages", user_id=BOB)) == 1
    assert len(await r.rows("verification_log", user_id=BOB)) == 1
    claims = [m for m in r.b.dp.update.outer_middleware if isinstance(m, UpdateClaims)]
    assert [(c.skipped_done, c.skipped_busy) for c in claims] == [(2, 0)]


async def test_an_update_sent_to_b_while_a_works_on_it_is_answered_503(
    replicas: Replicas, webhook_b: str
) -> None:
    r = replicas
    await r.a.protect()
    message = r.world.message_update(GROUP, ALICE, "let me in")  # ALICE subscribed nowhere
    on_a = await r.start_on_a(message, "getChatMember")
    async with aiohttp.ClientSession() as client:
        async with client.post(webhook_b, json=message, headers={HEADER: SECRET}) as resp:
            assert resp.status == 503  # Telegram delivers it again later
            assert resp.headers["Retry-After"] == "1"
        r.a_session.release.set()
        await on_a
        async with client.post(webhook_b, json=message, headers={HEADER: SECRET}) as resp:
            assert resp.status == 200  # by then a has done it: nothing more happens

    await _assert_gated_once(r, ALICE, ("muted", "message_deleted", "prompted"))
    assert r.calls("getChatMember", user_id=ALICE) == 2
    assert r.calls("deleteMessage") == 1
    assert len(await r.rows("messages", user_id=ALICE)) == 1


@pytest.mark.parametrize("report", ["chat_member", "new_chat_members"])
async def test_a_join_whose_replica_dies_mid_request_is_finished_by_the_other(
    replicas: Replicas, report: str
) -> None:
    r = replicas
    await r.a.protect()
    if report == "chat_member":
        join = r.world.join_update(GROUP, ALICE, invite_link_name="promo")
    else:
        join = r.world.new_members_update(GROUP, [ALICE])
    await r.kill_a_at(join, "restrictChatMember")  # a checked her; the mute never left

    await r.b.feed(join)  # Telegram delivers it again, to b: b does the whole work
    await r.b.services.joins.settle(everything=True)
    await r.a.services.joins.settle(everything=True)  # (a's held row: b's by now)

    await _assert_gated_once(r, ALICE)
    assert r.a.muted(GROUP, ALICE)
    assert len(await r.rows("member_events", event="join", user_id=ALICE)) == 1
    if report == "new_chat_members":
        assert len(await r.rows("messages", user_id=ALICE)) == 1
    await r.b.feed(join)  # and once more: done, skipped
    assert r.calls("restrictChatMember", user_id=ALICE) == 1


async def test_the_twin_report_on_b_does_not_steal_the_join_of_a_dead_replica(
    replicas: Replicas,
) -> None:
    r = replicas
    await r.a.protect()
    member = r.world.join_update(GROUP, ALICE, invite_link_name="promo")
    message = r.world.new_members_update(GROUP, [ALICE])
    await r.kill_a_at(member, "restrictChatMember")
    await r.b.feed(message)  # the twin: the join is claimed by a's update, not by this one
    assert r.calls("restrictChatMember", user_id=ALICE) == 0
    await r.b.feed(member)  # a's update again: it wins its own claim back
    await r.b.drain()
    await _assert_gated_once(r, ALICE)
    joins = await r.rows("member_events", event="join", user_id=ALICE)
    assert [j["invite_link_name"] for j in joins] == ["promo"]


async def test_with_redis_down_the_database_deduplicates(
    replicas_without_redis: Replicas,
) -> None:
    r = replicas_without_redis
    await r.a.protect()
    join = r.world.join_update(GROUP, ALICE)
    await r.a.feed(join)
    await r.b.feed(join)
    await _assert_gated_once(r, ALICE)
    claims = await r.rows("update_claims")
    assert [(c["update_id"], c["done_at"] is not None) for c in claims] == [
        (join["update_id"], True)
    ]

    # busy while a holds it; after a's lease lapses (a died silently), b takes it over
    message = r.world.message_update(GROUP, BOB, "hi")
    on_a = await r.start_on_a(message, "getChatMember")
    assert await r.b.feed(message) is None
    assert len(await r.rows("messages", user_id=BOB)) == 0  # b skipped it: busy
    r.clock.advance(LEASE_S + 1)
    await r.b.feed(message)
    on_a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await on_a
    assert len(await r.rows("messages", user_id=BOB)) == 1
    assert len(await r.rows("verification_log", user_id=BOB)) == 1
    await r.a.feed(message)  # done in the database: skipped
    assert len(await r.rows("messages", user_id=BOB)) == 1


async def test_update_claims_are_pruned_after_the_keep_window(
    replicas_without_redis: Replicas,
) -> None:
    r = replicas_without_redis
    await r.a.protect()
    await r.a.feed(r.world.message_update(GROUP, BOB, "hi"))
    ledger = r.a.services.updates
    assert len(await r.rows("update_claims")) == 1
    assert await ledger.prune() == 0  # kept for a day
    r.clock.advance(ledger.keep_s + LEASE_S + 1)
    assert await ledger.prune() == 1
    assert await r.rows("update_claims") == []


async def test_without_redis_one_process_skips_a_redelivered_update(harness: Harness) -> None:
    h = harness
    await h.protect()
    message = h.world.message_update(GROUP, ALICE, "let me in")
    await h.feed(message)
    await h.feed(message)  # the answer was lost: delivered again, to the same process
    assert sum(1 for m, _ in h.world.calls if m == "restrictChatMember") == 1
    assert len(await h.rows("messages", user_id=ALICE)) == 1
    assert len(await h.rows("verification_log", user_id=ALICE)) == 1


@pytest.mark.parametrize(("flush", "rows_at_answer"), [(False, 0), (True, 1)])
async def test_update_flush_writes_an_updates_rows_before_it_is_answered(
    db_url: str, tmp_path: Path, flush: bool, rows_at_answer: int
) -> None:
    clock = ManualClock(START)
    world = make_world(clock=clock)
    settings = make_settings(db_url, tmp_path)
    settings.bot = BotSettings(token=TOKEN, health_interval_s=0, update_flush=flush)
    settings.writer = LogWriterSettings(
        flush_interval_s=3600, spool_dir=tmp_path / "spool", retry_max_s=0.5
    )  # the writer flushes nothing on its own meanwhile
    session = FakeTelegramSession(world, token=TOKEN, instant_timeouts=True)
    runtime = await build_runtime(settings, clock=clock, session=session)
    try:
        message = world.message_update(GROUP, BOB, "hello")
        await runtime.dp.feed_update(runtime.bot, Update.model_validate(message))
        async with runtime.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(sa.table("messages")))
        assert count == rows_at_answer
    finally:
        await runtime.close()


def _breakers_by_hand(r: Replicas) -> list[float]:
    """The replicas' Redis circuit breakers on one timer, moved by hand: ``now[0] += s``."""
    now = [0.0]
    for h in (r.a, r.b):
        client = h.services.shared
        assert client is not None
        client.timer = lambda: now[0]
    return now


async def test_an_update_done_while_redis_was_down_stays_done_when_it_is_back(
    db_url: str, tmp_path: Path
) -> None:
    with TempRedis() as server:  # its own server: this one is stopped
        async for r in _replicas(db_url, tmp_path, server.url()):
            now = _breakers_by_hand(r)
            await r.a.protect()
            message = r.world.message_update(GROUP, BOB, "during the outage")
            other = r.world.message_update(GROUP, BOB, "also during it")
            server.stop()
            await r.a.feed(message)  # busy: a lease in the Redis just lost may still live
            assert not await r.rows("messages", telegram_message_id=_sent(message))
            now[0] += LEASE_S  # any such lease has moved to the database by now
            await r.a.feed(message)  # Telegram delivers it again: claimed and done there
            await r.b.feed(other)  # b's first try meets the outage: busy, then taken
            now[0] += LEASE_S
            await r.b.feed(other)
            server.start()
            now[0] += 60.0  # past the breakers' pause: Redis is used again
            await r.b.feed(message)  # new to Redis, done in the database: skipped
            shared = r.b.services.shared
            assert shared is not None and shared.up
            sent = message["message"]["message_id"]
            assert len(await r.rows("messages", telegram_message_id=sent)) == 1
            assert len(await r.rows("messages", user_id=BOB)) == 2


async def test_an_update_done_in_redis_stays_done_when_redis_restarts_empty_or_is_down(
    db_url: str, tmp_path: Path
) -> None:
    """The completion is durable: a redelivery after Redis lost its records (a restart without
    persistence) or while Redis is down finds it in the database (the rehearsal's doubled
    message: done through Redis, Redis stopped, delivered again to the other replica)."""
    with TempRedis() as server:
        async for r in _replicas(db_url, tmp_path, server.url()):
            now = _breakers_by_hand(r)
            await r.a.protect()
            restarted = r.world.message_update(GROUP, BOB, "before the restart")
            down = r.world.message_update(GROUP, BOB, "before the outage")
            await r.a.feed(restarted)  # claimed and done in Redis (and the database)
            await r.a.feed(down)
            server.stop()  # a restart without persistence: Redis comes back empty
            server.start()
            await r.b.feed(restarted)  # new to Redis, done in the database: skipped
            server.stop()
            now[0] += 60.0
            await r.b.feed(down)  # Redis down: the database says done
            for update in (restarted, down):
                sent = update["message"]["message_id"]
                assert len(await r.rows("messages", telegram_message_id=sent)) == 1
            assert len(await r.rows("verification_log", user_id=BOB)) == 2


def _sent(update: Mapping[str, Any]) -> int:
    return int(update["message"]["message_id"])


async def test_a_lease_held_in_redis_moves_to_the_database_when_redis_goes_down(
    db_url: str, tmp_path: Path
) -> None:
    """a takes an update through Redis; Redis goes down while a works on it. Delivered again
    to b, it is busy (first while a lease in the lost Redis may live, then because a moved its
    lease into the database at its renewal); a finishes it once (the rehearsal's doubled
    message: b took it from the database while a still worked)."""
    with TempRedis() as server:
        async for r in _replicas(db_url, tmp_path, server.url()):
            now = _breakers_by_hand(r)
            await r.a.protect()
            message = r.world.message_update(GROUP, ALICE, "slow one")  # ALICE: no channel
            on_a = await r.start_on_a(message, "getChatMember")
            server.stop()
            assert await r.b.feed(message) is None  # busy: the lost Redis may hold its lease
            ledger = r.a.services.updates
            held = ledger.live[message["update_id"]]
            assert held.where == "redis"
            assert await ledger.renew(held)  # a's renewal meets Redis down: still a's
            assert held.where == "db"
            now[0] += LEASE_S  # past b's deferral: the database answers now
            assert await r.b.feed(message) is None  # busy: a holds it in the database
            r.a_session.release.set()
            await on_a
            await r.b.feed(message)  # done
            assert len(await r.rows("messages", telegram_message_id=_sent(message))) == 1
            assert len(await r.rows("verification_log", user_id=ALICE)) == 1


async def test_a_press_that_meets_the_database_down_is_checked_on_redelivery(
    replicas: Replicas,
) -> None:
    """In webhook mode a press whose mute state cannot be read fails its update (its rows
    dropped, its lease released): Telegram delivers it again, and then it unmutes once."""
    r = replicas
    await r.a.protect()
    await r.a.feed(r.world.join_update(GROUP, ALICE))
    prompt = r.world.sent_messages[-1]["message_id"]
    for channel in (CH_NEWS, CH_DEALS):
        r.world.set_member(channel, ALICE, "member")
    state = r.a.services.state
    real = state.gate_mute_active

    async def down(user_id: int, group_id: int) -> bool | None:
        state.gate_mute_active = real  # type: ignore[method-assign]  # back for the next try
        raise OSError("the database is down")

    state.gate_mute_active = down  # type: ignore[method-assign]
    press = r.world.callback_update(
        GROUP, ALICE, JoinedCallback(user_id=ALICE).pack(), message_id=prompt
    )
    await r.a.feed(press)  # the update fails (logged): its webhook request is answered 503
    assert r.a.muted(GROUP, ALICE)
    assert not [e for e in await r.rows("gate_events", user_id=ALICE) if e["event"] == "clicked"]
    await r.b.feed(press)  # delivered again
    assert not r.a.muted(GROUP, ALICE)
    checks = await r.rows("verification_log", user_id=ALICE)
    assert [c["trigger"] for c in checks] == ["join", "callback"]
    clicks = [e for e in await r.rows("gate_events", user_id=ALICE) if e["event"] == "clicked"]
    assert [c["detail"]["result"] for c in clicks] == ["passed"]  # the failed try left no row
