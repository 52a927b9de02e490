"""Dagster on the production instance config: run, event-log and schedule storage in Postgres.

The instance comes from deploy/dagster/dagster.yaml itself (the file the image puts in
DAGSTER_HOME), with its environment variables pointed at a fresh database on the throwaway
server. A run is materialized, then found by querying Dagster's own tables over a separate
connection.
"""

# No `from __future__ import annotations`: Dagster inspects the asset's context annotation.
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from sqlalchemy.engine import make_url

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
    import os

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
