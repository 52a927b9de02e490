"""Dagster resources: the database and the Telegram client.

Both read their defaults from gatepulse's settings when a run starts (never at import): an
empty field means "use the setting". Deployments may set the fields with ``dg.EnvVar``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr

from core.settings import BotSettings, DatabaseSettings, PipelineSettings, normalize_database_url
from pipelines.io import RawStore

if TYPE_CHECKING:
    from core.log_writer import LogWriter

MemberCounter = Callable[[int], Awaitable[int]]
"""``await counter(chat_id)`` -> the chat's member count (getChatMemberCount)."""


class DatabaseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The gatepulse database. ``url`` empty: ``DATABASE_URL`` (default SQLite under var/).

    Keeps one :class:`RawStore` per run so that each raw table is read once for all assets.
    """

    url: str = ""
    _store: RawStore | None = PrivateAttr(default=None)

    @property
    def database_url(self) -> str:
        """The async SQLAlchemy URL (the form ``core.db`` helpers accept)."""
        if self.url:
            return normalize_database_url(self.url)
        return DatabaseSettings().url

    @property
    def raw(self) -> RawStore:
        if self._store is None:
            self._store = RawStore(self.database_url)
        return self._store

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = RawStore(self.database_url)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.clear()


class PipelineConfigResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Retention and sync knobs; zero/empty fields fall back to ``PipelineSettings``."""

    retention_days: int = 0
    retention_overrides: dict[str, int] = Field(default_factory=dict)
    retention_batch_size: int = 0
    sync_concurrency: int = 0
    sync_rate_per_s: float = 0.0

    def settings(self) -> PipelineSettings:
        base = PipelineSettings()
        updates: dict[str, Any] = {}
        if self.retention_days:
            updates["retention_days"] = self.retention_days
        if self.retention_overrides:
            updates["retention_overrides"] = dict(self.retention_overrides)
        if self.retention_batch_size:
            updates["retention_batch_size"] = self.retention_batch_size
        if self.sync_concurrency:
            updates["sync_concurrency"] = self.sync_concurrency
        if self.sync_rate_per_s:
            updates["sync_rate_per_s"] = self.sync_rate_per_s
        return base.model_copy(update=updates)


class TelegramResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Abstract Telegram client: what the pipelines ask of the Bot API."""

    def member_counter(
        self, writer: LogWriter | None
    ) -> AbstractAsyncContextManager[MemberCounter]:
        """An async context giving ``await counter(chat_id) -> int``; calls logged via writer."""
        raise NotImplementedError


class BotTelegramResource(TelegramResource):
    """The real client: ``bot.telegram.create_bot`` (every call logged to ``api_call_log``).

    ``api_base``/``token`` empty: ``BOT_API_BASE``/``BOT_TOKEN``.
    """

    api_base: str = ""
    token: str = ""

    def bot_settings(self) -> BotSettings:
        settings = BotSettings()
        updates: dict[str, Any] = {}
        if self.api_base:
            updates["api_base"] = self.api_base
        if self.token:
            from pydantic import SecretStr

            updates["token"] = SecretStr(self.token)
        return settings.model_copy(update=updates)

    @asynccontextmanager
    async def _counter(self, writer: LogWriter | None) -> AsyncIterator[MemberCounter]:
        from bot.telegram import create_bot

        bot = create_bot(self.bot_settings(), writer)
        try:

            async def count(chat_id: int) -> int:
                return int(await bot.get_chat_member_count(chat_id))

            yield count
        finally:
            await bot.session.close()

    def member_counter(
        self, writer: LogWriter | None
    ) -> AbstractAsyncContextManager[MemberCounter]:
        return self._counter(writer)


class FakeTelegramResource(TelegramResource):
    """A network-free stand-in for tests: fixed counts; chats in ``failing`` raise."""

    counts: dict[int, int] = Field(default_factory=dict)
    failing: list[int] = Field(default_factory=list)

    @asynccontextmanager
    async def _counter(self, writer: LogWriter | None) -> AsyncIterator[MemberCounter]:
        async def count(chat_id: int) -> int:
            if chat_id in self.failing or chat_id not in self.counts:
                raise LookupError(f"chat {chat_id} not found")
            return self.counts[chat_id]

        yield count

    def member_counter(
        self, writer: LogWriter | None
    ) -> AbstractAsyncContextManager[MemberCounter]:
        return self._counter(writer)
