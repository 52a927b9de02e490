"""End to end through the command lines: `dagster definitions validate`, `dagster asset
materialize` and `gatepulse materialize`."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from core.models import ApiCallLog
from pipelines.home import open_instance
from pipelines.io import sync_engine
from tests.pipelines.seed import rows_on, seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.once  # Dagster's CLI; the pipelines on both backends are tested in test_assets
def test_dagster_asset_materialize_cli(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATABASE_URL": db_url}
    env.pop("PIPELINES_PARTITIONS_START", None)
    # Dagster's own validation of the code location, on the project's instance file
    valid = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert valid.returncode == 0, valid.stdout[-3000:] + valid.stderr[-3000:]
    assert "Validation successful" in valid.stdout + valid.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "pipelines.definitions",
            "--select",
            "analytics_group_daily,analytics_api_calls_daily",
            "--partition",
            "2026-03-02",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with sync_engine(db_url).connect() as conn:
        days = (
            conn.execute(sa.text("SELECT DISTINCT day FROM analytics_group_daily")).scalars().all()
        )
        api = conn.execute(sa.text("SELECT sum(calls) FROM analytics_api_calls_daily")).scalar()
        other = conn.execute(sa.text("SELECT count(*) FROM analytics_hourly_activity")).scalar()
    assert [str(d) for d in days] == ["2026-03-02"]
    assert api == rows_on(db_url, ApiCallLog, dt.date(2026, 3, 2)) and other == 0
    assert any(home.iterdir())  # the run was recorded in DAGSTER_HOME


def test_gatepulse_materialize_command(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    runner = CliRunner()
    bad = runner.invoke(app, ["materialize", "--from", "2026-03-05", "--to", "2026-03-01"])
    assert bad.exit_code == 2 and "after" in bad.output
    bad = runner.invoke(app, ["materialize", "--from", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    done = runner.invoke(app, ["materialize", "--to", "2026-03-04", "--no-summaries"])
    assert done.exit_code == 0, done.output
    assert "analytics_group_daily" in done.output and "summaries" not in done.output
    with sync_engine(db_url).connect() as conn:
        days = (
            conn.execute(sa.text("SELECT DISTINCT day FROM analytics_group_daily")).scalars().all()
        )
    assert sorted(str(d) for d in days) == ["2026-03-01", "2026-03-02", "2026-03-04"]
    # recorded in DAGSTER_HOME: the UI shows these partitions materialized
    with open_instance(tmp_path / "dagster") as instance:
        got = instance.get_materialized_partitions(dg.AssetKey("analytics_group_daily"))
    assert sorted(got) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


def test_prepare_dagster_home_copies_the_repo_config_once(tmp_path: Path) -> None:
    from pipelines.home import prepare_dagster_home

    home = prepare_dagster_home(tmp_path / "var" / "dagster")
    config = home / "dagster.yaml"
    assert config.read_text() == (ROOT / "dagster.yaml").read_text()
    assert "telemetry" in config.read_text()
    config.write_text("telemetry:\n  enabled: false\n")  # an operator's edit is kept
    assert prepare_dagster_home(home) == home
    assert config.read_text() == "telemetry:\n  enabled: false\n"
