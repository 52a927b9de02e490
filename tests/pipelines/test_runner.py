"""The runner records its runs in the persistent Dagster instance, and runs exactly the jobs
a run launched from the UI runs."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from core.models import ANALYTICS_TABLES
from core.settings import PipelineSettings, Settings
from pipelines.assets.analytics import OUTPUT_CHECK, RAW_CHECK, SPEC_BY_TABLE, STEP
from pipelines.home import ROOT, DagsterHomeError, open_instance, prepare_dagster_home
from pipelines.io import sync_engine
from pipelines.observe import raw_key
from pipelines.runner import materialize_range, range_tags
from tests.pipelines.seed import FIRST_DAY, seed

DAYS = [FIRST_DAY, FIRST_DAY + dt.timedelta(days=1)]
KEYS = {d.isoformat() for d in DAYS}


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with sync_engine(url).connect() as conn:
        for name in ANALYTICS_TABLES:
            cols = [c["name"] for c in sa.inspect(conn).get_columns(name) if c["name"] != "id"]
            rows = conn.execute(
                sa.select(*(sa.column(c) for c in cols)).select_from(sa.table(name))
            )
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _newest_message(url: str) -> dt.datetime:
    with sync_engine(url).connect() as conn:
        value = conn.scalar(sa.text("SELECT max(created_at) FROM messages"))
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def test_runs_checks_and_observations_are_recorded_in_dagster_home(
    db_url: str, app_settings: Settings
) -> None:
    seed(db_url)
    env_before = os.environ.get("DAGSTER_HOME")
    home = app_settings.pipelines.dagster_home
    with open_instance(home) as instance:
        totals = materialize_range(
            DAYS[0], DAYS[-1], settings=app_settings, progress=False, summaries=False,
            chunk_days=2, instance=instance,
        )  # fmt: skip
    assert totals["analytics_group_daily"] > 0
    assert os.environ.get("DAGSTER_HOME") == env_before  # the process environment is as it was
    assert (home / "dagster.yaml").exists()

    with open_instance(home) as instance:  # another process's view (the UI's)
        for table in ANALYTICS_TABLES:
            key = dg.AssetKey(table)
            assert instance.get_materialized_partitions(key) == KEYS, table
            raw = (RAW_CHECK,) if table in SPEC_BY_TABLE else ()  # a week reads no raw rows
            for check in (OUTPUT_CHECK, *raw):
                record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                    [dg.AssetCheckKey(key, check)]
                )[dg.AssetCheckKey(key, check)]
                assert record.event.asset_check_evaluation.passed, (table, check)  # type: ignore[union-attr]
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == ["analytics_job", "observe_raw_job"]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        days_run = next(r for r in runs if r.job_name == "analytics_job")
        assert days_run.tags == {**days_run.tags, **range_tags(DAYS[0], DAYS[-1])}
        # one step computes every analytics table: each step is events in the event log
        starts = instance.get_records_for_run(
            days_run.run_id, of_type=dg.DagsterEventType.STEP_START
        ).records
        assert [r.event_log_entry.step_key for r in starts] == [STEP]

        event = instance.get_latest_materialization_event(dg.AssetKey("analytics_group_daily"))
        shown = event.asset_materialization.metadata  # type: ignore[union-attr]
        table = shown["preview"].value.splitlines()  # type: ignore[union-attr]
        assert table[0].startswith("| day | group_id |")
        assert len([line for line in table if line.startswith("| 20")]) == min(
            10,
            shown["row_count"].value,  # type: ignore[union-attr]
        )

        observed = instance.fetch_observations(raw_key("messages"), limit=1).records
        metadata = observed[0].asset_observation.metadata  # type: ignore[union-attr]
        stamp = metadata["dagster/last_updated_timestamp"].value
        assert stamp == _newest_message(db_url).timestamp()


def test_a_run_launched_like_the_ui_writes_the_same_tables_as_the_cli(
    db_url: str, app_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The UI launches the code location's job (loaded from the environment) with the
    partition-range tags; the CLI runs that job from its own settings. Same tables."""
    seed(db_url)
    home = app_settings.pipelines.dagster_home
    with open_instance(home) as instance:
        materialize_range(
            DAYS[0], DAYS[-1], settings=app_settings, progress=False, summaries=False,
            observe=False, instance=instance,
        )  # fmt: skip
    by_cli = _snapshot(db_url)
    assert by_cli["analytics_group_daily"]
    with sync_engine(db_url).begin() as conn:
        for name in ANALYTICS_TABLES:
            conn.execute(sa.delete(sa.table(name)))
    assert not any(_snapshot(db_url).values())

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GATEPULSE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("PIPELINES_PARTITIONS_START", raising=False)
    job = dg.build_reconstructable_job(
        "pipelines.definitions", "location_job", reconstructable_args=("analytics_job",)
    )
    with open_instance(home) as instance:
        result = dg.execute_job(job, instance, tags=range_tags(DAYS[0], DAYS[-1]))
        assert result.success
        assert [r.job_name for r in instance.get_runs()] == ["analytics_job", "analytics_job"]
    assert _snapshot(db_url) == by_cli


@pytest.mark.parametrize("value", ["", ".", str(ROOT)])
def test_the_checkout_is_never_a_dagster_home(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An empty or relative DAGSTER_HOME run from the checkout names the checkout itself:
    refused before anything is written (Dagster's run databases were once committed so)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DAGSTER_HOME", value)
    home = PipelineSettings().dagster_home
    assert home.resolve() == ROOT
    before = sorted(p.name for p in ROOT.iterdir())
    with pytest.raises(DagsterHomeError, match="checkout"):
        open_instance(home)
    with pytest.raises(DagsterHomeError):
        prepare_dagster_home(home)
    assert sorted(p.name for p in ROOT.iterdir()) == before
    assert prepare_dagster_home(tmp_path / "var" / "dagster") == tmp_path / "var" / "dagster"


def test_the_instance_files_are_written_ahead_and_other_sqlite_files_are_not(
    tmp_path: Path,
) -> None:
    """The instance's SQLite files (runs, event-log shards, schedules) are in WAL mode with
    ``synchronous=NORMAL`` once opened; a SQLite file elsewhere keeps SQLite's defaults."""
    home = tmp_path / "dagster"
    with open_instance(home) as instance:
        instance.get_runs(limit=1)
    runs_db = home / "history" / "runs.db"
    with sqlite3.connect(runs_db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL, the default
    engine.dispose()
