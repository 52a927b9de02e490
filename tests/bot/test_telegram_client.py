"""The Telegram client factory: API-call logging, error classification, limits, retries.

The bot is the real aiogram Bot on the real AiohttpSession against the fake server on
127.0.0.1 (or on the in-process FakeTelegramSession where only the middlewares matter). Waits
go through a recorded ``sleep`` and a ManualClock: nothing here really waits for a limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import socket
import types
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetChat, SendMessage
from aiogram.types import ChatMemberMember, ChatPermissions

import bot.telegram as bot_telegram
from bot.telegram import (
    ApiCallLogger,
    OutgoingLimiter,
    classify_error,
    create_bot,
    error_message,
    redact,
    simulated_timer,
)
from core.clock import ManualClock
from core.db import Base
from core.models import ApiCallLog, ErrorType
from core.settings import BotSettings, GateSettings
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeTelegramSession, FakeWorld

GROUP = -1001600000001
GROUP2 = -1001600000002
CHANNEL = -1002600000001
OWNER, ALICE, BOB = 31, 41, 42
START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
SECRET_PART = DEFAULT_TOKEN.split(":", 1)[1]


async def close_bot(bot: Bot) -> None:
    """Close the bot's HTTP session without AiohttpSession's 0.25 s wait for TLS shutdown
    (plain HTTP on 127.0.0.1 has none)."""
    inner = getattr(bot.session, "_session", None)
    if inner is not None and not inner.closed:
        await inner.close()
    else:
        await bot.session.close()


class Recorder:
    """A stand-in for the log writer: remembers every put."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def put(self, table: type[Base], /, **columns: Any) -> None:
        self.rows.append((table.__tablename__, columns))

    @property
    def api_calls(self) -> list[dict[str, Any]]:
        return [row for table, row in self.rows if table == "api_call_log"]


