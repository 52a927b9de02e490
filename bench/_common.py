"""What the benchmarks share: a migrated throwaway database, the ``--postgres`` switch,
SIGTERM handled as Ctrl+C (so that the servers a benchmark started are stopped either way), and
child processes stopped with their benchmark."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing.process
import signal
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from core.db import Base
from core.migrate import run_migrations
from sandbox.postgres import TempPostgres


def _as_ctrl_c(_signum: int, frame: FrameType | None) -> None:
    """SIGTERM: whatever Ctrl+C does right now (``KeyboardInterrupt``; inside ``asyncio.run``
    its runner's handler, which cancels the main task so that its ``finally`` blocks run)."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt("SIGTERM")


def stop_on_sigterm() -> None:
    """Make Ctrl+C and SIGTERM stop the benchmark the same way, by :class:`KeyboardInterrupt`,
    so that the ``with`` and ``finally`` blocks holding a throwaway server (:func:`database`,
    ``TempPostgres``, ``TempRedis``, :func:`stopped_with` children) stop and delete it.
    Called first thing by every benchmark's ``main``.

    - Python's default SIGTERM exits without running them.
    - SIGINT gets Python's own handler back even when the benchmark was started with it
      ignored (a shell's background job is): each Dagster run replaces SIGTERM's handler by
      SIGINT's when it ends, so an ignored SIGINT made every later SIGTERM ignored too, and the
      benchmark could then only be killed, leaving its PostgreSQL running.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _as_ctrl_c)


Child = subprocess.Popen[Any] | multiprocessing.process.BaseProcess


@contextlib.contextmanager
def stopped_with(child: Child, grace_s: float = 60.0) -> Iterator[Child]:
    """``child`` (a started ``Popen`` or ``multiprocessing`` process), sent SIGTERM on the way
    out if it still runs (Ctrl+C, SIGTERM, an error), given ``grace_s`` seconds to stop its own
    servers, then killed. A child that shares the terminal's process group gets Ctrl+C from
    the terminal too; start it with ``start_new_session=True`` to signal it once, from here."""
    try:
        yield child
    finally:
        if isinstance(child, subprocess.Popen):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(grace_s)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        elif child.is_alive():
            child.terminate()
            child.join(grace_s)
            if child.is_alive():
                child.kill()
                child.join()


@contextlib.contextmanager
def database(postgres: bool) -> Iterator[str]:
    """A migrated throwaway database, its URL: a SQLite file, or a :class:`TempPostgres`."""
    if postgres:
        with TempPostgres() as server:
            url = server.url()
            run_migrations(url)
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="gatepulse-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            run_migrations(url)
            yield url


def run_on_database(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    run: Callable[[argparse.Namespace, str], Coroutine[Any, Any, Any]],
    invalid: Callable[[argparse.Namespace], bool],
    error: str,
) -> None:
    """Parse ``argv`` (plus ``--postgres``), refuse ``invalid`` arguments with ``error``, and
    ``run(args, url)`` on a :func:`database` (SQLite unless ``--postgres``)."""
    parser.add_argument(
        "--postgres", action="store_true", help="log into a throwaway PostgreSQL (default SQLite)"
    )
    args = parser.parse_args(argv)
    if invalid(args):
        parser.error(error)
    stop_on_sigterm()
    with database(args.postgres) as url:
        asyncio.run(run(args, url))


def row_columns(model: type[Base]) -> tuple[str, ...]:
    """A raw log's columns as a row gives them: all but ``id``, which the database assigns."""
    return tuple(c.name for c in model.__table__.columns if c.name != "id")


__all__ = ["database", "row_columns", "run_on_database", "stop_on_sigterm", "stopped_with"]
