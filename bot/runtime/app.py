"""Running the bot: polling or webhook, with every part wired together and shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.types import Update, User
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.join_requests import SWEEP_INTERVAL_S
from bot.gate.onboarding import Onboarding
from bot.runtime.claims import busy_answers_503
from bot.runtime.client import ClientSettingsError, check_client_settings, create_bot, redact
from bot.runtime.dispatcher import create_dispatcher
from bot.runtime.health import HealthReporter, LagMeter, UpdateLagMiddleware
from bot.runtime.inflight import InFlight
from bot.runtime.services import BotServices
from bot.runtime.startup import (
    StartupError,
    check_database,
    connect,
    quiet_client_log,
    until_reachable,
)
from bot.storage.membership import MembershipCache
from bot.storage.shared.client import RedisDown, SharedRedis
from core.clock import Clock
from core.db import create_engine, create_session_factory
from core.log_writer import LogWriter
from core.partitions import prepare_partitions
from core.settings import Settings
from core.sleep import Sleep

log = logging.getLogger(__name__)

HANDLERS_TIMEOUT_S = 10.0
"""How long shutdown waits for updates still being handled."""


class TokenRedactingFilter(logging.Filter):
    """Replace the bot token, the webhook secret and the message hash key in every log record
    (belt and braces: we never log them): in its message, and in its exception's text and
    traceback (an aiohttp error may carry the request URL
    ``https://api.telegram.org/bot<TOKEN>/method``, its cause too) and its stack. Anything
    shaped like a bot token goes as well (:func:`redact`)."""

    _formatter = logging.Formatter()

    def __init__(self, *secrets_: str) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets_ if s}, key=len, reverse=True)

    def _redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (clean := self._redact(message)) != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # formatted here, once, as the handlers' Formatter would (it keeps exc_text)
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text and (clean := self._redact(record.exc_text)) != record.exc_text:
            # the exception object still holds the token: handlers get the redacted text only
            record.exc_text, record.exc_info = clean, None
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def install_redaction(settings: Settings) -> None:
    """Attach :class:`TokenRedactingFilter` to every root handler (the bot token, the webhook
    secret and ``MESSAGE_HASH_KEY``)."""
    token = settings.bot.token.get_secret_value()
    secret = settings.bot.webhook_secret.get_secret_value()
    hash_key = settings.gate.message_hash_key.get_secret_value()
    redact = TokenRedactingFilter(token, token.split(":", 1)[-1], secret, hash_key)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


@dataclass
class BotRuntime:
    """A running bot's parts: engine, log writer, bot (API client) and dispatcher."""

    settings: Settings
    engine: AsyncEngine
    writer: LogWriter
    bot: Bot
    dp: Dispatcher
    owns_writer: bool = True
    """False when the writer (and its engine) was given: their owner closes them."""
    inflight: InFlight = field(default_factory=InFlight)
    """Updates still being handled (registered on the dispatcher by :func:`build_runtime`)."""
    sweeper: asyncio.Task[None] | None = None
    """The periodic decline of expired join requests (none on a ManualClock: tests sweep)."""
    health: HealthReporter | None = None
    """Writes ``update_health`` rows (:mod:`bot.runtime.health`); None with
    BOT_HEALTH_INTERVAL_S=0."""
    health_task: asyncio.Task[None] | None = None
    """Its periodic loop (none on a ManualClock: tests call ``health.record()``)."""
    shared: SharedRedis | None = None
    """Redis for what replicas share (``REDIS_URL``); closed with the runtime when it was
    opened by :func:`build_runtime`."""
    owns_shared: bool = True

    @property
    def services(self) -> BotServices:
        services: BotServices = self.dp["services"]
        return services

    async def close(self, *, state_timeout_s: float | None = None) -> None:
        """Apply pending state writes, drain the log writer, close the session and engine.

        ``state_timeout_s`` bounds the state writes' drain (default: the state writer's).
        A writer given to :func:`build_runtime` is shared: it is left open, and its engine
        is not disposed. Updates still being handled (polling stops without waiting for its
        handler tasks) finish first, for up to the same timeout, so that what they do is kept.
        """
        for task in (self.sweeper, self.health_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not await self.inflight.idle(state_timeout_s or HANDLERS_TIMEOUT_S):
            log.warning("%d updates still being handled at shutdown", self.inflight.count)
        await self.services.joins.settle(everything=True)  # before the writer closes
        await self.services.raids.settle(state_timeout_s or HANDLERS_TIMEOUT_S)
        state = self.services.state
        try:
            await (state.close() if state_timeout_s is None else state.close(state_timeout_s))
        finally:
            try:
                if self.owns_writer:
                    await self.writer.close()
            finally:
                await self.bot.session.close()
                if self.shared is not None and self.owns_shared:
                    await self.shared.close()
                if self.owns_writer:
                    await self.engine.dispose()


async def _housekeeping(services: BotServices, bot: Bot) -> None:
    """Every ``SWEEP_INTERVAL_S`` (wall time) until cancelled: :func:`housekeep`."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_S)
        await housekeep(services, bot)


async def housekeep(services: BotServices, bot: Bot) -> None:
    """One round of housekeeping: write the held joins whose twin is overdue, decline the join
    requests past their deadline (quiet groups too), act on the gate's due timers
    (:mod:`bot.gate.timers`), prune the update claims past ``BOT_UPDATE_KEEP_H``, read again
    the admins of a few groups whose list is a day old
    (:meth:`bot.storage.admins.GroupAdmins.refresh_stale`). Each step's failure is logged and
    the next step runs. The runtime's loop calls it on wall time; on a ManualClock its owner
    (a simulation) calls it as its clock moves."""
    steps: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
        ("settling held joins", services.joins.settle),
        ("join request sweep", lambda: services.join_requests.sweep(bot)),
        # the database: the due timers wait for the next round
        ("gate timer sweep", lambda: services.timers.sweep(bot)),
        ("pruning update claims", services.updates.prune),
        ("refreshing group admins", lambda: services.admins.refresh_stale(bot)),
    )
    for what, step in steps:
        try:
            await step()
        except Exception as exc:
            log.warning("%s failed: %s", what, type(exc).__name__)


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session: BaseSession | None = None,
    engine: AsyncEngine | None = None,
    timer: Callable[[], float] | None = None,
    cache: MembershipCache | None = None,
    sleep: Sleep | None = None,
    writer: LogWriter | None = None,
    shared: SharedRedis | None = None,
) -> BotRuntime:
    """Engine, started log writer, bot from :func:`bot.runtime.client.create_bot`, dispatcher.

    ``cache`` replaces the default in-process membership cache (a simulation passes one with
    a seeded jitter, so that a seed replays the same checks; replicas can share one).
    ``sleep`` is the outgoing limiter's sleep (see :func:`bot.runtime.client.create_bot`).
    ``writer`` shares an already started log writer, on ``engine`` (required with it), with
    another runtime (a second replica): :meth:`BotRuntime.close` then leaves both open.
    ``shared`` replaces the Redis client ``REDIS_URL`` would open (:func:`open_shared`); the
    caller closes it.
    """
    owns_shared = shared is None
    if shared is None:
        shared = await open_shared(settings)
    owns_writer = writer is None
    if writer is None:
        engine = engine or create_engine(settings.db)
        writer = LogWriter(engine, settings.writer)
        await writer.start()
    elif engine is None:
        raise TypeError("build_runtime: a shared writer needs its engine too")
    try:
        bot = create_bot(
            settings.bot,
            writer,
            clock=clock,
            session=session,
            gate=settings.gate,
            sleep=sleep,
            timer=timer,
            shared=shared,
        )
    except ValueError:  # malformed settings: nothing may stay open behind the message
        if shared is not None and owns_shared:
            await shared.close()
        if owns_writer:
            await writer.close()
            await engine.dispose()
        raise
    dp = create_dispatcher(
        settings,
        writer=writer,
        sessions=create_session_factory(engine),
        clock=clock,
        cache=cache,
        timer=timer or time.perf_counter,
        shared=shared,
    )
    inflight = InFlight()
    dp.update.outer_middleware(inflight)
    runtime = BotRuntime(
        settings,
        engine,
        writer,
        bot,
        dp,
        owns_writer=owns_writer,
        inflight=inflight,
        shared=shared,
        owns_shared=owns_shared,
    )
    wall_time = not hasattr(clock, "advance")  # a ManualClock's owner sweeps when it likes
    if settings.bot.health_interval_s > 0:
        meter = LagMeter()
        dp.update.outer_middleware(UpdateLagMiddleware(meter, runtime.services.clock))
        runtime.health = HealthReporter(
            bot,
            writer,
            runtime.services.clock,
            meter,
            mode=settings.bot.mode,
            interval_s=settings.bot.health_interval_s,
        )
        if wall_time:
            runtime.health_task = asyncio.create_task(runtime.health.run())
    if wall_time:
        runtime.sweeper = asyncio.create_task(_housekeeping(runtime.services, bot))
    return runtime


async def open_shared(settings: Settings) -> SharedRedis | None:
    """The Redis client for ``REDIS_URL`` (``None`` when unset: all state in-process), after
    one PING so that the log says at start whether replicas share state. A Redis that is down
    does not stop the bot: it runs on in-process state and tries Redis again later."""
    url = settings.redis.url
    if not url:
        return None
    token = settings.bot.token.get_secret_value()
    shared = SharedRedis(url, bot_id=int(token.split(":", 1)[0]))
    with contextlib.suppress(RedisDown):
        await shared.run(lambda r: r.ping())
        log.info("Redis at %s: the cache, join memory and send budget are shared", shared.where)
    return shared


async def prepare(settings: Settings, *, once: bool = False) -> BotRuntime:
    """What start-up checks before Telegram is asked anything: the token's and API base's
    form, then the database (reachable, retried while it is not unless ``once``; migrated to
    head), then :func:`build_runtime`. Expected failures raise
    :class:`bot.runtime.startup.StartupError` (one sentence, no traceback)."""
    try:
        check_client_settings(settings.bot)
    except ClientSettingsError as exc:
        raise StartupError(str(exc)) from None
    await until_reachable(lambda: check_database(settings.db.url), once=once)
    await prepare_partitions(settings.db.url, settings.pipelines.partitions_ahead_days)
    return await build_runtime(settings)


def log_onboarding(me: User) -> None:
    """The bot's @username and the links that add it with the rights the gate needs."""
    if me.username:
        for line in Onboarding(me.username).log_lines():
            log.info("%s", line)


async def run_polling(settings: Settings, *, once: bool = False) -> None:
    """Long-poll getUpdates until SIGINT/SIGTERM, then shut down cleanly.

    Start-up (:func:`prepare`, then getMe and the replacement of a webhook still set) retries
    an unreachable Bot API or database unless ``once``; see :mod:`bot.runtime.startup`."""
    install_redaction(settings)
    runtime = await prepare(settings, once=once)
    try:
        host = _api_host(settings)
        with quiet_client_log():
            me = await until_reachable(lambda: connect(runtime.bot, host), once=once)
        log.info("polling as @%s (id %s) against %s", me.username, me.id, host)
        log_onboarding(me)
        await runtime.dp.start_polling(
            runtime.bot,
            allowed_updates=runtime.dp.resolve_used_update_types(),
            polling_timeout=settings.bot.polling_timeout_s,
            handle_signals=True,
            close_bot_session=False,
        )
    finally:
        await runtime.close()


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or a random one for this run (logged as generated, not shown)."""
    secret = settings.bot.webhook_secret.get_secret_value()
    if secret:
        return secret
    log.warning("BOT_WEBHOOK_SECRET is empty: using a random secret for this run")
    return secrets.token_urlsafe(32)


class SecretCheckingRequestHandler(SimpleRequestHandler):
    """aiogram's handler with a secret check that answers 401 for any header that is not the
    secret: aiogram compares ``str``s with :func:`secrets.compare_digest`, which raises
    ``TypeError`` (a 500 and a traceback) on a non-ASCII header. Here both sides are compared as
    UTF-8 bytes in constant time (aiohttp decodes headers as UTF-8 with surrogate escapes)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str,
        handle_in_background: bool = True,
        **data: Any,
    ) -> None:
        super().__init__(
            dispatcher,
            bot,
            handle_in_background=handle_in_background,
            secret_token=secret_token,
            **data,
        )
        self._secret = secret_token.encode()

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._secret)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        """aiogram's, with a body that is not an update (not JSON, not an object, nested too
        deep for the parser or the model: ``RecursionError``) answered 400 with one log line,
        not 500 with a traceback. Telegram never sends such a body; whoever does holds the
        secret, so the line says what was wrong, never what was sent."""
        try:
            body = await request.json(loads=bot.session.json_loads)
            check_depth(body)
            update = Update.model_validate(body, context={"bot": bot})
        except (ValueError, RecursionError, ValidationError) as exc:
            # ValueError: not JSON (JSONDecodeError, UnicodeDecodeError) or nested deeper than
            # an update goes; RecursionError: deeper than the parser recurses;
            # ValidationError: JSON that is not an Update.
            log.warning("webhook: a request that is not an update (%s): 400", type(exc).__name__)
            return web.Response(body="Bad Request", status=400)
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            bot, update, **self.data
        )
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


