"""Dagster resources: the database, the Telegram client and the pipelines' knobs.

The database resource builds its synchronous engine once and the assets pass it down (an async
engine lives only as long as a step that logs Telegram calls). The Telegram resource is the one
logged client of the pipelines: every Bot API call goes through the bot's API-call logging
session into ``api_call_log``.

Each resource is configured by its own fields. :func:`pipelines.definitions.resources_for`
fills them from the settings the entry point built once; secrets set in the environment are
passed as ``dg.EnvVar`` so that the Dagster UI never shows them. Field defaults are the
settings' defaults, read from the settings classes (one place for each default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, create_sync_engine
from core.log_writer import LogWriter
from core.settings import (
    AlertSettings,
    BotSettings,
    GateSettings,
    LogWriterSettings,
    MessageContent,
    PipelineSettings,
    SummaryLLMSettings,
    normalize_database_url,
)
from pipelines.llm import ChatCompletions, SummaryWriter
from pipelines.rawstore import RawStore
from pipelines.transforms.alerts import Thresholds

if TYPE_CHECKING:
    from aiogram import Bot

MemberCounter = Callable[[int], Awaitable[int]]
"""``await counter(chat_id)`` -> the chat's member count (getChatMemberCount)."""
MessageSender = Callable[[int, str], Awaitable[int]]
"""``await send(chat_id, text)`` -> the id of the message posted (sendMessage, plain text);
raises what the Bot API raised (aiogram's ``TelegramForbiddenError``, ``TelegramRetryAfter``...)."""


def _default(area: type[BaseSettings], name: str) -> Any:
    return area.model_fields[name].get_default(call_default_factory=True)


class DatabaseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The gatepulse database: ``url`` as ``DATABASE_URL`` takes it (sqlite:/// or postgresql://).

    Builds its synchronous :attr:`engine` once and keeps one :class:`RawStore` per run, so that
    each raw table is read once for all assets.
    """

    url: str = Field(description="Database URL, e.g. postgresql://user:pw@host:5432/gatepulse")
    _store: RawStore | None = PrivateAttr(default=None)
    _engine: sa.Engine | None = PrivateAttr(default=None)

    @property
    def database_url(self) -> str:
        """The async SQLAlchemy URL (the form ``core.db`` helpers accept)."""
        url = normalize_database_url(self.url)
        if not url:
            raise ValueError("the database resource has no url (set DATABASE_URL)")
        return url

    @property
    def engine(self) -> sa.Engine:
        """The synchronous engine (:func:`core.db.create_sync_engine`), built on first use."""
        if self._engine is None:
            self._engine = create_sync_engine(self.database_url)
        return self._engine

    @asynccontextmanager
    async def async_engine(self) -> AsyncIterator[AsyncEngine]:
        """An async engine without a pool for one blocking step's event loop (the API-call
        log of the Telegram client), disposed at the end."""
        engine = create_engine(url=self.database_url, pool=False)
        try:
            yield engine
        finally:
            await engine.dispose()

    @property
    def raw(self) -> RawStore:
        if self._store is None:
            self._store = RawStore(self.engine)
        return self._store

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = RawStore(self.engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.clear()
        if self._engine is not None:
            self._engine.dispose()


class PipelineConfigResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Retention, member-count sync and digest knobs (the ``PIPELINES_*`` / ``RETENTION_*``
    settings)."""

    retention_days: int = Field(default=_default(PipelineSettings, "retention_days"), ge=1)
    retention_overrides: dict[str, int] = Field(default_factory=dict)
    retention_batch_size: int = Field(
        default=_default(PipelineSettings, "retention_batch_size"), ge=1
    )
    partitions_ahead_days: int = Field(
        default=_default(PipelineSettings, "partitions_ahead_days"),
        ge=1,
        description="PostgreSQL: day partitions of the raw logs made ahead of today.",
    )
    sync_concurrency: int = Field(default=_default(PipelineSettings, "sync_concurrency"), ge=1)
    sync_rate_per_s: float = Field(default=_default(PipelineSettings, "sync_rate_per_s"), gt=0)
    digest_sends_per_s: float = Field(
        default=_default(PipelineSettings, "digest_sends_per_s"),
        gt=0,
        description="Weekly digests posted per second, overall.",
    )
    digest_max_age_days: int = Field(
        default=_default(PipelineSettings, "digest_max_age_days"),
        ge=1,
        description="A week that ended longer ago than this gets no digest (a backfill of old "
        "weeks posts nothing).",
    )
    spool_dir: str = Field(
        default=str(_default(LogWriterSettings, "var_dir") / "spool"),
        description="Where the API-call log spools while the database is down.",
    )

    @classmethod
    def from_settings(
        cls, pipelines: PipelineSettings, writer: LogWriterSettings
    ) -> PipelineConfigResource:
        return cls(
            retention_days=pipelines.retention_days,
            retention_overrides=dict(pipelines.retention_overrides),
            retention_batch_size=pipelines.retention_batch_size,
            partitions_ahead_days=pipelines.partitions_ahead_days,
            sync_concurrency=pipelines.sync_concurrency,
            sync_rate_per_s=pipelines.sync_rate_per_s,
            digest_sends_per_s=pipelines.digest_sends_per_s,
            digest_max_age_days=pipelines.digest_max_age_days,
            spool_dir=str(writer.spool_dir),
        )

    def log_writer_settings(self) -> LogWriterSettings:
        """The API-call log writer's settings: defaults, spooling to ``spool_dir``."""
        return LogWriterSettings.model_construct(spool_dir=Path(self.spool_dir))


class TelegramResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Abstract Telegram client: what the pipelines ask of the Bot API.

    Each method opens the client for one blocking step: its calls are logged to
    ``api_call_log`` of ``database`` through a log writer with ``writer`` settings."""

    def member_counter(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MemberCounter]:
        """An async context giving ``await counter(chat_id) -> int``."""
        raise NotImplementedError

    def bot_client(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[Bot | None]:
        """An async context giving the logged, rate-limited aiogram ``Bot`` the pipelines send
        with (alerts, digest edits), or ``None`` when this client cannot send (tests' fakes)."""
        return nullcontext(None)

    def message_sender(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MessageSender]:
        """An async context giving ``await send(chat_id, text) -> message id``."""
        raise NotImplementedError


class BotTelegramResource(TelegramResource):
    """The real client: ``bot.runtime.client.create_bot`` (every call logged to
    ``api_call_log``)."""

    api_base: str = Field(default=_default(BotSettings, "api_base"))
    token: str = Field(description="The bot token (BOT_TOKEN).")
    request_timeout_s: float = Field(default=_default(BotSettings, "request_timeout_s"), gt=0)
    retry_max_attempts: int = Field(default=_default(BotSettings, "retry_max_attempts"), ge=0)
    retry_max_wait_s: float = Field(default=_default(BotSettings, "retry_max_wait_s"), gt=0)
    transient_retries: int = Field(default=_default(BotSettings, "transient_retries"), ge=0)

    @classmethod
    def from_settings(cls, bot: BotSettings, token: Any = None) -> BotTelegramResource:
        """The resource for ``bot``; ``token`` may be a ``dg.EnvVar`` to keep it out of the UI."""
        return cls(
            api_base=bot.api_base,
            token=token if token is not None else bot.token.get_secret_value(),
            request_timeout_s=bot.request_timeout_s,
            retry_max_attempts=bot.retry_max_attempts,
            retry_max_wait_s=bot.retry_max_wait_s,
            transient_retries=bot.transient_retries,
        )

    def bot_settings(self) -> BotSettings:
        """These fields as the bot's settings (validated by Dagster's config, not re-read)."""
        return BotSettings.model_construct(
            api_base=self.api_base,
            token=SecretStr(self.token),
            request_timeout_s=self.request_timeout_s,
            retry_max_attempts=self.retry_max_attempts,
            retry_max_wait_s=self.retry_max_wait_s,
            transient_retries=self.transient_retries,
        )

    @asynccontextmanager
    async def _bot(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AsyncIterator[Bot]:
        """The client of :func:`bot.runtime.client.create_bot` logging through a log writer on
        ``database``: every call logged, Telegram's outgoing limits kept and a RetryAfter
        waited out (within ``retry_*``)."""
        # measured (python -X importtime): bot.runtime.client (aiogram, aiohttp) adds about two
        # thirds again to the import of the code location, which every Dagster process
        # loads; it is imported only when a step talks to Telegram
        from bot.runtime.client import create_bot

        async with database.async_engine() as engine, LogWriter(engine, writer) as log:
            bot = create_bot(self.bot_settings(), log)
            try:
                yield bot
            finally:
                await bot.session.close()

    @asynccontextmanager
    async def _counter(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AsyncIterator[MemberCounter]:
        async with self._bot(database, writer) as bot:

            async def count(chat_id: int) -> int:
                return int(await bot.get_chat_member_count(chat_id))

            yield count

    def member_counter(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MemberCounter]:
        return self._counter(database, writer)

    @asynccontextmanager
    async def _client(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AsyncIterator[Bot | None]:
        async with self._bot(database, writer) as bot:
            yield bot

    def bot_client(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[Bot | None]:
        return self._client(database, writer)

    @asynccontextmanager
    async def _sender(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AsyncIterator[MessageSender]:
        async with self._bot(database, writer) as bot:

            async def send(chat_id: int, text: str) -> int:
                sent = await bot.send_message(chat_id, text, disable_notification=True)
                return int(sent.message_id)

            yield send

    def message_sender(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MessageSender]:
        return self._sender(database, writer)


class FakeTelegramResource(TelegramResource):
    """A network-free stand-in for tests: fixed counts; messages kept in ``sent`` (message ids
    1, 2, ...); chats in ``failing`` raise."""

    counts: dict[int, int] = Field(default_factory=dict)
    failing: list[int] = Field(default_factory=list)
    _sent: list[tuple[int, str]] = PrivateAttr(default_factory=list)

    @property
    def sent(self) -> list[tuple[int, str]]:
        """``(chat_id, text)`` of every message sent, in order."""
        return self._sent

    @asynccontextmanager
    async def _counter(self) -> AsyncIterator[MemberCounter]:
        async def count(chat_id: int) -> int:
            if chat_id in self.failing or chat_id not in self.counts:
                raise LookupError(f"chat {chat_id} not found")
            return self.counts[chat_id]

        yield count

    def member_counter(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MemberCounter]:
        return self._counter()

    @asynccontextmanager
    async def _sender(self) -> AsyncIterator[MessageSender]:
        async def send(chat_id: int, text: str) -> int:
            if chat_id in self.failing:
                raise LookupError(f"chat {chat_id} not found")
            self._sent.append((chat_id, text))
            return len(self._sent)

        yield send

    def message_sender(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MessageSender]:
        return self._sender()


class AlertConfigResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The alert rules' thresholds (the ``ALERT_*`` settings)."""

    failure_spike_min: int = Field(default=_default(AlertSettings, "failure_spike_min"), ge=1)
    failure_spike_factor: float = Field(
        default=_default(AlertSettings, "failure_spike_factor"), gt=0
    )
    throttled_min: int = Field(default=_default(AlertSettings, "throttled_min"), ge=1)
    stale_hours: float = Field(default=_default(AlertSettings, "stale_hours"), gt=0)
    delivery: bool = Field(default=_default(AlertSettings, "delivery"))
    admin_chat_id: int | None = Field(default=None)
    delivery_max_attempts: int = Field(
        default=_default(AlertSettings, "delivery_max_attempts"), ge=1
    )

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> AlertConfigResource:
        return cls(**settings.model_dump())

    def thresholds(self) -> Thresholds:
        return Thresholds(
            failure_spike_min=self.failure_spike_min,
            failure_spike_factor=self.failure_spike_factor,
            throttled_min=self.throttled_min,
            stale_hours=self.stale_hours,
        )


class SummaryConfigResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """What the summaries may use of the messages: ``MESSAGE_CONTENT`` (the gate's setting).

    Only ``full`` lets them read message text (topics, quotes, a model's prompt); any other
    value gives figures-only summaries, so a mode added later is private until taught here.
    """

    message_content: str = Field(default=_default(GateSettings, "message_content").value)

    @classmethod
    def from_settings(cls, gate: GateSettings) -> SummaryConfigResource:
        return cls(message_content=gate.message_content.value)

    @property
    def with_text(self) -> bool:
        return self.message_content == MessageContent.FULL.value


class SummaryLLMResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """An OpenAI-compatible endpoint that rewrites the summaries (``SUMMARY_LLM_*``); off when
    ``base_url`` is empty. See :mod:`pipelines.llm`."""

    base_url: str = Field(default="", description="e.g. http://127.0.0.1:8000/v1; empty = off")
    model: str = Field(default="")
    api_key: str = Field(default="", description="Bearer token (SUMMARY_LLM_API_KEY).")
    timeout_s: float = Field(default=_default(SummaryLLMSettings, "timeout_s"), gt=0)
    max_input_tokens: int = Field(default=_default(SummaryLLMSettings, "max_input_tokens"), ge=1)
    max_output_tokens: int = Field(default=_default(SummaryLLMSettings, "max_output_tokens"), ge=1)

    @classmethod
    def from_settings(cls, settings: SummaryLLMSettings, api_key: Any = None) -> SummaryLLMResource:
        """The resource for ``settings``; ``api_key`` may be a ``dg.EnvVar`` (kept out of the
        Dagster UI)."""
        return cls(
            base_url=settings.base_url,
            model=settings.model,
            api_key=api_key if api_key is not None else settings.api_key.get_secret_value(),
            timeout_s=settings.timeout_s,
            max_input_tokens=settings.max_input_tokens,
            max_output_tokens=settings.max_output_tokens,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.base_url.strip())

    def writer(self, warn: Callable[[str], Any] | None = None) -> SummaryWriter:
        """A writer for one run (use it as a context manager: it closes its connections)."""
        client = ChatCompletions(
            self.base_url, self.model, self.api_key, self.timeout_s, self.max_output_tokens
        )
        return SummaryWriter(client.complete, self.max_input_tokens, close=client.close, warn=warn)
