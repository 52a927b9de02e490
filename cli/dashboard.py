"""`gatepulse dashboard`: serve the Streamlit dashboard (headless) on 127.0.0.1:8501.

Streamlit runs as a child process. SIGTERM, SIGINT and SIGHUP sent to the command are passed
on to it and the command waits for it to end (``CHILD_STOP_S``, then it is killed): stopping
``gatepulse dashboard`` never leaves a Streamlit server behind holding the port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import typer

from cli.context import settings_of
from core.settings import DashboardSettings

CHILD_STOP_S = 10.0
"""How long the command waits for Streamlit to end after passing a signal on, before killing it."""
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"

app = typer.Typer()


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line for the dashboard on ``host:port``, headless."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.runOnSave", "false",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]  # fmt: skip


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def serve(settings: DashboardSettings, host: str | None = None, port: int | None = None) -> int:
    """Run the dashboard until interrupted; returns the exit code of ``streamlit run``."""
    host = host or settings.host
    port = port or settings.port
    if not port_is_free(host, port):
        typer.secho(
            f"error: {host}:{port} is already in use (another dashboard?); "
            "pass --port or set DASHBOARD_PORT",
            fg="red",
            err=True,
        )
        return 2
    typer.echo(f"gatepulse dashboard on http://{host}:{port}  (Ctrl+C stops it)")
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    return run_child(streamlit_command(host, port), env)


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` until it ends. A stop signal to this process is passed on to it and
    waited for (``CHILD_STOP_S``, then it is killed). Returns its exit code, 0 when it ended
    because it was asked to stop."""
    child = subprocess.Popen(command, env=env)
    asked: list[int] = []

    def kill_if_alive() -> None:
        if child.poll() is None:
            child.kill()

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)
        if not asked:
            deadline = threading.Timer(CHILD_STOP_S, kill_if_alive)
            deadline.daemon = True
            deadline.start()
        asked.append(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # this process failed while waiting: take the child along
            child.kill()
            child.wait()
    return 0 if asked and code in (0, *(-sig for sig in FORWARDED)) else code


@app.command("dashboard")
def dashboard_cmd(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (default DASHBOARD_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port (default DASHBOARD_PORT, 8501)."
    ),
) -> None:
    """Serve the analytics dashboard (Streamlit, headless). Reads DASHBOARD_DATABASE_URL,
    else DATABASE_URL; asks for DASHBOARD_PASSWORD when it is set."""
    code = serve(settings_of(ctx).dashboard, host, port)
    if code:
        raise typer.Exit(code)
