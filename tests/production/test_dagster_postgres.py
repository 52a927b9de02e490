"""Dagster on the production instance config: run, event-log and schedule storage in Postgres.

The instance comes from deploy/dagster/dagster.yaml itself (the file the image puts in
DAGSTER_HOME), with its environment variables pointed at a fresh database on the throwaway
server. A run is materialized, then found by querying Dagster's own tables over a separate
connection.
"""

# No `from __future__ import annotations`: Dagster inspects the asset's context annotation.
import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from core.settings import Settings
from pipelines.definitions import build_definitions, resources_for
from pipelines.io import sync_engine
from pipelines.resources import FakeTelegramResource
from tests.pipelines.seed import FIRST_DAY, seed
from tests.support.pg import ENV_URL

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_YAML = ROOT / "deploy" / "dagster" / "dagster.yaml"

pytestmark = pytest.mark.postgres


def _admin(pg_url: str, sql: str) -> None:
    u = make_url(pg_url)
    conn = psycopg2.connect(host=u.host, port=u.port, user=u.username, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def dagster_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh database for Dagster's storage, and the env the instance file reads."""

    pg_url = os.environ[ENV_URL]
    u = make_url(pg_url)
    name = f"gp_dagster_{uuid.uuid4().hex[:10]}"
    _admin(pg_url, f'CREATE DATABASE "{name}"')
    env = {
        "DAGSTER_PG_USERNAME": u.username or "postgres",
        "DAGSTER_PG_PASSWORD": u.password or "unused-under-trust-auth",
        "DAGSTER_PG_HOST": u.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(u.port or 5432),
        "DAGSTER_PG_DB": name,
        "DAGSTER_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "DAGSTER_COMPUTE_LOGS_DIR": str(tmp_path / "compute_logs"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    _admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def instance(dagster_db: dict[str, str], tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as inst:
        yield inst


def _query(env: dict[str, str], sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(
        host=env["DAGSTER_PG_HOST"], port=int(env["DAGSTER_PG_PORT"]),
        user=env["DAGSTER_PG_USERNAME"], dbname=env["DAGSTER_PG_DB"],
    )  # fmt: skip
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


DAYS = dg.DailyPartitionsDefinition(start_date="2026-03-01", end_date="2026-03-08")


@dg.asset(partitions_def=DAYS, group_name="production_check", kinds={"python"})
def day_of_week(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The weekday of the partition's day: tiny, but a real partitioned materialization."""
    day = dt.date.fromisoformat(context.partition_key)
    return dg.MaterializeResult(metadata={"weekday": day.isoweekday()})


def test_instance_file_puts_every_storage_in_postgres(instance: dg.DagsterInstance) -> None:
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    url = instance.run_storage.postgres_url  # type: ignore[attr-defined]
    assert url.startswith("postgresql+psycopg2://")


def test_a_partition_run_is_recorded_in_postgres(
    instance: dg.DagsterInstance, dagster_db: dict[str, str], tmp_path: Path
) -> None:
    result = dg.materialize([day_of_week], instance=instance, partition_key="2026-03-04")
    assert result.success
    run_id = result.run_id

    rows = _query(dagster_db, "SELECT status, partition FROM runs WHERE run_id = %s", run_id)
    assert rows == [("SUCCESS", "2026-03-04")]
    events = _query(
        dagster_db,
        "SELECT dagster_event_type, asset_key, partition FROM event_logs "
        "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        run_id,
    )
    assert events == [("ASSET_MATERIALIZATION", '["day_of_week"]', "2026-03-04")]

    # The same run, read back through a second instance made from the same file.
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as again:
        record = again.get_run_record_by_id(run_id)
        assert record is not None
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        materialized = again.get_materialized_partitions(day_of_week.key)
        assert materialized == {"2026-03-04"}


def test_a_real_pipelines_partition_runs_on_the_postgres_instance(
    instance: dg.DagsterInstance, dagster_db: dict[str, str], db_url: str, app_settings: Settings
) -> None:
    """gatepulse's own analytics job, one day, storage in Postgres, data in Postgres."""
    seed(db_url, days=1)
    definitions = build_definitions(
        app_settings, resources_for(app_settings, telegram=FakeTelegramResource())
    )
    job = definitions.resolve_job_def("analytics_job")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = job.execute_in_process(partition_key=FIRST_DAY.isoformat(), instance=instance)
    assert result.success

    rows = _query(
        dagster_db, "SELECT status, partition, pipeline_name FROM runs WHERE run_id = %s",
        result.run_id,
    )  # fmt: skip
    assert rows == [("SUCCESS", FIRST_DAY.isoformat(), "analytics_job")]
    materialized = _query(
        dagster_db,
        "SELECT count(DISTINCT asset_key) FROM event_logs "
        "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        result.run_id,
    )
    assert materialized[0][0] >= 5  # every analytics table
    with sync_engine(db_url).connect() as conn:
        days = conn.execute(sa.text("SELECT DISTINCT day FROM analytics_group_daily")).all()
        fresh = conn.execute(
            sa.text("SELECT count(*) FROM analytics_materializations WHERE partition_day = :d"),
            {"d": FIRST_DAY},
        ).scalar_one()
    assert [d for (d,) in days] == [FIRST_DAY]
    assert fresh >= 5


def test_the_schedules_turn_on_and_stay_on_in_postgres(
    instance: dg.DagsterInstance, dagster_db: dict[str, str], tmp_path: Path
) -> None:
    """What the dagster-daemon service does first (`dagster schedule start --start-all` on
    deploy/dagster/workspace.yaml's code location), through Dagster's CLI on this instance:
    every schedule RUNNING, kept in Postgres."""
    workspace = yaml.safe_load((ROOT / "deploy/dagster/workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "schedule", "start", "--start-all",
         "-m", module, "-d", str(ROOT)],
        cwd=home, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    expected = {s.name for s in build_definitions(Settings()).schedules or ()}
    assert expected
    rows = _query(
        dagster_db,
        "SELECT status, count(*) FROM instigators WHERE instigator_type = 'SCHEDULE' "
        "GROUP BY status",
    )
    assert rows == [("RUNNING", len(expected))]
    # A fresh instance from the same file (the daemon's view) sees them running.
    with dg.DagsterInstance.from_config(str(home)) as again:
        states = again.all_instigator_state()
        running = {
            s.instigator_name
            for s in states
            if s.instigator_type.value == "SCHEDULE" and s.status.value == "RUNNING"
        }
    assert running == expected
