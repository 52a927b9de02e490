"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

Postgres refuses to run as root, so as root every server command runs as the ``postgres`` OS
user (``runuser``) in a temporary directory it owns. The server uses ``fsync=off`` and trust
auth: it is for tests only, and it is stopped and deleted when the context exits, even on error.

As a command it wraps another command::

    python -m tests.support.pg -- pytest -m db

starts a server, exports ``GATEPULSE_TEST_PG_URL`` to the command, and always cleans up.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from tests.support.os_packages import apt_install

ENV_URL = "GATEPULSE_TEST_PG_URL"


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
    bin_dir = _bin_dir()
    if bin_dir is not None:
        return bin_dir
    apt_install("postgresql", PostgresUnavailable, "initdb not found")
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable("installed 'postgresql' but initdb is still missing")
    return bin_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """One server in a temporary directory. ``start()``, ``stop()``, ``restart``, ``cleanup()``."""

    def __init__(self, port: int | None = None) -> None:
        self.bin_dir = ensure_installed()
        self.port = port or _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gatepulse-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._initdb()

    # -- plumbing
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
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
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=256MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def cleanup(self) -> None:
        if self.data.exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def version(self) -> str:
        return self._run("postgres", "--version").stdout.strip()

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"


@contextlib.contextmanager
def temp_postgres() -> Iterator[TempPostgres]:
    """A started server, stopped and deleted on exit."""
    server = TempPostgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m tests.support.pg -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_on_signal)
    started = time.monotonic()
    try:
        server = TempPostgres()
        try:
            server.start()
        except BaseException:
            server.cleanup()
            raise
    except PostgresUnavailable as exc:
        print(f"error: cannot start the throwaway PostgreSQL for tests: {exc}", file=sys.stderr)
        return 3
    try:
        print(
            f"{server.version} started on 127.0.0.1:{server.port} in {server.root} "
            f"({time.monotonic() - started:.1f}s)",
            flush=True,
        )
        env = {**os.environ, ENV_URL: server.url()}
        return subprocess.run(argv, env=env).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        server.cleanup()
        print(f"PostgreSQL on port {server.port} stopped and deleted", flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
