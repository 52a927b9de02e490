"""A benchmark stopped by SIGTERM, as by Ctrl+C, stops and deletes the servers it started."""

from __future__ import annotations

import contextlib
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


def _started(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> re.Match[str]:
    deadline = time.monotonic() + 120
    while True:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, "it never said its PostgreSQL is up"
        try:
            match = STARTED.search(lines.get(timeout=left))
        except queue.Empty:
            continue
        if match:
            return match


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
        root = Path(_started(bench, lines).group(1))
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


BENCH_STYLE = """
import subprocess, sys, time
from dagster._utils.interrupts import capture_interrupts
from bench._common import stop_on_sigterm, stopped_with
from sandbox.postgres import TempPostgres

stop_on_sigterm()
with capture_interrupts():  # what every Dagster run does; on its way out, SIGTERM gets SIGINT's
    pass
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with TempPostgres() as server, stopped_with(sleeper):
    print(f"PostgreSQL on port {server.port} in {server.root} child {sleeper.pid}", flush=True)
    time.sleep(600)
"""


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job starts


@pytest.mark.parametrize(
    "how", ["SIGTERM to the process", "Ctrl+C to its process group", "SIGINT to the process"]
)
def test_a_signal_stops_a_benchs_postgresql_and_child_process(how: str) -> None:
    """A benchmark-style process (``stop_on_sigterm``, a Dagster run, a ``TempPostgres`` and a
    child under ``stopped_with``), started with Ctrl+C ignored as a background job is, stops
    both on SIGTERM, on SIGINT and on the terminal's Ctrl+C (its whole process group)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", BENCH_STYLE], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=_ignore_ctrl_c, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        started = _started(proc, lines)
        root = Path(started.group(1))
        child = int(started.string.split()[-1])
        data = root / "data"
        _until(lambda: _postmaster(data) is not None, 60, "the postmaster is up")
        if how.startswith("Ctrl+C"):
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM if how.startswith("SIGTERM") else signal.SIGINT)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the child too: a failed test leaves nothing
            proc.wait()
    assert code != 0  # interrupted, not finished
    _until(lambda: not _processes_of(data), 30, f"no process of {data} is left")
    assert not root.exists()
    assert not Path(f"/proc/{child}").exists()  # stopped and reaped


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # the fields after the command's closing parenthesis: state, ppid, ...
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


def test_sigterm_to_make_bench_stops_the_running_benchmark(tmp_path: Path) -> None:
    """``python -m bench`` (``make bench``) gets SIGTERM while ``bench.dashboard`` loads its
    world: it passes it on, and neither the benchmark, its PostgreSQL nor its folder is left."""
    log = tmp_path / "dashboard.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "--only", "dashboard", "--logs", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    benchmark: list[int] = []
    try:
        found: list[re.Match[str]] = []

        def up() -> bool:
            assert proc.poll() is None, "python -m bench ended early"
            match = STARTED.search(log.read_text()) if log.exists() else None
            found.extend([match] if match else [])
            return match is not None

        _until(up, 120, "bench.dashboard says its PostgreSQL is up")
        root = Path(found[0].group(1))
        data = root / "data"
        _until(lambda: _postmaster(data) is not None, 60, "the postmaster is up")
        benchmark = _children(proc.pid)
        assert benchmark
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=180)
        _until(lambda: not any(Path(f"/proc/{p}").exists() for p in benchmark), 30, "it stopped")
        _until(lambda: not _processes_of(data), 30, f"no process of {data} is left")
        assert not root.exists()
    except BaseException:  # a failed test leaves nothing running
        for pid in [proc.pid, *benchmark]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raise
    finally:
        proc.wait()
