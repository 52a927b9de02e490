"""`gatepulse forget` on the pipelines' seed: bad ids change nothing, a person with no data is
told so, and an erasure's deleted summaries are written again — at once by the CLI, by the
``erased_summaries`` sensor after an erasure asked for in Telegram."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from core.db import create_engine
from core.erasure import erase
from core.settings import Settings
from pipelines.definitions import build_definitions
from pipelines.io import sync_engine
from pipelines.privacy import pending
from pipelines.resources import DatabaseResource
from pipelines.runner import materialize_range
from tests.pipelines.seed import FIRST_DAY, USERS, seed

NOW = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def _counts(url: str) -> dict[str, int]:
    names = ("messages", "users", "verification_log", "summaries", "erasures", "api_call_log")
    with sync_engine(url).connect() as conn:
        return {n: int(conn.scalar(sa.text(f"SELECT count(*) FROM {n}")) or 0) for n in names}


def _erase(url: str, user_id: int) -> list[dt.date]:
    async def run() -> list[dt.date]:
        engine = create_engine(url=url)
        try:
            report = await erase(engine, user_id, key=b"k" * 16, requested_by="self", now=NOW)
        finally:
            await engine.dispose()
        return report.summary_days

    return asyncio.run(run())


def test_forget_refuses_bad_ids_and_says_when_nothing_is_stored(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    before = _counts(db_url)
    runner = CliRunner()
    for bad in ("alice", "-1001234", "0", "12.5", "99999999999999999999"):
        done = runner.invoke(app, ["forget", "--yes", "--", bad])
        assert done.exit_code == 2, (bad, done.output)
        assert "is not a Telegram user id" in done.output
    done = runner.invoke(app, ["forget", "987654321", "--yes"])
    assert done.exit_code == 0, done.output
    assert "nothing is stored about user 987654321; nothing changed" in done.output
    assert _counts(db_url) == before


def test_deleted_summaries_are_written_again(
    db_url: str, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db_url)
    last = FIRST_DAY + dt.timedelta(days=3)
    materialize_range(FIRST_DAY, last, settings=app_settings, progress=False)
    summaries = _counts(db_url)["summaries"]

    # asked for in Telegram: the summaries go at once, the sensor asks for them again
    days = _erase(db_url, USERS[0])
    assert days and _counts(db_url)["summaries"] < summaries
    [(erasure_id, pending_days)] = pending(sync_engine(db_url))
    assert pending_days == days
    defs = build_definitions(app_settings)
    sensor = next(s for s in defs.sensors or [] if s.name == "erased_summaries")
    # analytics and summaries of a day, then the posted digests' edits
    assert {t.job_name for t in sensor.targets} == {"finalize_day_job", "erased_digests_job"}
    resources = {"database": DatabaseResource(url=db_url)}
    with dg.build_sensor_context(resources=resources, definitions=defs) as context:
        requests = sensor.evaluate_tick(context).run_requests or []
    assert [r.partition_key for r in requests] == [d.isoformat() for d in days]
    assert pending(sync_engine(db_url)) == []
    with dg.build_sensor_context(resources=resources, definitions=defs) as context:
        assert not sensor.evaluate_tick(context).run_requests

    # the operator's command writes them again itself
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(Path(app_settings.writer.spool_dir).parent))
    done = CliRunner().invoke(app, ["forget", str(USERS[1]), "--yes"])
    assert done.exit_code == 0, done.output
    assert "were written again without them" in done.output
    assert pending(sync_engine(db_url)) == []
    with sync_engine(db_url).connect() as conn:
        left = conn.scalar(
            sa.text("SELECT count(*) FROM messages WHERE user_id IN (:a, :b)"),
            {"a": USERS[0], "b": USERS[1]},
        )
        recorded = conn.execute(sa.text("SELECT requested_by FROM erasures ORDER BY id")).all()
    assert left == 0
    assert [r[0] for r in recorded] == ["self", "operator"]
    assert erasure_id > 0
