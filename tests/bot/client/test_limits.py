"""The Telegram client's retries (429 waited out, 5xx retried for read-only methods) and its
outgoing limits (per group per minute, overall per second), all on a ManualClock."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage
from aiogram.types import ChatMemberMember, ChatPermissions

from bot.runtime.client import OutgoingLimiter, create_bot
from core.clock import ManualClock
from core.models import ErrorType
from core.settings import GateSettings
from core.sleep import RecordedSleep
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeTelegramSession
from tests.bot.client.conftest import Recorder, settings_for
from tests.bot.client.world import ALICE, BOB, CHANNEL, GROUP, GROUP2, START, make_world
from tests.support.bots import close_bot


# ---------------------------------------------------------------------------- retries
async def test_retry_after_is_waited_out_and_each_attempt_logged(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: RecordedSleep
) -> None:
    server.world.fail_next("sendMessage", "retry_after", count=2, retry_after=3)
    message = await bot.send_message(GROUP, "after the flood")
    assert message.text == "after the flood"
    assert list(sleeps.waits) == [3.0, 3.0]
    assert [(r["success"], r["error_type"]) for r in recorder.api_calls] == [
        (False, ErrorType.RETRY_AFTER),
        (False, ErrorType.RETRY_AFTER),
        (True, None),
    ]
    assert len(server.world.sent_messages) == 1


async def test_retry_after_gives_up_after_the_bound(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: RecordedSleep
) -> None:
    server.world.fail_next("sendMessage", "retry_after", count=10, retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(GROUP, "never")
    assert list(sleeps.waits) == [1.0, 1.0, 1.0]  # BOT_RETRY_MAX_ATTEMPTS = 3
    assert len(recorder.api_calls) == 4
    server.world.fail_next("getChat", "retry_after", retry_after=3600)
    with pytest.raises(TelegramRetryAfter):  # longer than BOT_RETRY_MAX_WAIT_S: not waited
        await bot.get_chat(GROUP)
    assert list(sleeps.waits) == [1.0, 1.0, 1.0]


async def test_transient_errors_retry_only_read_only_methods(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: RecordedSleep
) -> None:
    server.world.fail_next("getChatMember", "server_error")
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)
    assert list(sleeps.waits) == [0.5]
    server.world.fail_next("sendMessage", "server_error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(GROUP, "not repeated: it might have been sent")
    server.world.fail_next("restrictChatMember", "server_error")  # the same mute again: safe
    assert await bot.restrict_chat_member(GROUP, BOB, ChatPermissions(can_send_messages=False))
    assert [r["error_type"] for r in recorder.api_calls] == [
        ErrorType.TELEGRAM_ERROR,
        None,
        ErrorType.TELEGRAM_ERROR,
        ErrorType.TELEGRAM_ERROR,
        None,
    ]


# ---------------------------------------------------------------------------- limits
async def _send_many(limiter: OutgoingLimiter, chats: list[int], clock: ManualClock) -> list[float]:
    """Push sends through the limiter; returns the clock time each one went out."""
    sent_at: list[float] = []

    async def make_request(bot: Any, method: Any) -> Any:
        sent_at.append(clock.monotonic())
        return True

    for chat_id in chats:
        await limiter(make_request, None, SendMessage(chat_id=chat_id, text="x"))  # type: ignore[arg-type]
    return sent_at


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


async def test_limiter_caps_messages_per_group_per_minute(
    clock: ManualClock, sleeps: RecordedSleep
) -> None:
    limiter = OutgoingLimiter.from_settings(GateSettings(), clock=clock, sleep=sleeps)
    assert limiter.per_chat_per_minute == 20 and limiter.global_per_second == 30
    times = await _send_many(limiter, [GROUP] * 45, clock)
    assert len(times) == 45
    assert _max_in_window(times, 60.0) == 20
    assert times[19] == 0.0 and times[20] >= 60.0 and times[40] >= 120.0
    assert sum(sleeps.waits) >= 120.0  # all of it on the ManualClock, none of it real
    # another group is not held back by the first one's minute
    other = await _send_many(limiter, [GROUP2], clock)
    assert other[0] == clock.monotonic() and len(sleeps.waits) == len(limiter.waits)


async def test_limiter_caps_messages_per_second_overall(
    clock: ManualClock, sleeps: RecordedSleep
) -> None:
    limiter = OutgoingLimiter(clock=clock, sleep=sleeps, global_per_second=30)
    chats = [-1001700000000 - n for n in range(100)]  # 100 groups, one message each
    times = await _send_many(limiter, chats, clock)
    assert _max_in_window(times, 1.0) == 30
    assert times[-1] >= 3.0
    # private chats and non-sending methods are not limited per group, only overall
    limiter2 = OutgoingLimiter(clock=clock, sleep=sleeps, per_chat_per_minute=1)
    times2 = await _send_many(limiter2, [ALICE] * 5, clock)
    assert len(set(times2)) == 1


async def test_limiter_default_sleep_advances_a_manual_clock(clock: ManualClock) -> None:
    limiter = OutgoingLimiter(clock=clock, per_chat_per_minute=2)
    times = await _send_many(limiter, [GROUP] * 3, clock)
    assert times[2] - times[0] >= 60.0
    assert limiter.waits and clock.now() >= START + dt.timedelta(seconds=60)

    # concurrent waiters sleep *until* the same moment: the shared clock moves once, not 3x
    sent_at: list[float] = []

    async def make_request(bot: Any, method: Any) -> Any:
        sent_at.append(clock.monotonic())
        return True

    limiter = OutgoingLimiter(clock=clock, per_chat_per_minute=1)
    start = clock.monotonic()
    await asyncio.gather(
        *(
            limiter(make_request, None, SendMessage(chat_id=-1001800000000 - n, text="x"))  # type: ignore[arg-type]
            for n in range(3)
        ),
        *(
            limiter(make_request, None, SendMessage(chat_id=GROUP2, text="x"))  # type: ignore[arg-type]
            for _ in range(2)
        ),
    )
    assert len(sent_at) == 5
    assert clock.monotonic() - start == pytest.approx(60.0, abs=0.01)


async def test_limiter_on_the_real_bot(
    server: FakeTelegramServer, recorder: Recorder, clock: ManualClock, sleeps: RecordedSleep
) -> None:
    gate = GateSettings(group_messages_per_minute=3)
    bot = create_bot(settings_for(server), recorder, clock=clock, gate=gate, sleep=sleeps)
    try:
        for n in range(7):
            await bot.send_message(GROUP, f"message {n}")
    finally:
        await close_bot(bot)
    assert len(server.world.sent_messages) == 7
    assert len([w for w in sleeps.waits if w > 0]) == 2
    assert clock.monotonic() >= 120.0


async def test_limiter_keeps_the_bot_under_telegram_flood_control(
    recorder: Recorder, clock: ManualClock, sleeps: RecordedSleep
) -> None:
    """The fake enforces Telegram's 20 a minute per group: bare aiogram hits a 429, the
    limited client never does."""
    flooded = make_world()
    flooded.clock = clock
    flooded.enforce_flood_limits = True
    bare = Bot(DEFAULT_TOKEN, session=FakeTelegramSession(flooded))
    for n in range(20):
        await bare.send_message(GROUP, f"bare {n}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bare.send_message(GROUP, "one too many")
    assert info.value.retry_after == 60

    world = make_world()
    world.clock = clock
    world.enforce_flood_limits = True
    session = FakeTelegramSession(world, sleep=sleeps)
    bot = create_bot(settings_for(None), recorder, clock=clock, session=session, sleep=sleeps)
    for n in range(45):
        await bot.send_message(GROUP if n % 3 else GROUP2, f"limited {n}")
    assert len(world.sent_messages) == 45
    assert all(row["success"] for row in recorder.api_calls)
    assert len(recorder.api_calls) == 45
