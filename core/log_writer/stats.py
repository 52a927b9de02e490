"""The counters of one writer (:class:`WriterStats`), for logs and ``/status``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class WriterStats:
    """Counters of one writer (this process). ``as_dict()`` for logs and ``/status``.

    Every row accepted by ``put`` counts in ``queued``; it then ends up ``written`` (committed
    straight from memory), ``spooled`` (to the spool file, later ``replayed``) or ``rejected``
    (refused by the database for its data, kept in ``rejected.jsonl``). ``replayed`` also
    counts rows an earlier process spooled; ``replay_skipped`` counts spooled rows whose
    in-doubt transaction turned out to have committed (not written twice).
    """

    written: int = 0
    spooled: int = 0
    replayed: int = 0
    rejected: int = 0
    replay_skipped: int = 0
    flushes: int = 0
    failed_flushes: int = 0
    spool_errors: int = 0
    database_available: bool = True
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    _source: Any = field(default=None, repr=False, compare=False)

    @property
    def queued(self) -> int:
        """Rows accepted by ``put``/``put_many`` so far."""
        return int(self._source._queued) if self._source is not None else 0

    @property
    def in_memory(self) -> int:
        """Rows held in memory right now (queued, in flight or being replayed)."""
        return int(self._source._held) if self._source is not None else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "rejected": self.rejected,
            "replay_skipped": self.replay_skipped,
            "in_memory": self.in_memory,
            "flushes": self.flushes,
            "failed_flushes": self.failed_flushes,
            "spool_errors": self.spool_errors,
            "database_available": self.database_available,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }
