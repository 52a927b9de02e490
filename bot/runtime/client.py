"""The Telegram client factory: one aiogram ``Bot`` for the bot and the pipelines alike.

:func:`create_bot` builds the bot on an ``AiohttpSession`` pointed at ``BOT_API_BASE`` (or on a
session you pass, e.g. :class:`sandbox.fake_telegram.FakeTelegramSession`) and registers two request
middlewares on it, outermost first:

1. :class:`OutgoingLimiter` — Telegram's outgoing limits (at most ``group_messages_per_minute``
   messages a minute into one group, ``global_messages_per_second`` a second overall) for the
   message-sending methods, and retries: a 429 ``RetryAfter`` is waited out and retried a
   bounded number of times (every method but ``getUpdates``: a 429 means nothing was done); a
   5xx or connection error is retried for read-only methods only (never a timeout).
2. :class:`ApiCallLogger` — times every attempt with ``time.perf_counter`` (real wall time, also
   under a ManualClock) and writes one ``api_call_log`` row per attempt through the log writer,
   stamped with ``clock.now()``; ``error_type`` comes from :func:`classify_error`.

The session's JSON decoder is :func:`bot.storage.reactions.tolerant_loads`: a reaction of a type
this aiogram does not know would otherwise make a whole ``getUpdates`` batch unreadable, forever.

Simulations on a ManualClock: pass ``clock=manual_clock`` and either no ``sleep`` (the limiter
then *advances the ManualClock* to the end of each wait instead of sleeping) or your own
``sleep`` coroutine. Waits cost no wall time either way. With the system clock the default sleep
is ``asyncio.sleep``. To have latency that a FakeTelegramSession plays on the ManualClock show in
``latency_ms``, pass ``timer=simulated_timer(clock)``.

The bot token never reaches a log line or an ``error_message``: every message is passed through
:func:`redact` first, and exceptions leaving the client are scrubbed (:func:`scrub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    DetailedAiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.utils.token import TokenValidationError, validate_token

from bot.storage.reactions import tolerant_loads
from bot.storage.shared.client import SharedRedis
from bot.storage.shared.ratelimit import SharedRateLimiter
from core.clock import Clock, SystemClock
from core.models import ApiCallLog, ErrorType
from core.ratelimit import Rate, RateLimiter
from core.retry import Retry, RetryPolicy
from core.settings import BotSettings, GateSettings
from core.sleep import RecordedSleep, Sleep, sleep_for

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger("gatepulse.telegram")

ERROR_MESSAGE_MAX = 512

#: Methods that post a message into a chat: these count against Telegram's outgoing limits.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendAudio",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)
#: Writes that leave Telegram in the same state when repeated: retried after a 5xx or a
#: connection error like the read-only methods (a mute that failed on Telegram's side would
#: leave a newcomer free to write; sending a message again could post it twice: not here).
IDEMPOTENT_WRITES = frozenset(
    {"restrictChatMember", "banChatMember", "unbanChatMember", "deleteMessage"}
)
#: Never retried here: the poller has its own back-off.
NO_RETRY_METHODS = frozenset({"getUpdates", "logOut", "close"})
#: Safe to repeat after a 5xx or a connection error (they change nothing).
READ_ONLY_METHODS = frozenset(
    {
        "getMe",
        "getChat",
        "getChatMember",
        "getChatMemberCount",
        "getChatAdministrators",
        "getWebhookInfo",
        "getMyCommands",
        "getFile",
        "getUserProfilePhotos",
    }
)
_TOKEN_LIKE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


class RowSink(Protocol):
    """What the middleware needs of a log writer (``core.log_writer.LogWriter`` fits).

    Rows go in typed, as ``put(ApiCallLog, method=..., ...)``.
    """

    def put(self, table: type[ApiCallLog], /, **columns: Any) -> None: ...


# ---------------------------------------------------------------------------- errors
def classify_error(exc: BaseException) -> ErrorType | None:
    """The ``error_type`` for an exception from a Bot API call (None if it is not one)."""
    if isinstance(exc, TelegramRetryAfter):
        return ErrorType.RETRY_AFTER
    if isinstance(exc, TelegramForbiddenError):
        return ErrorType.FORBIDDEN
    if isinstance(exc, TelegramBadRequest):
        if "chat not found" in exc.message.lower():
            return ErrorType.CHAT_NOT_FOUND
        return ErrorType.BAD_REQUEST
    if isinstance(exc, TelegramNetworkError | TimeoutError | aiohttp.ClientError | ConnectionError):
        return ErrorType.NETWORK_ERROR
    if isinstance(exc, TelegramAPIError | AiogramError):
        return ErrorType.TELEGRAM_ERROR
    return None


def redact(text: str, token: str | None = None) -> str:
    """``text`` without the bot token (nor anything shaped like one)."""
    if token:
        text = text.replace(token, "<token>")
    return _TOKEN_LIKE.sub("<token>", text)


def error_message(exc: BaseException, token: str | None = None) -> str:
    """A short, token-free description of ``exc`` (Telegram's own text when there is one)."""
    if isinstance(exc, TelegramAPIError | AiogramError):
        text = str(getattr(exc, "message", "") or exc)
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError | asyncio.TimeoutError) and not str(exc):
        text = "Request timeout error"
    return redact(text, token)[:ERROR_MESSAGE_MAX]


