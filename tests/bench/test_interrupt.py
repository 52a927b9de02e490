"""A benchmark stopped by SIGTERM, as by Ctrl+C, stops and deletes the servers it started."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"PostgreSQL on port \d+ in (\S+)")


def _lines(stream: IO[str], out: queue.Queue[str]) -> None:
    for line in stream:
        out.put(line)


def _postmaster(data: Path) -> int | None:
    """The pid in the data folder's ``postmaster.pid``, if that process is alive."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _processes_of(data: Path) -> list[int]:
    """Every live process whose command line names ``data`` (the postmaster and its children
    carry it in ``-D``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(data).encode() in cmdline:
                found.append(int(proc.name))
    return found


def _until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s: {what}"
        time.sleep(0.1)


def test_sigterm_stops_the_dashboard_benchs_postgresql() -> None:
    """``bench.dashboard`` (big enough that loading takes minutes) gets SIGTERM once its
    PostgreSQL is up: it exits before finishing, and neither the server nor its folder is left."""
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.dashboard", "--groups", "3", "--days", "14",
         "--range-days", "7", "--raw-rows", "10000000", "--repeat", "1", "--raw-repeat", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(bench.stderr, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        root = None
        while root is None:
            left = deadline - time.monotonic()
            assert left > 0 and bench.poll() is None, "the bench never said its PostgreSQL is up"
            try:
                match = STARTED.search(lines.get(timeout=left))
            except queue.Empty:
                continue
            root = Path(match.group(1)) if match else None
        data = root / "data"
        _until(lambda: _postmaster(data) is not None, 60, "the postmaster is up")
        bench.send_signal(signal.SIGTERM)
        code = bench.wait(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert code != 0  # interrupted, not finished
    _until(lambda: not _processes_of(data), 30, f"no process of {data} is left")
    assert not root.exists()
