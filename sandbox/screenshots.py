"""Screenshots of served web pages in the OS Chromium, once each page is drawn.

Generic helpers taking plain arguments: :func:`shoot` waits over CDP until a Streamlit page's
charts are drawn and its run is over (half-rendered pages make useless pictures),
:func:`shoot_dagster` until a Dagster UI page's text stops changing. What to serve and shoot
(the dashboard's pages, the Dagster UI over the demo's ``DAGSTER_HOME``) is wired by
:mod:`cli.demo.screenshots`.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import FloatRect, Page, sync_playwright

from sandbox.browser import CHROMIUM_FLAGS, ensure_chromium

READY_JS = """() => {
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const charts = document.querySelectorAll('.js-plotly-plot .main-svg').length;
  const title = document.querySelector('h1');
  if (document.querySelector('[data-testid="stException"]')) return 'EXCEPTION';
  return !running && title ? [title.innerText.trim(), charts] : null;
}"""


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Until the Streamlit server ``proc`` answers its health check at ``base``."""
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


def stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Terminate the server ``proc``; kill it if it has not ended within ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


ANSWERED_JS = """() => {
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const title = document.querySelector('h1');
  const alert = document.querySelector('[data-testid="stAlert"]');
  if (document.querySelector('[data-testid="stException"]')) return 'EXCEPTION';
  if (running || !(title || alert)) return null;
  return [title ? title.innerText.trim() : '', alert ? alert.innerText.trim() : '',
          document.querySelectorAll('.js-plotly-plot .main-svg').length];
}"""
"""A page that has answered: its run is over and it shows its title or a message (an error
the page itself shows, such as "Cannot read the dashboard database", is an answer)."""


def _wait_drawn(page: Page, timeout_s: float = 90, ready_js: str = READY_JS) -> str | None:
    """Wait over CDP until the Streamlit page's run is over and what it shows stops changing;
    ``"EXCEPTION"`` when it shows an exception, ``"TIMEOUT"`` when it never settled, else None."""
    stable, deadline = 0, time.monotonic() + timeout_s
    last: object = None
    while stable < 4:
        if time.monotonic() > deadline:
            return "TIMEOUT"
        seen = page.evaluate(ready_js)
        if seen == "EXCEPTION":
            return "EXCEPTION"
        stable = stable + 1 if seen is not None and seen == last else 0
        last = seen
        page.wait_for_timeout(400)
    return None


@dataclass(frozen=True)
class PageVisit:
    """One page opened in the browser: its HTTP status, what went wrong (``None``: nothing),
    and the message it showed, if any (``st.error`` and the like)."""

    title: str
    status: int | None
    problem: str | None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.problem is None


@contextlib.contextmanager
def _browser_page(width: int, height: int) -> Iterator[Page]:
    """One page of the OS Chromium in a throwaway, offline profile (closed on exit)."""
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(ensure_chromium()),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def visit(base: str, pages: Iterable[tuple[str, str]], timeout_s: float = 90) -> list[PageVisit]:
    """Open each Streamlit page (title, slug) at ``base/slug`` in the OS Chromium, wait until it
    is drawn, and say how it went (HTTP status, an exception shown, a run that never ended)."""
    visits: list[PageVisit] = []
    with _browser_page(1280, 1400) as page:
        for title, slug in pages:
            try:
                reply = page.goto(f"{base}/{slug}", wait_until="domcontentloaded")
            except PlaywrightError as exc:
                visits.append(PageVisit(title, None, str(exc).splitlines()[0]))
                continue
            status = reply.status if reply is not None else None
            problem = _wait_drawn(page, timeout_s, ANSWERED_JS)
            if problem == "EXCEPTION":
                shown = page.locator('[data-testid="stException"]').first.inner_text()
                problem = f"exception: {shown[:300]}"
            elif problem == "TIMEOUT":
                problem = f"no answer within {timeout_s:.0f} s"
            alerts = page.locator('[data-testid="stAlert"]')
            message = alerts.first.inner_text()[:200] if alerts.count() else None
            visits.append(PageVisit(title, status, problem, message))
    return visits


def shoot(
    base: str, out: Path, pages: Iterable[tuple[str, str]], query: str = "", width: int = 1440
) -> list[Path]:
    """One full-page PNG per Streamlit page, given as (title, slug) and opened at
    ``base/slug?query``, written to ``out/dashboard-<slug>.png``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with _browser_page(width, 1600) as page:
        for title, slug in pages:
            page.goto(f"{base}/{slug}?{query}", wait_until="domcontentloaded")
            if _wait_drawn(page) == "EXCEPTION":
                raise SystemExit(f"the {title} page raised an exception")
            target = out / f"dashboard-{slug}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
            print(f"{title}: {target}")
    return written


def shoot_signed_in(
    link: str, target: Path, more: Iterable[tuple[str, Path]] = (), width: int = 1440
) -> list[Path]:
    """The page a sign-in ``link`` lands on (a Streamlit app that swaps the link's token for a
    ``?session=`` address), once signed in and drawn, full page, written to ``target``; then,
    in the same session, each page of ``more`` (its title, as the sidebar links it, and its
    file). Returns the files written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with _browser_page(width, 1600) as page:
        page.goto(link, wait_until="domcontentloaded")
        page.wait_for_url("**session=*", timeout=90_000)
        for title, path in (("", target), *more):
            if title:
                nav = page.locator('[data-testid="stSidebarNav"]')
                nav.get_by_role("link", name=title, exact=True).click()
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=90_000)
            if _wait_drawn(page) == "EXCEPTION":
                raise SystemExit(f"the page {title or 'signed in to'} raised an exception")
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
            print(f"signed in: {path}")
    return written


def shoot_section(url: str, target: Path, heading: str, last: str, width: int = 1440) -> Path:
    """Part of the Streamlit page at ``url``: from its subheader ``heading`` down to the button
    named ``last``, across the main column, once drawn, written to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _browser_page(width, 6000) as page:  # tall: the whole page fits without scrolling
        page.goto(url, wait_until="domcontentloaded")
        if _wait_drawn(page) == "EXCEPTION":
            raise SystemExit(f"the page at {url} raised an exception")
        main = page.locator('[data-testid="stMain"]').bounding_box()
        top = page.get_by_role("heading", name=heading).first.bounding_box()
        bottom = page.get_by_role("button", name=last).first.bounding_box()
        if main is None or top is None or bottom is None:
            raise SystemExit(f"the page at {url} shows no {heading!r} section")
        y = max(0.0, top["y"] - 16)
        clip = FloatRect(x=main["x"], y=y, width=main["width"],
                         height=bottom["y"] + bottom["height"] + 16 - y)  # fmt: skip
        page.screenshot(path=str(target), clip=clip)
    print(f"{heading}: {target}")
    return target


def shoot_dagster(
    base: str, out: Path, pages: Iterable[tuple[str, str, str]], width: int = 1440
) -> list[Path]:
    """The Dagster UI's pages, given as (name, path, text the page shows once drawn), once
    their text has stopped changing, written to ``out/dagster-<name>.png``."""
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
            for name, path, marker in pages:
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


def shoot_html(html: str, target: Path, selector: str = "body", width: int = 520) -> Path:
    """A PNG of ``selector`` in the page ``html`` (no network: the page is set, not served)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _browser_page(width, 800) as page:
        page.set_content(html, wait_until="load")
        page.locator(selector).first.screenshot(path=str(target))
    return target
