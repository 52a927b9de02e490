"""`gatepulse dashboard`: the command line it runs, and clear refusals of bad input."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from cli.dashboard import APP, app, streamlit_command


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
