"""Database access for the bot's configuration and state (not the raw logs: those go through
:class:`core.log_writer.LogWriter`).

- :class:`ConfigRepo`: protected groups, linked channels, the access list, admin changes, and
  the figures ``/status`` shows. Group configuration is cached in process with a short TTL and
  dropped on every admin change, so the hot path does not touch the database per update; when
  the database is unreachable a stale entry keeps serving.

The gate's own writes (``user_restrictions`` and ``users``) go through
:class:`bot.storage.gate_state.StateWriter`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.gate.language import protect_defaults
from bot.storage.migration import move_group
from core.db import write_turn
from core.expiring import ExpiringMap
from core.models import (
    AccessList,
    ChatMigration,
    EnforcedChannel,
    GroupChannelLink,
    ListType,
    Owner,
    ProtectedGroup,
    User,
    UserRestriction,
    VerificationLog,
)

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
CHAT_ID_RE = re.compile(r"^-?\d{1,19}$")
#: Groups (and channels) whose configuration is cached at most (least recently used go first).
CONFIG_CACHE_MAX = 100_000
_MISSING = object()


def _stale(exc: Exception) -> None:
    log.warning("config reload failed (%s); serving the cached copy", type(exc).__name__)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A linked channel as the gate needs it."""

    id: int
    username: str | None = None
    title: str | None = None
    invite_link: str | None = None

    @property
    def label(self) -> str:
        if self.username:
            return f"@{self.username}"
        return self.title or str(self.id)

    @property
    def join_url(self) -> str | None:
        if self.invite_link:
            return self.invite_link
        if self.username:
            return f"https://t.me/{self.username}"
        return None


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """One protected group's gate configuration (a cached snapshot)."""

    group_id: int
    title: str | None
    enabled: bool
    channels: tuple[ChannelInfo, ...]
    whitelist: frozenset[int] = frozenset()
    blocklist: frozenset[int] = frozenset()
    """Users and channel identities (sender chats) whose messages are deleted; users stay muted."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The group's settings (``protected_groups.settings``), e.g. ``ban_channel_senders``."""

    @property
    def active(self) -> bool:
        """The gate runs here: enabled and at least one channel linked."""
        return self.enabled and bool(self.channels)


