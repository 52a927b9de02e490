"""The data seam: one cached-query layer, the pages' pure figures, and the benchmark timing the
pages' own ``load`` functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from core.migrate import run_migrations
from dashboards.cache import CachedRun, get_engine
from dashboards.metrics import DateRange
from dashboards.pagedata import api_calls, groups, overview, verification
from dashboards.queries import QUERIES, DirectRun, make_engine
from tests.dashboards.seed import (
    ALPHA,
    API,
    BETA,
    GROUP_DAILY,
    NEWS_A,
    VER,
    seed_dashboard,
)

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 10)


def _statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------- the cache layer


def test_every_query_has_one_name() -> None:
    assert QUERIES["verification"].__name__ == "load_verification"
    assert len(QUERIES) == len({f.__name__ for f in QUERIES.values()}) == 16


def test_cached_run_asks_the_database_once_per_query_and_parameters(dashboard_env: str) -> None:
    seed = seed_dashboard(dashboard_env)
    run = CachedRun(dashboard_env, ttl_s=60)
    seen = _statements(get_engine(dashboard_env))
    start, end = seed.today - dt.timedelta(days=6), seed.today
    first = run("verification", start=start, end=end, groups=())
    asked = len(seen)
    again = run("verification", start=start, end=end, groups=())
    assert asked == 1  # one statement, nothing around it
    assert len(seen) == asked  # the second answer came from the cache
    pd.testing.assert_frame_equal(first, again)
    beta = run("verification", start=start, end=end, groups=(BETA,))
    assert len(seen) > asked  # other parameters: another query
    assert set(beta["checks"]) and beta["checks"].sum() < first["checks"].sum()


def test_cached_results_never_leak_between_databases(dashboard_env: str, tmp_path: Path) -> None:
    seed_dashboard(dashboard_env)
    empty = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    run_migrations(empty)
    assert len(CachedRun(dashboard_env, ttl_s=60)("groups")) == 4
    assert CachedRun(empty, ttl_s=60)("groups").empty


def test_direct_run_answers_like_the_cached_one(dashboard_env: str, engine: sa.Engine) -> None:
    seed = seed_dashboard(dashboard_env)
    direct, cached = DirectRun(engine), CachedRun(dashboard_env, ttl_s=60)
    params = {"start": seed.today - dt.timedelta(days=13), "end": seed.today, "groups": ()}
    pd.testing.assert_frame_equal(direct("group_days", **params), cached("group_days", **params))
    assert direct("newest_day") == cached("newest_day") == seed.today


# --------------------------------------------------------------------------- pure figures


def _fresh(rows: list[tuple[str, dt.datetime | None, dt.datetime | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "table_name": name,
                "last_materialized_at": done,
                "newest_source_at": source,
                "newest_partition": DAY,
                "materializations": 3,
            }
            for name, done, source in rows
        ]
    )


def test_freshness_marks_fresh_stale_and_never_materialized_tables() -> None:
    hour = dt.timedelta(hours=1)
    fresh = _fresh(
        [
            ("analytics_verification_daily", NOW - hour, NOW - 2 * hour),
            ("analytics_group_daily", NOW - 30 * hour, NOW - 31 * hour),
        ]
    )
    result = overview.freshness(fresh, NOW, stale_after_h=26)
    assert result is not None
    status = dict(zip(result.table["table"], result.table["status"], strict=True))
    assert list(status) == list(overview.FRESHNESS_TABLES)  # every table, in a fixed order
    assert status["analytics_verification_daily"] == "fresh"
    assert status["analytics_group_daily"] == "stale"
    assert status["summaries"] == "never"
    assert "analytics_verification_daily" not in result.stale
    assert {"analytics_group_daily", "summaries"} <= set(result.stale)
    assert result.last_run == NOW - hour
    assert result.newest_raw == NOW - 2 * hour and not result.raw_is_stale
    assert overview.freshness(_fresh([]).iloc[0:0], NOW, 26) is None


def test_freshness_flags_raw_events_older_than_the_limit() -> None:
    old = NOW - dt.timedelta(hours=50)
    result = overview.freshness(_fresh([("summaries", NOW, old)]), NOW, stale_after_h=26)
    assert result is not None and result.raw_is_stale and result.newest_raw == old


def test_members_are_unknown_before_the_first_snapshot_and_new_groups_do_not_count() -> None:
    chosen = pd.DataFrame(
        {"id": [ALPHA, BETA], "created_at": [NOW - dt.timedelta(days=30), NOW - dt.timedelta(1)]}
    )
    instants = (NOW, NOW - dt.timedelta(days=7))
    counts = pd.DataFrame({"at": [0, 0], "chat_id": [ALPHA, BETA], "member_count": [100, 40]})
    # at NOW both groups exist; a week before only ALPHA did, and no snapshot was taken yet
    assert overview.group_figures(chosen, counts, instants) == [(2, 140), (1, None)]


def test_per_group_drops_linked_channels_and_ranks_by_checks() -> None:
    totals = pd.DataFrame(
        {
            "group_id": [ALPHA, BETA, NEWS_A],
            "messages": [5, 9, 0],
            "active_users": [1, 2, 0],
            "verifications": [0, 4, 0],
            "passed": [0, 3, 0],
            "failed": [0, 1, 0],
            "joins": [1, 0, 7],
            "leaves": [0, 0, 2],
        }
    )
    channels = pd.DataFrame({"id": [NEWS_A]})
    table = groups.per_group(totals, channels, {BETA: "Beta"})
    assert list(table["group_id"]) == [BETA, ALPHA]
    assert list(table["group"]) == [f"Beta ({BETA})", str(ALPHA)]
    assert table["pass_rate"].iloc[0] == 0.75 and pd.isna(table["pass_rate"].iloc[1])


def test_api_errors_without_a_type_are_named_unknown() -> None:
    api = pd.DataFrame(
        {
            "day": [DAY] * 3,
            "method": ["sendMessage", "sendMessage", "getChat"],
            "success": [True, False, False],
            "error_type": [None, None, "Forbidden"],
            "calls": [10, 2, 1],
            "latency_ms_sum": [100.0, 20.0, 5.0],
            "latency_ms_max": [30.0, 15.0, 5.0],
        }
    )
    methods = api_calls.by_method(api).set_index("method")
    assert methods.loc["sendMessage", "errors"] == 2
    assert methods.loc["sendMessage", "error_rate"] == round(2 / 12, 4)
    errors = api_calls.errors_by_type(api)
    assert set(zip(errors["method"], errors["error_type"], strict=True)) == {
        ("sendMessage", "unknown error"),
        ("getChat", "Forbidden"),
    }
    assert list(api_calls.outcomes(api)["outcome"])[::2] == ["ok", "Forbidden"]


def test_verification_daily_table_splits_outcomes_and_cache_hits() -> None:
    ver = pd.DataFrame(
        [
            (DAY, "success", True, None, 6, 12.0, 5.0),
            (DAY, "failed", False, None, 3, 60.0, 40.0),
            (DAY, "error", False, "Forbidden", 1, 100.0, 100.0),
        ],
        columns=[
            "day",
            "status",
            "cached",
            "error_type",
            "checks",
            "latency_ms_sum",
            "latency_ms_max",
        ],
    ).assign(trigger="join")
    row = verification.daily_table(ver).iloc[0]
    assert (row.checks, row.passed, row.failed, row.errors, row.cache_hits) == (10, 6, 3, 1, 6)
    assert (row.pass_rate, row.avg_latency_ms, row.max_latency_ms) == (0.6, 17.2, 100.0)
    assert verification.latency(ver.iloc[0:0]) is None


# --------------------------------------------------------------------------- the benchmark


def test_the_benchmark_times_the_pages_own_loads(db_url: str, engine: sa.Engine) -> None:
    """``bench/dashboard.py`` calls the pages' ``load``; over the seed they give its figures."""
    from bench.dashboard import dashboard_pages

    seed = seed_dashboard(db_url)
    r = DateRange(seed.today - dt.timedelta(days=6), seed.today)
    figures: dict[str, dict[str, Any]] = {
        name: page() for name, page in dashboard_pages(DirectRun(engine), r).items()
    }
    checks = sum(row["checks"] for row in seed.where(VER, r.start, r.end))
    assert figures["verification"]["checks"] == figures["overview"]["checks"] == checks
    days = seed.where(GROUP_DAILY, r.start, r.end)
    assert sum(figures["activity"]["messages_per_day"].values()) == sum(
        row["messages"] for row in days
    )
    assert figures["groups"]["top_checks"][ALPHA] == sum(
        row["verifications"] for row in days if row["group_id"] == ALPHA
    )
    calls = figures["api_calls"]["calls_per_method"]
    assert sum(calls.values()) == sum(row["calls"] for row in seed.where(API, r.start, r.end))
    assert figures["summaries"] == {"summaries": 3}
