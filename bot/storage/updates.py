"""Each update handled once across replicas, however many times Telegram delivers it.

Telegram delivers an update again when it got no 2xx answer in time: a lost answer, a replica
killed mid-request, a timeout. :class:`UpdateLedger` decides, per ``update_id``, before the
update is handled:

* ``won``: this attempt holds the update's **lease** (renewed while the work runs, released
  when it fails, lapsing ``BOT_UPDATE_LEASE_S`` after a holder that died); it handles the
  update and then records its **completion**;
* ``done``: the update was handled in full already: it is answered and skipped;
* ``busy``: another replica holds its lease right now: the webhook answers 503, and Telegram
  delivers it again later (by then it is done, or its holder died and the lease lapsed).

The lease lives in Redis (:class:`bot.storage.shared.updates.SharedUpdates`); while Redis is
down, in the database's ``update_claims`` table (:class:`UpdateClaim`, kept
``BOT_UPDATE_KEEP_H``, pruned by :meth:`UpdateLedger.prune`); when the database cannot answer
either, in this process's memory. The completion is recorded in Redis and, durably, in
``update_claims``: a redelivery that meets Redis down (or a Redis restarted without its
records: its epoch is younger than ``BOT_UPDATE_KEEP_H``) finds it there. Without
``REDIS_URL`` (one process, replicas share nothing) the memory alone decides: polling gets each
update once, and a webhook's redelivery is caught.

A redelivered update must finish its work exactly once, so what an attempt writes to the raw
logs (its ``messages`` and ``member_events`` rows, :func:`put_raw`) is held until the attempt
succeeds: an attempt that dies leaves no row behind for its redelivery to repeat.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import itertools
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage.shared.client import RedisDown, SharedRedis
from bot.storage.shared.updates import SharedUpdates
from core.clock import Clock
from core.db import Base, write_turn
from core.expiring import ExpiringSet
from core.models import UpdateClaim

if TYPE_CHECKING:
    from core.log_writer import LogWriter

log = logging.getLogger(__name__)

Answer = Literal["won", "done", "busy"]
#: Completed updates this process remembers at most without Redis (the oldest go first).
MEMORY_MAX = 200_000
#: The database's ``update_claims`` is pruned at most this often.
PRUNE_EVERY_S = 600.0
TABLE = cast(sa.Table, UpdateClaim.__table__)


@dataclass
class Attempt:
    """One attempt at one update: its lease holder, where the lease lives, the raw rows it
    has written so far (held until it succeeds)."""

    update_id: int
    holder: str
    where: Literal["redis", "db", "memory"]
    rows: list[tuple[type[Base], dict[str, Any]]] = field(default_factory=list)
    #: rows are held while open; after the attempt they go straight to the writer (work the
    #: handler left running after the answer, a raid's batch)
    open: bool = True


_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "gatepulse_update_attempt", default=None
)


def current_update() -> int | None:
    """The ``update_id`` being handled in this task (``None`` outside an update)."""
    attempt = _attempt.get()
    return attempt.update_id if attempt is not None else None


def put_raw(writer: LogWriter, table: type[Base], **columns: Any) -> None:
    """``writer.put(table, **columns)``, held until the update being handled succeeds (see
    the module's docstring); at once outside an update."""
    attempt = _attempt.get()
    if attempt is not None and attempt.open:
        attempt.rows.append((table, columns))
    else:
        writer.put(table, columns)


class UpdateLedger:
    """Leases and completion records per ``update_id`` (see the module's docstring)."""

    def __init__(
        self,
        *,
        bot_id: int,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        writer: LogWriter,
        shared: SharedRedis | None = None,
        lease_s: float = 15.0,
        keep_s: float = 24 * 3600.0,
        flush: bool = False,
        redelivered: bool = False,
    ) -> None:
        """``flush``: an attempt's rows are flushed before its completion is recorded.
        ``redelivered``: Telegram delivers an update again when it is answered busy (webhook
        mode); only then may a claim be deferred (polling gets each update once)."""
        self.bot_id = bot_id
        self.flush = flush
        self.redelivered = redelivered
        self.clock = clock
        self.sessions = sessions
        self.engine: AsyncEngine = sessions.kw["bind"]
        on_pg = self.engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if on_pg else sqlite.insert
        self.writer = writer
        self.lease_s = lease_s
        self.keep_s = keep_s
        self.redis = (
            SharedUpdates(shared, lease_s=lease_s, keep_s=keep_s) if shared is not None else None
        )
        # one random name per process, a counter per attempt: unique across replicas and
        # attempts, and no call into the OS's random source per update
        process = secrets.token_hex(6)
        self._holders = (f"{process}.{n}" for n in itertools.count(1))
        #: leases held in memory: update_id -> (holder, monotonic expiry)
        self._leases: dict[int, tuple[str, float]] = {}
        self._done: ExpiringSet[int] = ExpiringSet(clock.monotonic, keep_s, max_entries=MEMORY_MAX)
        #: ``clock.monotonic()`` when the database last held a claim (``None``: never): a
        #: Redis answer ``won`` is then checked against it too
        self._db_used: float | None = None
        self._db_down = False
        self._pruned = 0.0
        #: the attempts of this process in progress, by ``update_id``
        self.live: dict[int, Attempt] = {}

    # -- one attempt ------------------------------------------------------------------------

    async def claim(self, update_id: int) -> tuple[Answer, Attempt | None]:
        """Whether this process may handle ``update_id`` now; the attempt when ``won``."""
        holder = next(self._holders)
        if self.redis is None:  # this process alone decides: no awaits on the hot path
            answer, attempt = self._in_memory(update_id, holder)
        else:
            answer, attempt = await self._claim(update_id, holder)
        if attempt is not None:
            self.live[update_id] = attempt
        return answer, attempt

    async def _claim(self, update_id: int, holder: str) -> tuple[Answer, Attempt | None]:
        if self.redis is not None:
            try:
                answer, young = await self.redis.claim(update_id, holder)
            except RedisDown:
                pass
            else:
                if answer == "won" and (young or self._db_recent()):
                    db_answer = await self._db_peek(update_id)
                    if db_answer is not None:
                        with contextlib.suppress(RedisDown):
                            await self.redis.renew(update_id, holder, release=True)
                        return db_answer, None
                return self._attempt(answer, update_id, holder, "redis")
            answer_db = await self._db_claim(update_id, holder)
            if answer_db == "won" and self._redis_leases_may_live():
                # another replica may hold this update's lease in the Redis that just went
                # down; it moves the lease here at its next renewal: ask Telegram again later
                await self._db_release(Attempt(update_id, holder, "db"))
                answer_db = "busy"
            if answer_db is not None:
                self._db_used = self.clock.monotonic()
                return self._attempt(answer_db, update_id, holder, "db")
        return self._in_memory(update_id, holder)

    def _in_memory(self, update_id: int, holder: str) -> tuple[Answer, Attempt | None]:
        return self._attempt(self._memory_claim(update_id, holder), update_id, holder, "memory")

    @staticmethod
    def _attempt(
        answer: Answer | str, update_id: int, holder: str, where: Literal["redis", "db", "memory"]
    ) -> tuple[Answer, Attempt | None]:
        if answer == "won":
            return "won", Attempt(update_id, holder, where)
        return ("done" if answer == "done" else "busy"), None

    def enter(self, attempt: Attempt) -> contextvars.Token[Attempt | None]:
        """Make ``attempt`` the current one in this task (:func:`put_raw`,
        :func:`current_update`)."""
        return _attempt.set(attempt)

    @staticmethod
    def leave(token: contextvars.Token[Attempt | None]) -> None:
        _attempt.reset(token)

    async def renew(self, attempt: Attempt) -> bool:
        """Extend the attempt's lease; False when it was lost (it lapsed, another took it)."""
        if attempt.where == "redis" and self.redis is not None:
            with contextlib.suppress(RedisDown):
                return await self.redis.renew(attempt.update_id, attempt.holder)
            # Redis went down under the lease: move it to the database, where the others look
            moved = await self._db_move(attempt)
            if moved:
                attempt.where = "db"
                self._db_used = self.clock.monotonic()
            return moved is not False  # the database down too: keep working
        if attempt.where == "db":
            return await self._db_renew(attempt)
        lease = self._leases.get(attempt.update_id)
        if lease is None or lease[0] != attempt.holder:
            return False
        self._leases[attempt.update_id] = (attempt.holder, self.clock.monotonic() + self.lease_s)
        return True

    async def succeeded(self, attempt: Attempt) -> None:
        """The attempt handled its update in full: write its raw rows (and, with ``flush``,
        wait until they are in the database or the spool), record the completion where its
        lease lives (Redis down by now: in the database)."""
        attempt.open = False
        self.live.pop(attempt.update_id, None)
        put = self.writer.put
        for table, columns in attempt.rows:
            put(table, columns)  # (the mapping as it is: no copy of it per row)
        if self.flush and attempt.rows:
            await self.writer.flush()
        attempt.rows.clear()
        update_id = attempt.update_id
        self._leases.pop(update_id, None)
        self._done.add(update_id)
        if attempt.where == "redis" and self.redis is not None:
            try:
                await self.redis.complete(update_id)
            except RedisDown:
                self._db_used = self.clock.monotonic()
        if attempt.where != "memory":
            # durable too: Redis may go down, or restart empty, before Telegram's redelivery
            await self._db_complete(attempt)

    async def failed(self, attempt: Attempt) -> None:
        """The attempt did not finish (an error, a cancellation): its rows are dropped and its
        lease released, so that a redelivery does the whole work again."""
        attempt.open = False
        self.live.pop(attempt.update_id, None)
        attempt.rows.clear()
        update_id = attempt.update_id
        lease = self._leases.get(update_id)
        if lease is not None and lease[0] == attempt.holder:
            del self._leases[update_id]
        if attempt.where == "redis" and self.redis is not None:
            with contextlib.suppress(RedisDown):
                await self.redis.renew(update_id, attempt.holder, release=True)
        elif attempt.where == "db":
            await self._db_release(attempt)

    # -- in memory --------------------------------------------------------------------------

    def _memory_claim(self, update_id: int, holder: str) -> Answer:
        if update_id in self._done:
            return "done"
        now = self.clock.monotonic()
        lease = self._leases.get(update_id)
        if lease is not None and lease[1] > now:
            return "busy"
        self._leases[update_id] = (holder, now + self.lease_s)
        return "won"

    # -- in the database (while Redis is down) ----------------------------------------------

    def _db_recent(self) -> bool:
        return self._db_used is not None and self.clock.monotonic() - self._db_used < self.keep_s

    def _db_failed(self, exc: BaseException) -> None:
        if not self._db_down:
            self._db_down = True
            log.warning(
                "update claims: the database cannot answer either (%s): this process decides "
                "alone until it is back",
                type(exc).__name__,
            )

    def _db_ok(self) -> None:
        if self._db_down:
            self._db_down = False
            log.warning("update claims: the database answers again")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with write_turn(self.engine), self.sessions() as session, session.begin():
            yield session

    async def _db_peek(self, update_id: int) -> Answer | None:
        """``done`` or ``busy`` as the database has it (``None``: neither, or no answer)."""
        table = TABLE
        query = sa.select(table.c.done_at, table.c.lease_until).where(
            table.c.bot_id == self.bot_id, table.c.update_id == update_id
        )
        try:
            async with self.sessions() as session:
                row = (await session.execute(query)).first()
        except (SQLAlchemyError, OSError) as exc:
            self._db_failed(exc)
            return None
        if row is None:
            return None
        if row.done_at is not None:
            return "done"
        return "busy" if row.lease_until > self.clock.now() else None

    async def _db_claim(self, update_id: int, holder: str) -> Answer | None:
        """The database's answer, or ``None`` when it cannot answer."""
        now = self.clock.now()
        lease_until = now + dt.timedelta(seconds=self.lease_s)
        table = TABLE
        try:
            async with self._transaction() as session:
                insert = self._insert
                values = insert(table).values(
                    bot_id=self.bot_id,
                    update_id=update_id,
                    holder=holder,
                    lease_until=lease_until,
                    done_at=None,
                )
                stmt = values.on_conflict_do_update(
                    index_elements=[table.c.bot_id, table.c.update_id],
                    set_={"holder": holder, "lease_until": lease_until},
                    where=sa.and_(table.c.done_at.is_(None), table.c.lease_until < now),
                ).returning(table.c.holder)
                won = (await session.execute(stmt)).scalar_one_or_none()
                if won == holder:
                    answer: Answer = "won"
                else:
                    done_at = await session.scalar(
                        sa.select(table.c.done_at).where(
                            table.c.bot_id == self.bot_id, table.c.update_id == update_id
                        )
                    )
                    answer = "done" if done_at is not None else "busy"
        except (SQLAlchemyError, OSError) as exc:
            self._db_failed(exc)
            return None
        self._db_ok()
        return answer

    def _redis_leases_may_live(self) -> bool:
        """Whether Redis went down so recently that a lease another replica took there may
        not have been moved to the database yet (holders renew every third of the lease)."""
        if self.redis is None or not self.redelivered:
            return False
        shared = self.redis.shared
        if not shared.ever_up or shared.down_since is None:
            return False
        return shared.timer() - shared.down_since < self.lease_s / 2

    async def _db_move(self, attempt: Attempt) -> bool | None:
        """Hold the attempt's lease in the database (its Redis went down): True when held,
        False when another holds it there, ``None`` when the database cannot answer."""
        now = self.clock.now()
        lease_until = now + dt.timedelta(seconds=self.lease_s)
        table = TABLE
        try:
            async with self._transaction() as session:
                stmt = self._insert(table).values(
                    bot_id=self.bot_id,
                    update_id=attempt.update_id,
                    holder=attempt.holder,
                    lease_until=lease_until,
                    done_at=None,
                )
                upsert = stmt.on_conflict_do_update(
                    index_elements=[table.c.bot_id, table.c.update_id],
                    set_={"holder": attempt.holder, "lease_until": lease_until},
                    where=sa.and_(
                        table.c.done_at.is_(None),
                        sa.or_(table.c.lease_until < now, table.c.holder == attempt.holder),
                    ),
                ).returning(table.c.holder)
                held = (await session.execute(upsert)).scalar_one_or_none()
        except (SQLAlchemyError, OSError) as exc:
            self._db_failed(exc)
            return None
        self._db_ok()
        return bool(held == attempt.holder)

    async def _db_update(self, attempt: Attempt, **values: Any) -> int | None:
        table = TABLE
        stmt = (
            sa.update(table)
            .where(
                table.c.bot_id == self.bot_id,
                table.c.update_id == attempt.update_id,
                table.c.holder == attempt.holder,
                table.c.done_at.is_(None),
            )
            .values(**values)
        )
        try:
            async with self._transaction() as session:
                result = await session.execute(stmt)
        except (SQLAlchemyError, OSError) as exc:
            self._db_failed(exc)
            return None
        self._db_ok()
        return int(getattr(result, "rowcount", 0) or 0)

    async def _db_renew(self, attempt: Attempt) -> bool:
        until = self.clock.now() + dt.timedelta(seconds=self.lease_s)
        changed = await self._db_update(attempt, lease_until=until)
        return changed is None or changed > 0  # the database down: keep working

    async def _db_release(self, attempt: Attempt) -> None:
        await self._db_update(attempt, lease_until=self.clock.now() - dt.timedelta(seconds=1))

    async def _db_complete(self, attempt: Attempt) -> None:
        table = TABLE
        now = self.clock.now()
        if attempt.where == "db" and await self._db_update(attempt, done_at=now):
            return
        # the lease was held in Redis (down since) or lapsed: record the completion anyway
        values = {"bot_id": self.bot_id, "update_id": attempt.update_id}
        try:
            async with self._transaction() as session:
                insert = self._insert
                stmt = insert(table).values(
                    **values, holder=attempt.holder, lease_until=now, done_at=now
                )
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[table.c.bot_id, table.c.update_id],
                        set_={"done_at": now},
                    )
                )
        except (SQLAlchemyError, OSError) as exc:
            self._db_failed(exc)

    async def prune(self) -> int:
        """Delete the database's claims older than ``BOT_UPDATE_KEEP_H`` (at most every
        :data:`PRUNE_EVERY_S`); how many went."""
        now = self.clock.monotonic()
        if self._pruned and now - self._pruned < PRUNE_EVERY_S:
            return 0
        self._pruned = now
        table = TABLE
        cutoff = self.clock.now() - dt.timedelta(seconds=self.keep_s)
        stmt = sa.delete(table).where(
            table.c.bot_id == self.bot_id,
            table.c.lease_until < cutoff,
            sa.or_(table.c.done_at.is_(None), table.c.done_at < cutoff),
        )
        async with self._transaction() as session:
            result = await session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["Attempt", "UpdateLedger", "current_update", "put_raw"]
