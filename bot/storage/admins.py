"""Who administers each protected group (``group_admins``), as the bot learns it.

Three sources keep the table current: ``getChatAdministrators`` when a group is protected
(:meth:`GroupAdmins.refresh`, which replaces the group's rows), a daily refresh of the groups
whose rows are older than :data:`REFRESH_AFTER` (:meth:`GroupAdmins.refresh_stale`, a few groups
per housekeeping sweep), and the ``chat_member`` updates that make someone a creator or
administrator or stop them being one (:class:`AdminTracker`, an outer middleware that never
stops the update).

Replicas share the daily refresh through the stored ``updated_at``: a replica claims a group by
moving its rows' ``updated_at`` to now with a conditional UPDATE, so another replica's claim
finds nothing older than the cutoff and skips it. A change the bot could not store (the database
down) is remembered in the process and the group refreshed at the next sweep.

The dashboard reads the table (:mod:`dashboards.scope`): a signed-in owner sees the groups where
they are creator or administrator now.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from aiogram import BaseMiddleware, Bot
from aiogram.types import ChatMember, ChatMemberUpdated, TelegramObject
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import Clock
from core.db import write_turn
from core.models import AdminStatus, GroupAdmin, ProtectedGroup

log = logging.getLogger(__name__)

REFRESH_AFTER = dt.timedelta(hours=24)
"""A group's admin rows older than this are read again from Telegram."""
REFRESH_BATCH = 5
"""Groups refreshed per housekeeping sweep at most (each costs one getChatAdministrators)."""
GROUP_TYPES = frozenset({"group", "supergroup"})
ADMIN_VALUES = frozenset(s.value for s in AdminStatus)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def admin_of(member: ChatMember | None) -> tuple[int, AdminStatus | None] | None:
    """``(user id, creator / administrator)`` for a person who administers the chat,
    ``(user id, None)`` for anyone else; None for a bot or a member object without a user."""
    user = getattr(member, "user", None)
    if user is None or getattr(user, "is_bot", False):
        return None
    status = getattr(member, "status", None)
    value = getattr(status, "value", status)
    return int(user.id), AdminStatus(value) if value in ADMIN_VALUES else None


def admin_rows(members: Iterable[ChatMember]) -> dict[int, AdminStatus]:
    """The people among ``members`` (a ``getChatAdministrators`` answer) and their status."""
    found = (admin_of(member) for member in members)
    return {user_id: status for user_id, status in filter(None, found) if status is not None}


