"""What the gate will do later: delete an unanswered prompt, act on a newcomer's timeout."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import _id, _now


class GateTimer(Base):
    """One thing the gate does at ``due_at``, kept in the database so that a restart keeps it
    and one replica does it (:mod:`bot.storage.timers`).

    ``kind`` ``prompt``: delete the prompt ``message_id`` (after the group's ``prompt_ttl``,
    or with that off at the newcomer's timeout, which removes it sooner when it acts);
    ``user_id`` 0 for a prompt naming several joiners. ``kind`` ``timeout``: act on
    ``user_id``, still unverified, as the group's ``on_timeout`` says (``message_id`` 0).

    A replica claims a due row by setting ``lease_until`` (and counting ``attempts``); the row
    is deleted once done. Every row has a deadline and goes by then at the latest: nothing here
    for the dashboard; an erasure leaves a pending timer, as it leaves the active mute.
    """

    __tablename__ = "gate_timers"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "user_id", "kind", "message_id"),
        sa.Index(None, "due_at"),
    )

    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(sa.String(16))
    group_id: Mapped[int]
    user_id: Mapped[int]
    message_id: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