WEBHOOK_MAX_DEPTH = 64
"""How deep a webhook body may nest. A Bot API update nests about a dozen levels (a reply's
keyboard in a message in an update); anything far deeper is no update, and past a few hundred
levels aiogram's own logging of it (pydantic's serializer) fails with a depth error."""


def check_depth(value: Any, limit: int = WEBHOOK_MAX_DEPTH) -> None:
    """Raise ``ValueError`` when the parsed JSON ``value`` nests deeper than ``limit``
    (iteratively: a deep value must not exhaust the stack here either)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"nested deeper than {limit}")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def create_webhook_app(
    dp: Dispatcher, bot: Bot, *, path: str, secret: str, **data: Any
) -> web.Application:
    """The aiohttp app serving the webhook at ``path``; requests without the secret token in
    ``X-Telegram-Bot-Api-Secret-Token`` (any other value, non-ASCII too) get 401 and never
    reach the dispatcher."""
    if not secret:
        raise ValueError("a webhook needs a secret token")
    app = web.Application(middlewares=[busy_answers_503])
    handler = SecretCheckingRequestHandler(
        dispatcher=dp, bot=bot, secret_token=secret, handle_in_background=False, **data
    )
    handler.register(app, path=path)
    setup_application(app, dp, bot=bot)
    return app


async def run_webhook(settings: Settings, *, once: bool = False) -> None:
    """Serve the webhook on BOT_WEBHOOK_HOST:PORT until SIGINT/SIGTERM.

    Listens first, then (with ``BOT_WEBHOOK_URL`` set) registers the URL with Telegram
    (setWebhook with the secret): Telegram's first delivery finds the server up. A port in use
    or a URL Telegram refuses ends start-up with one sentence (:mod:`bot.runtime.startup`).
    """
    install_redaction(settings)
    if settings.bot.mode != "webhook":  # `gatepulse bot --webhook`: webhook semantics too
        settings = settings.replace(bot=settings.bot.model_copy(update={"mode": "webhook"}))
    runtime = await prepare(settings, once=once)
    cfg = settings.bot
    runner: web.AppRunner | None = None
    try:
        secret = webhook_secret(settings)
        app = create_webhook_app(runtime.dp, runtime.bot, path=cfg.webhook_path, secret=secret)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, cfg.webhook_host, cfg.webhook_port).start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {cfg.webhook_host}:{cfg.webhook_port} ({exc.strerror or exc})",
                "stop what uses the port or change BOT_WEBHOOK_HOST/BOT_WEBHOOK_PORT",
            ) from None
        host = _api_host(settings)
        allowed = runtime.dp.resolve_used_update_types()
        with quiet_client_log():
            me = await until_reachable(
                lambda: connect(
                    runtime.bot,
                    host,
                    webhook_url=cfg.webhook_url,
                    secret=secret,
                    allowed_updates=allowed,
                ),
                once=once,
            )
        log.info(
            "webhook listening on %s:%s%s as @%s (id %s)",
            cfg.webhook_host,
            cfg.webhook_port,
            cfg.webhook_path,
            me.username,
            me.id,
        )
        log_onboarding(me)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()  # stops taking updates; close() waits for those in flight
        await runtime.close()


def _api_host(settings: Settings) -> str:
    """The API server's host[:port], for the log (never the path: it would hold the token)."""
    return urlsplit(settings.bot.api_base).netloc
