"""`gatepulse forget` and `gatepulse mydata`: a person's right to erasure and to a copy."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cli.context import settings_of
from core.db import create_engine, create_sync_engine
from core.erasure import ErasureReport, collect, erase, erasure_key, parse_user_id, to_json
from core.settings import BotSettings, Settings

app = typer.Typer()


def _user_id(value: str) -> int:
    try:
        return parse_user_id(value)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


@app.command("forget")
def forget_cmd(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., help="The person's Telegram user id (digits)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    rewrite_summaries: bool = typer.Option(
        True, help="Write the summaries that named or quoted them again, without them."
    ),
) -> None:
    """Erase one person from every table (docs/PRIVACY.md): their messages, checks, events,
    reactions and user row go, their id is blanked where a row is someone else's fact, and
    the summaries that named or quoted them are written again without them. Active mutes and
    an admin's block stay. Recorded in `erasures` by a keyed hash of the id, never the id."""
    uid = _user_id(user_id)
    settings = settings_of(ctx)
    if not yes and not typer.confirm(f"Erase everything stored about user {uid}?"):
        typer.echo("nothing changed")
        raise typer.Exit(1)

    async def run() -> ErasureReport:
        engine = create_engine(settings.db)
        try:
            return await erase(
                engine,
                uid,
                key=erasure_key(settings),
                requested_by="operator",
                now=dt.datetime.now(dt.UTC),
            )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except Exception as exc:
        typer.secho(f"error: cannot erase ({type(exc).__name__}: {exc})", fg="red", err=True)
        raise typer.Exit(1) from None
    if not report.found:
        typer.echo(f"nothing is stored about user {uid}; nothing changed")
        return
    table = Table(title=f"user {uid} erased", title_justify="left")
    table.add_column("table")
    table.add_column("rows removed", justify="right")
    table.add_column("rows changed", justify="right")
    for name in sorted(set(report.removed) | set(report.changed)):
        table.add_row(name, f"{report.removed.get(name, 0):,}", f"{report.changed.get(name, 0):,}")
    console = Console()
    console.print(table)
    days = report.summary_days
    if days and not rewrite_summaries:
        typer.echo(
            f"{len(report.summaries)} summaries that named or quoted them were deleted; write "
            f"them again with: gatepulse materialize --from {days[0]} --to {days[-1]}"
        )
        if report.digests:
            typer.echo(
                f"{len(report.digests)} posted digests will be edited once those days are "
                "written again (the erased_summaries sensor of `gatepulse pipelines`)"
            )
        return
    if days:
        _rewrite_summaries(settings, report)
    if report.digests:
        _edit_digests(settings, len(report.digests))


def _rewrite_summaries(settings: Settings, report: ErasureReport) -> None:
    # lazy: the pipelines (Dagster, polars) would double `gatepulse --help` (measured with
    # -X importtime: +12 s over cli.main's 15 s on the shared 2-core machine)
    from pipelines.privacy import mark_rewritten
    from pipelines.runner import MaterializeError, materialize_range

    days = report.summary_days
    try:
        materialize_range(days[0], days[-1], settings=settings, progress=True)
        if report.erasure_id is not None:
            mark_rewritten(create_sync_engine(settings.db.url), [report.erasure_id])
    except MaterializeError as exc:
        typer.secho(
            f"error: the summaries were deleted but not written again ({exc}); run "
            f"gatepulse materialize --from {days[0]} --to {days[-1]}",
            fg="red",
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(
        f"{len(report.summaries)} summaries that named or quoted them were written again "
        f"without them ({days[0]}..{days[-1]}), with the analytics of those days"
    )


def telegram_configured(settings: Settings) -> bool:
    """A token or Bot API server other than the built-in placeholders (which only the fake
    server accepts) was given."""
    defaults = BotSettings.model_fields
    token = defaults["token"].get_default()
    return (
        settings.bot.token.get_secret_value() != token.get_secret_value()
        or settings.bot.api_base != defaults["api_base"].get_default()
    )


def _edit_digests(settings: Settings, count: int) -> None:
    """Edit the posted digests that named or quoted them, at once (see pipelines.privacy)."""
    if not telegram_configured(settings):
        typer.echo(
            f"{count} posted digests named or quoted them: set BOT_TOKEN so that they are "
            "edited (the erased_summaries sensor of `gatepulse pipelines` does it then)"
        )
        return
    # lazy: the pipelines' Definitions would add about half of `gatepulse --help` again
    # (measured with -X importtime: +8 s over cli.main's 15 s on the shared 2-core machine)
    from pipelines.definitions import resources_for
    from pipelines.privacy import rewrite_digests
    from pipelines.resources import DatabaseResource

    resources = resources_for(settings)
    done = rewrite_digests(
        DatabaseResource(url=settings.db.url),
        resources["telegram"],  # type: ignore[arg-type]
        resources["pipeline_config"],  # type: ignore[arg-type]
        dt.datetime.now(dt.UTC),
    )
    typer.echo(
        f"{done['digests']} posted digests that named or quoted them: {done['edited']} edited, "
        f"{done['unchanged']} unchanged, {len(done['failed'])} can no longer be edited, "
        f"{done['retry']} to try again later"
    )
    for failed in done["failed"]:
        typer.echo(f"  digest {failed['digest_id']}: {failed['error']}")


@app.command("mydata")
def mydata_cmd(
    ctx: typer.Context,
    user_id: str = typer.Argument(..., help="The person's Telegram user id (digits)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the JSON here (default: standard output)."
    ),
) -> None:
    """Everything stored about one person, as JSON: what `/mydata` sends them in private."""
    uid = _user_id(user_id)
    settings = settings_of(ctx)

    async def run() -> dict[str, list[dict[str, Any]]]:
        engine = create_engine(settings.db)
        try:
            return await collect(engine, uid)
        finally:
            await engine.dispose()

    data = asyncio.run(run())
    text = to_json({"user_id": uid, "tables": data})
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"{sum(len(v) for v in data.values())} rows about user {uid} in {output}")
