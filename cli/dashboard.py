"""`gatepulse dashboard`: serve the Streamlit dashboard (headless) on 127.0.0.1:8501."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import typer

from cli.context import settings_of
from core.settings import DashboardSettings

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
    try:
        return subprocess.run(streamlit_command(host, port), env=env).returncode
    except KeyboardInterrupt:
        return 0


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
