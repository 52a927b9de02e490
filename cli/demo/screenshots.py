"""README screenshots: every dashboard page over the demo database, in the OS Chromium.

``uv run python -m cli.demo.screenshots`` after ``make demo`` (or ``gatepulse demo --no-serve``)
serves the dashboard on a free port over ``DASHBOARD_DATABASE_URL`` / ``DATABASE_URL`` (the demo's
SQLite file by default), opens each page at its own address, waits over CDP until its charts
are drawn and the run is over (half-rendered pages make useless pictures), and writes
``docs/images/dashboard-<page>.png``. Then the Dagster UI: ``dagster-webserver`` on a free port
over the demo's ``DAGSTER_HOME``, the analytics assets' lineage and one asset's partitions
(``docs/images/dagster-lineage.png``, ``docs/images/dagster-partitions.png``); ``--only
dagster`` or ``--only dashboard`` for one of the two. The shooting itself is
:mod:`sandbox.screenshots`'.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cli.dashboard import streamlit_command
from core.settings import Settings, load_settings
from dashboards.pages import PAGES
from pipelines.home import prepare_dagster_home
from sandbox.postgres import free_port
from sandbox.screenshots import shoot, shoot_dagster, stop, wait_healthy

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"
DAGSTER_PAGES = (
    ("lineage", "/asset-groups/analytics/lineage", "analytics_funnel_daily"),
    ("partitions", "/assets/analytics_funnel_daily?view=partitions", "Materialized"),
)
"""(name, path, text the page shows once drawn) of each Dagster UI screenshot."""


def dagster_screenshots(settings: Settings, out: Path) -> None:
    """Serve the Dagster UI over the demo's DAGSTER_HOME on a free port and shoot it."""
    home = prepare_dagster_home(settings.pipelines.dagster_home)
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    cmd = [sys.executable, "-m", "dagster_webserver", "-m", "pipelines.definitions",
           "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, env=env, cwd=home, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 300
            while True:
                if proc.poll() is not None:
                    raise SystemExit("dagster-webserver exited before it served the UI")
                try:
                    urllib.request.urlopen(f"{base}/server_info", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the Dagster UI did not answer within 300 s") from None
                    time.sleep(0.3)
            shoot_dagster(base, out, DAGSTER_PAGES)
        finally:
            stop(proc, 30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs ({OUT})")
    parser.add_argument("--only", choices=("dashboard", "dagster"), help="one of the two")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.only != "dashboard":
        dagster_screenshots(settings, args.out)
    if args.only == "dagster":
        return
    url = settings.dashboard.database_url or settings.db.url
    port = free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATABASE_URL": url,
        "DASHBOARD_PASSWORD": "",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            streamlit_command("127.0.0.1", port), env=env, stdout=log, stderr=log
        )
        try:
            wait_healthy(base, proc)
            today = dt.datetime.now(dt.UTC).date()
            span = f"from={today - dt.timedelta(days=30)}&to={today}"  # the demo's month
            pages = [(title, slug) for _script, title, _icon, slug in PAGES]
            shoot(base, args.out, pages, query=span)
        finally:
            stop(proc, 15)


if __name__ == "__main__":
    main()
