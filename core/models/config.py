"""Configuration tables: owners, protected groups, their admins, linked channels, access lists,
audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TelegramId
from core.models.kinds import PII, TIME, _id, _now, pii


class Owner(Base):
    """A Telegram user who protects at least one group."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(
        TelegramId, primary_key=True, autoincrement=False, info=pii(PII.OWN_KEY)
    )
    username: Mapped[str | None] = mapped_column(sa.String(64))
    first_name: Mapped[str | None] = mapped_column(sa.String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)


class ProtectedGroup(Base):
    """A group where the gate runs."""

    __tablename__ = "protected_groups"
    # the dashboard lists groups by title a page at a time (issue 28)
    __table_args__ = (sa.Index(None, "title", "id"),)

    id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    title: Mapped[str | None] = mapped_column(sa.String(256))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("owners.id", ondelete="SET NULL"), index=True, info=pii(PII.ACTOR)
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
    created_by: Mapped[int | None] = mapped_column(info=pii(PII.BLANK))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class GroupAdmin(Base):
    """Who administers a protected group now: one row per creator or administrator, as the bot
    last learned it (``getChatAdministrators`` at ``/protect`` and daily, and the ``chat_member``
    updates that promote or demote someone). The dashboard's owner scope reads it."""

    __tablename__ = "group_admins"
    __table_args__ = (sa.UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = _id()  # the erasure deletes rows by a surrogate key
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("protected_groups.id", ondelete="CASCADE"))
    #: deleted when the person is erased (the daily refresh reads them again while they
    #: administer the group)
    user_id: Mapped[int] = mapped_column(index=True, info=pii(PII.DELETE))
    status: Mapped[str] = mapped_column(sa.String(16))  # an AdminStatus value
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AccessList(Base):
    """Whitelist / blacklist entries. ``group_id`` NULL means every group."""

    __tablename__ = "access_list"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "subject_id", "list_type"),
        sa.Index(None, "subject_id", "list_type"),
    )

    id: Mapped[int] = _id()
    group_id: Mapped[int | None]
    #: erased unless a block list entry (an administrator's block stays)
    subject_id: Mapped[int] = mapped_column(info=pii(PII.OWN))
    subject_type: Mapped[str] = mapped_column(sa.String(16), default="user")
    list_type: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(512), info=pii(PII.TEXT))
    added_by: Mapped[int | None] = mapped_column(info=pii(PII.BLANK))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class AdminAuditLog(Base):
    """Every configuration change and every refused attempt: who, what, when."""

    __tablename__ = "admin_audit_log"
    __table_args__ = (sa.Index(None, "chat_id", "timestamp"),)

    id: Mapped[int] = _id()
    chat_id: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(info=pii(PII.ACTOR))
    action: Mapped[str] = mapped_column(sa.String(64))
    resource: Mapped[str | None] = mapped_column(sa.String(256), info=pii(PII.TEXT))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict, info=pii(PII.JSON))
    success: Mapped[bool] = mapped_column(default=True)
    timestamp: Mapped[dt.datetime] = mapped_column(default=_now, index=True, info=TIME)


class ChatMigration(Base):
    """A basic group that became a supergroup: its configuration moved to ``new_chat_id``."""

    __tablename__ = "chat_migrations"

    old_chat_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    new_chat_id: Mapped[int] = mapped_column(TelegramId, unique=True)
    migrated_at: Mapped[dt.datetime] = mapped_column(default=_now)
