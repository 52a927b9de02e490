"""Screenshots of served web pages in the OS Chromium, once each page is drawn.

Generic helpers taking plain arguments: :func:`shoot` waits over CDP until a Streamlit page's
charts are drawn and its run is over (half-rendered pages make useless pictures),
:func:`shoot_dagster` until a Dagster UI page's text stops changing. What to serve and shoot
(the dashboard's pages, the Dagster UI over the demo's ``DAGSTER_HOME``) is wired by
:mod:`cli.demo.screenshots`.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import sync_playwright

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


def shoot(
    base: str, out: Path, pages: Iterable[tuple[str, str]], query: str = "", width: int = 1440
) -> list[Path]:
    """One full-page PNG per Streamlit page, given as (title, slug) and opened at
    ``base/slug?query``, written to ``out/dashboard-<slug>.png``; returns the files written."""
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
            for title, slug in pages:
                page.goto(f"{base}/{slug}?{query}", wait_until="domcontentloaded")
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
