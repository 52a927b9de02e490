"""Every table of the data contract (DESIGN.md), raw and analytics: the one schema.

Raw tables are written by the bot (through :mod:`core.log_writer` for the high-volume logs);
analytics tables by the pipelines, one row per UTC ``day`` and key.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, SurrogateKey, TelegramId


class VerificationStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    ERROR = "error"


class VerificationTrigger(StrEnum):
    JOIN = "join"
    MESSAGE = "message"
    CALLBACK = "callback"
    CHANNEL_LEAVE = "channel_leave"


class ErrorType(StrEnum):
    TELEGRAM_ERROR = "TelegramError"
    BAD_REQUEST = "BadRequest"
    CHAT_NOT_FOUND = "ChatNotFound"
    FORBIDDEN = "Forbidden"
    NETWORK_ERROR = "NetworkError"
    RETRY_AFTER = "RetryAfter"


class MemberEventType(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    KICK = "kick"


class SummaryType(StrEnum):
    SEVEN_DAY = "7day"
    THIRTY_DAY = "30day"


class ListType(StrEnum):
    WHITELIST = "whitelist"
    BLACKLIST = "blacklist"


class HistogramSource(StrEnum):
    VERIFICATION = "verification"
    API = "api"


LATENCY_BUCKETS_MS: tuple[float, ...] = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
"""Upper bounds of the latency histogram buckets; a NULL bound is +inf."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _id() -> Mapped[int]:
    return mapped_column(SurrogateKey, primary_key=True, autoincrement=True)


# Column(info=...) keys of the data contract, read by the pipelines (dtypes, time windows,
# retention, and the pandera checks of their raw inputs are derived from them):
#   "time": the table's event time (one per raw log table);
#   "check": value rules of a raw column, as pandera check keyword arguments.
TIME: dict[str, Any] = {"time": True}
NON_NEGATIVE: dict[str, Any] = {"check": {"ge": 0}}
NOT_EMPTY: dict[str, Any] = {"check": {"str_length": {"min_value": 1}}}


def _isin(values: type[StrEnum]) -> dict[str, Any]:
    return {"check": {"isin": [v.value for v in values]}}


def time_column(table: str | sa.Table) -> str:
    """The name of a raw log table's event-time column (the one marked ``info=TIME``)."""
    if isinstance(table, str):
        table = Base.metadata.tables[table]
    found = [c.name for c in table.columns if c.info.get("time")]
    if len(found) != 1:
        raise LookupError(f"{table.name} has {len(found)} time columns marked, not one")
    return found[0]


# --------------------------------------------------------------------------- configuration


class Owner(Base):
    """A Telegram user who protects at least one group."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(sa.String(64))
    first_name: Mapped[str | None] = mapped_column(sa.String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)


class ProtectedGroup(Base):
    """A group where the gate runs."""

    __tablename__ = "protected_groups"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    title: Mapped[str | None] = mapped_column(sa.String(256))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("owners.id", ondelete="SET NULL"), index=True
    )
    enabled: Mapped[bool] = mapped_column(default=True, index=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    member_count: Mapped[int | None]
    last_sync_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)


class EnforcedChannel(Base):
    """A channel that members of some protected group must join."""

    __tablename__ = "enforced_channels"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    title: Mapped[str | None] = mapped_column(sa.String(256))
    invite_link: Mapped[str | None] = mapped_column(sa.String(512))
    subscriber_count: Mapped[int | None]
    last_sync_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class GroupChannelLink(Base):
    """Group X requires channel Y."""

    __tablename__ = "group_channel_links"
    __table_args__ = (sa.UniqueConstraint("group_id", "channel_id"),)

    id: Mapped[int] = _id()
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("protected_groups.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enforced_channels.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AccessList(Base):
    """Whitelist / blacklist entries. ``group_id`` NULL means every group."""

    __tablename__ = "access_list"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "subject_id", "list_type"),
        sa.Index(None, "subject_id", "list_type"),
    )

    id: Mapped[int] = _id()
    group_id: Mapped[int | None]
    subject_id: Mapped[int]
    subject_type: Mapped[str] = mapped_column(sa.String(16), default="user")
    list_type: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(512))
    added_by: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AdminAuditLog(Base):
    """Every configuration change and every refused attempt: who, what, when."""

    __tablename__ = "admin_audit_log"
    __table_args__ = (sa.Index(None, "chat_id", "timestamp"),)

    id: Mapped[int] = _id()
    chat_id: Mapped[int | None]
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(64))
    resource: Mapped[str | None] = mapped_column(sa.String(256))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    success: Mapped[bool] = mapped_column(default=True)
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, index=True, info=TIME)


# --------------------------------------------------------------------------- raw logs


class User(Base):
    """Every Telegram user the bot has seen."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    first_name: Mapped[str | None] = mapped_column(sa.String(256))
    last_name: Mapped[str | None] = mapped_column(sa.String(256))
    language_code: Mapped[str | None] = mapped_column(sa.String(16))
    is_bot: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=_now)


class VerificationLog(Base):
    """One gate check of (user, group) over all the group's linked channels."""

    __tablename__ = "verification_log"
    __table_args__ = (
        sa.Index(None, "timestamp", "status"),
        sa.Index(None, "group_id", "timestamp"),
        sa.Index(None, "error_type"),
        sa.Index(None, "timestamp", "cached"),
    )

    id: Mapped[int] = _id()
    user_id: Mapped[int]
    group_id: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), info=_isin(VerificationStatus))
    cached: Mapped[bool] = mapped_column(default=False)
    latency_ms: Mapped[float] = mapped_column(info=NON_NEGATIVE)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=_isin(ErrorType))
    trigger: Mapped[str] = mapped_column(sa.String(16), info=_isin(VerificationTrigger))
    channels_checked: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)


