"""`gatepulse pipelines` (the Dagster UI) and `gatepulse materialize` (every asset, a range)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of
from core.db import create_sync_engine
from pipelines.home import ROOT, open_instance, prepare_dagster_home

app = typer.Typer()


@app.command("pipelines")
def pipelines_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface the Dagster UI listens on."),
    port: int = typer.Option(3000, min=1, max=65535, help="Port of the Dagster UI."),
) -> None:
    """Start the Dagster UI (dagster dev) for gatepulse's assets, schedules and checks."""
    home = prepare_dagster_home(settings_of(ctx).pipelines.dagster_home)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": path}
    typer.echo(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl+C stops it")
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions",
           "-d", str(ROOT), "-h", host, "-p", str(port)]  # fmt: skip
    # run from DAGSTER_HOME so that Dagster finds its dagster.yaml there (and does not warn
    # about the repo's copy); SIGINT restored for the child in case ours is ignored
    proc = subprocess.Popen(
        cmd, env=env, cwd=home, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )

    def stop(_signum: int, _frame: object) -> None:
        proc.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    raise typer.Exit(0 if code in (0, -signal.SIGINT, 130) else code)


def _parse_day(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day; use YYYY-MM-DD", param_hint=name
        ) from None


@app.command("materialize")
def materialize_cmd(
    ctx: typer.Context,
    from_day: str | None = typer.Option(
        None, "--from", help="First UTC day (YYYY-MM-DD). Default: the oldest raw event's day."
    ),
    to_day: str | None = typer.Option(None, "--to", help="Last UTC day. Default: today (UTC)."),
    summaries: bool = typer.Option(True, help="Also write chat summaries for each day."),
    member_counts: bool = typer.Option(
        False, "--member-counts", help="Also sync member counts from Telegram (BOT_API_BASE)."
    ),
    retention: bool = typer.Option(False, "--retention", help="Also prune old raw logs."),
    chunk_days: int = typer.Option(7, min=1, max=366, help="Days per Dagster run."),
) -> None:
    """Materialize every analytics asset (and summaries) for each day in a range; the runs
    are recorded in DAGSTER_HOME, so the Dagster UI shows them."""
    # lazy: the runner (the assets, polars, pandera) would nearly double `gatepulse --help`
    # (measured with -X importtime: +12 s over cli.main's 15 s on the shared 2-core machine)
    from pipelines.io import first_raw_day
    from pipelines.runner import MaterializeError, materialize_range

    settings = settings_of(ctx)
    end = _parse_day(to_day, "--to") or dt.datetime.now(dt.UTC).date()
    start = _parse_day(from_day, "--from")
    if start is None:
        engine = create_sync_engine(settings.db.url)
        try:
            start = first_raw_day(engine) or end
        except Exception as exc:  # no schema yet, unreachable server...
            typer.secho(f"error: cannot read the database: {exc}", fg="red", err=True)
            raise typer.Exit(1) from None
        finally:
            engine.dispose()
        start = min(start, end)
    if start > end:
        typer.secho(f"error: --from {start} is after --to {end}", fg="red", err=True)
        raise typer.Exit(2)
    console = Console()
    started = dt.datetime.now(dt.UTC)
    try:
        with open_instance(settings.pipelines.dagster_home) as instance:
            totals = materialize_range(
                start,
                end,
                settings=settings,
                progress=True,
                summaries=summaries,
                member_counts_sync=member_counts,
                retention=retention,
                chunk_days=chunk_days,
                instance=instance,
            )
    except MaterializeError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    table = Table(title=f"materialized {start}..{end} in {seconds:.1f}s", title_justify="left")
    table.add_column("table")
    table.add_column("rows written", justify="right")
    for name in sorted(totals):
        table.add_row(name, f"{totals[name]:,}")
    console.print(table)
