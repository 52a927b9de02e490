"""A linked channel the bot can no longer read, found at check time, and what the gate does then.

When a channel's admin removes the bot (or takes its admin right away) Telegram does not always
tell it (``my_chat_member`` reaches the bot only while it is in the channel), and a check's
``getChatMember`` fails with ``Bad Request: member list is inaccessible`` (a public channel) or
``Bad Request: chat not found`` (a private one). :func:`is_lost_access` recognises those two.

:class:`ChannelAccess` records such a loss once per change: one ``bot_rights`` row for the
channel (status ``left``, no rights), unless the channel's last row already says the bot is no
administrator there (another replica, or this one before a restart, recorded it): read and
written in one transaction under a per-channel lock, so replicas meeting it at once write one.
That row is what the rest already acts on: the ``permission_lost`` alert (one alert, delivered
once to the owner and admins of every group that links the channel, in private), the
dashboard's "Bot rights" table. ``/status`` asks Telegram afresh (:mod:`bot.routers.admin`).

The policy while a channel is lost (:data:`LOST_CHANNEL`, a group setting, ``/settings
lost_channel hold|open``):

- ``hold`` (the default): the channel counts as not joined, so a newcomer is muted and prompted
  as usual and stays muted until the bot is back in the channel and the check passes. The gate
  keeps its promise (nobody writes without the channel) at the cost of newcomers waiting; the
  owner is told at once.
- ``open``: the check is an ``error`` and the gate lets the person write (as for any other
  Telegram fault).

A check that reads the channel again forgets the loss in this process; the ``bot_rights`` row
for the bot's return comes from ``my_chat_member`` when an admin adds it back.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from aiogram.exceptions import TelegramBadRequest

from core.clock import Clock
from core.db import write_turn
from core.models import BotRight

if TYPE_CHECKING:
    from bot.storage.config import ConfigRepo

log = logging.getLogger(__name__)

LOST_ACCESS_TEXTS = ("member list is inaccessible", "chat not found")
"""Telegram's words when the bot cannot read a channel's members any more."""
LOST_CHANNEL = "lost_channel"
"""The group setting naming the policy for a linked channel the bot lost."""
HOLD = "hold"
OPEN = "open"
LOST_CHANNEL_DEFAULT = HOLD
LOST_ROW: dict[str, Any] = {
    "status": "left",
    "is_admin": False,
    "can_restrict_members": False,
    "can_delete_messages": False,
    "can_invite_users": False,
}
"""The ``bot_rights`` row of a lost channel: Telegram says only that the bot cannot read it."""
LOCK_SPACE = 0x6272  # "br": the advisory locks of bot_rights losses, one per channel


def is_lost_access(exc: BaseException) -> bool:
    """Whether a failed ``getChatMember`` of a channel says the bot cannot read it any more."""
    if not isinstance(exc, TelegramBadRequest):
        return False
    text = exc.message.lower()
    return any(words in text for words in LOST_ACCESS_TEXTS)


def lost_channel_policy(settings: Any) -> str:
    """The group's policy for a lost channel (``hold`` unless set to ``open``)."""
    value = (settings or {}).get(LOST_CHANNEL, LOST_CHANNEL_DEFAULT)
    return value if value in (HOLD, OPEN) else LOST_CHANNEL_DEFAULT


class ChannelAccess:
    """Which channels this process knows it lost, and their one ``bot_rights`` row per loss."""

    def __init__(self, *, repo: ConfigRepo, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock
        #: channel -> whether this process last saw it lost (True) or readable (False)
        self._lost: dict[int, bool] = {}
        #: channel -> when this process last saw it readable (a loss recorded before is old)
        self._readable_at: dict[int, dt.datetime] = {}

    def known_lost(self, channel_id: int) -> bool:
        return self._lost.get(channel_id, False)

    async def lost(self, channel_id: int) -> bool:
        """Note that the bot cannot read ``channel_id``; whether this recorded a change (a new
        ``bot_rights`` row). Unless this process saw the channel readable since, the channel's
        last row decides (another replica, or this one before a restart, may have written it).
        With the database down nothing is recorded, and the next call tries again."""
        seen = self._lost.get(channel_id)
        if seen:
            return False
        self._lost[channel_id] = True
        recorded = await self._record_once(channel_id, self._readable_at.get(channel_id))
        if recorded is None:
            # the database is down: not recorded yet. The next check that meets the loss (every
            # newcomer's check asks Telegram again) records it, once: a row written blind now
            # would be a second one whenever another replica, or this one before a restart,
            # had recorded the loss already
            del self._lost[channel_id]
            return False
        if recorded:
            log.warning("lost access to channel %s: recorded in bot_rights", channel_id)
        return recorded

    def readable(self, channel_id: int) -> None:
        """The bot reads ``channel_id`` (a check, ``/status``, ``my_chat_member``): a later
        loss is a new change."""
        self._lost[channel_id] = False
        self._readable_at[channel_id] = self.clock.now()

    async def _record_once(self, channel_id: int, since: dt.datetime | None) -> bool | None:
        """Write the loss row unless the channel's last ``bot_rights`` row already says the bot
        is no administrator there (and, when this process saw the channel readable at
        ``since``, was written after that); whether it wrote it (``None``: a database fault).

        Read and write are one transaction, and on PostgreSQL under a transaction-level
        advisory lock per channel: two replicas meeting the loss at once write one row, and
        only the one that wrote it tells the owner. (SQLite serves one process.)
        """
        t = BotRight.__table__
        last_row = (
            sa.select(t.c.is_admin, t.c.timestamp)
            .where(t.c.chat_id == channel_id)
            .order_by(t.c.timestamp.desc(), t.c.id.desc())
            .limit(1)
        )
        engine = self.repo.engine
        try:
            async with write_turn(engine), self.repo.sessions() as session, session.begin():
                if engine.dialect.name == "postgresql":
                    await session.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(LOCK_SPACE, channel_id % 2**31))
                    )
                last = (await session.execute(last_row)).first()
                if last is not None and not last.is_admin:
                    at = last.timestamp
                    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
                    if since is None or at >= since:
                        return False
                await session.execute(
                    sa.insert(BotRight).values(
                        chat_id=channel_id, timestamp=self.clock.now(), **LOST_ROW
                    )
                )
                return True
        except Exception as exc:
            log.warning("bot_rights of channel %s: database error %s", channel_id, type(exc))
            return None
