"""What the dashboard itself writes (issue 27): the owners' sign-in links already used, and an
audit of sign-ins and downloads. The dashboard's read-only role may INSERT here and nothing
more: it never reads, updates or deletes these rows."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JSONType, TelegramId
from core.models.kinds import PII, TIME, pii


class DashboardLinkUse(Base):
    """One owner sign-in link that was used: its nonce is the key, so a second use of the same
    link fails to insert and is refused. Whose link it was is in ``dashboard_audit_log``."""

    __tablename__ = "dashboard_link_uses"

    nonce: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    used_at: Mapped[dt.datetime] = mapped_column(info=TIME)


class DashboardAuditLog(Base):
    """Each dashboard sign-in and download: who (``viewer`` ``owner`` with their ``user_id``,
    or ``operator``), when, what (``action`` ``sign_in`` or ``download``, and which
    ``download``), the groups in view (a JSON list; NULL when not known) and the client's
    address (or its session's mark). Never the link's token."""

    __tablename__ = "dashboard_audit_log"
    __table_args__ = (sa.Index(None, "timestamp"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random: no sequence
    timestamp: Mapped[dt.datetime] = mapped_column(info=TIME)
    viewer: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int | None] = mapped_column(TelegramId, info=pii(PII.ACTOR))
    action: Mapped[str] = mapped_column(sa.String(32))
    download: Mapped[str | None] = mapped_column(sa.String(128))
    group_ids: Mapped[list[int] | None] = mapped_column(JSONType)
    client: Mapped[str | None] = mapped_column(sa.String(64))
