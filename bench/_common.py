"""What the benchmarks share: a migrated throwaway database, the ``--postgres`` switch, and
SIGTERM handled as Ctrl+C (so that the servers a benchmark started are stopped either way)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from core.db import Base
from core.migrate import run_migrations
from sandbox.postgres import TempPostgres


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """Make SIGTERM raise :class:`KeyboardInterrupt`, as Ctrl+C does, so that the ``with`` and
    ``finally`` blocks holding a throwaway server (:func:`database`, ``TempPostgres``,
    ``TempRedis``) stop and delete it (Python's default SIGTERM exits without running them).
    Called first thing by every benchmark's ``main`` that starts a server."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


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
    run: Callable[[argparse.Namespace, str], Awaitable[Any]],
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


__all__ = ["database", "row_columns", "run_on_database", "stop_on_sigterm"]
