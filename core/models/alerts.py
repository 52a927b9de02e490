"""Tables the pipelines keep for operators: alerts (conditions worth a look) and digests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import AlertKind, _id, _isin, _now


class Alert(Base):
    """A condition that held from ``opened_at`` until ``resolved_at`` (NULL while it holds).

    ``chat_id`` 0 means the bot itself (throttling outside any chat, a stale pipeline). One
    open alert per (chat, kind) at a time; ``delivered_at`` is set once it has been sent.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index(None, "chat_id", "kind", "resolved_at"),
        sa.Index(None, "opened_at"),
    )

    id: Mapped[int] = _id()
    opened_at: Mapped[dt.datetime] = mapped_column(default=_now)
    chat_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(24), info=_isin(AlertKind))
    severity: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[dict[str, Any] | None]
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
