"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

Postgres refuses to run as root, so as root every server command runs as the ``postgres`` OS
user (``runuser``) in a temporary directory it owns. The server uses ``fsync=off`` (unless
``durable``: a rehearsal stops it in immediate mode, as a crash would) and trust auth: it is for
tests, benchmarks and rehearsals only, and it is stopped and deleted when the context
exits, even on error or Ctrl+C (a second Ctrl+C or a SIGTERM during that cleanup waits until the
server is gone)::

    with temp_postgres() as server:  # or: with TempPostgres() as server:
        url = server.url()  # postgresql+asyncpg://postgres@127.0.0.1:<port>/postgres

Debian's ``postgresql`` package is installed (as root, with apt-get) when ``initdb`` is missing.
``python -m tests.support.pg -- COMMAND`` runs a command with one of these for the test suite.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType

from sandbox.os_packages import ensure_package


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be installed or started; the message says why."""


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def ensure_installed() -> Path:
    """The folder with ``initdb``/``pg_ctl``; installs Debian's ``postgresql`` when missing."""
    return ensure_package(_bin_dir, "postgresql", "initdb", PostgresUnavailable)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl+C and SIGTERM until the block ends, then deliver them to their handlers: an
    impatient second Ctrl+C must not cut a server's stop and deletion short. (Only the main
    thread handles signals: elsewhere the block just runs.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    # a handler installed outside Python (None) could not be put back: left alone
    before = {
        s: h for s in (signal.SIGINT, signal.SIGTERM) if (h := signal.getsignal(s)) is not None
    }
    for signum in before:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        for held in dict.fromkeys(caught):
            signal.raise_signal(held)


class TempPostgres:
    """One server in a temporary directory. ``start()``, ``stop()``, ``restart``, ``cleanup()``.

    As a context manager it is started on entry and stopped and deleted on exit.
    """

    def __init__(
        self, port: int | None = None, *, durable: bool = False, parent: str | Path | None = None
    ) -> None:
        self.bin_dir = ensure_installed()
        self.port = port or free_port()
        #: fsync and synchronous commits on: a commit survives an immediate stop (a crash);
        #: off by default (tests and benchmarks never crash the server on purpose)
        self.durable = durable
        #: the temporary directory is made in ``parent`` (default: the system's temp folder),
        #: e.g. to put the data directory on another file system
        self.root = Path(tempfile.mkdtemp(prefix="gatepulse-pg-", dir=parent))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        try:
            self._initdb()
        except BaseException:  # a failed or interrupted initdb leaves no directory behind
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- plumbing
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # its own session: the terminal's Ctrl+C goes to this process, not to a pg_ctl stopping
        done = subprocess.run(
            cmd, capture_output=True, text=True, cwd=self.root, start_new_session=True
        )
        if check and done.returncode != 0:
            tail = ""
            if self.log.exists():
                tail = self.log.read_text(errors="replace")[-1500:]
            raise PostgresUnavailable(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]} {tail}"
            )
        return done

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    # -- lifecycle
    def start(self) -> None:
        speed = (
            ""
            if self.durable
            else ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off ")
        )
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {speed}"
            "-c max_connections=300 -c shared_buffers=256MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def cleanup(self) -> None:
        """Stop the server (immediate mode) and delete its folder, with signals held."""
        with signals_held():
            if self.data.exists():
                self.stop(mode="immediate")
            shutil.rmtree(self.root, ignore_errors=True)

    def launch(self) -> TempPostgres:
        """``start()`` it, or ``cleanup()`` and raise when it cannot start; returns it."""
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __enter__(self) -> TempPostgres:
        return self.launch()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    @property
    def version(self) -> str:
        return self._run("postgres", "--version").stdout.strip()

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"


def temp_postgres() -> TempPostgres:
    """A server for ``with temp_postgres() as server:``: started, then stopped and deleted."""
    return TempPostgres()


__all__ = [
    "PostgresUnavailable",
    "TempPostgres",
    "ensure_installed",
    "free_port",
    "signals_held",
    "temp_postgres",
]