class Sleeps:
    """A sleep that records each wait and advances a ManualClock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def make_world() -> FakeWorld:
    world = FakeWorld(clock=ManualClock(START))
    world.add_user(OWNER, "Owner")
    world.add_user(ALICE, "Alice")
    world.add_user(BOB, "Bob")
    world.add_group(GROUP, "Group", creator_id=OWNER)
    world.add_group(GROUP2, "Group two", creator_id=OWNER)
    world.add_channel(CHANNEL, "Channel", username="the_channel")
    world.set_member(CHANNEL, BOB, "member")
    world.set_member(GROUP, ALICE, "member")
    return world


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sleeps(clock: ManualClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(make_world()) as srv:
        yield srv


def settings_for(server: FakeTelegramServer | None, **extra: Any) -> BotSettings:
    values: dict[str, Any] = {"request_timeout_s": 5.0}
    if server is not None:
        values["api_base"] = server.base_url
    values.update(extra)
    return BotSettings(**values)


@pytest.fixture
async def bot(
    server: FakeTelegramServer, recorder: Recorder, clock: ManualClock, sleeps: Sleeps
) -> AsyncIterator[Bot]:
    bot = create_bot(settings_for(server), recorder, clock=clock, sleep=sleeps)
    yield bot
    await close_bot(bot)


# ---------------------------------------------------------------------------- classification
def test_classify_error_maps_every_aiogram_failure() -> None:
    method = GetChat(chat_id=1)
    cases: list[tuple[BaseException, ErrorType | None]] = [
        (TelegramRetryAfter(method, "Too Many Requests: retry after 5", 5), ErrorType.RETRY_AFTER),
        (TelegramForbiddenError(method, "Forbidden: bot was blocked by the user"), "Forbidden"),
        (TelegramBadRequest(method, "Bad Request: chat not found"), ErrorType.CHAT_NOT_FOUND),
        (TelegramBadRequest(method, "Bad Request: CHAT NOT FOUND"), ErrorType.CHAT_NOT_FOUND),
        (TelegramBadRequest(method, "Bad Request: message to delete not found"), "BadRequest"),
        (TelegramNetworkError(method, "Request timeout error"), ErrorType.NETWORK_ERROR),
        (TimeoutError(), ErrorType.NETWORK_ERROR),
        (aiohttp.ClientConnectionError("refused"), ErrorType.NETWORK_ERROR),
        (TelegramServerError(method, "Internal Server Error"), ErrorType.TELEGRAM_ERROR),
        (TelegramNotFound(method, "Not Found"), ErrorType.TELEGRAM_ERROR),
        (TelegramUnauthorizedError(method, "Unauthorized"), ErrorType.TELEGRAM_ERROR),
        (ClientDecodeError("Failed to deserialize object", ValueError(), {}), "TelegramError"),
        (ValueError("not from Telegram"), None),
    ]
    for exc, expected in cases:
        assert classify_error(exc) == expected, exc


def test_error_messages_are_redacted_and_truncated() -> None:
    long = TelegramBadRequest(GetChat(chat_id=1), f"Bad Request: {DEFAULT_TOKEN} " + "x" * 2000)
    text = error_message(long, DEFAULT_TOKEN)
    assert len(text) == 512
    assert SECRET_PART not in text and "<token>" in text
    assert redact("url /bot987654321:AAE-abcdefghijklmnopqrstuvwxyz0123/getMe") == (
        "url /bot<token>/getMe"
    )


# ---------------------------------------------------------------------------- logging
async def test_every_call_logs_one_row(bot: Bot, recorder: Recorder, clock: ManualClock) -> None:
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)
    await bot.send_message(GROUP, "hello")
    await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions(can_send_messages=False))
    await bot.get_chat("@the_channel")
    rows = recorder.api_calls
    assert [r["method"] for r in rows] == [
        "getChatMember",
        "sendMessage",
        "restrictChatMember",
        "getChat",
    ]
    assert [(r["chat_id"], r["user_id"]) for r in rows] == [
        (CHANNEL, BOB),
        (GROUP, None),
        (GROUP, ALICE),
        (None, None),  # a @username is not a chat id
    ]
    for row in rows:
        assert row["success"] is True and row["error_type"] is None
        assert row["error_message"] is None
        assert row["latency_ms"] > 0  # wall time, although the clock stands still
        assert row["timestamp"] == START == clock.now()


@pytest.mark.parametrize(
    ("kind", "exception", "error_type"),
    [
        ("retry_after", TelegramRetryAfter, ErrorType.RETRY_AFTER),
        ("forbidden", TelegramForbiddenError, ErrorType.FORBIDDEN),
        ("chat_not_found", TelegramBadRequest, ErrorType.CHAT_NOT_FOUND),
        ("bad_request", TelegramBadRequest, ErrorType.BAD_REQUEST),
        ("server_error", TelegramServerError, ErrorType.TELEGRAM_ERROR),
        ("timeout", TelegramNetworkError, ErrorType.NETWORK_ERROR),
    ],
)
async def test_each_fault_kind_is_logged_with_its_error_type(
    server: FakeTelegramServer,
    recorder: Recorder,
    clock: ManualClock,
    kind: str,
    exception: type[Exception],
    error_type: ErrorType,
) -> None:
    no_retries = OutgoingLimiter(clock=clock, max_retries=0, transient_retries=0)
    bot = create_bot(
        settings_for(server, request_timeout_s=0.3), recorder, clock=clock, limiter=no_retries
    )
    try:
        server.world.fail_next("sendMessage", kind)
        with pytest.raises(exception):
            await bot.send_message(GROUP, "hello")
    finally:
        await close_bot(bot)
    [row] = recorder.api_calls
    assert row["method"] == "sendMessage" and row["chat_id"] == GROUP
    assert row["success"] is False
    assert row["error_type"] == error_type
    assert row["error_message"] and SECRET_PART not in row["error_message"]


async def test_unreachable_server_is_a_network_error(recorder: Recorder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    bot = create_bot(
        settings_for(None, api_base=f"http://127.0.0.1:{port}", request_timeout_s=2), recorder
    )
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.get_me()
    finally:
        await close_bot(bot)
    rows = recorder.api_calls  # getMe is read-only: one retry (BOT_TRANSIENT_RETRIES=1)
    assert [(r["method"], r["success"], r["error_type"]) for r in rows] == [
        ("getMe", False, ErrorType.NETWORK_ERROR)
    ] * 2


async def test_middlewares_run_on_the_in_process_session(
    recorder: Recorder, clock: ManualClock, sleeps: Sleeps
) -> None:
    world = make_world()
    session = FakeTelegramSession(world, sleep=sleeps, instant_timeouts=True)
    bot = create_bot(settings_for(None), recorder, clock=clock, session=session, sleep=sleeps)
    world.fail_next("getChatMember", "chat_not_found")
    with pytest.raises(TelegramBadRequest):
        await bot.get_chat_member(CHANNEL, BOB)
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)
    assert [r["error_type"] for r in recorder.api_calls] == [ErrorType.CHAT_NOT_FOUND, None]


async def test_simulated_timer_counts_played_latency(
    recorder: Recorder, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real-time half of the timer, frozen but for a fixed 3 ms between two readings: the
    # latency then is exactly the played 200 ms plus those 3 ms, however busy the machine.
    readings = itertools.count()
    real_time = types.SimpleNamespace(perf_counter=lambda: 1000.0 + 0.003 * next(readings))
    monkeypatch.setattr(bot_telegram, "time", real_time)
    world = make_world()
    world.latency_s = 0.2
    sleeps = Sleeps(clock)
    session = FakeTelegramSession(world, sleep=sleeps)
    bot = create_bot(
        settings_for(None), recorder, clock=clock, session=session, timer=simulated_timer(clock)
    )
    await bot.get_chat(GROUP)
    [row] = recorder.api_calls
    assert sleeps.waits == [0.2]
    assert next(readings) == 2  # read once before the call and once after it
    assert row["latency_ms"] == pytest.approx(203.0)


# ---------------------------------------------------------------------------- retries
async def test_retry_after_is_waited_out_and_each_attempt_logged(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: Sleeps
) -> None:
    server.world.fail_next("sendMessage", "retry_after", count=2, retry_after=3)
    message = await bot.send_message(GROUP, "after the flood")
    assert message.text == "after the flood"
    assert sleeps.waits == [3.0, 3.0]
    assert [(r["success"], r["error_type"]) for r in recorder.api_calls] == [
        (False, ErrorType.RETRY_AFTER),
        (False, ErrorType.RETRY_AFTER),
        (True, None),
    ]
    assert len(server.world.sent_messages) == 1


async def test_retry_after_gives_up_after_the_bound(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: Sleeps
) -> None:
    server.world.fail_next("sendMessage", "retry_after", count=10, retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(GROUP, "never")
    assert sleeps.waits == [1.0, 1.0, 1.0]  # BOT_RETRY_MAX_ATTEMPTS = 3
    assert len(recorder.api_calls) == 4
    server.world.fail_next("getChat", "retry_after", retry_after=3600)
    with pytest.raises(TelegramRetryAfter):  # longer than BOT_RETRY_MAX_WAIT_S: not waited
        await bot.get_chat(GROUP)
    assert sleeps.waits == [1.0, 1.0, 1.0]


async def test_transient_errors_retry_only_read_only_methods(
    bot: Bot, server: FakeTelegramServer, recorder: Recorder, sleeps: Sleeps
) -> None:
    server.world.fail_next("getChatMember", "server_error")
    assert isinstance(await bot.get_chat_member(CHANNEL, BOB), ChatMemberMember)
    assert sleeps.waits == [0.5]
    server.world.fail_next("sendMessage", "server_error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(GROUP, "not repeated: it might have been sent")
    assert [r["error_type"] for r in recorder.api_calls] == [
        ErrorType.TELEGRAM_ERROR,
        None,
        ErrorType.TELEGRAM_ERROR,
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
    clock: ManualClock, sleeps: Sleeps
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


async def test_limiter_caps_messages_per_second_overall(clock: ManualClock, sleeps: Sleeps) -> None:
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
    server: FakeTelegramServer, recorder: Recorder, clock: ManualClock, sleeps: Sleeps
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
    recorder: Recorder, clock: ManualClock, sleeps: Sleeps
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


# ---------------------------------------------------------------------------- token & factory
async def test_token_never_reaches_logs_or_error_messages(
    caplog: pytest.LogCaptureFixture, server: FakeTelegramServer, recorder: Recorder
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = create_bot(settings_for(server, request_timeout_s=0.3), recorder)
    world = server.world
    raised: list[BaseException] = []
    try:
        for kind in ("chat_not_found", "forbidden", "server_error", "timeout", "bad_request"):
            world.fail_next("restrictChatMember", kind)
            try:
                await bot.restrict_chat_member(GROUP, ALICE, ChatPermissions())
            except Exception as exc:
                raised.append(exc)
        await bot.get_me()
    finally:
        await close_bot(bot)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = create_bot(settings_for(None, api_base=f"http://127.0.0.1:{port}"), recorder)
    try:
        with pytest.raises(TelegramNetworkError) as info:
            await offline.get_me()
        raised.append(info.value)
    finally:
        await close_bot(offline)

    assert len(raised) == 6
    assert "Bot API restrictChatMember failed" in caplog.text  # the failures were logged
    assert SECRET_PART not in caplog.text
    for exc in raised:
        assert SECRET_PART not in str(exc)
    for row in recorder.api_calls:
        assert SECRET_PART not in str(row)


def test_create_bot_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="BOT_TOKEN is not a bot token"):
        create_bot(BotSettings(token="not a token"))
    for base in ("localhost:8081", "http://", "ftp://example.org", "http://[::1"):
        with pytest.raises(ValueError, match="BOT_API_BASE must be an http"):
            create_bot(BotSettings(api_base=base))


async def test_exceptions_leaving_the_client_carry_no_token(recorder: Recorder) -> None:
    """Even an error whose text holds the request URL (aiohttp's InvalidURL) is scrubbed."""
    url = f"http://127.0.0.1:1/bot{DEFAULT_TOKEN}/getMe"

    async def make_request(bot: Any, method: Any) -> Any:
        try:
            raise aiohttp.InvalidURL(url)
        except aiohttp.ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"InvalidURL: {exc}") from exc

    logger = ApiCallLogger(recorder, token=DEFAULT_TOKEN)
    with pytest.raises(TelegramNetworkError) as info:
        await logger(make_request, None, GetChat(chat_id=GROUP))  # type: ignore[arg-type]
    assert SECRET_PART not in str(info.value) and "<token>" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    [row] = recorder.api_calls
    assert row["error_type"] == ErrorType.NETWORK_ERROR
    assert SECRET_PART not in row["error_message"]


