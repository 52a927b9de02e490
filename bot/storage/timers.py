"""The gate's timers in the database (``gate_timers``): armed and disarmed with the gate's other
state writes, claimed by one replica when due.

* :class:`Arm` and :class:`Disarm` are queued on the :class:`bot.storage.gate_state.StateWriter`
  (in order with the mutes and lifts, batched, retried while the database is down) and applied
  by :func:`apply_timers`: one ``DELETE`` of the disarmed (group, user, kind) keys, then one
  multi-row ``INSERT ... ON CONFLICT DO NOTHING`` of the armed rows (a timer already armed
  keeps its earlier deadline: a muted newcomer writing again does not push their timeout back).
* :meth:`TimerStore.claim` takes the due rows in one statement: ``UPDATE ... SET lease_until =
  now + lease, attempts = attempts + 1 WHERE id IN (SELECT id ... WHERE due_at <= now AND
  (lease_until IS NULL OR lease_until <= now) ORDER BY due_at LIMIT n [FOR UPDATE SKIP LOCKED])
  RETURNING ...``. On PostgreSQL ``SKIP LOCKED`` makes two replicas' concurrent claims take
  disjoint rows (a row a concurrent claim updated first is re-checked and no longer matches);
  SQLite has one writer at a time. A claimed row is deleted once done (:meth:`TimerStore.done`);
  a replica that dies meanwhile leaves it leased, and it is claimed again when the lease ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db import Base, write_turn

TIMERS: sa.Table = Base.metadata.tables["gate_timers"]
#: ``gate_timers.kind``: delete an unanswered prompt / act on an unverified newcomer.
PROMPT, TIMEOUT = "prompt", "timeout"
#: Keys per statement (far below both backends' bound-parameter limits).
CHUNK = 300


@dataclass(frozen=True, slots=True)
class Arm:
    """Arm a timer (kept as it is when the same one is armed already)."""

    kind: str
    group_id: int
    user_id: int
    due_at: dt.datetime
    message_id: int = 0


@dataclass(frozen=True, slots=True)
class Disarm:
    """Drop every timer of these ``kinds`` for (group, user)."""

    group_id: int
    user_id: int
    kinds: tuple[str, ...]


TimerOp = Arm | Disarm


@dataclass
class TimerChanges:
    """What a batch of timer operations does to ``gate_timers``."""

    wiped: set[tuple[int, int, str]] = field(default_factory=set)
    """(group, user, kind) whose stored rows go."""
    added: list[dict[str, Any]] = field(default_factory=list)
    """Rows to insert unless already there."""


def plan_timers(ops: Iterable[TimerOp], now: dt.datetime) -> TimerChanges:
    """Replay ``ops`` in order: a disarm wipes the stored rows of its keys and the rows armed
    before it in the batch; an arm adds a row (the first of the same timer in the batch)."""
    wiped: set[tuple[int, int, str]] = set()
    pending: dict[tuple[int, int, str, int], dict[str, Any]] = {}
    for op in ops:
        if isinstance(op, Arm):
            key = (op.group_id, op.user_id, op.kind, op.message_id)
            pending.setdefault(
                key,
                {
                    "kind": op.kind,
                    "group_id": op.group_id,
                    "user_id": op.user_id,
                    "message_id": op.message_id,
                    "due_at": op.due_at,
                    "lease_until": None,
                    "attempts": 0,
                    "created_at": now,
                },
            )
        else:
            gone = {(op.group_id, op.user_id, kind) for kind in op.kinds}
            wiped |= gone
            pending = {k: row for k, row in pending.items() if k[:3] not in gone}
    return TimerChanges(wiped, list(pending.values()))


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def apply_timers(conn: AsyncConnection, ops: Sequence[TimerOp], now: dt.datetime) -> None:
    """Apply a batch of timer operations inside the caller's transaction."""
    changes = plan_timers(ops, now)
    t = TIMERS
    for chunk in _chunks(sorted(changes.wiped)):
        await conn.execute(
            sa.delete(t).where(sa.tuple_(t.c.group_id, t.c.user_id, t.c.kind).in_(list(chunk)))
        )
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for rows in _chunks(changes.added):
        await conn.execute(insert(t).values(list(rows)).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class Timer:
    """A claimed timer."""

    id: int
    kind: str
    group_id: int
    user_id: int
    message_id: int
    attempts: int


class TimerStore:
    """Claims and completes due timers (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def claim(self, now: dt.datetime, lease_s: float, limit: int = 100) -> list[Timer]:
        """Take up to ``limit`` due timers not held by a live lease, oldest first, for
        ``lease_s``; each is taken by one caller only."""
        t = TIMERS
        due = (
            sa.select(t.c.id)
            .where(
                t.c.due_at <= now,
                sa.or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
            )
            .order_by(t.c.due_at, t.c.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            sa.update(t)
            .where(t.c.id.in_(due.scalar_subquery()))
            .values(
                lease_until=now + dt.timedelta(seconds=lease_s),
                attempts=t.c.attempts + 1,
            )
            .returning(t.c.id, t.c.kind, t.c.group_id, t.c.user_id, t.c.message_id, t.c.attempts)
        )
        async with write_turn(self.engine), self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((Timer(*row) for row in rows), key=lambda timer: timer.id)

    async def done(self, ids: Iterable[int]) -> None:
        """Delete finished timers."""
        ids = sorted(set(ids))
        if not ids:
            return
        async with write_turn(self.engine), self.engine.begin() as conn:
            for chunk in _chunks(ids):
                await conn.execute(sa.delete(TIMERS).where(TIMERS.c.id.in_(list(chunk))))

    async def take_prompts(self, group_id: int, user_id: int) -> list[int]:
        """Remove the prompt timers addressed to (group, user); their prompts' message ids."""
        t = TIMERS
        stmt = (
            sa.delete(t)
            .where(t.c.kind == PROMPT, t.c.group_id == group_id, t.c.user_id == user_id)
            .returning(t.c.message_id)
        )
        async with write_turn(self.engine), self.engine.begin() as conn:
            return sorted(int(m) for m in (await conn.execute(stmt)).scalars())

    async def pending(self) -> list[dict[str, Any]]:
        """Every stored timer (tests, ``/status``)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(TIMERS).order_by(TIMERS.c.id))
            return [dict(r._mapping) for r in rows]
