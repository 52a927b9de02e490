"""What gatepulse keeps about its own privacy work: the erasures it carried out."""

from __future__ import annotations

import datetime as dt
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