class ConfigRepo:
    """Group configuration with a short in-process cache, and the admin commands' writes.

    The cache lifetime runs on wall time (``timer``), not on the injected clock: it bounds
    database load and staleness across replicas, both real-time matters, and a simulation
    that moves a ManualClock by hours per update should not reload the config every update.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_s: float = 30.0,
        stale_retry_s: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.engine: AsyncEngine = sessions.kw["bind"]
        self.timer = timer
        self.ttl_s = ttl_s
        self.stale_retry_s = stale_retry_s
        #: group -> its configuration (``None``: not protected)
        self._groups: ExpiringMap[int, GroupConfig | None] = ExpiringMap(
            timer, ttl_s, max_entries=CONFIG_CACHE_MAX
        )
        #: channel -> the groups that link it
        self._channels: ExpiringMap[int, tuple[int, ...]] = ExpiringMap(
            timer, ttl_s, max_entries=CONFIG_CACHE_MAX
        )
        self._inflight: dict[tuple[str, int], asyncio.Future[Any]] = {}

    # ------------------------------------------------------------------ cached reads
    async def group(self, group_id: int) -> GroupConfig | None:
        """The group's configuration, or ``None`` when it is not protected."""
        value: GroupConfig | None = await self._cached(self._groups, "g", group_id, self._load)
        return value

    async def groups_for_channel(self, channel_id: int) -> tuple[int, ...]:
        """The protected groups that link ``channel_id`` (empty when none)."""
        value: tuple[int, ...] = await self._cached(
            self._channels, "c", channel_id, self._load_channel_groups
        )
        return value

    async def group_config(self, group_id: int) -> GroupConfig | None:
        """The group's gate config; ``None`` when unprotected or unknown (database down and
        nothing cached: the gate then lets everyone through rather than stall)."""
        cached = self._groups.get(group_id, _MISSING)
        if cached is not _MISSING:  # the hot path (every group message): no coroutines
            return cast(GroupConfig | None, cached)
        try:
            return await self.group(group_id)
        except Exception as exc:
            log.warning("no config for group %s: %s", group_id, type(exc).__name__)
            return None

    async def linked_groups(self, channel_id: int) -> tuple[int, ...]:
        """The protected groups that link ``channel_id``; none when the database cannot say."""
        try:
            return await self.groups_for_channel(channel_id)
        except Exception as exc:
            log.warning("no links for channel %s: %s", channel_id, type(exc).__name__)
            return ()

    def invalidate(self, group_id: int | None = None) -> None:
        """Drop cached configuration (one group, or everything) after a change."""
        if group_id is None:
            self._groups.clear()
        else:
            self._groups.discard(group_id)
        self._channels.clear()

    async def _cached(
        self,
        store: ExpiringMap[int, Any],
        kind: str,
        key: int,
        loader: Callable[[int], Awaitable[Any]],
    ) -> Any:
        """The cached value, else one load per key at a time (concurrent callers share it);
        a failed reload serves the expired copy ``stale_retry_s`` longer."""
        value = store.get(key, _MISSING)
        if value is not _MISSING:
            return value
        flight = self._inflight.get((kind, key))
        if flight is not None:
            return await asyncio.shield(flight)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[(kind, key)] = future
        try:
            value = await store.fetch(
                key, lambda: loader(key), stale_retry_s=self.stale_retry_s, on_stale=_stale
            )
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[(kind, key)]

    async def _load(self, group_id: int) -> GroupConfig | None:
        async with self.sessions() as session:
            group = await session.get(ProtectedGroup, group_id)
            if group is None:
                return None
            rows = await session.execute(
                sa.select(EnforcedChannel)
                .join(GroupChannelLink, GroupChannelLink.channel_id == EnforcedChannel.id)
                .where(GroupChannelLink.group_id == group_id)
                .order_by(GroupChannelLink.id)
            )
            channels = tuple(
                ChannelInfo(c.id, c.username, c.title, c.invite_link) for c in rows.scalars()
            )
            listed = await session.execute(
                sa.select(AccessList.list_type, AccessList.subject_id).where(
                    sa.or_(AccessList.group_id == group_id, AccessList.group_id.is_(None)),
                )
            )
            lists: dict[str, set[int]] = {kind.value: set() for kind in ListType}
            for list_type, subject_id in listed:
                lists.setdefault(list_type, set()).add(subject_id)
            return GroupConfig(
                group_id=group.id,
                title=group.title,
                enabled=group.enabled,
                channels=channels,
                whitelist=frozenset(lists[ListType.WHITELIST.value]),
                blocklist=frozenset(lists[ListType.BLACKLIST.value]),
                settings=dict(group.settings or {}),
            )

    async def _load_channel_groups(self, channel_id: int) -> tuple[int, ...]:
        async with self.sessions() as session:
            rows = await session.scalars(
                sa.select(GroupChannelLink.group_id)
                .where(GroupChannelLink.channel_id == channel_id)
                .order_by(GroupChannelLink.group_id)
            )
            return tuple(rows)

    # ------------------------------------------------------------------ admin writes
    async def protect(
        self,
        group_id: int,
        title: str | None,
        actor: Any,
        channels: Iterable[ChannelInfo],
        now: dt.datetime,
        *,
        language: str | None = None,
    ) -> list[ChannelInfo]:
        """Link channels to the group (creating the group and owner rows as needed); a group
        without a language takes ``language`` (the protecting admin's, when known) as its
        language and its default (:func:`bot.gate.language.protect_defaults`).

        Returns the channels newly linked (already-linked ones are left alone).
        """
        added: list[ChannelInfo] = []
        # Upserts, not read-then-insert: two replicas protecting groups that share a channel
        # (or an owner) at the same moment must both succeed.
        insert: Any = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )
        actor_id = actor.id if actor is not None else None
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            if actor is not None:
                await session.execute(
                    insert(Owner)
                    .values(
                        id=actor.id,
                        username=actor.username,
                        first_name=actor.first_name,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=[Owner.id])
                )
            await session.execute(
                insert(ProtectedGroup)
                .values(
                    id=group_id,
                    title=title,
                    owner_id=actor_id,
                    enabled=True,
                    settings={},
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=[ProtectedGroup.id])
            )
            if language is not None:
                group = await session.get(ProtectedGroup, group_id)
                if group is not None and (
                    added_language := protect_defaults(group.settings or {}, language)
                ):
                    group.settings = {**(group.settings or {}), **added_language}
            if title:
                await session.execute(
                    sa.update(ProtectedGroup)
                    .where(
                        ProtectedGroup.id == group_id, ProtectedGroup.title.is_distinct_from(title)
                    )
                    .values(title=title)
                )
            for channel in channels:
                stmt = insert(EnforcedChannel).values(
                    id=channel.id,
                    username=channel.username,
                    title=channel.title,
                    invite_link=channel.invite_link,
                    created_at=now,
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[EnforcedChannel.id],
                        set_={
                            "username": stmt.excluded.username,
                            "title": stmt.excluded.title,
                            "invite_link": sa.func.coalesce(
                                stmt.excluded.invite_link, EnforcedChannel.invite_link
                            ),
                        },
                    )
                )
                linked = await session.scalar(
                    insert(GroupChannelLink)
                    .values(
                        group_id=group_id,
                        channel_id=channel.id,
                        created_by=actor_id,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(
                        index_elements=[GroupChannelLink.group_id, GroupChannelLink.channel_id]
                    )
                    .returning(GroupChannelLink.id)
                )
                if linked is not None:
                    added.append(channel)
        self.invalidate(group_id)
        return added

    async def unprotect(self, group_id: int, channel_id: int | None) -> list[int]:
        """Unlink one channel (or all); returns the channel ids unlinked."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            where = [GroupChannelLink.group_id == group_id]
            if channel_id is not None:
                where.append(GroupChannelLink.channel_id == channel_id)
            ids = list(await session.scalars(sa.select(GroupChannelLink.channel_id).where(*where)))
            if ids:
                await session.execute(sa.delete(GroupChannelLink).where(*where))
        self.invalidate(group_id)
        return ids

    async def find_linked_channel(self, group_id: int, token: str) -> ChannelInfo | None:
        """A channel linked to the group, by @username or numeric id."""
        config = await self._load(group_id)
        if config is None:
            return None
        m = USERNAME_RE.match(token)
        for channel in config.channels:
            if m and channel.username and channel.username.lower() == m.group(1).lower():
                return channel
            if CHAT_ID_RE.match(token) and channel.id == int(token):
                return channel
        return None

    async def set_setting(
        self, group_id: int, name: str, value: Any, now: dt.datetime
    ) -> Any | None:
        """Set one of the group's settings; returns the previous value (``False`` when it was
        unset), or ``None`` when the group is not protected."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            group = await session.get(ProtectedGroup, group_id)
            if group is None:
                return None
            settings = dict(group.settings or {})
            previous = settings.get(name, False)
            settings[name] = value
            group.settings = settings
            group.updated_at = now
        self.invalidate(group_id)
        return previous

    async def change_setting(
        self,
        group_id: int,
        name: str,
        change: Callable[[Mapping[str, Any]], Any],
        now: dt.datetime,
    ) -> tuple[Any, Any, dict[str, Any]] | None:
        """Set one of the group's settings to ``change(settings)`` (the group's settings now,
        read in the same transaction: a value built on another, like one language's welcome
        text in the dict of them all). Returns (the previous value, ``False`` when unset; the
        new value; the settings before), or ``None`` when the group is not protected."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            group = await session.get(ProtectedGroup, group_id, with_for_update=True)
            if group is None:
                return None
            before = dict(group.settings or {})
            value = change(before)
            group.settings = {**before, name: value}
            group.updated_at = now
        self.invalidate(group_id)
        return before.get(name, False), value, before

    async def set_enabled(self, group_id: int, enabled: bool, now: dt.datetime) -> bool | None:
        """Turn the gate on/off. Returns the previous value, ``None`` if not protected."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            group = await session.get(ProtectedGroup, group_id)
            if group is None:
                return None
            previous = group.enabled
            group.enabled = enabled
            group.updated_at = now
        self.invalidate(group_id)
        return previous

    async def allow(self, group_id: int, user_id: int, actor_id: int, now: dt.datetime) -> bool:
        """Whitelist a user in the group. ``False`` when already whitelisted."""
        return await self.add_to_list(group_id, ListType.WHITELIST, user_id, actor_id, now)

    async def deny(self, group_id: int, user_id: int) -> bool:
        """Remove a user from the group's whitelist. ``False`` when they were not on it."""
        return await self.remove_from_list(group_id, ListType.WHITELIST, user_id)

    async def add_to_list(
        self,
        group_id: int,
        list_type: ListType,
        subject_id: int,
        actor_id: int,
        now: dt.datetime,
    ) -> bool:
        """Put a user (positive id) or a channel identity (negative id) on one of the group's
        lists. ``False`` when already there."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            exists = await session.scalar(
                sa.select(AccessList.id).where(
                    AccessList.group_id == group_id,
                    AccessList.subject_id == subject_id,
                    AccessList.list_type == list_type.value,
                )
            )
            if exists is not None:
                return False
            session.add(
                AccessList(
                    group_id=group_id,
                    subject_id=subject_id,
                    subject_type="user" if subject_id > 0 else "channel",
                    list_type=list_type.value,
                    added_by=actor_id,
                    created_at=now,
                )
            )
        self.invalidate(group_id)
        return True

    async def remove_from_list(self, group_id: int, list_type: ListType, subject_id: int) -> bool:
        """Take a subject off one of the group's lists. ``False`` when it was not on it."""
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            done = await session.execute(
                sa.delete(AccessList).where(
                    AccessList.group_id == group_id,
                    AccessList.subject_id == subject_id,
                    AccessList.list_type == list_type.value,
                )
            )
        self.invalidate(group_id)
        return bool(getattr(done, "rowcount", 0))

    async def migrate(self, old_id: int, new_id: int, now: dt.datetime) -> bool:
        """Record that a basic group became a supergroup (``chat_migrations``: analytics join
        the two ids) and move its configuration there: the group row, linked channels, access
        lists and active mutes.

        ``False`` (and nothing changed) when the move was recorded already: Telegram announces
        a migration in both chats, so the second notice finds nothing to do.
        """
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            if await session.get(ChatMigration, old_id) is not None:
                return False
            session.add(ChatMigration(old_chat_id=old_id, new_chat_id=new_id, migrated_at=now))
            old = await session.get(ProtectedGroup, old_id)
            if old is not None:
                await move_group(session, old, new_id, now)
        self.invalidate(old_id)
        self.invalidate(new_id)
        return True

    async def resolve_user(self, token: str) -> User | None:
        """A known user by @username (case-insensitive) or numeric id."""
        async with self.sessions() as session:
            if CHAT_ID_RE.match(token):
                found: User | None = await session.get(User, int(token))
                return found
            m = USERNAME_RE.match(token)
            if not m:
                return None
            return (
                await session.scalars(
                    sa.select(User)
                    .where(sa.func.lower(User.username) == m.group(1).lower())
                    .order_by(User.last_seen_at.desc())
                    .limit(1)
                )
            ).first()

    # ------------------------------------------------------------------ /status figures
    async def muted_count(self, group_id: int) -> int:
        async with self.sessions() as session:
            value = await session.scalar(
                sa.select(sa.func.count())
                .select_from(UserRestriction)
                .where(UserRestriction.group_id == group_id, UserRestriction.is_active.is_(True))
            )
            return int(value or 0)

    async def has_active_restriction(self, group_id: int, user_id: int) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(
                sa.select(UserRestriction.id)
                .where(
                    UserRestriction.group_id == group_id,
                    UserRestriction.user_id == user_id,
                    UserRestriction.is_active.is_(True),
                )
                .limit(1)
            )
            return found is not None

    async def checks_between(
        self, group_id: int, start: dt.datetime, end: dt.datetime
    ) -> tuple[int, int]:
        """(checks, cached checks) of one group in [start, end), via the (group_id, timestamp)
        index of verification_log."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.coalesce(
                            sa.func.sum(sa.case((VerificationLog.cached.is_(True), 1), else_=0)),
                            0,
                        ),
                    ).where(
                        VerificationLog.group_id == group_id,
                        VerificationLog.timestamp >= start,
                        VerificationLog.timestamp < end,
                    )
                )
            ).one()
            return int(row[0]), int(row[1])
