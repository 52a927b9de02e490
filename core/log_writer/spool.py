"""The spool: JSON-lines segments of rows the database could not take (yet).

A writer appends to its own active segment, created locked (``flock``) under a unique name.
Sealed segments are replayed one at a time by whoever locks them, with progress (and the
transaction id of a chunk being written) in a ``.progress`` sidecar. Rows the database
refuses for their data go to :data:`REJECTED_FILE` instead.

Everything here is owner-only (the rows are raw logs: user ids, message text): files are
created 0600 and the folders gatepulse creates for them 0700 (:func:`core.db.private_dir`,
:func:`core.db.open_private`), whatever the process umask.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import itertools
import json
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.db import open_private, private_dir
from core.log_writer.rows import _dumps

log = logging.getLogger("core.log_writer")  # the package's one logger, as before the split

SPOOL_PREFIX = "spool-"
SPOOL_SUFFIX = ".jsonl"
PROGRESS_SUFFIX = ".progress"
REJECTED_FILE = "rejected.jsonl"


@dataclass
class _Progress:
    offset: int = 0
    pending_end: int | None = None
    pending_xid: int | None = None


class _ReplayCursor:
    """One sealed spool segment, locked for replay, with its progress sidecar."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.progress_path = path.with_name(path.name + PROGRESS_SUFFIX)
        self.file: IO[bytes] = os.fdopen(fd, "rb")
        self.progress = self._load()
        self.file.seek(self.progress.offset)

    def _load(self) -> _Progress:
        try:
            data = json.loads(self.progress_path.read_text())
            return _Progress(int(data["offset"]), data.get("pending_end"), data.get("pending_xid"))
        except FileNotFoundError:
            return _Progress()
        except (ValueError, KeyError, TypeError):
            log.error("log writer: unreadable %s; replaying %s from the start",
                      self.progress_path, self.path.name)  # fmt: skip
            return _Progress()

    def _save(self) -> None:
        tmp = self.progress_path.with_name(self.progress_path.name + ".tmp")
        p = self.progress
        text = json.dumps(
            {"offset": p.offset, "pending_end": p.pending_end, "pending_xid": p.pending_xid}
        )
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "w") as handle:
            handle.write(text)
        os.replace(tmp, self.progress_path)

    def resolve(self, status: str | None) -> None:
        """Settle a chunk left pending by a crash, given its transaction's status."""
        if self.progress.pending_end is not None and status == "committed":
            self.progress.offset = self.progress.pending_end
        self.progress.pending_end = self.progress.pending_xid = None
        self._save()
        self.file.seek(self.progress.offset)

    def read(self, limit: int) -> tuple[list[bytes], int]:
        lines: list[bytes] = []
        while len(lines) < limit:
            line = self.file.readline()
            if not line:
                break
            lines.append(line)
        return lines, self.file.tell()

    def mark_pending(self, end: int, xid: int) -> None:
        self.progress.pending_end, self.progress.pending_xid = end, xid
        self._save()

    def advance(self, end: int) -> None:
        self.progress = _Progress(end)
        self._save()

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
        self.progress_path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        self.file.close()  # releases the flock


class _Spool:
    """The spool directory: this writer's active segment, sealed segments, rejected rows."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._prefix = f"{SPOOL_PREFIX}{stamp}-{os.getpid()}-{secrets.token_hex(3)}-"
        self._seq = itertools.count(1)
        self._active: IO[str] | None = None
        self._active_path: Path | None = None

    def ensure_dir(self) -> None:
        private_dir(self.dir)

    # -- writing
    def append(self, lines: Iterable[str]) -> None:
        if self._active is None:
            self.ensure_dir()
            path = self.dir / f"{self._prefix}{next(self._seq):06d}{SPOOL_SUFFIX}"
            # Locked under a hidden name first, so no replayer can see it unlocked (and take
            # it for an empty leftover); the rename keeps the inode and so the lock.
            hidden = self.dir / f".{path.name}.new"
            fd = open_private(hidden)
            handle = os.fdopen(fd, "a", encoding="ascii")  # kept open on purpose
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.rename(hidden, path)
            except OSError:
                handle.close()
                raise
            self._active, self._active_path = handle, path
        self._active.writelines(lines)

    def flush(self) -> None:
        if self._active is not None:
            self._active.flush()

    def seal(self, sync: bool = False) -> None:
        """Close the active segment so it can be replayed; new rows start a new one."""
        if self._active is not None:
            self._active.flush()
            if sync:
                os.fsync(self._active.fileno())
            self._active.close()
            self._active = self._active_path = None

    @property
    def has_active(self) -> bool:
        return self._active is not None

    def reject(self, records: Iterable[dict[str, Any]]) -> None:
        self.ensure_dir()
        text = "".join(_dumps(r) + "\n" for r in records)
        with os.fdopen(open_private(self.dir / REJECTED_FILE), "a", encoding="ascii") as handle:
            handle.write(text)

    # -- replaying
    def segments(self) -> list[Path]:
        try:
            names = sorted(
                p
                for p in os.listdir(self.dir)
                if p.startswith(SPOOL_PREFIX) and p.endswith(SPOOL_SUFFIX)
            )
        except FileNotFoundError:
            return []
        active = self._active_path.name if self._active_path else None
        return [self.dir / n for n in names if n != active]

    def lock(self, path: Path) -> _ReplayCursor | None:
        """The segment opened and exclusively locked for replay, or None if someone has it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:  # replayed and deleted meanwhile
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        return _ReplayCursor(path, fd)

    def remove_orphans(self) -> None:
        """Progress files whose segment is gone (a crash between the two unlinks)."""
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.dir):
                if name.endswith(SPOOL_SUFFIX + PROGRESS_SUFFIX):
                    segment = self.dir / name.removesuffix(PROGRESS_SUFFIX)
                    if not segment.exists():
                        (self.dir / name).unlink(missing_ok=True)


def spool_files(spool_dir: Path | str) -> list[Path]:
    """The spool segments waiting in ``spool_dir`` (for status displays and tests)."""
    directory = Path(spool_dir)
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(SPOOL_PREFIX) and p.name.endswith(SPOOL_SUFFIX)
    )


def read_rejected(spool_dir: Path | str) -> list[dict[str, Any]]:
    """The rows the database refused, as recorded in ``rejected.jsonl``."""
    path = Path(spool_dir) / REJECTED_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
