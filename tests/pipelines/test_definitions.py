"""What pipelines.definitions adds to the assets: where the partitions start, the raw tables
upstream and the dashboard downstream, declarative automation, the automation sensor."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import is_valid_cron_string

from core.models import ANALYTICS_TABLES
from core.settings import PipelineSettings, Settings, validate_cron
from pipelines.definitions import build_definitions, partitions_start
from pipelines.observe import DASHBOARD, RAW_TABLES, first_day, raw_key
from tests.pipelines.seed import FIRST_DAY, seed

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    defs = build_definitions(Settings(), start=dt.date(2026, 1, 1))
    return defs.resolve_asset_graph()


def _parents(graph: dg.AssetGraph, key: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}


def test_partitions_start_at_the_setting_else_the_first_raw_day_else_today(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINES_PARTITIONS_START", "")  # as set but empty in an env file
    unset = PipelineSettings(_env_file=None)
    assert unset.partitions_start is None
    assert partitions_start(unset, db_url) == TODAY  # an empty database
    seed(db_url)
    assert first_day(db_url) == FIRST_DAY
    assert partitions_start(unset, db_url) == FIRST_DAY
    monkeypatch.setenv("PIPELINES_PARTITIONS_START", "2026-02-03")
    given = PipelineSettings(_env_file=None)
    assert partitions_start(given, db_url) == dt.date(2026, 2, 3)
    # a SQLite file that does not exist is not created by looking
    missing = tmp_path / "nothing.db"
    assert partitions_start(unset, f"sqlite+aiosqlite:///{missing}") == TODAY
    assert not missing.exists()


def test_an_unreachable_database_gives_today_and_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPELINES_PARTITIONS_START", raising=False)
    unset = PipelineSettings(_env_file=None)
    url = "postgresql+asyncpg://nobody:secret@127.0.0.1:9/none"  # discard port: refused at once
    with caplog.at_level(logging.WARNING, logger="pipelines.definitions"):
        assert partitions_start(unset, url) == TODAY
    assert "partitions start today: cannot read the first raw day" in caplog.text


def test_raw_tables_are_upstream_of_what_reads_them(graph: dg.AssetGraph) -> None:
    for table in RAW_TABLES:
        node = graph.get(raw_key(table))
        assert not node.is_materializable and node.is_observable
        assert node.group_name == "raw"
    assert _parents(graph, "analytics_verification_daily") == {
        "raw/verification_log",
        "raw/chat_migrations",
    }
    assert _parents(graph, "analytics_channel_daily") == {
        "raw/member_events",
        "raw/gate_events",
        "member_counts",  # member_count_snapshots: written by the member-count sync
        "raw/group_channel_links",
        "raw/chat_migrations",
    }
    assert _parents(graph, "analytics_bot_rights_daily") == {
        "raw/bot_rights",
        "raw/protected_groups",
        "raw/enforced_channels",
        "raw/chat_migrations",
    }
    assert _parents(graph, "summaries") == {"raw/messages", "raw/chat_migrations"}
    assert _parents(graph, DASHBOARD) == {*ANALYTICS_TABLES, "summaries", "member_counts", "alerts"}


def test_todays_analytics_run_on_cron_and_the_sensor_is_on() -> None:
    defs = build_definitions(Settings(), start=dt.date(2026, 1, 1))
    graph = defs.resolve_asset_graph()
    for table in ANALYTICS_TABLES:
        condition = graph.get(dg.AssetKey(table)).automation_condition
        assert condition is not None and condition.label == "today's partition on_cron(5 * * * *)"
    assert graph.get(dg.AssetKey("summaries")).automation_condition is None
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # the jobs leave the freshness checks to their sensor
    job = defs.resolve_job_def("finalize_day_job")
    assert {k.name for k in job.asset_layer.asset_graph.asset_check_keys} == {
        "output_valid",
        "raw_inputs_valid",
    }


def test_the_hourly_tick_requests_every_analytics_table_of_today() -> None:
    """Evaluated as the sensor does: nothing on the first tick, today's partition of every
    analytics table after minute 5, the channel table too (it does not wait for the
    member-count sync: it takes the newest snapshot there is), and nothing runs twice."""
    defs = build_definitions(Settings(), start=dt.date(2026, 11, 1))
    analytics = dg.AssetSelection.groups("analytics")
    at = dt.datetime(2026, 11, 20, 0, 50, tzinfo=dt.UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(defs, instance, analytics, evaluation_time=at)
        assert first.total_requested == 0
        tick = at + dt.timedelta(minutes=16)  # 01:06, after the 01:05 tick
        second = dg.evaluate_automation_conditions(
            defs, instance, analytics, evaluation_time=tick, cursor=first.cursor
        )
        requested = {
            table: second.get_requested_partitions(dg.AssetKey(table)) for table in ANALYTICS_TABLES
        }
        assert requested == {table: {"2026-11-20"} for table in ANALYTICS_TABLES}
        third = dg.evaluate_automation_conditions(
            defs, instance, analytics, evaluation_time=tick + dt.timedelta(minutes=1),
            cursor=second.cursor,
        )  # fmt: skip
        assert third.total_requested == 0  # requested once per tick


def _requested_by_tick(cron: str | None, *ticks: dt.datetime) -> list[set[str]]:
    """Today's partitions of the verification table requested at each of ``ticks``, evaluated
    as the sensor does (the cursor carried from tick to tick); ``cron`` None: the default."""
    pipelines = PipelineSettings(_env_file=None)
    if cron is not None:
        pipelines = pipelines.model_copy(update={"refresh_cron": cron})
    defs = build_definitions(Settings(pipelines=pipelines), start=dt.date(2026, 11, 1))
    key = dg.AssetKey("analytics_verification_daily")
    out: list[set[str]] = []
    cursor = None
    with dg.DagsterInstance.ephemeral() as instance:
        for tick in ticks:
            result = dg.evaluate_automation_conditions(
                defs, instance, dg.AssetSelection.assets(key), evaluation_time=tick, cursor=cursor
            )
            out.append(result.get_requested_partitions(key))
            cursor = result.cursor
    return out


def test_the_refresh_cadence_setting_sets_the_tick() -> None:
    """``PIPELINES_REFRESH_CRON="* * * * *"`` (the rehearsal) requests today's partition at the
    next minute; the default waits for minute 5 of the hour, as before the setting."""
    at = dt.datetime(2026, 11, 20, 0, 50, 30, tzinfo=dt.UTC)
    ticks = (at, at + dt.timedelta(minutes=1), at + dt.timedelta(minutes=16))  # 00:51:30, 01:06:30
    assert _requested_by_tick("* * * * *", *ticks)[:2] == [set(), {"2026-11-20"}]
    assert _requested_by_tick(None, *ticks) == [set(), set(), {"2026-11-20"}]
    defs = build_definitions(
        Settings(pipelines=PipelineSettings(_env_file=None, refresh_cron="* * * * *")),
        start=dt.date(2026, 1, 1),
    )
    condition = defs.resolve_asset_graph().get(dg.AssetKey("analytics_verification_daily"))
    assert condition.automation_condition is not None
    assert condition.automation_condition.label == "today's partition on_cron(* * * * *)"


@pytest.mark.parametrize(
    "cron",
    ["5 * * * *", "* * * * *", "*/15 0-6,22 * jan-mar mon-fri", "@daily", "61 * * * *", "* * *"],
)
def test_the_settings_cron_check_agrees_with_dagsters(cron: str) -> None:
    try:
        validate_cron(cron)
        ours = True
    except ValueError:
        ours = False
    assert ours == is_valid_cron_string(cron)


def test_the_code_location_loads_and_resolves_every_job_without_a_warning() -> None:
    """What `make demo` and `gatepulse materialize` resolve: no BetaWarning for a copied
    sensor's `owners`, no UserWarning for a job mixing backfill policies (one policy:
    single-run backfills)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs = build_definitions(Settings(), start=dt.date(2026, 1, 1))
        repository = defs.get_repository_def()
        for job in repository.get_all_jobs():
            defs.resolve_job_def(job.name)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    policies = {
        a.backfill_policy
        for name in ("finalize_day_job", "analytics_job")
        for a in defs.resolve_job_def(name).asset_layer.asset_graph.assets_defs
        if a.partitions_def is not None
    }
    assert policies == {dg.BackfillPolicy.single_run()}


def test_the_alerts_cadence_setting_sets_the_alerts_schedule() -> None:
    """``PIPELINES_ALERTS_CRON`` sets the alerts schedule's cron; its name stays the same."""

    def alerts_cron(pipelines: PipelineSettings) -> str:
        defs = build_definitions(Settings(pipelines=pipelines), start=dt.date(2026, 1, 1))
        schedule = defs.resolve_schedule_def("alerts_every_5_minutes")
        return str(schedule.cron_schedule)

    assert alerts_cron(PipelineSettings(_env_file=None)) == "*/5 * * * *"
    assert alerts_cron(PipelineSettings(_env_file=None, alerts_cron="* * * * *")) == "* * * * *"
