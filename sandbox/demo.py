"""The demo: the whole system on one machine, from simulated traffic to the dashboard.

What ``gatepulse demo`` runs:

1. migrate the database (embedded SQLite under var/ by default; DATABASE_URL may be Postgres);
2. simulate weeks of traffic through the real bot code on a simulated clock;
3. a short live phase: the real bot polling the fake Telegram server over HTTP;
4. materialize every daily partition and the summaries, sync member counts (fake server);
5. print a report, then serve the dashboard until Ctrl+C.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from core.clock import SystemClock
from core.db import backend_of, create_engine, sqlite_path
from core.migrate import drop_schema, run_migrations, table_counts
from core.models import Alert, Digest, VerificationLog
from core.progress import progress_bar
from core.settings import DatabaseSettings, Settings, display_url

console = Console()
FAKE_TOKEN = "123456:TEST-TOKEN-for-the-fake-server"  # sandbox.fake_telegram.server.DEFAULT_TOKEN


class Steps:
    """Times each step of the demo for the final report."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times.append((name, time.perf_counter() - started))


def _reset(db: DatabaseSettings, dagster_home: Path) -> None:
    """Remove the demo's state: the SQLite file (or every table on PostgreSQL), spool, Dagster's
    record of the previous runs."""
    if backend_of(db.url) == "sqlite":
        path = Path(sqlite_path(db.url))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        drop_schema(db.url)
    for folder in (db.var_dir / "spool", *_dagster_state(dagster_home)):
        shutil.rmtree(folder, ignore_errors=True)


def _dagster_state(home: Path) -> list[Path]:
    """What the Dagster instance in ``home`` recorded (its runs, events, schedules' state and
    files); its dagster.yaml stays."""
    return [p for p in home.iterdir() if p.name != "dagster.yaml"] if home.is_dir() else []


