"""The fake Telegram delivers webhooks under Telegram's rules, and the balancer in front of
replicas: a tiny aiohttp receiver on 127.0.0.1 records what it gets and answers as told."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.balancer import RoundRobinBalancer
from sandbox.fake_telegram import FakeTelegramServer, FakeWorld
from sandbox.fake_telegram.delivery import UPDATE_TTL_S
from sandbox.fake_telegram.webhook import Attempt, DeliveryRecords, order_key
from tests.sandbox.fake_world import ALICE, ALL_UPDATES, BOB, GROUP, make_world
from tests.support.waiting import eventually

Answer = Callable[[dict[str, Any]], Awaitable[web.Response]]
WITHIN_S = 15.0


async def _ok(update: dict[str, Any]) -> web.Response:
    return web.json_response({})


class Receiver:
    """A webhook endpoint: records each update it gets, answers with ``answer``."""

    def __init__(self, answer: Answer = _ok) -> None:
        self.answer = answer
        self.got: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.arrived: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.open = 0
        self.max_open = 0
        self.open_keys: list[Any] = []
        self.overlapped: list[Any] = []  # order keys that had two requests open at once
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        key = order_key(update)
        if key in self.open_keys:
            self.overlapped.append(key)
        self.open_keys.append(key)
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self.got.append(update)
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.arrived.put_nowait(update)
        try:
            return await self.answer(update)
        finally:
            self.open -= 1
            self.open_keys.remove(key)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.arrived.get(), WITHIN_S)

    @asynccontextmanager
    async def running(self, port: int = 0) -> AsyncIterator[Receiver]:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.port = runner.addresses[0][1]
        try:
            yield self
        finally:
            await runner.cleanup()


@asynccontextmanager
async def fake(world: FakeWorld, **kwargs: Any) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(world, webhook_retry_s=0.01, **kwargs) as server:
        yield server


def set_webhook(world: FakeWorld, url: str, **params: Any) -> None:
    reply = world.call(
        "setWebhook", {"url": url, "allowed_updates": ALL_UPDATES, "secret_token": "s", **params}
    )
    assert reply.body["ok"], reply.body


def webhook_info(world: FakeWorld) -> dict[str, Any]:
    result: dict[str, Any] = world.call("getWebhookInfo", {}).body["result"]
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def private_messages(world: FakeWorld, users: range) -> list[int]:
    """One message from each user in their own private chat: one update per chat."""
    ids = []
    for uid in users:
        world.add_user(uid, f"user{uid}")
        ids.append(world.push_update(world.message_update(uid, uid, "hi")))
    return ids


async def test_requests_in_flight_are_capped_at_max_connections() -> None:
    world = make_world()
    release = asyncio.Event()

    async def held(update: dict[str, Any]) -> web.Response:
        await release.wait()
        return web.json_response({})

    receiver = Receiver(held)
    async with receiver.running(), fake(world) as server:
        set_webhook(world, receiver.url, max_connections=3)
        assert webhook_info(world)["max_connections"] == 3
        ids = private_messages(world, range(500, 510))
        for _ in range(3):
            await receiver.next()
        assert server.deliverer.in_flight == 3 and receiver.open == 3
        assert world.pending_update_count() == 10
        release.set()
        await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    assert sorted(u["update_id"] for u in receiver.got) == ids
    assert receiver.max_open == 3
    assert receiver.secrets == ["s"] * 10


async def test_one_chat_goes_one_at_a_time_in_order_while_others_proceed() -> None:
    world = make_world()
    world.set_member(GROUP, BOB, "member")
    gate = asyncio.Event()
    first = world.message_update(GROUP, ALICE, "a1")

    async def answer(update: dict[str, Any]) -> web.Response:
        if update["update_id"] == first["update_id"]:
            await gate.wait()
        return web.json_response({})

    receiver = Receiver(answer)
    async with receiver.running(), fake(world):
        set_webhook(world, receiver.url)
        group_ids = [world.push_update(first)]
        group_ids += [world.push_update(world.message_update(GROUP, BOB, t)) for t in ("a2", "a3")]
        private_1 = world.push_update(world.message_update(ALICE, ALICE, "p1"))
        arrived = {(await receiver.next())["update_id"] for _ in range(2)}
        assert arrived == {group_ids[0], private_1}
        # the private chat goes on while the group's first update is unanswered
        private_2 = world.push_update(world.message_update(ALICE, ALICE, "p2"))
        assert (await receiver.next())["update_id"] == private_2
        assert [u["update_id"] for u in receiver.got if u["update_id"] in group_ids] == [
            group_ids[0]
        ]
        gate.set()
        await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    group_order = [u["update_id"] for u in receiver.got if order_key(u) == ("chat", GROUP)]
    assert group_order == group_ids
    assert receiver.overlapped == []


async def test_a_500_is_retried_and_counts_as_pending_until_delivered() -> None:
    world = make_world()
    seen_at_retry: list[dict[str, Any]] = []

    async def answer(update: dict[str, Any]) -> web.Response:
        if len(receiver.got) == 1:
            return web.Response(status=500)
        seen_at_retry.append(webhook_info(world))
        return web.json_response({})

    receiver = Receiver(answer)
    async with receiver.running(), fake(world) as server:
        set_webhook(world, receiver.url)
        update_id = world.push_update(world.message_update(GROUP, ALICE, "hello"))
        await receiver.next()
        await receiver.next()
        await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    assert [u["update_id"] for u in receiver.got] == [update_id, update_id]
    record = server.deliverer.records.by_id[update_id]
    assert [a.outcome for a in record.attempts] == ["500", "200"]
    assert record.delivered is record.attempts[-1]
    assert server.deliverer.records.delivered_ids() == {update_id}
    (info,) = seen_at_retry
    assert info["pending_update_count"] == 1
    wrong = "Wrong response from the webhook: 500 Internal Server Error"
    assert info["last_error_message"] == wrong
    assert info["last_error_date"] == world.store.now()


async def test_a_refused_connection_is_retried() -> None:
    world = make_world()
    port = free_port()
    receiver = Receiver()
    async with fake(world) as server:
        set_webhook(world, f"http://127.0.0.1:{port}/hook")
        update_id = world.push_update(world.message_update(GROUP, ALICE, "hello"))
        await eventually(lambda: "Connection refused" in world.webhook_errors, WITHIN_S)
        assert webhook_info(world)["pending_update_count"] == 1
        record = server.deliverer.records.by_id[update_id]
        assert record.delivered is None
        async with receiver.running(port):
            assert (await receiver.next())["update_id"] == update_id
            await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    outcomes = [a.outcome for a in record.attempts]
    assert set(outcomes[:-1]) == {"Connection refused"} and outcomes[-1] == "200"


async def test_an_answer_after_the_timeout_gets_the_update_again() -> None:
    world = make_world()
    again = asyncio.Event()

    async def answer(update: dict[str, Any]) -> web.Response:
        if len(receiver.got) == 1:
            await again.wait()  # answers only once the update came again
        else:
            again.set()
        return web.json_response({})

    receiver = Receiver(answer)
    async with receiver.running(), fake(world, webhook_timeout_s=0.5):
        set_webhook(world, receiver.url)
        update_id = world.push_update(world.message_update(GROUP, ALICE, "slow"))
        await receiver.next()
        await receiver.next()
        await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    assert [u["update_id"] for u in receiver.got[:2]] == [update_id, update_id]
    assert "Read timeout expired" in world.webhook_errors


async def test_an_update_older_than_24_hours_is_dropped() -> None:
    world = make_world()
    receiver = Receiver()
    old = world.push_update(world.message_update(GROUP, ALICE, "old"))
    world.store.clock.advance(UPDATE_TTL_S + 1)  # type: ignore[attr-defined]
    fresh = world.push_update(world.message_update(GROUP, ALICE, "fresh"))
    async with receiver.running(), fake(world) as server:
        set_webhook(world, receiver.url)
        assert (await receiver.next())["update_id"] == fresh
        await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    assert [u["update_id"] for u in receiver.got] == [fresh]
    records = server.deliverer.records
    assert (records.expired_ids(), records.delivered_ids()) == ({old}, {fresh})
    assert world.queue.peak_pending == 2


def test_answer_percentiles_leave_out_the_given_windows() -> None:
    records = DeliveryRecords()
    attempts = [(0, 10.0, 0.1, "200"), (1, 11.0, 0.2, "200"), (2, 12.0, 5.0, "503"),
                (2, 12.1, 9.0, "200"), (3, 14.0, 1.0, "Connection refused")]  # fmt: skip
    for update_id, started, seconds, outcome in attempts:
        records.get(update_id).attempts.append(Attempt(started, seconds, outcome))
    assert sorted(records.answer_times()) == [0.1, 0.2, 9.0]
    assert sorted(records.answer_times(excluding=[(12.0, 13.0)])) == [0.1, 0.2]
    assert records.answer_percentiles(excluding=[(12.0, 13.0)]) == pytest.approx((0.15, 0.199))
    assert (records.delivered_ids(), records.retried_ids()) == ({0, 1, 2}, {2})


def test_update_ids_start_at_the_worlds_offset() -> None:
    world = FakeWorld(first_update_id=700)
    world.add_user(ALICE, "Alice")
    assert world.push_update(world.message_update(ALICE, ALICE, "hi")) == 700
    assert world.push_update({"update_id": 5, "message": {}}) == 701  # ids only grow


async def test_the_balancer_alternates_targets() -> None:
    a, b = Receiver(), Receiver()
    async with a.running(), b.running():
        targets = [("127.0.0.1", a.port), ("127.0.0.1", b.port)]
        async with RoundRobinBalancer(targets) as balancer, aiohttp.ClientSession() as client:
            for n in range(4):
                async with client.post(f"{balancer.url}/hook?x=1", json={"n": n}) as resp:
                    assert resp.status == 200
    assert [u["n"] for u in a.got] == [0, 2]
    assert [u["n"] for u in b.got] == [1, 3]


async def test_a_dead_targets_request_is_retried_onto_the_live_one() -> None:
    world = make_world()
    live = Receiver()
    dead = ("127.0.0.1", free_port())
    async with live.running(), fake(world):
        balancer = RoundRobinBalancer([("127.0.0.1", live.port), dead])
        async with balancer:
            set_webhook(world, f"{balancer.url}/hook", max_connections=1)
            ids = [world.push_update(world.message_update(GROUP, ALICE, t)) for t in "abc"]
            await eventually(lambda: world.pending_update_count() == 0, WITHIN_S)
    assert [u["update_id"] for u in live.got] == ids
    assert balancer.forwarded[dead] >= 1
    assert "Wrong response from the webhook: 502 Bad Gateway" in world.webhook_errors
