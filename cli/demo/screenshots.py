"""README screenshots: every dashboard page over the demo database, in the OS Chromium.

``uv run python -m cli.demo.screenshots`` after ``make demo`` (or ``gatepulse demo --no-serve``)
serves the dashboard on a free port over ``DASHBOARD_DATABASE_URL`` / ``DATABASE_URL`` (the demo's
SQLite file by default), opens each page at its own address, waits over CDP until its charts
are drawn and the run is over (half-rendered pages make useless pictures), and writes
``docs/images/dashboard-<page>.png``; the Funnel page's section by newcomer language
(``docs/images/dashboard-funnel-languages.png``); and the dashboard as the demo's owner sees it,
signed in through their link as the bot would send it (the person who administers the most
groups: their groups and nothing else, ``docs/images/dashboard-owner-view.png`` and
``docs/images/dashboard-owner-groups.png``). Then the Dagster UI: ``dagster-webserver`` on a
free port over the demo's ``DAGSTER_HOME``, the analytics assets' lineage and one asset's
partitions (``docs/images/dagster-lineage.png``, ``docs/images/dagster-partitions.png``).
``--only`` (repeatable) picks ``pages``, ``languages``, ``owner``, ``dagster`` or ``dashboard``
(the first three). The shooting itself is :mod:`sandbox.screenshots`'.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from cli.dashboard import streamlit_command
from core.db import create_engine
from core.models import GroupAdmin, ProtectedGroup
from core.owner_links import load_key, make_link
from core.settings import Settings, load_settings
from dashboards.pages import PAGES
from pipelines.home import prepare_dagster_home
from sandbox.postgres import free_port
from sandbox.screenshots import (
    shoot,
    shoot_dagster,
    shoot_section,
    shoot_signed_in,
    stop,
    wait_healthy,
)

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"
DAGSTER_PAGES = (
    ("lineage", "/asset-groups/analytics/lineage", "analytics_funnel_daily"),
    ("partitions", "/assets/analytics_funnel_daily?view=partitions", "Materialized"),
)
"""(name, path, text the page shows once drawn) of each Dagster UI screenshot."""
SHOTS = ("pages", "languages", "owner", "dagster")
GROUPS = {"dashboard": ("pages", "languages", "owner")}
"""``--only`` names standing for several of :data:`SHOTS`."""
LANGUAGES_SECTION = ("By newcomer language", "Download funnel by language (CSV)")
"""The Funnel page's section by language: its subheader, and the button under its table."""


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


async def busiest_admin(url: str) -> tuple[int, list[str]] | None:
    """Who administers the most protected groups as ``group_admins`` says (the demo's owner,
    as :func:`cli.demo.report.demo_owner` picks them from the scenario; the lowest id among
    equals), with those groups' titles; ``None`` when nobody is recorded."""
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.select(GroupAdmin.user_id, ProtectedGroup.title)
                .join(ProtectedGroup, ProtectedGroup.id == GroupAdmin.group_id)
                .order_by(GroupAdmin.user_id, ProtectedGroup.title)
            )
            groups: dict[int, list[str]] = {}
            for user_id, title in rows:
                groups.setdefault(user_id, []).append(title or "")
    finally:
        await engine.dispose()
    if not groups:
        return None
    person = min(groups, key=lambda p: (-len(groups[p]), p))
    return person, groups[person]


@contextlib.contextmanager
def served_dashboard(settings: Settings) -> Iterator[str]:
    """The dashboard served on a free port over the demo's database, without a password (the
    operator's view; owners' links still sign them in, with the demo's link key); its base
    address."""
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
            yield base
        finally:
            stop(proc, 15)


def owner_screenshots(settings: Settings, base: str, out: Path) -> list[Path]:
    """The dashboard at ``base`` as the demo's owner sees it after opening their link: the
    Overview it lands on, then the Groups & channels page that names their groups."""
    url = settings.dashboard.database_url or settings.db.url
    owner = asyncio.run(busiest_admin(url))
    if owner is None:
        raise SystemExit("no group admin recorded: run `gatepulse demo --no-serve` first")
    user_id, titles = owner
    print(f"owner {user_id} administers {len(titles)} groups: {', '.join(titles)}")
    link = make_link(load_key(settings.dashboard), user_id, dt.datetime.now(dt.UTC), base)
    groups = ("Groups & channels", out / "dashboard-owner-groups.png")
    return shoot_signed_in(link, out / "dashboard-owner-view.png", [groups])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs ({OUT})")
    parser.add_argument(
        "--only",
        choices=(*SHOTS, *GROUPS),
        action="append",
        help="these pictures only (repeatable; dashboard: pages, languages and owner)",
    )
    args = parser.parse_args(argv)
    only = {shot for name in args.only or SHOTS for shot in GROUPS.get(name, (name,))}
    settings = load_settings()
    if "dagster" in only:
        dagster_screenshots(settings, args.out)
    if not only & {"pages", "languages", "owner"}:
        return
    today = dt.datetime.now(dt.UTC).date()
    span = f"from={today - dt.timedelta(days=30)}&to={today}"  # the demo's month
    with served_dashboard(settings) as base:
        if "pages" in only:
            pages = [(title, slug) for _script, title, _icon, slug in PAGES]
            shoot(base, args.out, pages, query=span)
        if "languages" in only:
            target = args.out / "dashboard-funnel-languages.png"
            shoot_section(f"{base}/funnel?{span}", target, *LANGUAGES_SECTION)
        if "owner" in only:
            owner_screenshots(settings, base, args.out)


if __name__ == "__main__":
    main()
