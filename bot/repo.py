"""Database access for the bot's configuration and state (not the raw logs: those go through
:class:`core.log_writer.LogWriter`).

- :class:`ConfigRepo`: protected groups, linked channels, the access list, admin changes, and
  the figures ``/status`` shows. Group configuration is cached in process with a short TTL and
  dropped on every admin change, so the hot path does not touch the database per update; when
  the database is unreachable a stale entry keeps serving.
- :class:`StateWriter`: the gate's own writes (``user_restrictions`` and ``users`` upserts) run
  in one background task, in order, retried with backoff while the database is down, so that a
  database outage never blocks or breaks a gate decision.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.models import (
    AccessList,
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

    @property
    def active(self) -> bool:
        """The gate runs here: enabled and at least one channel linked."""
        return self.enabled and bool(self.channels)


@dataclass(slots=True)
class _Cached:
    value: Any
    expires_at: float


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
        clock: Clock | None = None,
        ttl_s: float = 30.0,
        stale_retry_s: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.clock: Clock = clock or SystemClock()
        self.timer = timer
        self.ttl_s = ttl_s
        self.stale_retry_s = stale_retry_s
        self._groups: dict[int, _Cached] = {}
        self._channels: dict[int, _Cached] = {}
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

    def invalidate(self, group_id: int | None = None) -> None:
        """Drop cached configuration (one group, or everything) after a change."""
        if group_id is None:
            self._groups.clear()
        else:
            self._groups.pop(group_id, None)
        self._channels.clear()

    async def _cached(
        self,
        store: dict[int, _Cached],
        kind: str,
        key: int,
        loader: Callable[[int], Awaitable[Any]],
    ) -> Any:
        now = self.timer()
        entry = store.get(key)
        if entry is not None and entry.expires_at > now:
            return entry.value
        flight = self._inflight.get((kind, key))
        if flight is not None:
            return await asyncio.shield(flight)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[(kind, key)] = future
        try:
            try:
                value = await loader(key)
            except Exception as exc:
                if entry is None:
                    raise
                reason = type(exc).__name__
                log.warning("config reload failed (%s); serving the cached copy", reason)
                value = entry.value
                store[key] = _Cached(value, now + self.stale_retry_s)
            else:
                if len(store) >= 100_000:  # bound memory: drop what has expired
                    for old in [k for k, e in store.items() if e.expires_at <= now]:
                        del store[old]
                store[key] = _Cached(value, self.timer() + self.ttl_s)
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
            allowed = await session.scalars(
                sa.select(AccessList.subject_id).where(
                    AccessList.list_type == ListType.WHITELIST.value,
                    sa.or_(AccessList.group_id == group_id, AccessList.group_id.is_(None)),
                )
            )
            return GroupConfig(
                group_id=group.id,
                title=group.title,
                enabled=group.enabled,
                channels=channels,
                whitelist=frozenset(allowed),
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
    ) -> list[ChannelInfo]:
        """Link channels to the group (creating the group and owner rows as needed).

        Returns the channels newly linked (already-linked ones are left alone).
        """
        added: list[ChannelInfo] = []
        async with self.sessions() as session, session.begin():
            if actor is not None and await session.get(Owner, actor.id) is None:
                session.add(
                    Owner(
                        id=actor.id,
                        username=actor.username,
                        first_name=actor.first_name,
                        created_at=now,
                        updated_at=now,
                    )
                )
                await session.flush()
            group = await session.get(ProtectedGroup, group_id)
            if group is None:
                group = ProtectedGroup(
                    id=group_id,
                    title=title,
                    owner_id=actor.id if actor is not None else None,
                    enabled=True,
                    settings={},
                    created_at=now,
                    updated_at=now,
                )
                session.add(group)
            elif title and group.title != title:
                group.title = title
            await session.flush()
            for channel in channels:
                row = await session.get(EnforcedChannel, channel.id)
                if row is None:
                    session.add(
                        EnforcedChannel(
                            id=channel.id,
                            username=channel.username,
                            title=channel.title,
                            invite_link=channel.invite_link,
                            created_at=now,
                        )
                    )
                else:
                    row.username = channel.username
                    row.title = channel.title
                    row.invite_link = channel.invite_link or row.invite_link
                await session.flush()
                exists = await session.scalar(
                    sa.select(GroupChannelLink.id).where(
                        GroupChannelLink.group_id == group_id,
                        GroupChannelLink.channel_id == channel.id,
                    )
                )
                if exists is None:
                    session.add(
                        GroupChannelLink(
                            group_id=group_id,
                            channel_id=channel.id,
                            created_by=actor.id if actor is not None else None,
                            created_at=now,
                        )
                    )
                    added.append(channel)
        self.invalidate(group_id)
        return added

    async def unprotect(self, group_id: int, channel_id: int | None) -> list[int]:
        """Unlink one channel (or all); returns the channel ids unlinked."""
        async with self.sessions() as session, session.begin():
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

    async def set_enabled(self, group_id: int, enabled: bool, now: dt.datetime) -> bool | None:
        """Turn the gate on/off. Returns the previous value, ``None`` if not protected."""
        async with self.sessions() as session, session.begin():
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
        async with self.sessions() as session, session.begin():
            exists = await session.scalar(
                sa.select(AccessList.id).where(
                    AccessList.group_id == group_id,
                    AccessList.subject_id == user_id,
                    AccessList.list_type == ListType.WHITELIST.value,
                )
            )
            if exists is not None:
                return False
            session.add(
                AccessList(
                    group_id=group_id,
                    subject_id=user_id,
                    subject_type="user",
                    list_type=ListType.WHITELIST.value,
                    added_by=actor_id,
                    created_at=now,
                )
            )
        self.invalidate(group_id)
        return True

    async def deny(self, group_id: int, user_id: int) -> bool:
        """Remove a user from the group's whitelist. ``False`` when they were not on it."""
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                sa.delete(AccessList).where(
                    AccessList.group_id == group_id,
                    AccessList.subject_id == user_id,
                    AccessList.list_type == ListType.WHITELIST.value,
                )
            )
        self.invalidate(group_id)
        return bool(getattr(done, "rowcount", 0))

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


