"""Raw tables the bot writes: users, the append-only logs, the mutes it placed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TelegramId
from core.models.kinds import (
    NON_NEGATIVE,
    NOT_EMPTY,
    PII,
    TIME,
    ErrorType,
    GateEventType,
    MemberEventType,
    SenderKind,
    VerificationStatus,
    VerificationTrigger,
    _id,
    _isin,
    _now,
    pii,
)

PARTITION_BY_DAY: dict[str, Any] = {"info": {"partition_by": "day"}}
"""``__table_args__`` marker of the large append-only raw logs: on PostgreSQL they are
range-partitioned by UTC day on their time column (:mod:`core.partitions`; the migration
``partition raw logs by day`` converts them). SQLite keeps plain tables. The models keep their
single-column ``id`` key: PostgreSQL's primary key there is ``(id, time)``, as a partitioned
table's must include the partition key, and autogenerate compares neither keys nor
partitioning, so ``alembic check`` stays clean on both backends."""


class User(Base):
    """Every Telegram user the bot has seen."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(
        TelegramId, primary_key=True, autoincrement=False, info=pii(PII.OWN_KEY)
    )
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
        PARTITION_BY_DAY,
    )

    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(info=pii(PII.OWN))
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
    __table_args__ = (sa.Index(None, "method", "timestamp"), PARTITION_BY_DAY)

    id: Mapped[int] = _id()
    method: Mapped[str] = mapped_column(sa.String(64), index=True, info=NOT_EMPTY)
    chat_id: Mapped[int | None] = mapped_column(info=pii(PII.BLANK))
    user_id: Mapped[int | None] = mapped_column(info=pii(PII.BLANK))
    success: Mapped[bool] = mapped_column(index=True)
    latency_ms: Mapped[float] = mapped_column(info=NON_NEGATIVE)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=_isin(ErrorType))
    error_message: Mapped[str | None] = mapped_column(sa.String(512))
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, index=True, info=TIME)


class Message(Base):
    """A group message the bot saw: ``content`` kept only with ``MESSAGE_CONTENT=full``;
    ``content_hash`` (a keyed HMAC of the normalized text) only with ``MESSAGE_CONTENT=hash``,
    so that repeated spam stays recognisable without its text."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index(None, "chat_id", "created_at"),
        sa.Index(None, "chat_id", "telegram_message_id"),
        sa.Index(None, "content_hash"),
        PARTITION_BY_DAY,
    )

    id: Mapped[int] = _id()
    telegram_message_id: Mapped[int]
    chat_id: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(info=pii(PII.OWN))
    content: Mapped[str | None] = mapped_column(sa.Text, info=pii(PII.TEXT))
    content_type: Mapped[str] = mapped_column(sa.String(32), default="text")
    reply_to_message_id: Mapped[int | None]
    is_bot_message: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)
    sender_kind: Mapped[str] = mapped_column(
        sa.String(16), default=SenderKind.USER.value, info=_isin(SenderKind)
    )
    sender_chat_id: Mapped[int | None]
    message_thread_id: Mapped[int | None]
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))


class MemberEvent(Base):
    """A join, leave or kick in a protected group or a linked channel."""

    __tablename__ = "member_events"
    __table_args__ = (
        sa.Index(None, "chat_id", "timestamp"),
        sa.Index(None, "timestamp"),
        PARTITION_BY_DAY,
    )

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(info=pii(PII.OWN))
    event: Mapped[str] = mapped_column(sa.String(16), info=_isin(MemberEventType))
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)
    is_bot: Mapped[bool] = mapped_column(default=False)
    invite_link_name: Mapped[str | None] = mapped_column(sa.String(256))
    via_join_request: Mapped[bool] = mapped_column(default=False)


class GateEvent(Base):
    """One thing the gate did or saw, in the order it happened (append-only)."""

    __tablename__ = "gate_events"
    __table_args__ = (
        sa.Index(None, "group_id", "timestamp"),
        sa.Index(None, "timestamp"),
        PARTITION_BY_DAY,
    )

    id: Mapped[int] = _id()
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)
    group_id: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(info=pii(PII.OWN))
    event: Mapped[str] = mapped_column(sa.String(24), info=_isin(GateEventType))
    detail: Mapped[dict[str, Any] | None] = mapped_column(info=pii(PII.JSON))


class BotRight(Base):
    """A change of the bot's own status or rights in a chat, as it learnt of it (append-only)."""

    __tablename__ = "bot_rights"
    __table_args__ = (sa.Index(None, "chat_id", "timestamp"),)

    id: Mapped[int] = _id()
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)
    #: a private chat's row (from before such rows were skipped) is the person's
    chat_id: Mapped[int] = mapped_column(info=pii(PII.DELETE))
    status: Mapped[str] = mapped_column(sa.String(16), info=NOT_EMPTY)
    is_admin: Mapped[bool] = mapped_column(default=False)
    can_restrict_members: Mapped[bool] = mapped_column(default=False)
    can_delete_messages: Mapped[bool] = mapped_column(default=False)
    can_invite_users: Mapped[bool] = mapped_column(default=False)


