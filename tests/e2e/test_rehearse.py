"""The short form of the rehearsal, as ``make test`` runs it on every submission.

``gatepulse rehearse`` as an operator runs it (a subprocess, the console command's own
module), shortened: a minute and a half of traffic, one fault of each kind with shorter
outages, and Telegram's delivery timeout at 5 s. It starts its own PostgreSQL and Redis (the
environment's ``DATABASE_URL`` is left out); it runs once, in ``make test``'s PostgreSQL pass.
It must pass every check and end with ``lost 0 duplicated 0``, and leave nothing running.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.rehearse.processes import leftovers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # the PostgreSQL pass runs it

ROOT = Path(__file__).resolve().parents[2]
SHORT = [
    "--minutes", "1.5", "--rate", "6", "--groups", "4",
    "--postgres-down", "8", "--redis-down", "8", "--burst", "5", "--delivery-timeout", "5",
]  # fmt: skip


@pytest.mark.timeout(900)  # about 5 minutes alone on this 2-core machine, more beside a lane
def test_the_short_rehearsal_passes_every_check(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "BOT_", "DAGSTER_", "DASHBOARD_"))
    }
    env["GATEPULSE_VAR_DIR"] = str(tmp_path / "var")
    env["COLUMNS"] = "160"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "rehearse", *SHORT, "--workdir", str(tmp_path / "run")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    out = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 0, out[-6000:]
    assert lines[-1] == "lost 0 duplicated 0", out[-3000:]
    for fault in ("replica", "telegram", "late", "postgres", "redis", "daemon"):
        assert f"recovery after {fault}" in out, out[-3000:]
    # no check failed: no FAIL cell in the verdict, and its headline (a detail may quote a
    # Dagster run's status, such as the FAILURE of a run the daemon was killed under)
    assert not re.search(r"│\s*FAIL\s*│", out), out[-6000:]
    assert re.search(r"^PASS: (\d+)/\1 checks passed$", done.stdout, re.M), out[-6000:]
    # every process of ours it started is gone: no Streamlit, bot or Dagster process left
    # (each ran with its folder under the workdir in its command line or environment)
    assert _processes_mentioning(str(tmp_path)) == []


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                seen = b"".join((entry / f).read_bytes() for f in ("cmdline", "environ"))
            except OSError:
                continue
            if text.encode() in seen:
                found.append(seen.split(b"\0", 1)[0].decode(errors="replace"))
    return found


def test_leftovers_finds_a_running_group_and_not_an_ended_one(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert leftovers([proc.pid]) == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert leftovers([proc.pid]) == []