# ---------------------------------------------------------------------- background state writes

Op = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class StateWriterStats:
    done: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    pending: int = 0


@dataclass
class _UserRow:
    values: dict[str, Any] = field(default_factory=dict)


class StateWriter:
    """Ordered, retried background writes of gate state: mutes, lifts, user upserts.

    ``mute``/``lift``/``seen_user`` return at once; one task applies the queued operations in
    order, up to ``batch_size`` of them per transaction. While the database is down the head
    batch is retried with backoff (nothing is lost unless more than ``max_pending`` operations
    pile up; past that new ones are dropped and counted). :meth:`drain` waits for the queue to
    empty (tests, shutdown).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        upsert_interval_s: float = 3600.0,
        max_pending: int = 50_000,
        retry_max_s: float = 5.0,
        batch_size: int = 500,
        linger_s: float = 0.05,
    ) -> None:
        self.sessions = sessions
        #: After a wake-up, wait this long (wall time) so that the writes of a burst of
        #: updates share one transaction instead of one each.
        self.linger_s = linger_s
        self.clock: Clock = clock or SystemClock()
        self.upsert_interval_s = upsert_interval_s
        self.max_pending = max_pending
        self.retry_max_s = retry_max_s
        self.batch_size = batch_size
        self.stats = StateWriterStats()
        self._ops: deque[Op] = deque()
        self._users: dict[int, dict[str, Any]] = {}
        self._users_written: list[dict[str, Any]] = []
        self._last_upsert: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._dialect: str | None = None

    # ------------------------------------------------------------------ queueing
    def mute(self, user_id: int, group_id: int, reason: str, at: dt.datetime) -> None:
        async def op(session: AsyncSession) -> None:
            active = await session.scalar(
                sa.select(UserRestriction.id)
                .where(
                    UserRestriction.user_id == user_id,
                    UserRestriction.group_id == group_id,
                    UserRestriction.is_active.is_(True),
                )
                .limit(1)
            )
            if active is None:  # Core, not session.add: no unit-of-work flush per mute
                await session.execute(
                    sa.insert(UserRestriction).values(
                        user_id=user_id,
                        group_id=group_id,
                        reason=reason,
                        is_active=True,
                        created_at=at,
                    )
                )

        self._push(op)

    def lift(self, user_id: int, group_id: int, at: dt.datetime) -> None:
        async def op(session: AsyncSession) -> None:
            await session.execute(
                sa.update(UserRestriction)
                .where(
                    UserRestriction.user_id == user_id,
                    UserRestriction.group_id == group_id,
                    UserRestriction.is_active.is_(True),
                )
                .values(is_active=False, lifted_at=at)
            )

        self._push(op)

    def seen_user(self, user: Any) -> None:
        """Note a user; upserted at most once per ``upsert_interval_s`` per process."""
        now = self.clock.monotonic()
        last = self._last_upsert.get(user.id)
        if last is not None and now - last < self.upsert_interval_s:
            return
        self._last_upsert[user.id] = now
        if len(self._last_upsert) > 200_000:  # bound the memory: forget the oldest half
            for key in list(self._last_upsert)[:100_000]:
                del self._last_upsert[key]
        at = self.clock.now()
        pending = self._users.get(user.id)
        self._users[user.id] = {
            "id": user.id,
            "username": _clip(getattr(user, "username", None), 64),
            "first_name": _clip(getattr(user, "first_name", None), 256),
            "last_name": _clip(getattr(user, "last_name", None), 256),
            "language_code": _clip(getattr(user, "language_code", None), 16),
            "is_bot": bool(getattr(user, "is_bot", False)),
            "is_active": True,
            "first_seen_at": pending["first_seen_at"] if pending else at,
            "last_seen_at": at,
        }
        if pending is None and len(self._users) == 1:
            self._push(self._upsert_users)
        else:
            self._wake()

    def _push(self, op: Op) -> None:
        if len(self._ops) >= self.max_pending:
            self.stats.dropped += 1
            log.warning("state writer backlog full (database down for long?): dropped a write")
        else:
            self._ops.append(op)
        self._wake()

    def _wake(self) -> None:
        self.stats.pending = len(self._ops)
        if self._task is None or self._task.done():
            self._idle.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until every queued operation is applied."""
        while self._ops or self._users:
            if self._task is None or self._task.done():
                self._wake()
            await self._idle.wait()
            if self._ops or self._users:
                await asyncio.sleep(0.01)

    async def close(self, timeout_s: float = 10.0) -> None:
        try:
            await asyncio.wait_for(self.drain(), timeout_s)
        except TimeoutError:
            log.warning("state writer: %d operations not applied at shutdown", len(self._ops))
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # ------------------------------------------------------------------ the worker
    async def _run(self) -> None:
        delay = 0.05
        try:
            while self._ops or self._users:
                if self.linger_s > 0 and len(self._ops) < self.batch_size:
                    await asyncio.sleep(self.linger_s)
                if not self._ops:
                    self._ops.append(self._upsert_users)
                batch = list(itertools.islice(self._ops, self.batch_size))
                try:  # one transaction for a batch: all of it lands or none (then retried)
                    async with self.sessions() as session, session.begin():
                        for op in batch:
                            await op(session)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._users_written.clear()
                    self.stats.failed_attempts += 1
                    log.warning(
                        "state write failed (%s); retrying in %.2fs", type(exc).__name__, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                delay = 0.05
                for row in self._users_written:  # keep rows noted again while this ran
                    if self._users.get(row["id"]) is row:
                        del self._users[row["id"]]
                self._users_written.clear()
                for _ in batch:
                    self._ops.popleft()
                self.stats.done += len(batch)
                self.stats.pending = len(self._ops)
        finally:
            self._idle.set()

    async def _upsert_users(self, session: AsyncSession) -> None:
        rows = list(self._users.values())
        if not rows:
            return
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(User)
        stmt = stmt.on_conflict_do_update(
            index_elements=[User.id],
            set_={
                "username": stmt.excluded.username,
                "first_name": stmt.excluded.first_name,
                "last_name": stmt.excluded.last_name,
                "language_code": stmt.excluded.language_code,
                "is_bot": stmt.excluded.is_bot,
                "is_active": stmt.excluded.is_active,
                "last_seen_at": stmt.excluded.last_seen_at,
            },
        )
        await session.execute(stmt, rows)
        self._users_written.extend(rows)  # forgotten once the transaction commits


def _clip(value: Any, size: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[:size]
