"""Tables the pipelines keep for operators: alerts (conditions worth a look) and digests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TelegramId
from core.models.kinds import PII, AlertKind, _id, _isin, _now, pii


class Alert(Base):
    """A condition that held from ``opened_at`` until ``resolved_at`` (NULL while it holds).

    ``chat_id`` 0 means the bot itself (throttling outside any chat, a stale pipeline). One
    open alert per (chat, kind) at a time; ``delivered_at`` is set once it has been sent.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index(None, "chat_id", "kind", "resolved_at"),
        sa.Index(None, "opened_at"),
        # one open alert per (chat, kind), even when two evaluations race
        sa.Index(
            "uq_alerts_open_chat_kind",
            "chat_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = _id()
    opened_at: Mapped[dt.datetime] = mapped_column(default=_now)
    chat_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(24), info=_isin(AlertKind))
    severity: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[dict[str, Any] | None] = mapped_column(info=pii(PII.JSON))
    delivered_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]


class Digest(Base):
    """A periodic digest posted to a chat: at most one per chat and period."""

    __tablename__ = "digests"
    __table_args__ = (sa.UniqueConstraint("chat_id", "period_start"),)

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    period_start: Mapped[dt.datetime]
    posted_at: Mapped[dt.datetime | None]
    telegram_message_id: Mapped[int | None]


class AlertDelivery(Base):
    """One attempt to send an alert to one recipient (a private chat or the admin chat).

    Failures (the bot blocked, 403, a network error) are kept with their error type and do
    not stop the other recipients; ``alerts.delivered_at`` is set by the first success.
    """

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = _id()
    alert_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    recipient_chat_id: Mapped[int] = mapped_column(TelegramId, info=pii(PII.OWN))
    attempted_at: Mapped[dt.datetime] = mapped_column(default=_now)
    ok: Mapped[bool]
    error_type: Mapped[str | None] = mapped_column(sa.String(32))
    telegram_message_id: Mapped[int | None]


class BotPrivateChat(Base):
    """A person who started the bot in private, so the bot may write to them (alerts).

    ``blocked_at`` is set when Telegram says they blocked the bot, cleared when they start it
    again.
    """

    __tablename__ = "bot_private_chats"

    user_id: Mapped[int] = mapped_column(
        TelegramId, primary_key=True, autoincrement=False, info=pii(PII.OWN_KEY)
    )
    started_at: Mapped[dt.datetime] = mapped_column(default=_now)
    blocked_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)
