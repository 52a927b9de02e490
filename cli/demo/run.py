"""The demo's run: the whole system on one machine, from simulated traffic to the dashboard.

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
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from cli.demo.materialize import materialize_demo
from cli.demo.membercounts import member_count_sync
from cli.demo.report import Steps, console, print_owner_link, print_report
from core.clock import SystemClock
from core.db import backend_of, create_engine, sqlite_path
from core.migrate import drop_schema, run_migrations, table_counts
from core.models import VerificationLog
from core.progress import progress_bar
from core.settings import DatabaseSettings, Settings, display_url
from pipelines.home import prepare_dagster_home
from sandbox.fake_telegram.server import DEFAULT_TOKEN
from sandbox.fake_telegram.world import FakeWorld
from sandbox.simulator.runner import Simulation, build_world, run_live
from sandbox.simulator.scenario import Scenario, build_scenario


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
    # The demo only ever talks to the fake Telegram world, whose bot is the test token's bot:
    # a real BOT_TOKEN from the environment is neither needed nor sent anywhere.
    demo_bot = settings.bot.model_copy(update={"token": SecretStr(DEFAULT_TOKEN)})
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
            simulation = Simulation(
                settings,
                scenario,
                start=start,
                end=end,
                engine=engine,
                sync_counts=member_count_sync(db.url, settings.pipelines),
            )
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

    with steps.step("live bot over HTTP, materialize every partition, replay the alerts"):
        taken, counts = asyncio.run(
            _live_and_materialize(settings, world, scenario, start, end, live_seconds, report)
        )
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
    print_report(report)
    report["owner_link"] = print_owner_link(settings.dashboard, scenario)
    return report


async def _live_and_materialize(
    settings: Settings,
    world: FakeWorld,
    scenario: Scenario,
    start: dt.datetime,
    end: dt.datetime,
    live_seconds: float,
    report: dict[str, Any],
) -> tuple[int, dict[str, int]]:
    """The live phase (``live_seconds`` of the real bot polling over HTTP), then the pipeline
    phase (:func:`~cli.demo.materialize.materialize_demo`); returns the updates the bot took
    and the rows materialized."""
    engine = create_engine(settings.db)
    try:
        taken = 0
        if live_seconds > 0:
            taken = await run_live(settings, world, scenario, seconds=live_seconds, engine=engine)
        counts = await materialize_demo(settings, world, start, end, report)
        return taken, counts
    finally:
        await engine.dispose()
