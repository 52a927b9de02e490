"""The reference's comparison against the pipelines (PostgreSQL): on the tests' world (with
non-human traffic, a migrated group and checks timed finer than the tables keep), seeded and
materialized, the two agree on every day; the comparison leaves the database as it was; and a
changed figure or a lost row is reported exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from core.models import ANALYTICS_TABLES, measure_columns
from core.settings import Settings
from pipelines.io import sync_engine
from pipelines.runner import materialize_range
from reference.compare import Difference, compare_day, summarize
from reference.day import TABLES
from sandbox.synth import write_rows
from tests.pipelines.seed import (
    DAYS,
    FIRST_DAY,
    GROUPS,
    USERS,
    record_migration,
    seed,
    seed_member_counts,
    seed_migrated_group,
    seed_non_humans,
)

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
DAY = FIRST_DAY + dt.timedelta(days=1)
"""A busy day with history before it (the muted backlog carries over)."""
MIGRATED_TO = -100_777
"""The supergroup ``GROUPS[0]`` becomes on :data:`DAY`: analytics count both ids as this one."""


@pytest.fixture
def materialized(db_url: str, app_settings: Settings) -> str:
    """The tests' world (its non-human traffic and a migrated group too), every day
    materialized by the pipelines."""
    seed(db_url)
    seed_member_counts(db_url)
    seed_non_humans(db_url, DAY)
    seed_migrated_group(db_url, GROUPS[0], MIGRATED_TO, DAY)
    record_migration(db_url, GROUPS[0], MIGRATED_TO, dt.datetime.combine(DAY, dt.time(12), dt.UTC))
    write_rows(db_url, {"verification_log": _checks_timed_finer_than_a_microsecond()})
    materialize_range(FIRST_DAY, LAST_DAY, settings=app_settings, progress=False, summaries=False)
    return db_url


def _checks_timed_finer_than_a_microsecond() -> list[dict[str, Any]]:
    """Checks whose latencies have more digits than the tables keep (the bot's clock gives
    them), in a key of their own: summed at 1 µs the figure is 0.704 ms, exactly 0.7037034."""
    at = dt.datetime.combine(DAY, dt.time(9), dt.UTC)
    return [
        dict(
            user_id=USERS[0],
            group_id=GROUPS[1],
            status="error",
            cached=False,
            latency_ms=ms,
            error_type="NetworkError",
            trigger="channel_leave",
            channels_checked=1,
            timestamp=at + dt.timedelta(seconds=i),
        )
        for i, ms in enumerate((0.1234567, 0.2345678, 0.3456789))
    ]


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every analytics table, whole, surrogate ids included (a DELETE + INSERT committed would
    renumber them)."""
    with sync_engine(url).connect() as conn:
        return {
            name: sorted(conn.execute(sa.text(f'SELECT * FROM "{name}"')).all(), key=repr)
            for name in ANALYTICS_TABLES
        }


def _execute(url: str, sql: str, **params: Any) -> Any:
    with sync_engine(url).begin() as conn:
        return conn.execute(sa.text(sql), params).one()


@pytest.mark.postgres
def test_pipelines_and_reference_agree_and_the_database_is_left_as_it_was(
    materialized: str,
) -> None:
    before = _snapshot(materialized)
    assert sum(len(before[name]) for name in TABLES) > 0
    for offset in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=offset)
        diffs = compare_day(materialized, day)
        assert diffs == [], f"{day}: {summarize(diffs)}"
    assert _snapshot(materialized) == before
    assert summarize([]) == f"{len(TABLES)} tables equal"


@pytest.mark.postgres
def test_a_changed_figure_and_a_lost_row_are_reported(materialized: str) -> None:
    url = materialized
    (nudged,) = _execute(  # within the relative tolerance: still equal
        url,
        "WITH u AS (UPDATE analytics_verification_daily SET latency_ms_sum = "
        "latency_ms_sum * (1 + 1e-8) WHERE day = :day AND latency_ms_sum > 1 RETURNING 1) "
        "SELECT count(*) FROM u",
        day=DAY,
    )
    assert nudged > 0
    assert compare_day(url, DAY) == []

    group, messages = _execute(
        url,
        "UPDATE analytics_group_daily SET messages = messages + 1 "
        "WHERE day = :day AND group_id = :group RETURNING group_id, messages",
        day=DAY,
        group=GROUPS[1],
    )
    changed = Difference(
        "analytics_group_daily", {"day": DAY, "group_id": group}, "messages", messages, messages - 1
    )
    assert compare_day(url, DAY) == [changed]

    measures = measure_columns("analytics_topic_daily")
    deleted = _execute(
        url,
        "DELETE FROM analytics_topic_daily WHERE id = (SELECT min(id) FROM analytics_topic_daily "
        f"WHERE day = :day) RETURNING group_id, message_thread_id, {', '.join(measures)}",
        day=DAY,
    )
    lost = Difference(
        "analytics_topic_daily",
        {"day": DAY, "group_id": deleted[0], "message_thread_id": deleted[1]},
        None,
        None,
        dict(zip(measures, deleted[2:], strict=True)),
    )
    assert compare_day(url, DAY) == [changed, lost]
    assert compare_day(url, DAY, tables=["analytics_topic_daily"]) == [lost]
    assert summarize([changed, lost]).startswith("2 differences in 2 tables: ")
