"""The throwaway PostgreSQL of :mod:`sandbox.postgres`, as the test suite uses it.

As a command it wraps another command::

    python -m tests.support.pg -- pytest -m db

starts a server, exports ``GATEPULSE_TEST_PG_URL`` to the command, and always cleans up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from sandbox.postgres import (
    PostgresUnavailable,
    TempPostgres,
    ensure_installed,
    free_port,
    temp_postgres,
)

ENV_URL = "GATEPULSE_TEST_PG_URL"
_free_port = free_port  # the name tests used before the launcher moved to the sandbox


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
        server = TempPostgres().launch()
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


__all__ = [
    "ENV_URL",
    "PostgresUnavailable",
    "TempPostgres",
    "ensure_installed",
    "free_port",
    "main",
    "temp_postgres",
]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
