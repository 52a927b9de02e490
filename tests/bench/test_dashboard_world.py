"""The dashboard benchmark's deployment: every day's analytics by the pipelines, the summaries of
the last days only, and every table vacuumed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg2
import pytest

from bench.dashboard_world import load_deployment, make_world
from core.db import plain_url

pytestmark = pytest.mark.postgres


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(plain_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_a_deployment_has_each_days_analytics_and_the_last_days_summaries(db_url: str) -> None:
    world = make_world(groups=4, days=10, end=dt.date(2026, 6, 10))
    loaded = load_deployment(db_url, world, 3000, seed=3, summary_days=2, progress=False)

    assert set(loaded.seconds) == {"raw", "analytics", "summaries", "vacuum"}
    checked = _rows(
        db_url, "SELECT DISTINCT (timestamp AT TIME ZONE 'UTC')::date FROM verification_log"
    )
    counted = _rows(db_url, "SELECT DISTINCT day FROM analytics_verification_daily")
    assert sorted(counted) == sorted(checked) and len(counted) == world.days
    total = _rows(db_url, "SELECT sum(checks) FROM analytics_verification_daily")[0][0]
    assert total == _rows(db_url, "SELECT count(*) FROM verification_log")[0][0]
    assert loaded.analytics["analytics_verification_daily"] == len(
        _rows(db_url, "SELECT 1 FROM analytics_verification_daily")
    )
    ends = _rows(db_url, "SELECT DISTINCT (period_end AT TIME ZONE 'UTC')::date FROM summaries")
    assert sorted(e for (e,) in ends) == [dt.date(2026, 6, 10), dt.date(2026, 6, 11)]
    assert loaded.analytics["summaries"] == _rows(db_url, "SELECT count(*) FROM summaries")[0][0]
    never_vacuumed = _rows(
        db_url,
        "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NULL "
        "AND relid IN (SELECT oid FROM pg_class WHERE relkind = 'r')",
    )
    assert never_vacuumed == []
