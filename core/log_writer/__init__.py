"""The batched raw-log writer: every high-volume raw log row goes through one of these.

A row is put as its model and columns, ``writer.put(VerificationLog, user_id=..., ...)``
(the table name and a dict, ``put("verification_log", {...})``, still work). ``put()``
only appends a tuple to an in-memory list; a background task writes the lists in
one transaction per flush, either when ``batch_size`` rows are waiting or every
``flush_interval_s`` seconds. PostgreSQL (asyncpg) gets binary ``COPY`` through the
engine's own pooled connection; SQLite gets multi-row ``INSERT`` statements (a few driver
steps per batch), and every write takes the process's :func:`core.db.write_turn` first, so
the writers of one process never meet on SQLite's file lock; other backends get a Core
``executemany``.

Nothing is lost and nothing blocks the caller:

* **Bounded memory.** At most ``max_queue`` rows are held in memory (queued, in flight or
  being replayed). Past that, ``put()`` appends the row to the spool file instead.
* **Outages.** A batch that cannot be written because the database is unreachable is
  appended to the spool (``spool_dir``, JSON lines); the writer retries with exponential
  backoff up to ``retry_max_s`` and, once a write succeeds, replays the spool.
* **Exactly once.** A spool segment is replayed under an exclusive ``flock`` and records its
  progress in a ``.progress`` sidecar. On PostgreSQL every write learns its transaction id
  first: the sidecar stores that id *before* the commit, and a batch whose commit may or may
  not have happened (connection lost during ``COMMIT``) is spooled tagged with it. Replay asks
  the server (``txid_status``) and skips what did commit, so neither a crash between commit
  and sidecar update nor a server dying mid-commit duplicates rows. (SQLite has no in-doubt
  commits; there a process crash between the commit and the sidecar update, a window of
  microseconds, could replay one chunk twice.)
* **Bad rows.** A batch the database refuses for its *data* (NOT NULL, out-of-range values,
  naive datetimes, unencodable types) is bisected with rolled-back trial writes; the bad rows
  go to ``rejected.jsonl`` with the reason (logged once per batch), the good ones are written.
  Every other error counts as "database unavailable": the rows are spooled and retried.

``close()`` drains: pending rows are written, or spooled when that fails; when the database
is reachable the spool is replayed too. ``start()`` replays what an earlier process left.

Modules, one idea each: :mod:`~core.log_writer.rows` (what a row is, per table, and its
encodings), :mod:`~core.log_writer.sinks` (a database session per write; whose fault an
error is), :mod:`~core.log_writer.isolation` (bisecting a refused batch down to its bad
rows), :mod:`~core.log_writer.spool` (the spool segments, their progress, rejected rows),
:mod:`~core.log_writer.stats` (the counters), :mod:`~core.log_writer.batches` (the writer's
state, intake and batches) and :mod:`~core.log_writer.writer` (lifecycle, flusher, replay).
"""

from __future__ import annotations

from core.log_writer.rows import WRITABLE_TABLES
from core.log_writer.rows import _specs as _specs
from core.log_writer.sinks import _CopySession as _CopySession
from core.log_writer.sinks import _CoreSession as _CoreSession
from core.log_writer.sinks import _InDoubt as _InDoubt
from core.log_writer.spool import PROGRESS_SUFFIX as PROGRESS_SUFFIX
from core.log_writer.spool import REJECTED_FILE as REJECTED_FILE
from core.log_writer.spool import SPOOL_PREFIX as SPOOL_PREFIX
from core.log_writer.spool import SPOOL_SUFFIX as SPOOL_SUFFIX
from core.log_writer.spool import _ReplayCursor as _ReplayCursor
from core.log_writer.spool import read_rejected, spool_files
from core.log_writer.stats import WriterStats
from core.log_writer.writer import LogWriter

__all__ = [
    "WRITABLE_TABLES",
    "LogWriter",
    "WriterStats",
    "read_rejected",
    "spool_files",
]
