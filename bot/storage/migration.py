"""A basic group that became a supergroup: its configuration moves to the new id."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AccessList, GroupAdmin, GroupChannelLink, ProtectedGroup, UserRestriction


async def move_group(
    session: AsyncSession, old: ProtectedGroup, new_id: int, now: dt.datetime
) -> None:
    """Move a protected group's row, linked channels, admins, access lists and active mutes to
    ``new_id`` inside the caller's transaction (the supergroup a basic group became)."""
    old_id = old.id
    if await session.get(ProtectedGroup, new_id) is None:
        session.add(
            ProtectedGroup(
                id=new_id,
                title=old.title,
                owner_id=old.owner_id,
                enabled=old.enabled,
                settings=dict(old.settings or {}),
                member_count=old.member_count,
                last_sync_at=old.last_sync_at,
                created_at=old.created_at,
                updated_at=now,
            )
        )
        await session.flush()
    known = sa.select(GroupAdmin.user_id).where(GroupAdmin.group_id == new_id)
    await session.execute(  # the new id's own rows (already read there) win
        sa.delete(GroupAdmin).where(GroupAdmin.group_id == old_id, GroupAdmin.user_id.in_(known))
    )
    for model, column in (
        (GroupAdmin, GroupAdmin.group_id),
        (GroupChannelLink, GroupChannelLink.group_id),
        (AccessList, AccessList.group_id),
        (UserRestriction, UserRestriction.group_id),
    ):
        await session.execute(sa.update(model).where(column == old_id).values({column.key: new_id}))
    await session.delete(old)