class ReactionEvent(Base):
    """A change of reactions on a message: one user's (``message_reaction``) or the anonymous
    totals (``message_reaction_count``, ``user_id`` NULL), as reactions added and removed."""

    __tablename__ = "reaction_events"
    __table_args__ = (
        sa.Index(None, "chat_id", "timestamp"),
        sa.Index(None, "timestamp"),
        PARTITION_BY_DAY,
    )

    id: Mapped[int] = _id()
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, info=TIME)
    chat_id: Mapped[int]
    telegram_message_id: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(info=pii(PII.OWN))
    added: Mapped[int] = mapped_column(sa.Integer, default=0, info=NON_NEGATIVE)
    removed: Mapped[int] = mapped_column(sa.Integer, default=0, info=NON_NEGATIVE)


class UserRestriction(Base):
    """A mute the gate placed; active until lifted."""

    __tablename__ = "user_restrictions"
    __table_args__ = (sa.Index(None, "group_id", "user_id", "is_active"),)

    id: Mapped[int] = _id()
    #: erased once lifted: an active mute stays (erasure is no way round the gate)
    user_id: Mapped[int] = mapped_column(info=pii(PII.OWN))
    group_id: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(64), default="not_subscribed")
    is_active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    lifted_at: Mapped[dt.datetime | None]


class UpdateHealth(Base):
    """The bot's update delivery, as it saw it over one interval (``BOT_HEALTH_INTERVAL_S``):
    Telegram's webhook state (getWebhookInfo; pending updates are reported in polling mode
    too; whether a URL is set, never the URL or its secret) and the lag between an update's
    ``date`` and the moment the bot handled it, over the updates that carry a date. No
    personal data: the dashboard reads it as freshness metadata (:mod:`bot.runtime.health`)."""

    __tablename__ = "update_health"

    id: Mapped[int] = _id()
    recorded_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True, info=TIME)
    bot_id: Mapped[int]
    mode: Mapped[str] = mapped_column(sa.String(16), info=NOT_EMPTY)
    interval_s: Mapped[float]
    #: NULL when getWebhookInfo could not be asked this time
    webhook_url_set: Mapped[bool | None]
    pending_update_count: Mapped[int | None] = mapped_column(sa.Integer)
    last_error_at: Mapped[dt.datetime | None]
    last_error_message: Mapped[str | None] = mapped_column(sa.String(512))
    #: updates with a ``date`` handled in the interval, and their lag in seconds
    updates: Mapped[int] = mapped_column(sa.Integer, default=0, info=NON_NEGATIVE)
    lag_p50_s: Mapped[float | None]
    lag_max_s: Mapped[float | None]
