"""The Telegram client factory: error classification, one ``api_call_log`` row per attempt,
no token anywhere, the factory's checks."""

from __future__ import annotations

import itertools
import logging
import socket
import types
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
from aiogram.methods import GetChat
from aiogram.types import ChatMemberMember, ChatPermissions

import bot.runtime.client as bot_telegram
from bot.runtime.client import (
    ApiCallLogger,
    OutgoingLimiter,
    classify_error,
    create_bot,
    error_message,
    redact,
    simulated_timer,
)
from core.clock import ManualClock
from core.models import ApiCallLog, ErrorType
from core.settings import BotSettings
from core.sleep import RecordedSleep, clock_sleep
from sandbox.fake_telegram import DEFAULT_TOKEN, FakeTelegramServer, FakeTelegramSession
from tests.bot.client.conftest import Recorder, settings_for
from tests.bot.client.world import ALICE, BOB, CHANNEL, GROUP, SECRET_PART, START, make_world
from tests.support.bots import close_bot


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
    recorder: Recorder, clock: ManualClock, sleeps: RecordedSleep
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
    sleeps = RecordedSleep(clock_sleep(clock))
    session = FakeTelegramSession(world, sleep=sleeps)
    bot = create_bot(
        settings_for(None), recorder, clock=clock, session=session, timer=simulated_timer(clock)
    )
    await bot.get_chat(GROUP)
    [row] = recorder.api_calls
    assert list(sleeps.waits) == [0.2]
    assert next(readings) == 2  # read once before the call and once after it
    assert row["latency_ms"] == pytest.approx(203.0)


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
            # a 5xx mute is tried once more (it changes nothing when repeated): fail both
            world.fail_next("restrictChatMember", kind, count=2 if kind == "server_error" else 1)
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
            rows = (await conn.execute(sa.select(ApiCallLog).order_by(ApiCallLog.id))).all()
    finally:
        await engine.dispose()
    assert [(r.method, r.chat_id, r.user_id, r.success, r.error_type) for r in rows] == [
        ("getChatMember", CHANNEL, BOB, True, None),
        ("sendMessage", GROUP, None, False, "Forbidden"),
    ]
    assert all(r.timestamp == START for r in rows)
