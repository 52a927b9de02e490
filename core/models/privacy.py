"""What gatepulse keeps about its own privacy work: the erasures it carried out, and the
posted digests each one asked to be edited."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import _id, _now


class Erasure(Base):
    """One person erased on request, recorded without their id: ``subject_hash`` is a keyed
    hash (HMAC) of the Telegram id, so a repeated request can be recognised but the record
    names nobody. ``requested_by`` is ``self`` (``/forgetme``) or ``operator`` (``gatepulse
    forget``); ``rows_removed`` counts rows per table."""

    __tablename__ = "erasures"

    id: Mapped[int] = _id()
    subject_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(default=_now)
    requested_by: Mapped[str] = mapped_column(sa.String(16))
    completed_at: Mapped[dt.datetime | None]
    rows_removed: Mapped[dict[str, Any] | None]


class DigestEditStatus(StrEnum):
    PENDING = "pending"  # waits for its week's summaries to be written again, then the edit
    EDITED = "edited"  # editMessageText changed the posted text
    UNCHANGED = "unchanged"  # Telegram said "message is not modified": nothing named them
    FAILED = "failed"  # the message can no longer be edited (deleted, 400/403), or gave up


class DigestEdit(Base):
    """A posted weekly digest an erasure asked to be written again without the person.

    The erasure knows which chats and weeks the person was active in (or whose summary named
    them) only while their rows exist: it records the *digests* here, never the person. The
    edit recomputes the digest from what is left and edits the message in place, once; a
    message that cannot be edited any more is ``failed`` with Telegram's error and is not
    tried again (nor is a transient error past :data:`MAX_EDIT_ATTEMPTS`).
    """

    __tablename__ = "digest_edits"
    __table_args__ = (sa.UniqueConstraint("erasure_id", "digest_id"),)

    id: Mapped[int] = _id()
    erasure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("erasures.id", ondelete="CASCADE"), index=True
    )
    digest_id: Mapped[int] = mapped_column(
        sa.ForeignKey("digests.id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[dt.datetime] = mapped_column(default=_now)
    status: Mapped[str] = mapped_column(
        sa.String(16), default=DigestEditStatus.PENDING.value, index=True
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.String(256))
    done_at: Mapped[dt.datetime | None]


MAX_EDIT_ATTEMPTS = 5
"""Runs that may meet a transient error (network, 5xx, 429) before an edit is given up."""