async def test_real_log_writer_stores_api_calls(
    db_url: str, server: FakeTelegramServer, clock: ManualClock, tmp_path: Any
) -> None:
    from core.db import create_engine
    from core.log_writer import LogWriter
    from core.settings import LogWriterSettings

    engine = create_engine(url=db_url)
    try:
        writer_settings = LogWriterSettings(spool_dir=tmp_path / "spool", flush_interval_s=0.05)
        async with LogWriter(engine, writer_settings) as writer:
            bot = create_bot(settings_for(server), writer, clock=clock)
            try:
                await bot.get_chat_member(CHANNEL, BOB)
                server.world.fail_next("sendMessage", "forbidden")
                with pytest.raises(TelegramForbiddenError):
                    await bot.send_message(GROUP, "hi")
            finally:
                await close_bot(bot)
            await writer.flush()
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        ApiCallLog.method,
                        ApiCallLog.chat_id,
                        ApiCallLog.user_id,
                        ApiCallLog.success,
                        ApiCallLog.error_type,
                        ApiCallLog.timestamp,
                    ).order_by(ApiCallLog.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(r[:5]) for r in rows] == [
        ("getChatMember", CHANNEL, BOB, True, None),
        ("sendMessage", GROUP, None, False, "Forbidden"),
    ]
    assert all(r.timestamp == START for r in rows)
