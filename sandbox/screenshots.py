"""README screenshots: every dashboard page over the demo database, in the OS Chromium.

``uv run python -m sandbox.screenshots`` after ``make demo`` (or ``gatepulse demo --no-serve``)
serves the dashboard on a free port over ``DASHBOARD_DATABASE_URL`` / ``DATABASE_URL`` (the demo's
SQLite file by default), opens each page at its own address, waits over CDP until its charts
are drawn and the run is over (half-rendered pages make useless pictures), and writes
``docs/images/dashboard-<page>.png``. Then the Dagster UI: ``dagster-webserver`` on a free port
over the demo's ``DAGSTER_HOME``, the analytics assets' lineage and one asset's partitions
(``docs/images/dagster-lineage.png``, ``docs/images/dagster-partitions.png``); ``--only
dagster`` or ``--only dashboard`` for one of the two.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cli.dashboard import streamlit_command
from core.settings import Settings, load_settings
from dashboards.pages import PAGES
from sandbox.browser import CHROMIUM_FLAGS, ensure_chromium

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
READY_JS = """() => {
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const charts = document.querySelectorAll('.js-plotly-plot .main-svg').length;
  const title = document.querySelector('h1');
  if (document.querySelector('[data-testid="stException"]')) return 'EXCEPTION';
  return !running && title ? [title.innerText.trim(), charts] : null;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("streamlit exited before it served the dashboard")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                if reply.read() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the dashboard did not answer at {base} within {timeout_s:.0f} s")


def shoot(base: str, out: Path, width: int = 1440) -> list[Path]:
    """One full-page PNG per page; returns the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(ensure_chromium()),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": 1600},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            today = dt.datetime.now(dt.UTC).date()
            span = f"from={today - dt.timedelta(days=30)}&to={today}"  # the demo's month
            for _script, title, _icon, slug in PAGES:
                page.goto(f"{base}/{slug}?{span}", wait_until="domcontentloaded")
                stable, deadline = 0, time.monotonic() + 90
                last: object = None
                while stable < 4 and time.monotonic() < deadline:
                    seen = page.evaluate(READY_JS)
                    if seen == "EXCEPTION":
                        raise SystemExit(f"the {title} page raised an exception")
                    stable = stable + 1 if seen is not None and seen == last else 0
                    last = seen
                    page.wait_for_timeout(400)
                target = out / f"dashboard-{slug}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
                print(f"{title}: {target}")
        finally:
            context.close()
    return written


DAGSTER_PAGES = (
    ("lineage", "/asset-groups/analytics/lineage", "analytics_funnel_daily"),
    ("partitions", "/assets/analytics_funnel_daily?view=partitions", "Materialized"),
)
"""(name, path, text the page shows once drawn) of each Dagster UI screenshot."""


def shoot_dagster(base: str, out: Path, width: int = 1440) -> list[Path]:
    """The Dagster UI's pages, once their text has stopped changing."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(ensure_chromium()),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            for name, path, marker in DAGSTER_PAGES:
                page.goto(f"{base}{path}", wait_until="domcontentloaded")
                stable, last, deadline = 0, None, time.monotonic() + 90
                while stable < 4 and time.monotonic() < deadline:
                    text = page.evaluate("() => document.body.innerText")
                    seen = len(text) if marker in text else None
                    stable = stable + 1 if seen is not None and seen == last else 0
                    last = seen
                    page.wait_for_timeout(500)
                target = out / f"dagster-{name}.png"
                page.screenshot(path=str(target))
                written.append(target)
                print(f"Dagster {name}: {target}")
        finally:
            context.close()
    return written


def dagster_screenshots(settings: Settings, out: Path) -> None:
    """Serve the Dagster UI over the demo's DAGSTER_HOME on a free port and shoot it."""
    from pipelines.home import prepare_dagster_home

    home = prepare_dagster_home(settings.pipelines.dagster_home)
    port = _free_port()
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
            shoot_dagster(base, out)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


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
    port = _free_port()
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
            _wait_healthy(base, proc)
            shoot(base, args.out)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
