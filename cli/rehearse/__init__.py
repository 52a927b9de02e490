"""`gatepulse rehearse`: the production topology under faults for minutes of real traffic.

The command is here; its parts: :mod:`~cli.rehearse.stack` (the processes),
:mod:`~cli.rehearse.traffic` (the demo's people through Telegram's delivery),
:mod:`~cli.rehearse.faults` and :mod:`~cli.rehearse.faultrunner` (the schedule),
:mod:`~cli.rehearse.ledger` and :mod:`~cli.rehearse.checks` (the verdict),
:mod:`~cli.rehearse.report` (what is printed) and :mod:`~cli.rehearse.run` (one run).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import settings_of

app = typer.Typer()


@app.command("rehearse")
def rehearse_cmd(
    ctx: typer.Context,
    minutes: float = typer.Option(10.0, "--minutes", min=0.5, help="Minutes of traffic."),
    rate: float = typer.Option(
        8.0, "--rate", min=0.5, max=200.0, help="Updates per second Telegram delivers."
    ),
    faults: str = typer.Option(
        "all",
        "--faults",
        help="Faults to play, comma-separated: replica, telegram, late, postgres, redis, daemon; "
        "or all, or none.",
    ),
    postgres_down_s: float = typer.Option(
        20.0, "--postgres-down", min=1.0, help="Seconds PostgreSQL stays down."
    ),
    redis_down_s: float = typer.Option(
        30.0, "--redis-down", min=1.0, help="Seconds Redis stays down."
    ),
    burst_s: float = typer.Option(
        10.0, "--burst", min=1.0, help="Seconds of Telegram's 429/5xx burst."
    ),
    delivery_timeout_s: float = typer.Option(
        10.0,
        "--delivery-timeout",
        min=2.0,
        help="Seconds Telegram waits for the webhook's answer before it retries (Telegram's "
        "own is 60).",
    ),
    groups: int = typer.Option(
        6, "--groups", min=2, max=24, help="Groups of the demo's population."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the population and its traffic."),
    scale: float = typer.Option(
        0.05, "--scale", min=0.01, max=1.0, help="Size of the demo's population (1 = the demo's)."
    ),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Folder for the logs and state (default: a new temporary one)."
    ),
) -> None:
    """Rehearse before going live: the production topology (PostgreSQL, Redis, two webhook
    replicas behind a balancer, the Dagster daemon and UI, the dashboard on the read-only
    role) under Telegram's webhook delivery, with a schedule of faults, for minutes of traffic.
    Prints a PASS/FAIL table and figures; the last line reads `lost N duplicated N`. Exit
    status 0 when every check passed.

    PostgreSQL is a throwaway server unless DATABASE_URL names a PostgreSQL database: then that
    one is used, and left as it stood at the end.
    """
    # lazy: the rehearsal's parts pull in the bot, the pipelines and playwright; `gatepulse
    # --help` imports every command module
    from rich.console import Console

    from cli.rehearse.faults import Durations, parse_faults
    from cli.rehearse.run import Options, rehearse
    from core.db import backend_of

    settings = settings_of(ctx)
    try:
        chosen = parse_faults(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    url = settings.db.url
    options = Options(
        minutes=minutes,
        rate=rate,
        faults=chosen,
        durations=Durations(
            telegram_burst_s=burst_s, postgres_down_s=postgres_down_s, redis_down_s=redis_down_s
        ),
        groups=groups,
        seed=seed,
        scale=scale,
        delivery_timeout_s=delivery_timeout_s,
        database_url=url if backend_of(url) == "postgresql" else None,
        workdir=workdir,
    )
    console = Console()
    try:
        code = rehearse(options, console)
    except ValueError as exc:  # the schedule does not fit
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.secho("interrupted: everything the rehearsal started is stopped", err=True)
        raise typer.Exit(130) from None
    raise typer.Exit(code)
