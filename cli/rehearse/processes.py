"""The rehearsal's OS processes: started in their own session, logged to a file, stopped with
SIGTERM (their exit code kept), killed with SIGKILL as a crash would, and never left behind.

Each :class:`Service` leads its own process group (``start_new_session``), so a kill or the
final sweep reaches its children too: Streamlit under ``gatepulse dashboard``, the runs the
Dagster daemon launches as subprocesses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STOP_TIMEOUT_S = 30.0
"""How long a service may take to exit after SIGTERM before it is killed (and counted unclean)."""


class ServiceFailed(RuntimeError):
    """A service did not start or become ready; the message carries the tail of its log."""


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def http_ok(url: str, expect: bytes | None = None) -> bool:
    """Whether GET ``url`` answers 200 (with a body starting with ``expect``, when given)."""
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return reply.status == 200 and (expect is None or reply.read().startswith(expect))
    except OSError:
        return False


@dataclass
class Service:
    """One command run as its own process group, its output appended to ``log``."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log: Path
    cwd: Path
    ready: Callable[[], bool] | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: exit codes of the ends this service had: SIGTERM stops (0 = clean) and kills (-9)
    exits: list[int | None] = field(default_factory=list)
    starts: int = 0
    #: stops after which the service's leader had exited but a process of its group ran on
    left_behind: int = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        if self.alive:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout_s: float) -> None:
        """Until ``ready()`` holds; :class:`ServiceFailed` when the process ends or time is up."""
        deadline = time.monotonic() + timeout_s
        while self.ready is not None and not self.ready():
            if not self.alive or time.monotonic() > deadline:
                why = "exited" if not self.alive else f"was not ready within {timeout_s:.0f} s"
                raise ServiceFailed(f"{self.name} {why}; the end of {self.log}:\n{self.tail()}")
            time.sleep(0.2)

    def run_to_end(self, timeout_s: float) -> int:
        """Start it and wait for it to exit (a one-shot command); its exit code."""
        self.start()
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServiceFailed(f"{self.name} did not finish within {timeout_s:.0f} s") from None
        self.exits.append(code)
        return code

    def kill(self, *, group: bool = True) -> None:
        """SIGKILL to the whole group, as a crash would end it; ``group=False``: to the
        service's own process only (``kill -9 PID``: its children live on, as the runs a
        Dagster daemon launched do)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        code = self.proc.wait()
        if self.proc is not None and code is not None:
            self.exits.append(code)
        self.proc = None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S, children_grace_s: float = 5.0) -> int | None:
        """SIGTERM to the service's leader and wait; its exit code, or ``None`` when it had to
        be killed. Its children may take ``children_grace_s`` more to end (counted in
        ``left_behind`` when they do not); whatever of its group still runs then is killed."""
        proc = self.proc
        if proc is None:
            return None
        code: int | None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                code = None
        else:
            code = proc.returncode
        if code is not None:  # its children (a Dagster run, Streamlit) get a grace period
            deadline = time.monotonic() + children_grace_s
            while leftovers([proc.pid]) and time.monotonic() < deadline:
                time.sleep(0.2)
            if leftovers([proc.pid]):
                self.left_behind += 1
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # its children, when it left any
        proc.wait()
        self.exits.append(code)
        self.proc = None
        return code

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def log_lines(self, *needles: str) -> list[str]:
        """The lines of its log holding any of ``needles``."""
        if not self.log.exists():
            return []
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if any(n in line for n in needles)
        ]


def leftovers(pgids: Sequence[int]) -> list[int]:
    """Which of ``pgids`` still have a running process (a zombie that was reaped does not)."""
    found = []
    for pgid in pgids:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                state, group = fields[0], int(fields[2])
                if group == pgid and state != "Z":
                    found.append(pgid)
                    break
    return found
