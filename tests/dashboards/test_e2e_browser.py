"""End to end: `streamlit run` over a seeded database, every page opened in the OS Chromium."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from cli.dashboard import streamlit_command
from core.owner_links import make_link
from dashboards.signin import REFUSED
from sandbox.browser import CHROMIUM_FLAGS, ensure_chromium
from tests.dashboards.seed import OWNER, seed_dashboard

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PASSWORD = "e2e-secret"
LINK_KEY = "e2e-link-key-0123456789"
PAGES = (  # sidebar link, page title, plotly charts the page must show at least
    ("Overview", "Overview", 1),
    ("Alerts", "Alerts", 2),
    ("Funnel", "Funnel", 5),
    ("Verification", "Verification", 6),
    ("Activity", "Activity", 5),
    ("Growth", "Growth", 4),
    ("Groups & channels", "Groups & channels", 5),
    ("API calls", "API calls", 8),
    ("Summaries", "Summaries", 1),
)
READY_JS = """(minCharts) => {
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const charts = document.querySelectorAll('.js-plotly-plot .main-svg').length;
  const title = document.querySelector('h1');
  if (document.querySelector('[data-testid="stException"]')) return 'EXCEPTION';
  return !running && charts >= minCharts && title ? title.innerText.trim() : null;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dashboard_server(db_url: str, tmp_path: Path) -> Iterator[str]:
    seed_dashboard(db_url)
    port = _free_port()
    env = {
        **os.environ,
        "DASHBOARD_DATABASE_URL": db_url,
        "DASHBOARD_PASSWORD": PASSWORD,
        "DASHBOARD_CACHE_TTL_S": "60",
        "DASHBOARD_LINK_KEY": LINK_KEY,
    }
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        streamlit_command("127.0.0.1", port), env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "streamlit did not start: " + (tmp_path / "streamlit.log").read_text()[-2000:]
                )
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(page: Page, title: str, min_charts: int) -> None:
    """Wait (polling the DOM over CDP) until the page has run, shows its title and its charts,
    and stays so for a moment; half-rendered pages make useless screenshots."""
    deadline = time.monotonic() + 60
    stable = 0
    while time.monotonic() < deadline:
        seen = page.evaluate(READY_JS, min_charts)
        if seen == "EXCEPTION":
            _no_exception(page, title)
        stable = stable + 1 if seen == title else 0
        if stable >= 3:
            return
        page.wait_for_timeout(250)
    shot = SCREENSHOTS / f"timeout_{title.replace(' ', '_')}.png"
    page.screenshot(path=str(shot), full_page=True)
    pytest.fail(f"page {title!r} never became ready with {min_charts} charts (see {shot})")


def _no_exception(page: Page, name: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        pytest.fail(f"Streamlit exception on {name}: {errors.first.inner_text()[:1500]}")


@contextlib.contextmanager
def _browser(tmp_path: Path) -> Iterator[Page]:
    """A page of the OS Chromium (headless, a tall viewport for full-page screenshots)."""
    chromium = ensure_chromium()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": 1440, "height": 2200},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.mark.slow
def test_every_page_renders_in_chromium(
    dashboard_server: str, tmp_path: Path, backend: str
) -> None:
    """Every page after the password; then an owner's sign-in through the bot's link."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _browser(tmp_path) as page:
        # a page's address typed in the address bar: the password gate comes first, and
        # shows nothing else; once signed in, that page itself
        page.goto(f"{dashboard_server}/overview", wait_until="domcontentloaded")
        password = page.get_by_label("Password", exact=True)
        password.wait_for(timeout=30_000)
        assert page.locator(".js-plotly-plot").count() == 0
        password.fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        for i, (link, title, min_charts) in enumerate(PAGES):
            if i:  # the first page is the one just signed into
                page.locator('[data-testid="stSidebarNav"]').get_by_role(
                    "link", name=link, exact=True
                ).click()
            _wait_ready(page, title, min_charts)
            if i == 0:
                assert page.url == f"{dashboard_server}/overview"
                assert "Page not found" not in page.locator("body").inner_text()
            _no_exception(page, title)
            slug = title.lower().replace(" & ", "_").replace(" ", "_")
            page.screenshot(path=str(SCREENSHOTS / f"{backend}_{slug}.png"), full_page=True)
        # the last page is Summaries: the latest 7-day summary of the first chat is shown
        assert "release date was announced" in page.locator('[data-testid="stMain"]').inner_text()
        # the same server and browser (one server start, one browser launch less)
        _owner_signs_in(page.context.new_page(), dashboard_server, backend)


def _owner_signs_in(page: Page, base: str, backend: str) -> None:
    """The link from the bot, opened in a new tab (a Streamlit session of its own): the
    dashboard without the password, a reload keeps the session, the same link again is
    refused."""
    link = make_link(LINK_KEY.encode(), OWNER, dt.datetime.now(dt.UTC), base)
    page.goto(link, wait_until="domcontentloaded")
    _wait_ready(page, "Overview", 1)
    signed_in = page.get_by_text(f"Signed in from Telegram as user {OWNER}")
    signed_in.wait_for(timeout=30_000)
    page.wait_for_url("**session=*", timeout=30_000)
    assert "owner=" not in page.url  # the token left the address bar
    shown = page.locator('[data-testid="stMain"]').inner_text()
    assert "all your groups" in shown  # the owner's scope (their groups: Alpha and Delta)
    assert "Beta" not in shown and "Gamma" not in shown
    page.screenshot(path=str(SCREENSHOTS / f"{backend}_owner_view.png"), full_page=True)
    page.reload(wait_until="domcontentloaded")
    _wait_ready(page, "Overview", 1)
    signed_in.wait_for(timeout=30_000)
    again = page.context.new_page()
    again.goto(link, wait_until="domcontentloaded")
    again.get_by_text(REFUSED).wait_for(timeout=30_000)
    assert again.locator(".js-plotly-plot").count() == 0
    assert again.get_by_label("Password", exact=True).count() == 0
