"""Start-up checks that explain themselves: each expected failure is one sentence that says
what is wrong and what to do, never a traceback.

Two kinds of failure:

- :class:`StartupError` needs a person: a malformed or refused token, a webhook URL Telegram
  refuses, a database without the gatepulse schema. Retrying cannot help; ``gatepulse bot``
  prints ``error: <problem>; <fix>`` and exits 1.
- :class:`Unreachable` (a subclass) may pass on its own: the Bot API or the database cannot be
  reached (DNS, refused connection, TLS, timeout, 5xx). :func:`until_reachable` retries it with
  a doubling back-off (tenacity), one log line per attempt: ``<problem>; retrying in N s``.
  With ``once`` (``gatepulse bot --once``, ``BOT_START_RETRY=false``) it is final at once.

The probes (:func:`check_database`, :func:`connect`) are shared with ``gatepulse doctor``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

from bot.runtime.client import error_message, redact
from core.migrate import current_revision, head_revision
from core.settings import display_url
from core.sleep import Sleep

log = logging.getLogger("gatepulse.startup")

T = TypeVar("T")

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0
"""The back-off between start-up attempts doubles from FIRST_RETRY_S up to MAX_RETRY_S."""
DATABASE_TIMEOUT_S = 10.0

FIX_TOKEN = "copy the token from @BotFather into BOT_TOKEN"
FIX_NETWORK = "check BOT_API_BASE, DNS and this host's network"
FIX_DATABASE_DOWN = "start the database or correct DATABASE_URL"
FIX_MIGRATE = "run `gatepulse migrate`"
FIX_WEBHOOK = (
    "BOT_WEBHOOK_URL must be a public https:// URL (port 443, 80, 88 or 8443) that reaches "
    "this bot's BOT_WEBHOOK_PORT"
)


class StartupError(Exception):
    """Something a person must fix before the bot can run. ``str()``: ``problem; fix``."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix


class Unreachable(StartupError):
    """A service did not answer; it may well answer later (retried unless ``once``)."""


# ---------------------------------------------------------------------------- retries
async def until_reachable(
    probe: Callable[[], Awaitable[T]], *, once: bool = False, sleep: Sleep = asyncio.sleep
) -> T:
    """``await probe()``, again after each :class:`Unreachable` (waiting 1, 2, 4 ... 60 s,
    saying so once per attempt) until it passes or fails otherwise; ``once``: no retry."""

    def say(state: RetryCallState) -> None:
        fault = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        problem = fault.problem if isinstance(fault, StartupError) else str(fault)
        log.warning("%s; retrying in %.0f s", problem, wait)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Unreachable),
        stop=stop_after_attempt(1) if once else stop_never,
        wait=wait_exponential(multiplier=FIRST_RETRY_S, min=FIRST_RETRY_S, max=MAX_RETRY_S),
        sleep=sleep,
        before_sleep=say,
        reraise=True,
    )

    async def attempt() -> T:  # a coroutine function: what tenacity awaits (a lambda is not)
        return await probe()

    result: T = await retrying(attempt)
    return result


# ---------------------------------------------------------------------------- database
def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def check_database(url: str, *, timeout_s: float = DATABASE_TIMEOUT_S) -> str:
    """The database's revision when it is reachable and at head; :class:`Unreachable` when it
    cannot be reached, :class:`StartupError` when it is not migrated (to head)."""
    shown = display_url(url)
    try:
        revision = await asyncio.wait_for(current_revision(url), timeout_s)
    except TimeoutError:
        raise Unreachable(
            f"cannot reach the database at {shown}: no answer in {timeout_s:g} s",
            FIX_DATABASE_DOWN,
        ) from None
    except Exception as exc:  # any driver's connect error: refused, DNS, auth, bad file
        raise Unreachable(
            f"cannot reach the database at {shown}: {_first_line(exc)}", FIX_DATABASE_DOWN
        ) from None
    if revision is None:
        raise StartupError(f"the database at {shown} has no gatepulse schema", FIX_MIGRATE)
    head = head_revision()
    if revision != head:
        raise StartupError(
            f"the database at {shown} is at revision {revision}, not {head} (head)", FIX_MIGRATE
        )
    return revision


# ---------------------------------------------------------------------------- Telegram
@contextlib.contextmanager
def quiet_client_log() -> Iterator[None]:
    """While start-up probes run, the client's own per-call warnings stay out of the log: the
    probe's one line says it all (otherwise each attempt would log two more)."""
    client_log = logging.getLogger("gatepulse.telegram")
    level = client_log.level
    client_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        client_log.setLevel(level)


def _network_reason(exc: BaseException, token: str) -> str:
    text = error_message(exc, token).removeprefix("HTTP Client says - ")
    return text or type(exc).__name__


def telegram_failure(exc: BaseException, host: str, token: str, method: str) -> StartupError:
    """The start-up sentence for a failed Bot API call."""
    if isinstance(exc, TelegramUnauthorizedError):
        return StartupError("Telegram refused BOT_TOKEN (401 Unauthorized)", FIX_TOKEN)
    if isinstance(
        exc,
        TelegramNetworkError
        | TelegramServerError
        | TelegramRetryAfter
        | aiohttp.ClientError
        | OSError
        | TimeoutError,
    ):
        return Unreachable(
            f"Bot API at {host} unreachable ({_network_reason(exc, token)})", FIX_NETWORK
        )
    if isinstance(exc, TelegramAPIError):
        return StartupError(
            f"the Bot API at {host} answered {method} with {error_message(exc, token)!r}",
            "check that BOT_API_BASE is a Bot API server",
        )
    return StartupError(f"{method} failed: {type(exc).__name__}", FIX_NETWORK)


async def _call(bot: Bot, host: str, method: str, call: Awaitable[T]) -> T:
    try:
        return await call
    except Exception as exc:
        raise telegram_failure(exc, host, bot.token, method) from None


async def who_am_i(bot: Bot, host: str) -> User:
    """getMe, through aiogram's ``bot.me()``: the answer stays cached on the bot (``/start``
    builds its links from the username)."""
    return await _call(bot, host, "getMe", bot.me())


async def connect(
    bot: Bot,
    host: str,
    *,
    webhook_url: str | None = None,
    secret: str = "",
    allowed_updates: list[str] | None = None,
) -> User:
    """Who the bot is, then how updates reach it: ``webhook_url`` is registered
    (setWebhook); without it (polling) a webhook that is still set is replaced, with a word
    in the log (getWebhookInfo, then deleteWebhook)."""
    me = await who_am_i(bot, host)
    if webhook_url is not None:
        if webhook_url:
            try:
                await bot.set_webhook(
                    webhook_url, secret_token=secret or None, allowed_updates=allowed_updates
                )
            except TelegramBadRequest as exc:
                refused = error_message(exc, bot.token)
                raise StartupError(
                    f"Telegram refused BOT_WEBHOOK_URL {redact(webhook_url)} ({refused})",
                    FIX_WEBHOOK,
                ) from None
            except Exception as exc:
                raise telegram_failure(exc, host, bot.token, "setWebhook") from None
        return me
    info = await _call(bot, host, "getWebhookInfo", bot.get_webhook_info())
    if info.url:
        log.warning(
            "a webhook is set (%s): polling replaces it (deleteWebhook; pending updates are kept)",
            redact(info.url),
        )
        await _call(bot, host, "deleteWebhook", bot.delete_webhook(drop_pending_updates=False))
    return me
