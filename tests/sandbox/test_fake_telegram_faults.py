"""Errors and faults of the fake Bot API: they must look like Telegram's, as aiogram sees them;
injected faults, latency and their randomness are deterministic for a seed, and cost no wall
time in the in-process session.
"""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import ChatMemberMember

from core.clock import ManualClock
from sandbox.fake_telegram import (
    DEFAULT_TOKEN,
    FakeTelegramServer,
    FakeTelegramSession,
    FakeWorld,
    FaultPlan,
)
from sandbox.fake_telegram.scenarios import DEMO_GROUP_ID, build_world
from tests.sandbox.fake_world import (
    ALICE,
    BOB,
    CHANNEL,
    FOREIGN,
    GROUP,
    PRIVATE_CHANNEL,
    START,
    http_bot,
    make_world,
)
from tests.support.bots import close_bot


async def test_error_replies_look_like_telegram(
    bot: Bot, world: FakeWorld, server: FakeTelegramServer
) -> None:
    with pytest.raises(TelegramBadRequest, match="member list is inaccessible"):
        await bot.get_chat_member(FOREIGN, ALICE)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(-100999, ALICE)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat("@no_such_channel")
    world.kick_bot(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hello?")
    world.remove_chat(CHANNEL)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat_member(CHANNEL, BOB)

    stranger = http_bot(server, token="999:WRONG-token-of-someone-else-xxxxxxx")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await close_bot(stranger)

    async with aiohttp.ClientSession() as http:
        url = f"{server.base_url}/bot{DEFAULT_TOKEN}/noSuchMethod"
        async with http.post(url) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        url = f"{server.base_url}/bot{DEFAULT_TOKEN}/getchatmembercount"
        async with http.post(url, json={"chat_id": PRIVATE_CHANNEL}) as resp:
            # method names ignore case, JSON bodies work; only the bot is in the private channel
            assert await resp.json() == {"ok": True, "result": 1}


@pytest.mark.parametrize(
    ("kind", "exception", "text"),
    [
        ("retry_after", TelegramRetryAfter, "Too Many Requests: retry after 7"),
        ("forbidden", TelegramForbiddenError, "Forbidden: bot is not a member of the channel"),
        ("chat_not_found", TelegramBadRequest, "Bad Request: chat not found"),
        ("bad_request", TelegramBadRequest, "Bad Request: PARTICIPANT_ID_INVALID"),
        ("server_error", TelegramServerError, "Internal Server Error"),
    ],
)
async def test_fail_next_raises_the_real_aiogram_exception(
    bot: Bot, world: FakeWorld, kind: str, exception: type[Exception], text: str
) -> None:
    world.fail_next("getChatMember", kind, retry_after=7)
    with pytest.raises(exception, match=text) as info:
        await bot.get_chat_member(CHANNEL, BOB)
    if kind == "retry_after":
        assert isinstance(info.value, TelegramRetryAfter) and info.value.retry_after == 7
    # only the next call failed
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)


async def test_forbidden_fault_texts_follow_the_chat(bot: Bot, world: FakeWorld) -> None:
    expected = {
        ALICE: "Forbidden: bot was blocked by the user",
        CHANNEL: "Forbidden: bot is not a member of the channel chat",
        GROUP: "Forbidden: bot was kicked from the supergroup chat",
    }
    for chat_id, text in expected.items():
        world.fail_next("sendMessage", "forbidden")
        with pytest.raises(TelegramForbiddenError, match=text):
            await bot.send_message(chat_id, "hi")


async def test_timeout_fault_times_the_client_out(server: FakeTelegramServer) -> None:
    bot = http_bot(server, timeout=0.3)
    try:
        server.world.fail_next("getChat", "timeout")
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await bot.get_chat(GROUP)
        assert (await bot.get_chat(GROUP)).id == GROUP
    finally:
        await close_bot(bot)


async def test_latency_and_slow_replies_still_answer(bot: Bot, world: FakeWorld) -> None:
    world.latency_s = 0.01
    world.fail_next("getChatMemberCount", "slow")
    world.faults.slow_s = 0.05
    assert await bot.get_chat_member_count(GROUP) == 4
    assert world.injected_faults == [("getChatMemberCount", "slow")]


def test_fault_plan_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[tuple[str, str]]:
        world = make_world(faults=FaultPlan(rate=0.3, seed=seed))
        for _ in range(200):
            world.call("getChatMember", {"chat_id": str(CHANNEL), "user_id": str(BOB)})
            world.call("getMe", {})
        return world.injected_faults

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 <= len(first) <= 90  # about 30% of 200 getChatMember calls, none on getMe
    assert {method for method, _ in first} == {"getChatMember"}
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(rate=0.1, kinds=("meteor",))
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate=1.5)


def test_latency_spread_is_seeded() -> None:
    def draws(seed: int) -> list[float]:
        world = FakeWorld(seed=seed, latency_s=0.05, latency_spread=0.5)
        return [world.call("getMe", {}).delay_s for _ in range(50)]

    first = draws(3)
    assert first == draws(3) and first != draws(4)
    assert len(set(first)) == 50 and all(d > 0 for d in first)
    assert FakeWorld(latency_s=0.05).call("getMe", {}).delay_s == 0.05


def test_scripting_mistakes_are_refused() -> None:
    world = make_world()
    with pytest.raises(ValueError, match="unknown status"):
        world.set_member(GROUP, ALICE, "vip")
    with pytest.raises(ValueError, match="unknown fault kind"):
        world.fail_next("getChat", "meteor")
    with pytest.raises(KeyError):
        world.join_update(-5, ALICE)
    with pytest.raises(ValueError, match="unknown scenario"):
        build_world("nope")
    assert build_world("demo").chat(DEMO_GROUP_ID)["type"] == "supergroup"


async def test_in_process_session_timeouts_and_latency_cost_no_wall_time() -> None:
    clock = ManualClock(START)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    world = make_world(latency_s=0.25)
    session = FakeTelegramSession(world, sleep=sleep, instant_timeouts=True, timeout=30)
    bot = Bot(DEFAULT_TOKEN, session=session)
    assert (await bot.get_chat(GROUP)).id == GROUP
    world.fail_next("getChat", "timeout")
    with pytest.raises(TelegramNetworkError, match="Request timeout error"):
        await bot.get_chat(GROUP)
    assert sleeps == [0.25]
    with pytest.raises(TelegramUnauthorizedError):
        await Bot("1:" + "x" * 30, session=FakeTelegramSession(world, token=DEFAULT_TOKEN)).get_me()
