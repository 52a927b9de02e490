"""A throwaway Redis server on 127.0.0.1 for tests and benchmarks.

Like :mod:`sandbox.postgres`: Debian's ``redis-server`` is installed (as root, with apt-get,
under the sandbox's install lock) when it is missing; the server runs in a temporary directory
with persistence off, on a free port, and is stopped and deleted when the context exits::

    with TempRedis() as server:
        url = server.url()  # redis://127.0.0.1:<port>/0

:meth:`TempRedis.stop` and :meth:`TempRedis.start` take it down and bring it back on the same
port (outage tests).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from sandbox.os_packages import ensure_package
from sandbox.postgres import free_port

START_TIMEOUT_S = 10.0


class RedisUnavailable(RuntimeError):
    """redis-server could not be installed or started; the message says why."""


def ensure_installed() -> Path:
    """The ``redis-server`` binary; installs Debian's ``redis-server`` when missing."""

    def find() -> Path | None:
        found = shutil.which("redis-server")
        return Path(found) if found else None

    return ensure_package(find, "redis-server", "redis-server", RedisUnavailable)


def _answers(port: int) -> bool:
    """Whether something on 127.0.0.1:port answers a Redis PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class TempRedis:
    """One redis-server in a temporary directory: ``start()``, ``stop()``, ``cleanup()``."""

    def __init__(self, port: int | None = None) -> None:
        self.binary = ensure_installed()
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gatepulse-redis-"))
        self.log = self.root / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        # the server's own options only: no config file, no persistence, loopback only
        args = [
            str(self.binary),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
            "--save", "", "--appendonly", "no", "--logfile", str(self.log),
            "--protected-mode", "yes", "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
                self.stop()
                raise RedisUnavailable(f"redis-server did not start on {self.port}: {tail}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the server (as a crash would: nothing is saved); ``start()`` brings it back."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def launch(self) -> TempRedis:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __enter__(self) -> TempRedis:
        return self.launch()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


__all__ = ["RedisUnavailable", "TempRedis", "ensure_installed"]