async def _history_bounds(url: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    engine = create_engine(url=url, pool=False)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sa.func.min(VerificationLog.timestamp),
                        sa.func.max(VerificationLog.timestamp),
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    low, high = row  # min/max keep the column's type: tz-aware UTC on both backends
    return low, high


def demo_window(days: int, end_day: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The simulated window: ``days`` whole UTC days ending at midnight UTC of ``end_day``
    (default: today, so the last simulated day is yesterday).

    Whole days make the demo reproducible: a seed gives the same world at any hour of a day,
    and ``--end`` gives the world of any other day again.
    """
    end_day = end_day or dt.datetime.now(dt.UTC).date()
    end = dt.datetime.combine(end_day, dt.time(), tzinfo=dt.UTC)
    return end - dt.timedelta(days=days), end


def run_demo(
    *,
    days: int,
    groups: int,
    scale: float,
    seed: int,
    reset: bool,
    live_seconds: float,
    settings: Settings,
    end_day: dt.date | None = None,
) -> dict[str, Any]:
    """Everything but serving the dashboard; returns the report's figures."""
    from pipelines.home import open_instance, prepare_dagster_home
    from pipelines.resources import BotTelegramResource
    from pipelines.runner import materialize_range
    from sandbox.simulator.runner import Simulation, build_world, run_live
    from sandbox.simulator.scenario import build_scenario

    # The demo only ever talks to the fake Telegram world, whose bot is the test token's bot:
    # a real BOT_TOKEN from the environment is neither needed nor sent anywhere.
    demo_bot = settings.bot.model_copy(update={"token": SecretStr(FAKE_TOKEN)})
    settings = settings.replace(bot=demo_bot)
    db = settings.db
    steps = Steps()
    report: dict[str, Any] = {"database": display_url(db.url)}
    scenario = build_scenario(seed=seed, days=days, groups=groups, scale=scale)

    with steps.step("database"):
        if reset:
            _reset(db, prepare_dagster_home(settings.pipelines.dagster_home))  # never the checkout
            console.print("reset: removed the previous demo data")
        run_migrations(db.url)
        console.print(f"migrated {report['database']}")
        first, last = asyncio.run(_history_bounds(db.url))

    start, end = demo_window(days, end_day)
    if first is not None and last is not None:
        console.print(
            f"reusing the traffic already simulated ({first:%Y-%m-%d} .. {last:%Y-%m-%d}); "
            "pass --reset to simulate afresh"
        )
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        world = build_world(scenario, SystemClock())
        report["simulated"] = False
    else:
        with steps.step(f"simulate {days} days of traffic through the bot"):
            engine = create_engine(db)
            simulation = Simulation(settings, scenario, start=start, end=end, engine=engine)
            with progress_bar(console=console) as bar:
                task = bar.add_task("days simulated", total=days)

                def on_day(_index: int, day: dt.date) -> None:
                    bar.update(task, advance=1, description=f"simulated {day}")

                stats = asyncio.run(simulation.run(on_day=on_day))
            asyncio.run(engine.dispose())
            world = simulation.world
            report["simulation"] = stats.as_dict()
            console.print(
                f"{stats.updates_fed:,} updates through the bot in {stats.wall_s:.1f}s: "
                f"{stats.muted:,} newcomers muted, {stats.verified:,} verified after joining"
            )
            faults = ", ".join(f"{n:,} {kind}" for kind, n in sorted(stats.faults.items()))
            console.print(
                f"Telegram faults injected on purpose: {sum(stats.faults.values()):,}"
                + (f" ({faults})" if faults else "")
                + "; every failed call is in api_call_log"
            )
        report["simulated"] = True

    async def live_and_sync() -> tuple[int, dict[str, int]]:
        from sandbox.fake_telegram.server import FakeTelegramServer

        engine = create_engine(db)
        try:
            taken = 0
            if live_seconds > 0:
                taken = await run_live(
                    settings, world, scenario, seconds=live_seconds, engine=engine
                )
            token = settings.bot.token.get_secret_value()
            # every run is recorded in DAGSTER_HOME: the Dagster UI shows the demo's partitions,
            # checks, runs and the raw tables' freshness afterwards
            instance = open_instance(settings.pipelines.dagster_home)
            async with FakeTelegramServer(world=world, token=token) as server:
                telegram = BotTelegramResource.from_settings(
                    settings.bot.model_copy(update={"api_base": server.base_url})
                )
                counts = await asyncio.to_thread(
                    materialize_range,
                    start.date(),
                    end.date(),
                    settings=settings,
                    progress=True,
                    summaries=True,
                    member_counts_sync=True,
                    telegram=telegram,
                    instance=instance,
                )
                report["alerts"] = await asyncio.to_thread(
                    replay_demo_alerts, settings, start, end, telegram
                )
                report["digests"] = await asyncio.to_thread(
                    post_demo_digests, settings, start, end, telegram
                )
                # the alerts and digests just sent are API calls of today: count them too
                today = dt.datetime.now(dt.UTC).date()
                if start.date() <= today <= end.date():
                    await asyncio.to_thread(
                        materialize_range,
                        today,
                        today,
                        settings=settings,
                        progress=False,
                        instance=instance,
                    )
            instance.dispose()
            return taken, counts
        finally:
            await engine.dispose()

    with steps.step("live bot over HTTP, materialize every partition, replay the alerts"):
        taken, counts = asyncio.run(live_and_sync())
        report["live_updates"] = taken
        report["materialized"] = counts
        if live_seconds > 0:
            console.print(f"live phase: the bot took {taken} updates by polling over HTTP")
        console.print(
            f"weekly digests: {report['digests']['posted']} posted into "
            f"{report['digests']['groups']} opted-in groups (each the Monday after its week)"
        )
        alerts = report["alerts"]
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(alerts["kinds"].items()))
        console.print(
            f"alerts over the simulated month: {sum(alerts['kinds'].values())} opened"
            + (f" ({kinds})" if kinds else "")
            + f", {alerts['still_open']} still open; {alerts['sent']} messages sent to the "
            "groups' owners"
        )

    report["tables"] = asyncio.run(table_counts(db.url))
    report["steps"] = dict(steps.times)
    _print_report(report)
    return report


ALERT_REPLAY_STEP = dt.timedelta(hours=1)
"""The demo evaluates the alert rules once per simulated hour (production: every 5 minutes)."""


def replay_demo_alerts(
    settings: Settings, start: dt.datetime, end: dt.datetime, telegram: Any
) -> dict[str, Any]:
    """The alert rules over the simulated month, as the schedule would have run them, each
    new alert delivered through ``telegram`` (the fake server) to the groups' owners."""
    from pipelines.assets.alerts import replay_alerts
    from pipelines.delivery import deliver_alerts
    from pipelines.io import sync_engine
    from pipelines.resources import AlertConfigResource, DatabaseResource

    url, cfg = settings.db.url, settings.alerts
    sent = {"sent": 0, "failed": 0}
    alerts = Alert.__table__
    with sync_engine(url).connect() as conn:
        done_before = conn.scalar(
            sa.select(sa.func.count())
            .select_from(alerts)
            .where(alerts.c.opened_at >= start, alerts.c.opened_at <= end)
        )
    if done_before:  # a demo run reusing its traffic: the month was evaluated already
        return _alert_report(url, {"opened": 0, "resolved": 0, "evaluations": 0}, sent)

    def deliver(now: dt.datetime) -> None:
        done = deliver_alerts(
            DatabaseResource(url=url),
            telegram,
            settings.writer,
            now,
            admin_chat_id=cfg.admin_chat_id,
            max_attempts=cfg.delivery_max_attempts,
        )
        sent["sent"] += done["sent"]
        sent["failed"] += done["failed"]

    steps = int((end - start) / ALERT_REPLAY_STEP)
    with progress_bar(console=console) as bar:
        task = bar.add_task("alert evaluations", total=steps)
        totals = replay_alerts(
            sync_engine(url),
            AlertConfigResource.from_settings(cfg).thresholds(),
            start,
            end,
            step=ALERT_REPLAY_STEP,
            deliver=deliver if cfg.delivery else None,
            on_step=lambda _now: bar.update(task, advance=1),
        )
    return _alert_report(url, totals, sent)


def post_demo_digests(
    settings: Settings, start: dt.datetime, end: dt.datetime, telegram: Any
) -> dict[str, int]:
    """Each whole simulated week's digest, posted into the opted-in groups through
    ``telegram`` (the fake server) as the Monday schedule would have (at 06:00 UTC after it)."""
    from pipelines.assets.digests import run_digests
    from pipelines.io import sync_engine
    from pipelines.resources import DatabaseResource, PipelineConfigResource

    db = DatabaseResource(url=settings.db.url)
    config = PipelineConfigResource.from_settings(settings.pipelines, settings.writer)
    first = start.date() + dt.timedelta(days=(7 - start.weekday()) % 7)  # first whole week
    week = first
    while week + dt.timedelta(days=7) <= end.date():
        week_end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(6), dt.UTC)
        run_digests(db, telegram, config, [week], now=week_end)
        week += dt.timedelta(days=7)
    digests = Digest.__table__
    with sync_engine(settings.db.url).connect() as conn:
        posted, groups = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(digests.c.chat_id))).where(
                digests.c.posted_at.is_not(None)
            )
        ).one()
    return {"posted": int(posted), "groups": int(groups)}


