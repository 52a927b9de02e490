"""What the bot keeps about Telegram's delivery of updates to it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, TelegramId


class UpdateClaim(Base):
    """One update a bot replica took on, while Redis (where claims normally live) was down.

    ``holder`` names the replica's attempt and ``lease_until`` when its claim lapses unless
    renewed; ``done_at`` is set once the update was handled in full (a redelivery is then
    skipped). Rows are pruned ``BOT_UPDATE_KEEP_H`` after they were last touched.
    """

    __tablename__ = "update_claims"
    __table_args__ = (sa.Index(None, "lease_until"),)

    bot_id: Mapped[int] = mapped_column(TelegramId, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(sa.String(32))
    lease_until: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
