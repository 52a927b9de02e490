"""The gate's own state writes: mutes it placed, mutes it lifted, users it has seen, and the
timers it arms and disarms (:mod:`bot.storage.timers`, applied in the same transactions).

:class:`StateWriter` takes them without waiting (the gate never blocks on the database) and one
background task applies them in order, a batch per transaction, retried with backoff while the
database is down. A batch is applied as a handful of set-based statements, whatever its size:

1. one ``SELECT`` of the active restrictions of the (user, group) pairs in the batch;
2. the batch replayed in Python over that state, in order (a mute adds a row unless one is
   active, a lift closes the active rows), which leaves
3. one ``UPDATE`` of the rows lifted (a ``CASE`` on the id gives each its own time), one
   multi-row ``INSERT`` of the new rows and one multi-row upsert of the users seen.

Few statements matter on SQLite: the driver runs in a worker thread that needs the GIL back for
every statement, and a busy event loop hands it back only every few milliseconds; a statement
per operation kept SQLite's write lock for tens of seconds and starved the log writer. Every
transaction also takes this process's :func:`core.db.write_turn`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.timers import Arm, Disarm, TimerOp, apply_timers
from core.clock import Clock, SystemClock
from core.db import Base, write_turn
from core.expiring import ExpiringMap
from core.models import User
from core.retry import Retry, RetryPolicy

log = logging.getLogger(__name__)

#: Rows (or keys) per statement: far below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 400
#: Users whose upsert interval is tracked at most.
NOTED_USERS_MAX = 200_000
#: The first pause before a failed batch is retried (then doubled up to ``retry_max_s``).
RETRY_FIRST_S = 0.05

T = TypeVar("T")
RESTRICTIONS: sa.Table = Base.metadata.tables["user_restrictions"]


@dataclass
class StateWriterStats:
    done: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    pending: int = 0


@dataclass(frozen=True, slots=True)
class Mute:
    """The gate muted ``user_id`` in ``group_id``."""

    user_id: int
    group_id: int
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Lift:
    """The gate lifted its mute of ``user_id`` in ``group_id``."""

    user_id: int
    group_id: int
    at: dt.datetime


Op = Mute | Lift | Arm | Disarm
RestrictionOp = Mute | Lift


@dataclass
class RestrictionChanges:
    """What one batch does to ``user_restrictions``."""

    lifted: dict[int, dt.datetime]  # id of a stored active row -> lifted_at
    added: list[dict[str, Any]]  # new rows (possibly lifted within the same batch)


def plan_restrictions(
    ops: Iterable[RestrictionOp], active: Iterable[tuple[int, int, int]]
) -> RestrictionChanges:
    """Replay ``ops`` in order over the stored ``active`` rows ``(id, user_id, group_id)``.

    A mute adds a row unless one is active for the pair; a lift closes every active row of
    the pair (stored or added earlier in the batch); the rest is left alone.
    """
    stored: dict[tuple[int, int], list[int]] = {}
    for row_id, user_id, group_id in active:
        stored.setdefault((user_id, group_id), []).append(row_id)
    new: dict[tuple[int, int], dict[str, Any]] = {}
    changes = RestrictionChanges(lifted={}, added=[])
    for op in ops:
        key = (op.user_id, op.group_id)
        if isinstance(op, Mute):
            if key not in stored and key not in new:
                row: dict[str, Any] = {
                    "user_id": op.user_id,
                    "group_id": op.group_id,
                    "reason": op.reason,
                    "is_active": True,
                    "created_at": op.at,
                    "lifted_at": None,
                }
                changes.added.append(row)
                new[key] = row
        else:
            for row_id in stored.pop(key, ()):
                changes.lifted[row_id] = op.at
            added = new.pop(key, None)
            if added is not None:
                added["is_active"] = False
                added["lifted_at"] = op.at
    return changes


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StateWriter:
    """Ordered, retried background writes of gate state: mutes, lifts, user upserts.

    ``mute``/``lift``/``seen_user`` return at once; one task applies the queued operations in
    order, up to ``batch_size`` of them per transaction. While the database is down the head
    batch is retried with backoff (nothing is lost unless more than ``max_pending`` operations
    pile up; past that new ones are dropped and counted). :meth:`drain` waits for the queue to
    empty (tests, shutdown); :meth:`close` never cuts a transaction short.
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
        self.engine: AsyncEngine = sessions.kw["bind"]
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
        #: users noted within ``upsert_interval_s`` (the least recently seen go first)
        self._recently_noted: ExpiringMap[int, bool] = ExpiringMap(
            self.clock.monotonic, upsert_interval_s, max_entries=NOTED_USERS_MAX
        )
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._stop = asyncio.Event()

    # ------------------------------------------------------------------ queueing
    def mute(self, user_id: int, group_id: int, reason: str, at: dt.datetime) -> None:
        self._push(Mute(user_id, group_id, reason, at))

    def lift(self, user_id: int, group_id: int, at: dt.datetime) -> None:
        self._push(Lift(user_id, group_id, at))

    def arm(self, timer: Arm) -> None:
        """Arm a timer (:mod:`bot.storage.timers`), in order with the mutes and lifts."""
        self._push(timer)

    def disarm(self, group_id: int, user_id: int, *kinds: str) -> None:
        """Drop the (group, user) timers of these kinds."""
        self._push(Disarm(group_id, user_id, kinds))

    def seen_user(self, user: Any) -> None:
        """Note a user; upserted at most once per ``upsert_interval_s`` per process."""
        if user.id in self._recently_noted:
            return
        self._recently_noted.set(user.id, True)
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
        if self._stop.is_set():
            return
        if self._task is None or self._task.done():
            self._idle.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def gate_mute_active(self, user_id: int, group_id: int) -> bool | None:
        """Whether the gate's own mute of ``user_id`` in ``group_id`` is active: the latest
        queued operation for the pair decides, else the pair's newest ``user_restrictions``
        row (a restriction an admin placed has no row and is never the gate's). ``None``: no
        row at all, which also means a mute still queued in another replica's writer (while
        the database was down, say); the caller decides what proves it then."""
        for op in reversed(self._ops):
            if isinstance(op, Mute | Lift) and op.user_id == user_id and op.group_id == group_id:
                return isinstance(op, Mute)
        ur = RESTRICTIONS
        async with self.engine.connect() as conn:
            active = await conn.scalar(
                sa.select(ur.c.is_active)
                .where(ur.c.user_id == user_id, ur.c.group_id == group_id)
                .order_by(ur.c.is_active.desc())
                .limit(1)
            )
        return None if active is None else bool(active)

    @property
    def backlog(self) -> int:
        """Operations and user rows not yet applied."""
        return len(self._ops) + len(self._users)

    async def drain(self) -> None:
        """Wait until every queued operation is applied (returns at once after :meth:`close`)."""
        while (self._ops or self._users) and not self._stop.is_set():
            if self._task is None or self._task.done():
                self._wake()
            await self._idle.wait()
            if self._ops or self._users:
                await asyncio.sleep(0.01)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Apply what is queued (for up to ``timeout_s``), then stop between transactions."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout_s)
        self._stop.set()  # no new batch; a backoff pause ends now
        task = self._task
        if task is not None and not task.done():
            try:  # a transaction in flight finishes (its driver has its own timeouts)
                await asyncio.wait_for(asyncio.shield(task), timeout_s)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.backlog:
            log.warning("state writer: %d operations not applied at shutdown", self.backlog)

    # ------------------------------------------------------------------ the worker
    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _run(self) -> None:
        # a failed batch is retried until it lands or the writer stops (no attempt limit: the
        # database coming back is the only way out of an outage)
        policy = RetryPolicy(Retry(Exception, sys.maxsize, self._backoff), sleep=self._pause)
        try:
            while (self._ops or self._users) and not self._stop.is_set():
                written = await policy.call(self._write_head)
                if written is None:
                    break  # stopped during a backoff pause
                batch, users = written
                for row in users:  # keep rows noted again while this ran
                    if self._users.get(row["id"]) is row:
                        del self._users[row["id"]]
                for _ in batch:
                    self._ops.popleft()
                self.stats.done += len(batch)
                self.stats.pending = len(self._ops)
        finally:
            self._idle.set()

    async def _write_head(self) -> tuple[list[Op], list[dict[str, Any]]] | None:
        """Apply the head batch and the pending user rows in one transaction (all of it lands
        or none); what was applied, or ``None`` when the writer stopped meanwhile."""
        if self._stop.is_set():
            return None
        if self.linger_s > 0 and len(self._ops) < self.batch_size:
            await self._pause(self.linger_s)
        batch = list(itertools.islice(self._ops, self.batch_size))
        users = list(self._users.values())
        async with write_turn(self.engine), self.engine.begin() as conn:
            await self._apply(conn, batch, users)
        return batch, users

    def _backoff(self, exc: Exception, attempt: int) -> float:
        """The pause before retry ``attempt`` (1-based): doubling from ``RETRY_FIRST_S`` up to
        ``retry_max_s``."""
        delay = min(RETRY_FIRST_S * 2.0 ** min(attempt - 1, 30), self.retry_max_s)
        self.stats.failed_attempts += 1
        log.warning("state write failed (%s); retrying in %.2fs", type(exc).__name__, delay)
        return delay

    async def _apply(
        self, conn: AsyncConnection, batch: list[Op], users: list[dict[str, Any]]
    ) -> None:
        restrictions = [op for op in batch if isinstance(op, Mute | Lift)]
        if restrictions:
            await self._apply_restrictions(conn, restrictions)
        timers: list[TimerOp] = [op for op in batch if isinstance(op, Arm | Disarm)]
        if timers:
            await apply_timers(conn, timers, self.clock.now())
        if users:
            await self._upsert_users(conn, users)

    async def _apply_restrictions(self, conn: AsyncConnection, batch: list[RestrictionOp]) -> None:
        ur = RESTRICTIONS
        active: list[tuple[int, int, int]] = []
        pairs = sorted({(op.user_id, op.group_id) for op in batch})
        for chunk in _chunks(pairs, CHUNK // 2):
            rows = await conn.execute(
                sa.select(ur.c.id, ur.c.user_id, ur.c.group_id).where(
                    ur.c.is_active.is_(True),
                    ur.c.user_id.in_({u for u, _ in chunk}),
                    ur.c.group_id.in_({g for _, g in chunk}),
                )
            )
            wanted = set(chunk)
            active.extend((r[0], r[1], r[2]) for r in rows if (r[1], r[2]) in wanted)
        changes = plan_restrictions(batch, active)
        lifted = sorted(changes.lifted.items())
        for chunk_lifted in _chunks(lifted):
            when = sa.case(
                *[
                    (ur.c.id == row_id, sa.literal(at, ur.c.lifted_at.type))
                    for row_id, at in chunk_lifted
                ]
            )
            await conn.execute(
                sa.update(ur)
                .where(ur.c.id.in_([row_id for row_id, _ in chunk_lifted]))
                .values(is_active=False, lifted_at=when)
            )
        for chunk_added in _chunks(changes.added):
            await conn.execute(sa.insert(ur).values(list(chunk_added)))

    async def _upsert_users(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        for chunk in _chunks(rows):
            stmt = insert(User).values(list(chunk))
            stmt = stmt.on_conflict_do_update(
                index_elements=[User.id],
                set_={
                    name: stmt.excluded[name]
                    for name in (
                        "username",
                        "first_name",
                        "last_name",
                        "language_code",
                        "is_bot",
                        "is_active",
                        "last_seen_at",
                    )
                },
            )
            await conn.execute(stmt)


def _clip(value: Any, size: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[:size]