def scrub(exc: BaseException, token: str | None) -> None:
    """Remove the token from ``exc`` in place, should a message carry it (e.g. an aiohttp
    ``InvalidURL`` holding the request URL): its message is redacted and a cause that mentions
    the token is dropped, so that handlers logging the exception cannot leak it."""
    if isinstance(exc, DetailedAiogramError) and isinstance(exc.message, str):
        exc.message = redact(exc.message, token)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and ((token and token in str(cause)) or _TOKEN_LIKE.search(str(cause))):
        exc.__cause__ = None
        exc.__suppress_context__ = True


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


# ---------------------------------------------------------------------------- API call log
class ApiCallLogger(BaseRequestMiddleware):
    """One ``api_call_log`` row per Bot API request: method, chat_id, user_id, success,
    latency_ms (wall time), error_type, error_message, timestamp (``clock.now()``)."""

    def __init__(
        self,
        writer: RowSink | None,
        *,
        clock: Clock | None = None,
        token: str | None = None,
        exclude: Collection[str] = (),
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.writer = writer
        self.clock: Clock = clock or SystemClock()
        self.token = token
        self.exclude = frozenset(exclude)
        self.timer = timer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        started = self.timer()
        try:
            response = await make_request(bot, method)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._record(bot, method, started, exc)
            scrub(exc, self.token or bot.token)
            raise
        self._record(bot, method, started, None)
        return response

    def _record(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        started: float,
        exc: BaseException | None,
    ) -> None:
        name = method.__api_method__
        latency_ms = (self.timer() - started) * 1000.0
        token = self.token or bot.token
        error_type = None
        message = None
        if exc is not None:
            error_type = classify_error(exc) or ErrorType.TELEGRAM_ERROR
            message = error_message(exc, token)
            log.warning(
                "Bot API %s failed after %.1f ms: %s: %s", name, latency_ms, error_type, message
            )
        if self.writer is None or name in self.exclude:
            return
        self.writer.put(
            ApiCallLog,
            method=name,
            chat_id=_int_or_none(getattr(method, "chat_id", None)),
            user_id=_int_or_none(getattr(method, "user_id", None)),
            success=exc is None,
            latency_ms=round(latency_ms, 3),
            error_type=str(error_type) if error_type else None,
            error_message=message,
            timestamp=self.clock.now(),
        )


# ---------------------------------------------------------------------------- limits
def simulated_timer(clock: Clock) -> Callable[[], float]:
    """A latency timer for simulations: real elapsed time plus the time a ManualClock was moved
    meanwhile (e.g. by a FakeTelegramSession whose ``sleep`` advances it to play latency)."""

    def _timer() -> float:
        return clock.monotonic() + time.perf_counter()

    return _timer


class OutgoingLimiter(BaseRequestMiddleware):
    """Telegram's outgoing limits and safe retries, as a request middleware.

    Sliding windows (:class:`core.ratelimit.RateLimiter`) on ``clock.monotonic()``: at most
    ``per_chat_per_minute`` sends into one group (chat ids < 0 or ``@names``) in any 60 s and
    ``global_per_second`` sends in any 1 s. Retries follow one :class:`core.retry.RetryPolicy`
    per method. Every wait goes through ``sleep`` and is recorded in ``waits`` (the latest,
    seconds) and ``waited_s`` (the total); ``retries`` counts retried attempts.
    """

    def __init__(
        self,
        *,
        per_chat_per_minute: int = 20,
        global_per_second: int = 30,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        max_retries: int = 3,
        max_retry_wait_s: float = 60.0,
        transient_retries: int = 1,
        transient_backoff_s: float = 0.5,
        limited_methods: Collection[str] = SEND_METHODS,
        shared: SharedRedis | None = None,
    ) -> None:
        """``shared``: Redis, where the windows are kept for every replica of the token
        (:class:`bot.storage.shared.ratelimit.SharedRateLimiter`; in-process while it is down)."""
        if per_chat_per_minute < 1 or global_per_second < 1:
            raise ValueError("message limits must be at least 1")
        self.per_chat_per_minute = per_chat_per_minute
        self.global_per_second = global_per_second
        self.clock: Clock = clock or SystemClock()
        self.sleep: Sleep = sleep if sleep is not None else sleep_for(self.clock)
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.transient_retries = transient_retries
        self.transient_backoff_s = transient_backoff_s
        self.limited_methods = frozenset(limited_methods)
        self.recorded = RecordedSleep(self.sleep)  # every wait, limit or retry
        self.retries = 0
        rates = (Rate(global_per_second, 1.0), Rate(per_chat_per_minute, 60.0, per_key=True))
        self.rates: RateLimiter | SharedRateLimiter = RateLimiter(
            *rates, clock=self.clock, sleep=self.recorded
        )
        if shared is not None:
            self.rates = SharedRateLimiter(shared, self.rates, rates)

    @classmethod
    def from_settings(
        cls,
        gate: GateSettings,
        bot: BotSettings | None = None,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        shared: SharedRedis | None = None,
    ) -> OutgoingLimiter:
        bot = bot or BotSettings.model_construct()
        return cls(
            per_chat_per_minute=gate.group_messages_per_minute,
            global_per_second=gate.global_messages_per_second,
            clock=clock,
            sleep=sleep,
            max_retries=bot.retry_max_attempts,
            max_retry_wait_s=bot.retry_max_wait_s,
            transient_retries=bot.transient_retries,
            shared=shared,
        )

    @property
    def waits(self) -> deque[float]:
        """The latest waits (seconds), for inspection."""
        return self.recorded.waits

    @property
    def waited_s(self) -> float:
        """All the time waited, for limits and retries."""
        return self.recorded.waited_s

    async def _retry_wait(self, seconds: float) -> None:
        self.retries += 1
        await self.recorded(seconds)

    async def acquire(self, chat_id: int | str | None) -> float:
        """Wait until one more message may go into ``chat_id``; returns the seconds waited."""
        key = chat_id if isinstance(chat_id, str) or (chat_id is not None and chat_id < 0) else None
        return await self.rates.acquire(key)

    def policy(self, method: str) -> RetryPolicy:
        """The retries of ``method``: a 429 is waited out (up to ``max_retries`` times, when
        Telegram asks for at most ``max_retry_wait_s``) but for the methods in
        ``NO_RETRY_METHODS``; a 5xx or connection error (not a timeout) is retried after a
        doubling back-off, read-only methods and idempotent writes only (``transient_retries``
        times)."""
        return RetryPolicy(
            Retry(
                TelegramRetryAfter,
                0 if method in NO_RETRY_METHODS else self.max_retries,
                self._retry_after_wait,
            ),
            Retry(
                (TelegramServerError, TelegramNetworkError),
                self.transient_retries if method in READ_ONLY_METHODS | IDEMPOTENT_WRITES else 0,
                self._transient_wait,
            ),
            sleep=self._retry_wait,
        )

    def _retry_after_wait(self, exc: TelegramRetryAfter, retry: int) -> float | None:
        return None if exc.retry_after > self.max_retry_wait_s else float(exc.retry_after)

    def _transient_wait(self, exc: TelegramAPIError, retry: int) -> float | None:
        if "timeout" in exc.message.lower():
            return None
        return self.transient_backoff_s * 2.0 ** (retry - 1)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        limited = name in self.limited_methods

        async def attempt() -> Response[TelegramType]:
            if limited:
                await self.acquire(getattr(method, "chat_id", None))
            return await make_request(bot, method)

        return await self.policy(name).call(attempt)


# ---------------------------------------------------------------------------- the factory
class ClientSettingsError(ValueError):
    """``BOT_TOKEN`` or ``BOT_API_BASE`` cannot be used: ``str()`` says which and why."""


def check_client_settings(settings: BotSettings, *, api_base: bool = True) -> None:
    """Raise :class:`ClientSettingsError` for a malformed token (or API base), before any
    call: start-up and ``gatepulse doctor`` report it in one line, without a traceback."""
    try:
        validate_token(settings.token.get_secret_value())
    except TokenValidationError:
        raise ClientSettingsError(
            "BOT_TOKEN is not a bot token (expected the form 123456:ABC-DEF... from @BotFather)"
        ) from None
    if api_base:
        api_server(settings)


def api_server(settings: BotSettings) -> TelegramAPIServer:
    """The Bot API server ``settings.api_base`` names, or :class:`ClientSettingsError`."""
    base = settings.api_base.strip().rstrip("/")
    try:
        url = urlsplit(base)
        valid = url.scheme in ("http", "https") and bool(url.hostname) and url.port != 0
    except ValueError:  # a bad port, brackets, ...
        valid = False
    if not valid:
        raise ClientSettingsError(
            f"BOT_API_BASE must be an http(s) URL such as https://api.telegram.org, got {base!r}"
        )
    return TelegramAPIServer.from_base(base)


def create_bot(
    settings: BotSettings,
    writer: LogWriter | RowSink | None = None,
    *,
    clock: Clock | None = None,
    session: BaseSession | None = None,
    limiter: OutgoingLimiter | None = None,
    gate: GateSettings | None = None,
    sleep: Sleep | None = None,
    timer: Callable[[], float] | None = None,
    shared: SharedRedis | None = None,
) -> Bot:
    """The aiogram ``Bot`` every part of gatepulse uses, with API-call logging and limits.

    ``session`` defaults to an ``AiohttpSession`` on ``settings.api_base``; ``limiter`` to an
    :class:`OutgoingLimiter` from ``gate`` (or the default 20/min per group, 30/s overall) on
    ``clock`` and ``sleep``. ``timer`` measures latency_ms (default ``time.perf_counter``: real
    wall time; see :func:`simulated_timer` for simulations). Raises
    :class:`ClientSettingsError` (a ``ValueError``) with a clear message for a malformed token
    or API base, before anything is opened. ``shared``: Redis for the send budget of every
    replica (:mod:`bot.storage.shared`).
    """
    check_client_settings(settings, api_base=session is None)
    token = settings.token.get_secret_value()
    if session is None:
        session = AiohttpSession(api=api_server(settings), timeout=settings.request_timeout_s)
    if limiter is None:
        limiter = OutgoingLimiter.from_settings(
            gate or GateSettings.model_construct(),
            settings,
            clock=clock,
            sleep=sleep,
            shared=shared,
        )
    session.json_loads = tolerant_loads(session.json_loads)  # reaction types aiogram lacks
    session.middleware(limiter)
    session.middleware(
        ApiCallLogger(writer, clock=clock, token=token, timer=timer or time.perf_counter)
    )
    return Bot(token=token, session=session, default=DefaultBotProperties())