def _alert_report(url: str, totals: dict[str, int], sent: dict[str, int]) -> dict[str, Any]:
    from pipelines.io import sync_engine

    alerts = Alert.__table__
    with sync_engine(url).connect() as conn:
        kinds: dict[str, int] = dict(
            conn.execute(sa.select(alerts.c.kind, sa.func.count()).group_by(alerts.c.kind)).all()
        )
        still_open = conn.scalar(
            sa.select(sa.func.count()).select_from(alerts).where(alerts.c.resolved_at.is_(None))
        )
    return {**totals, **sent, "kinds": kinds, "still_open": int(still_open or 0)}


def _print_report(report: dict[str, Any]) -> None:
    tables = Table(title="rows per table", title_justify="left")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in sorted(report["tables"].items()):
        tables.add_row(name, "missing" if rows is None else f"{rows:,}")
    steps = Table(title="time per step", title_justify="left")
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    for name, seconds in report["steps"].items():
        steps.add_row(name, f"{seconds:.1f}")
    steps.add_row("[bold]total", f"[bold]{sum(report['steps'].values()):.1f}")
    console.print(tables)
    console.print(steps)
    console.print(
        "Dagster UI: run [bold]uv run gatepulse pipelines[/] and open http://127.0.0.1:3000\n"
        "Database tables: [bold]uv run gatepulse tables[/]"
    )