class GroupAdmins:
    """``group_admins``: replace a group's rows, change one person's, find the stale groups."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.engine: AsyncEngine = sessions.kw["bind"]
        self.clock = clock
        #: groups whose change could not be stored: refreshed at the next sweep
        self.pending: set[int] = set()
        #: groups Telegram would not list the admins of (the bot removed, ...), by the
        #: ``clock.monotonic()`` of the failure: asked again a day later, so that they do not
        #: take every sweep's turn
        self.failed: dict[int, float] = {}

    def _insert(self) -> Any:
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    async def replace(self, group_id: int, admins: dict[int, AdminStatus]) -> None:
        """Make ``admins`` the group's rows (nothing when the group is not protected)."""
        now = self.clock.now()
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            if await session.get(ProtectedGroup, group_id) is None:
                return
            await session.execute(sa.delete(GroupAdmin).where(GroupAdmin.group_id == group_id))
            if admins:
                await session.execute(
                    sa.insert(GroupAdmin),
                    [
                        dict(group_id=group_id, user_id=u, status=s.value, updated_at=now)
                        for u, s in admins.items()
                    ],
                )

    async def set_status(self, group_id: int, user_id: int, status: AdminStatus | None) -> None:
        """One person became creator/administrator (``status``) or stopped being one (None).
        Only protected groups have rows."""
        now = self.clock.now()
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            if status is None:
                await session.execute(
                    sa.delete(GroupAdmin).where(
                        GroupAdmin.group_id == group_id, GroupAdmin.user_id == user_id
                    )
                )
                return
            protected = sa.exists().where(ProtectedGroup.id == group_id)
            values = sa.select(
                sa.literal(group_id, sa.BigInteger()),
                sa.literal(user_id, sa.BigInteger()),
                sa.literal(status.value),
                sa.literal(now, GroupAdmin.__table__.c.updated_at.type),
            ).where(protected)
            stmt = self._insert()(GroupAdmin).from_select(
                ["group_id", "user_id", "status", "updated_at"], values
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[GroupAdmin.group_id, GroupAdmin.user_id],
                    set_={"status": stmt.excluded.status, "updated_at": stmt.excluded.updated_at},
                )
            )

    async def user_groups(self, user_id: int) -> list[int]:
        """The groups ``user_id`` administers, as stored (tests, diagnostics)."""
        async with self.sessions() as session:
            found = await session.execute(
                sa.select(GroupAdmin.group_id)
                .where(GroupAdmin.user_id == user_id)
                .order_by(GroupAdmin.group_id)
            )
            return [int(g) for g in found.scalars()]

    async def stale_groups(self, limit: int = REFRESH_BATCH) -> list[int]:
        """Protected groups whose oldest admin row is older than :data:`REFRESH_AFTER`, or that
        have none; those never read first, then the oldest."""
        cutoff = self.clock.now() - REFRESH_AFTER
        since = self.clock.monotonic() - REFRESH_AFTER.total_seconds()
        self.failed = {g: at for g, at in self.failed.items() if at > since}
        oldest = sa.func.min(GroupAdmin.updated_at)
        stmt = (
            sa.select(ProtectedGroup.id)
            .join_from(
                ProtectedGroup, GroupAdmin, GroupAdmin.group_id == ProtectedGroup.id, isouter=True
            )
            .group_by(ProtectedGroup.id)
            .where(ProtectedGroup.id.not_in(list(self.failed)))
            .having(sa.or_(oldest.is_(None), oldest < cutoff))
            .order_by(oldest.is_not(None), oldest, ProtectedGroup.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [int(x) for x in (await session.execute(stmt)).scalars()]

    async def claim(self, group_id: int) -> bool:
        """Take the daily refresh of ``group_id`` for this replica: True when its rows were
        still stale (now stamped), or it has none; False when another replica took it."""
        now = self.clock.now()
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            moved = await session.execute(
                sa.update(GroupAdmin)
                .where(GroupAdmin.group_id == group_id, GroupAdmin.updated_at < now - REFRESH_AFTER)
                .values(updated_at=now)
            )
            if getattr(moved, "rowcount", 0):
                return True
            any_row = await session.execute(
                sa.select(GroupAdmin.user_id).where(GroupAdmin.group_id == group_id)
            )
            return any_row.first() is None

    async def refresh(self, bot: Bot, group_id: int) -> bool:
        """Read the group's admins from Telegram and store them; False (logged) when Telegram
        or the database failed."""
        try:
            members = await bot.get_chat_administrators(group_id)
        except Exception as exc:
            log.info(
                "admins of %s not read: getChatAdministrators %s", group_id, type(exc).__name__
            )
            self.failed[group_id] = self.clock.monotonic()
            self.pending.discard(group_id)  # asked again a day later, as a stale group
            return False
        try:
            await self.replace(group_id, admin_rows(members))
        except Exception as exc:
            log.warning("admins of %s not stored: %s", group_id, type(exc).__name__)
            self.pending.add(group_id)
            return False
        self.pending.discard(group_id)
        return True

    async def refresh_stale(self, bot: Bot, limit: int = REFRESH_BATCH) -> int:
        """One housekeeping sweep: the groups whose change was not stored, then up to ``limit``
        stale groups this replica claims; returns how many were refreshed."""
        done = 0
        for group_id in sorted(self.pending):
            done += await self.refresh(bot, group_id)
        for group_id in await self.stale_groups(limit):
            if await self.claim(group_id):
                done += await self.refresh(bot, group_id)
        return done

    async def note_change(self, update: ChatMemberUpdated) -> None:
        """A ``chat_member`` update of a group: store the person's admin status when it changed
        (promote, demote, an admin who left or was removed). Database errors are logged and the
        group refreshed at the next sweep; odd updates are ignored."""
        chat = getattr(update, "chat", None)
        if chat is None or chat.type not in GROUP_TYPES:
            return
        old = admin_of(getattr(update, "old_chat_member", None))
        new = admin_of(getattr(update, "new_chat_member", None))
        if new is None or (old is not None and old[1] == new[1]):
            return
        user_id, status = new
        try:
            await self.set_status(chat.id, user_id, status)
        except Exception as exc:
            log.warning("admin change in %s not stored: %s", chat.id, type(exc).__name__)
            self.pending.add(chat.id)


class AdminTracker(BaseMiddleware):
    """An outer middleware on ``chat_member`` updates: the update's handler (the gate's joins and
    leaves, linked channels) runs first, then the admin change is stored. It never stops or
    fails the update (aiogram runs one handler per update: a handler of its own would take
    the gate's)."""

    def __init__(self, admins: GroupAdmins) -> None:
        self.admins = admins

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            if isinstance(event, ChatMemberUpdated):
                await self.admins.note_change(event)
