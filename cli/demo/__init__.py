"""`gatepulse demo`: the whole system on one machine.

The demo's orchestration lives in this folder, one job per module: :mod:`cli.demo.run` (the
steps, from the database to the report), :mod:`cli.demo.membercounts` (the simulated days'
member-count sync), :mod:`cli.demo.materialize` (every partition, the alerts of
:mod:`cli.demo.alerts` and the digests of :mod:`cli.demo.digests`), :mod:`cli.demo.report`
(what it prints) and :mod:`cli.demo.screenshots` (the README's pictures of its result). The
world it runs in (fake Telegram, simulator) is :mod:`sandbox`'s.
"""

from __future__ import annotations

import datetime as dt

import typer

from cli.context import settings_of
from cli.dashboard import serve as serve_dashboard

app = typer.Typer()


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    days: int = typer.Option(30, "--days", min=1, max=365, help="Days of history to simulate."),
    groups: int = typer.Option(12, "--groups", min=1, max=18, help="Protected groups."),
    scale: float = typer.Option(
        1.0, "--scale", min=0.01, max=20.0, help="Traffic multiplier (1.0: >100k checks/month)."
    ),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed, the same world."),
    reset: bool = typer.Option(False, "--reset", help="Throw away the previous demo data first."),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the dashboard at the end (until Ctrl+C)."
    ),
    live_seconds: float = typer.Option(
        5.0,
        "--live-seconds",
        min=0.0,
        max=600.0,
        help="Seconds of the live phase (the bot polling the fake server over HTTP).",
    ),
    end: dt.datetime | None = typer.Option(
        None,
        "--end",
        formats=["%Y-%m-%d"],
        help="Simulate the whole UTC days before this date (default: today), so that a seed "
        "gives the same world at any hour, and the world of another day again.",
    ),
) -> None:
    """Run the whole system: simulated traffic through the real bot, every Dagster asset
    materialized, then the dashboard on http://127.0.0.1:8501."""
    # lazy: the demo's parts (simulator, bot, pipelines) would more than triple `gatepulse
    # --help` (measured with -X importtime: +37 s over cli.main's 14 s on the shared 2-core
    # machine)
    from cli.demo.run import run_demo

    settings = settings_of(ctx)
    run_demo(
        settings=settings,
        days=days,
        groups=groups,
        scale=scale,
        seed=seed,
        reset=reset,
        live_seconds=live_seconds,
        end_day=end.date() if end is not None else None,
    )
    if serve:
        raise typer.Exit(serve_dashboard(settings.dashboard))