class ApiCallLog(Base):
    """Every Telegram Bot API call, from the bot or a pipeline."""

    __tablename__ = "api_call_log"
    __table_args__ = (sa.Index(None, "method", "timestamp"),)

    id: Mapped[int] = _id()
    method: Mapped[str] = mapped_column(sa.String(64), index=True, info=NOT_EMPTY)
    chat_id: Mapped[int | None]
    user_id: Mapped[int | None]
    success: Mapped[bool] = mapped_column(index=True)
    latency_ms: Mapped[float] = mapped_column(info=NON_NEGATIVE)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=_isin(ErrorType))
    error_message: Mapped[str | None] = mapped_column(sa.String(512))
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, index=True, info=TIME)


class Message(Base):
    """A group message the bot saw (content kept only with ``MESSAGE_CONTENT=full``)."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index(None, "chat_id", "created_at"),
        sa.Index(None, "chat_id", "telegram_message_id"),
    )

    id: Mapped[int] = _id()
    telegram_message_id: Mapped[int]
    chat_id: Mapped[int]
    user_id: Mapped[int | None]
    content: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.String(32), default="text")
    reply_to_message_id: Mapped[int | None]
    is_bot_message: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)


class MemberEvent(Base):
    """A join, leave or kick in a protected group or a linked channel."""

    __tablename__ = "member_events"
    __table_args__ = (sa.Index(None, "chat_id", "timestamp"), sa.Index(None, "timestamp"))

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    user_id: Mapped[int]
    event: Mapped[str] = mapped_column(sa.String(16), info=_isin(MemberEventType))
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)


class UserRestriction(Base):
    """A mute the gate placed; active until lifted."""

    __tablename__ = "user_restrictions"
    __table_args__ = (sa.Index(None, "group_id", "user_id", "is_active"),)

    id: Mapped[int] = _id()
    user_id: Mapped[int]
    group_id: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(64), default="not_subscribed")
    is_active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    lifted_at: Mapped[dt.datetime | None]


# --------------------------------------------------------------------------- analytics


class AnalyticsVerificationDaily(Base):
    __tablename__ = "analytics_verification_daily"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))
    cached: Mapped[bool]
    error_type: Mapped[str | None] = mapped_column(sa.String(32))
    trigger: Mapped[str] = mapped_column(sa.String(16))
    checks: Mapped[int]
    latency_ms_sum: Mapped[float]
    latency_ms_max: Mapped[float]


class AnalyticsApiCallsDaily(Base):
    __tablename__ = "analytics_api_calls_daily"
    __table_args__ = (sa.Index(None, "day", "method"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    method: Mapped[str] = mapped_column(sa.String(64))
    success: Mapped[bool]
    error_type: Mapped[str | None] = mapped_column(sa.String(32))
    calls: Mapped[int]
    latency_ms_sum: Mapped[float]
    latency_ms_max: Mapped[float]


class AnalyticsHourlyActivity(Base):
    __tablename__ = "analytics_hourly_activity"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    hour: Mapped[int] = mapped_column(sa.SmallInteger)
    group_id: Mapped[int]
    verifications: Mapped[int]
    messages: Mapped[int]
    joins: Mapped[int]


class AnalyticsLatencyHistogramDaily(Base):
    __tablename__ = "analytics_latency_histogram_daily"
    __table_args__ = (sa.Index(None, "day", "source"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    source: Mapped[str] = mapped_column(sa.String(16))
    bucket_le_ms: Mapped[float | None]
    count: Mapped[int]


class AnalyticsGroupDaily(Base):
    __tablename__ = "analytics_group_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    messages: Mapped[int]
    active_users: Mapped[int]
    verifications: Mapped[int]
    passed: Mapped[int]
    failed: Mapped[int]
    joins: Mapped[int]
    leaves: Mapped[int]


class MemberCountSnapshot(Base):
    """Member/subscriber count history from getChatMemberCount."""

    __tablename__ = "member_count_snapshots"
    __table_args__ = (sa.Index(None, "chat_id", "synced_at"), sa.Index(None, "synced_at"))

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    member_count: Mapped[int]
    synced_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Summary(Base):
    """An extractive chat summary; history is kept (newest per chat and type is current)."""

    __tablename__ = "summaries"
    __table_args__ = (sa.Index(None, "chat_id", "summary_type", "created_at"),)

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    summary_type: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    token_count: Mapped[int]
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AnalyticsMaterialization(Base):
    """Freshness metadata: one row per materialization of an analytics table (and partition).

    ``newest_source_at`` is the newest raw event the run saw, so the dashboard can show how
    fresh the raw logs are without reading them.
    """

    __tablename__ = "analytics_materializations"
    __table_args__ = (sa.Index(None, "table_name", "materialized_at"),)

    id: Mapped[int] = _id()
    table_name: Mapped[str] = mapped_column(sa.String(64))
    partition_day: Mapped[dt.date | None]
    row_count: Mapped[int]
    newest_source_at: Mapped[dt.datetime | None]
    materialized_at: Mapped[dt.datetime] = mapped_column(default=_now)


RAW_LOG_TABLES: tuple[str, ...] = (
    "verification_log",
    "api_call_log",
    "messages",
    "member_events",
    "admin_audit_log",
)
"""Append-only raw logs (retention pruning applies to these)."""

ANALYTICS_TABLES: tuple[str, ...] = (
    "analytics_verification_daily",
    "analytics_api_calls_daily",
    "analytics_hourly_activity",
    "analytics_latency_histogram_daily",
    "analytics_group_daily",
)
