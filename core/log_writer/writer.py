"""The writer: its lifecycle, the flusher task, and the replay of the spool.

:class:`LogWriter` adds to :class:`~core.log_writer.batches._BatchWriter` (state, intake,
one batch written or spooled) what runs over time: ``start``/``flush``/``close``, the
background task that flushes every ``flush_interval_s`` or ``batch_size`` rows and backs off
while the database is down, and the exactly-once replay of sealed spool segments.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from types import TracebackType
from typing import Any

from core.log_writer.batches import _BatchWriter
from core.log_writer.isolation import _Attempt
from core.log_writer.rows import Batch, Row, _TableSpec
from core.log_writer.sinks import _describe, _Unavailable
from core.log_writer.spool import _ReplayCursor, spool_files

log = logging.getLogger("core.log_writer")  # the package's one logger, as before the split


class LogWriter(_BatchWriter):
    """Batched, outage-proof writer of raw log rows. See :mod:`core.log_writer`.

    A row names its table by model class and its columns as keywords::

        writer.put(VerificationLog, user_id=1, group_id=-100, status="success", ...)

    (``put(VerificationLog, {...})`` with a mapping, and the table name for the class,
    ``put("verification_log", {...})``, work too; ``put_many`` takes mappings.) ``id`` is
    the database's; timestamps must be tz-aware; omitted columns get the model's default,
    or NULL. ``put``/``put_many`` never block and never raise on database trouble
    (``ValueError`` for a table that is not a raw log, or an unknown column). Use as
    ``async with LogWriter(engine, settings) as writer:`` or call :meth:`start` and
    :meth:`close` yourself. Call it from the event loop's thread (it is not thread-safe).
    """

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Replay whatever an earlier writer left in the spool, then start flushing."""
        if self._task is not None:
            return
        self._closed = self._stopping = False
        self._limit = self._max_queue
        try:
            self._spool.ensure_dir()
            self._spool.remove_orphans()
        except OSError as exc:
            log.error("log writer: spool directory %s unusable: %s", self._spool.dir, exc)
        with contextlib.suppress(OSError):  # a status line only; replay handles trouble
            leftovers = spool_files(self._spool.dir)
            if leftovers:
                size = sum(p.stat().st_size for p in leftovers)
                log.info("log writer: replaying %d spool segment(s) (%.1f MB) left in %s",
                         len(leftovers), size / 1e6, self._spool.dir)  # fmt: skip
        try:
            async with self._lock:
                await self._replay_all()
        except Exception:  # never keep the bot from starting; the flusher retries later
            log.exception("log writer: replaying the spool at start failed")
            self._drop_cursor()
        self._task = asyncio.create_task(self._run(), name="gatepulse-log-writer")

    async def flush(self) -> None:
        """Write everything queued so far, now (spooling it if the database is unreachable).

        When the database is reachable this also replays the spool, so after ``flush()``
        every row put so far is in the database, in ``rejected.jsonl``, or in the spool
        because the database is down. Cancelling the caller (``wait_for``) does not interrupt
        a write in progress: it finishes in the background.
        """
        await asyncio.shield(self._flush_now())

    async def _flush_now(self) -> None:
        async with self._lock:
            attempted = self._pending_n > 0
            await self._flush_pending(force=True)
            if not (attempted and self._down_since is not None):  # no second futile attempt
                await self._replay_all()

    async def close(self) -> None:
        """Drain everything (written, or spooled when the database is unreachable) and stop.

        Safe to call twice; a cancelled caller does not interrupt the drain.
        """
        if self._closed and self._closing is None:
            return
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        try:
            await asyncio.shield(self._closing)
        finally:
            if self._closing.done():
                self._closing = None

    async def _close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._closed = True
        self._limit = 0  # from here on put() goes straight to the spool
        try:
            await self._flush_now()
        finally:
            self._drop_cursor()
            self._flush_memory_to_spool()  # rows put during the final flush's awaits
            try:
                self._spool.seal(sync=True)
            except OSError as exc:
                log.error("log writer: could not close the spool file: %s", exc)
            if self.stats.spooled or self.stats.rejected:
                log.info("log writer closed: %s", self.stats.as_dict())

    async def __aenter__(self) -> LogWriter:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the flusher ------------------------------------------------------------------------

    async def _run(self) -> None:
        more = False
        while not self._stopping:
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break
            try:
                async with self._lock:
                    more = await self._cycle()
            except Exception:  # a bug; never let the flusher die
                log.exception("log writer: flush cycle failed")
                more = False
            if more:
                await asyncio.sleep(0)

    async def _cycle(self) -> bool:
        """One flush, plus one replay chunk when the spool has rows. True: more work waits."""
        await self._flush_pending(force=False)
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return False  # backing off; the next attempt (a flush or a replay) probes
        if not self._spool_dirty and self._cursor is None and now - self._last_scan > 10.0:
            self._spool_dirty = True  # look for segments dead processes left, now and then
        if self._spool_dirty or self._cursor is not None:
            if self._cursor is None and self._spool.has_active:
                self._spool.seal()
            return await self._replay_step()
        return self._pending_n >= self._batch_size

    # -- replay -----------------------------------------------------------------------------

    async def _replay_all(self) -> None:
        """Replay every segment that can be replayed now (stops at the first outage)."""
        self._spool.seal()
        self._spool_dirty = True
        while await self._replay_step():
            pass

    async def _replay_step(self) -> bool:
        """Replay one chunk. True when there is more to replay right away."""
        if self._cursor is None:
            self._cursor = self._next_segment()
            if self._cursor is None:
                self._spool_dirty = False
                self._last_scan = time.monotonic()
                return False
            try:
                await self._resolve_pending(self._cursor)
            except _Unavailable as exc:
                self._mark_down(exc.__cause__ or exc)
                return False
        cursor = self._cursor
        room = self._max_queue - self._held
        limit = min(max(self._batch_size, 1000), room)
        if limit <= 0:  # memory is full of fresh rows: write (or spool) those first
            await self._flush_pending(force=True)
            return True
        lines, end = cursor.read(limit)
        if not lines:
            cursor.finish()
            self._cursor = None
            log.info("log writer: replayed spool segment %s", cursor.path.name)
            return True
        batch, tagged, bad = self._parse(lines)
        count = sum(map(len, batch.values())) + sum(len(rows) for _, rows in tagged)
        self._held += count
        try:
            try:
                skipped = await self._drop_committed(tagged, batch)
                written = 0
                if batch:
                    written = await self._write_guarded(
                        _Attempt(batch),
                        on_xid=lambda xid: cursor.mark_pending(end, xid),
                        before_reject=lambda: cursor.advance(end),
                    )
            except _Unavailable as exc:
                self._mark_down(exc.__cause__ or exc)  # drops the cursor; progress is on disk
                return False
            except BaseException:  # cancelled: reopen from the progress file next time
                self._drop_cursor()
                raise
            if not batch:
                cursor.advance(end)
            if bad:
                self._write_rejected(bad)
            self.stats.replayed += written
            self.stats.replay_skipped += skipped
            self._mark_up()
            return True
        finally:
            self._held -= count

    def _next_segment(self) -> _ReplayCursor | None:
        try:
            for path in self._spool.segments():
                cursor = self._spool.lock(path)
                if cursor is not None:
                    return cursor
        except OSError as exc:
            self.stats.spool_errors += 1
            log.error("log writer: cannot read the spool in %s: %s", self._spool.dir, exc)
        return None

    async def _resolve_pending(self, cursor: _ReplayCursor) -> None:
        """A previous replayer stopped between recording a transaction and its outcome."""
        xid = cursor.progress.pending_xid
        if xid is None:
            if cursor.progress.pending_end is not None:
                cursor.resolve(None)
            return
        try:
            async with self._session() as session:
                status = (await session.xid_status([xid])).get(xid)
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        if status == "in progress":
            raise _Unavailable(f"transaction {xid} of an earlier replay is still in progress")
        cursor.resolve(status)

    def _parse(
        self, lines: list[bytes]
    ) -> tuple[Batch, list[tuple[int, list[tuple[_TableSpec, Row]]]], list[dict[str, Any]]]:
        batch: Batch = {}
        tagged: dict[int, list[tuple[_TableSpec, Row]]] = {}
        bad: list[dict[str, Any]] = []
        now = dt.datetime.now(dt.UTC).isoformat()
        for line in lines:
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("truncated line (the writing process died mid-line)")
                record = json.loads(line)
                spec = self._specs.get(record["t"])
                if spec is None:
                    raise ValueError(f"unknown table {record['t']!r}")
                row = spec.from_spool(record["r"])
            except (ValueError, KeyError, TypeError) as exc:
                text = line.decode("utf-8", "replace")
                bad.append({"raw": text, "reason": _describe(exc), "rejected_at": now})
                continue
            xid = record.get("x")
            if xid is None:
                batch.setdefault(spec, []).append(row)
            else:
                tagged.setdefault(int(xid), []).append((spec, row))
        return batch, list(tagged.items()), bad

    async def _drop_committed(
        self, tagged: list[tuple[int, list[tuple[_TableSpec, Row]]]], batch: Batch
    ) -> int:
        """Rows spooled after an in-doubt commit: skip those whose transaction committed."""
        if not tagged:
            return 0
        try:
            async with self._session() as session:
                status = await session.xid_status([xid for xid, _ in tagged])
        except Exception as exc:
            raise _Unavailable(_describe(exc)) from exc
        skipped = 0
        for xid, rows in tagged:
            state = status.get(xid)
            if state == "committed":
                skipped += len(rows)
                continue
            if state == "in progress":
                raise _Unavailable(f"in-doubt transaction {xid} is still in progress")
            for spec, row in rows:
                batch.setdefault(spec, []).append(row)
        if skipped:
            log.info("log writer: %d spooled row(s) had been committed already; skipped", skipped)
        return skipped
