"""`gatepulse dashboard`: the command line it runs, and clear refusals of bad input."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.dashboard import APP, app, port_is_free, streamlit_command


def test_command_runs_the_entry_script_headless_on_loopback() -> None:
    cmd = streamlit_command("127.0.0.1", 8501)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(APP)
    assert APP.exists()
    opts = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1"
    assert opts["--server.port"] == "8501"
    assert opts["--server.headless"] == "true"


def test_bad_port_is_refused() -> None:
    result = CliRunner().invoke(app, ["--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.output and "65535" in result.output


def test_port_in_use_is_a_clear_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(app, ["--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 2
    assert "already in use" in result.output


def _children(pid: int) -> list[int]:
    """The process's children, from Linux's /proc (the test needs a real process tree)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, dead but not yet reaped by init, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigterm_stops_streamlit_too_and_frees_the_port(tmp_path: Path) -> None:
    """`gatepulse dashboard` stopped with SIGTERM passes it on to its Streamlit server and
    waits for it: the port is free and no child is left."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(sys.executable).parent / "gatepulse"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.Popen(
        [str(script), "dashboard", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while port_is_free("127.0.0.1", port):  # until Streamlit listens
            assert proc.poll() is None, "gatepulse dashboard ended before serving"
            assert time.monotonic() < deadline, "Streamlit did not start listening"
            time.sleep(0.2)
        children = _children(proc.pid)
        assert children, "Streamlit runs as a child of the command"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert port_is_free("127.0.0.1", port)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
