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
from dashboards.pagedata import activity, api_calls, funnel, groups, growth, overview, verification
from dashboards.queries import QUERIES, DirectRun, make_engine
from dashboards.scope import Scope
from tests.dashboards.seed import (
    ALPHA,
    API,
    BETA,
    DELTA,
    FUNNEL,
    GROUP_DAILY,
    NEWS_A,
    NEWS_B,
    VER,
    seed_dashboard,
)

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 10)
OPERATOR = Scope.operator()


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
    assert len(QUERIES) == len({f.__name__ for f in QUERIES.values()}) == 46


def test_cached_run_asks_the_database_once_per_query_and_parameters(dashboard_env: str) -> None:
    seed = seed_dashboard(dashboard_env)
    run = CachedRun(dashboard_env, ttl_s=60, scope=OPERATOR)
    seen = _statements(get_engine(dashboard_env))
    start, end = seed.today - dt.timedelta(days=6), seed.today
    first = run("verification", start=start, end=end, groups=())
    asked = len(seen)
    again = run("verification", start=start, end=end, groups=())
    assert asked == 2  # the all-groups rollup's probe and one statement, nothing around them
    assert len(seen) == asked  # the second answer came from the cache
    pd.testing.assert_frame_equal(first, again)
    beta = run("verification", start=start, end=end, groups=(BETA,))
    assert len(seen) > asked  # other parameters: another query
    assert set(beta["checks"]) and beta["checks"].sum() < first["checks"].sum()


def test_cached_results_never_leak_between_databases(dashboard_env: str, tmp_path: Path) -> None:
    seed_dashboard(dashboard_env)
    empty = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    run_migrations(empty)
    assert len(CachedRun(dashboard_env, ttl_s=60, scope=OPERATOR)("groups")) == 4
    assert CachedRun(empty, ttl_s=60, scope=OPERATOR)("groups").empty


def test_direct_run_answers_like_the_cached_one(dashboard_env: str, engine: sa.Engine) -> None:
    seed = seed_dashboard(dashboard_env)
    direct, cached = DirectRun(engine, OPERATOR), CachedRun(dashboard_env, ttl_s=60, scope=OPERATOR)
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


def test_freshness_of_a_table_whose_raw_sources_are_empty() -> None:
    """A table whose raw sources hold no row yet (e.g. no bot_rights): pandas reads its NULL
    newest_source_at as NaT, which shows as no raw event, not as an error."""
    hour = dt.timedelta(hours=1)
    fresh = _fresh(
        [
            ("analytics_verification_daily", NOW - hour, NOW - 2 * hour),
            ("analytics_bot_rights_daily", NOW - hour, None),
        ]
    )
    fresh["newest_source_at"] = pd.to_datetime(fresh["newest_source_at"], utc=True)
    assert fresh["newest_source_at"].isna().sum() == 1  # NaT, as a query frame holds it
    result = overview.freshness(fresh, NOW, stale_after_h=26)
    assert result is not None
    shown = dict(zip(result.table["table"], result.table["newest raw event (UTC)"], strict=True))
    assert pd.isna(shown["analytics_bot_rights_daily"])  # an empty cell, as for a table never run
    assert shown["analytics_verification_daily"] == (NOW - 2 * hour).strftime("%Y-%m-%d %H:%M")
    assert result.newest_raw == NOW - 2 * hour and not result.raw_is_stale


def test_per_group_names_the_columns_and_rates_passes() -> None:
    rows = pd.DataFrame(
        {
            "group_id": [BETA, ALPHA],
            "group": [f"Beta ({BETA})", str(ALPHA)],
            "messages": [9, 5],
            "verifications": [4, 0],
            "passed": [3, 0],
            "failed": [1, 0],
            "joins": [0, 1],
            "leaves": [0, 0],
        }
    )
    table = groups.per_group(rows)
    assert list(table.columns[:3]) == ["group_id", "group", "checks"]
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


def _funnel_rows(rows: list[tuple[dt.date, int, int, int, int, float | None, float | None]]) -> Any:
    """Funnel rows from (day, group, prompted, unmuted, still_muted, p50, p90)."""
    frame = pd.DataFrame(
        rows,
        columns=["day", "group_id", "prompted", "unmuted", "still_muted", "p50", "p90"],
    ).rename(columns={"p50": "verify_s_p50", "p90": "verify_s_p90"})
    for column in funnel.FLOWS:
        if column not in frame:
            frame[column] = 0
    return frame.assign(passed=frame["unmuted"])


def test_backlog_is_each_groups_latest_state_carried_forward() -> None:
    d1, d2, d3 = DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)
    rows = _funnel_rows(
        [
            (d1, ALPHA, 2, 1, 4, 10.0, 20.0),
            (d1, BETA, 1, 3, 1, 40.0, 80.0),
            (d2, ALPHA, 1, 0, 6, None, None),  # Beta: no row, still 1 muted
            (d3, BETA, 0, 0, 0, None, None),  # Alpha: no row, still 6 muted
        ]
    )
    assert funnel.backlog(rows) == 6
    assert funnel.latest_backlog(rows).to_dict() == {ALPHA: 6, BETA: 0}
    days = pd.DataFrame(
        {"prompted": [4, 0], "passed": [3, 0], "produced": [0, 5]}
        | {"funnel_rows": [2, 0], "channel_rows": [0, 2]}
    )
    kpis = funnel.gate_kpis(days, 6)
    assert kpis == funnel.GateKpis(prompted=4, conversion=0.75, produced=5, backlog=6)
    # no channel row: produced is unknown, not 0
    assert funnel.gate_kpis(days.iloc[:1], 6).produced is None
    empty = funnel.gate_kpis(days.iloc[0:0], None)
    assert empty == funnel.GateKpis(prompted=0, conversion=None, produced=None, backlog=None)


def test_pass_rate_by_language_most_prompted_first_unknown_last() -> None:
    rows = pd.DataFrame(
        {
            "lang": ["unknown", "es", "uk", "xx"],
            "prompted": [0, 4, 10, 4],
            "passed": [3, 1, 8, 0],
        }
    )
    table = funnel.by_language(rows)
    assert table["lang"].tolist() == ["uk", "es", "xx", "unknown"]
    assert table["language"].tolist()[:2] == ["Ukrainian", "Spanish"]
    assert table["language"].tolist()[2] == "xx"  # a code the page does not know: as is
    assert table["pass_rate"].tolist()[:3] == [0.8, 0.25, 0.0]
    assert pd.isna(table["pass_rate"].iloc[3])  # passes without a prompt: no rate
    assert funnel.by_language(rows.iloc[0:0]).empty


def test_growth_puts_flows_beside_the_synced_change() -> None:
    rows = pd.DataFrame(
        {"group_id": [ALPHA, BETA], "joins": [9, 0], "leaves": [2, 0], "kicks": [1, 0]}
    ).assign(bots_joined=0)
    counts = pd.DataFrame(
        {"at": [0, 1, 1], "chat_id": [ALPHA, ALPHA, BETA], "member_count": [50, 58, 7]}
    )
    table = growth.group_growth(rows, counts, {})
    assert table["group_id"].tolist() == [ALPHA, BETA]  # the page's order
    figures = ["growth", "members_before", "members_after", "synced_change"]
    assert table.iloc[0][figures].tolist() == [6, 50, 58, 8]
    assert table.iloc[1].growth == 0 and pd.isna(table.iloc[1].synced_change)


def test_latency_leaves_out_long_polls() -> None:
    api = pd.DataFrame(
        {
            "day": [DAY] * 3,
            "method": ["getUpdates", "sendMessage", "getChat"],
            "success": [True, True, True],
            "error_type": [None, None, None],
            "calls": [4, 10, 30],
            "latency_ms_sum": [100_000.0, 500.0, 300.0],
            "latency_ms_max": [30_000.0, 90.0, 20.0],
        }
    )
    methods = api_calls.by_method(api).set_index("method")
    assert methods.loc["getUpdates", "calls"] == 4
    assert pd.isna(methods.loc["getUpdates", "avg_latency_ms"])
    assert methods.loc["sendMessage", "avg_latency_ms"] == 50.0
    assert api_calls.latency_per_day(api).to_numpy().tolist() == [[DAY, 20.0, 90.0]]


def test_gate_page_data_from_the_seed(db_url: str, engine: sa.Engine) -> None:
    """The new pages' ``load`` over the seeded tables, on both backends."""
    seed = seed_dashboard(db_url)
    run = DirectRun(engine, OPERATOR)
    r = DateRange(seed.today - dt.timedelta(days=6), seed.today)
    titles = {ALPHA: "Alpha", BETA: "Beta"}
    page = funnel.load(run, r, (), titles)
    assert page is not None
    assert page.stages["users"].tolist() == [43, 36, 21, 21, 21]
    assert (page.backlog, round(page.conversion or 0, 4)) == (9, round(21 / 36, 4))
    assert page.requests.rows["join_requests"].tolist() == [21] and page.join_requests == 21
    languages = page.languages.set_index("lang")
    assert languages["prompted"].to_dict() == {"uk": 14, "ru": 14, "es": 7, "unknown": 0}
    assert languages.loc["uk", "pass_rate"] == 1.0 and languages.loc["ru", "pass_rate"] == 0.5
    beta = funnel.load(run, r, (BETA,), titles)
    assert beta is not None and beta.languages["lang"].tolist() == ["ru", "unknown"]
    assert funnel.load(run, DateRange(DAY, DAY), (), titles) is None
    assert run("newest_day", table=FUNNEL) == seed.today
    # the Overview's shortcuts: per day sums and each group's latest backlog, in SQL
    days = run("gate_days", start=r.start, end=r.end, groups=())
    assert days["day"].tolist() == [r.start + dt.timedelta(days=i) for i in range(7)]
    assert int(days["prompted"].sum()) == 36 and int(days["produced"].sum()) == 25
    assert days["funnel_rows"].tolist() == [2] * 5 + [3, 2]  # Delta's one row
    assert days["channel_rows"].tolist() == [2] * 7
    assert run("backlog", start=r.start, end=r.end, groups=()) == 9
    assert run("backlog", start=r.start, end=r.end, groups=(ALPHA,)) == 2
    assert run("backlog", start=DAY, end=DAY, groups=()) is None

    grown = growth.load(run, r, (ALPHA, DELTA), titles)
    assert grown is not None
    table = grown.groups.rows.set_index("group_id")
    assert table["growth"].to_dict() == {ALPHA: 4, DELTA: 0}
    assert table.loc[ALPHA, "synced_change"] == 7 and pd.isna(table.loc[DELTA, "synced_change"])
    produced = grown.channels.rows.set_index("channel_id")["joins_after_prompt"].to_dict()
    assert produced == {NEWS_A: 21, NEWS_B: 4}
    delta = growth.group_history(run, r, DELTA)
    assert delta.points == 1 and len(delta.days) == 7
    news_b = growth.channel_history(run, r, NEWS_B)
    assert news_b.points == 7  # the snapshots, not the days with a subscriber_count
    assert grown.invite_links.rows["still_there"].tolist() == [11, 4]

    budget = api_calls.load_budget(run, r)
    assert budget is not None
    peaks = (budget.peak_sends_per_s, budget.peak_group_sends_per_min, budget.retry_after)
    assert peaks == (25, 21, 7)
    assert budget.calls_per_message == 476 / 147

    act = activity.load(run, r, (), titles)
    assert act is not None
    assert (act.joins, act.leaves, act.kicks, act.reactions) == (14, 14, 3, 98)
    assert act.topics.rows["messages"].tolist() == [21, 3] and act.topic_messages == 24
    assert not activity.load(run, r, (BETA,), titles).topics.total  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the benchmark


def test_the_benchmark_times_the_pages_own_loads(db_url: str, engine: sa.Engine) -> None:
    """``bench/dashboard.py`` calls the pages' ``load``; over the seed they give its figures."""
    from bench.dashboard import dashboard_pages

    seed = seed_dashboard(db_url)
    r = DateRange(seed.today - dt.timedelta(days=6), seed.today)
    figures: dict[str, dict[str, Any]] = {
        name: page() for name, page in dashboard_pages(DirectRun(engine, OPERATOR), r).items()
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
    funnel_rows = seed.where(FUNNEL, r.start, r.end)
    assert figures["funnel"]["stages"]["prompted"] == figures["overview"]["prompted"] == 36
    assert figures["funnel"]["stages"]["joined"] == sum(row["joined"] for row in funnel_rows)
    assert figures["funnel"]["backlog"] == figures["overview"]["backlog"] == 9
    assert figures["funnel"]["join_requests"] == 21
    assert figures["overview"]["produced"] == 25
    assert figures["activity"]["reactions"] == sum(row["reactions"] for row in days)
    assert figures["activity"]["topic_messages"] == 24
    assert figures["growth"] == {
        "group_flows": {"joins": 14, "leaves": 14, "kicks": 3},
        "produced": {NEWS_A: 21, NEWS_B: 4},
        "link_joins": 18,
    }
    budget = {k: figures["api_calls"][k] for k in ("peak_sends_per_s", "retry_after")}
    assert budget == {"peak_sends_per_s": 25, "retry_after": 7}
    assert figures["alerts"] == {
        "open": {"Raid": 1, "Failure spike": 1, "Permission lost": 1, "Throttled": 1},
        "in_range": 7,
        "resolved": 3,
    }
    assert figures["overview"]["open_alerts"] == 4


# --------------------------------------------------------------------------- all-groups rollup


def test_every_group_reads_the_rollup_and_a_selection_sums_its_groups(
    db_url: str, engine: sa.Engine
) -> None:
    """No group selected: one rollup row per day (its distinct users are not the per-group
    figures summed); groups selected: their rows summed; no rollup row in the range (days
    materialized before it existed): the sum over every group."""
    seed = seed_dashboard(db_url)
    run = DirectRun(engine, OPERATOR)
    today = seed.today
    r = DateRange(today - dt.timedelta(days=6), today)
    with engine.begin() as conn:  # Alice writes in Alpha and Beta today: one active user
        conn.execute(
            sa.text(
                "UPDATE analytics_all_groups_daily SET active_users = 4, cache_hits = 7, "
                "prompted = 4, gate_passed = 2, still_muted = 6 WHERE day = :d"
            ),
            {"d": today},
        )
        conn.execute(
            sa.text("UPDATE analytics_all_groups_hourly SET messages = 1 WHERE day = :d"),
            {"d": today},
        )
    per_day = run("group_days", start=r.start, end=r.end, groups=())
    assert per_day["day"].tolist() == [r.start + dt.timedelta(days=i) for i in range(7)]
    assert per_day["active_users"].tolist() == [5] * 6 + [4]
    assert per_day["leaves"].tolist() == [2] * 7  # voluntary: kicks apart
    assert int(per_day["messages"].iloc[-1]) == 7 + 13 + 4
    both = run("group_days", start=r.start, end=r.end, groups=(ALPHA, BETA))
    assert both["active_users"].tolist() == [5] * 7
    assert both.drop(columns="active_users").equals(per_day.drop(columns="active_users"))
    hits = run("cache_hits", start=r.start, end=r.end, groups=())
    assert hits["hits"].tolist() == [10 + i for i in range(7, 13)] + [7]
    gate = run("gate_days", start=r.start, end=r.end, groups=())
    assert (gate["prompted"].iloc[-1], gate["passed"].iloc[-1]) == (4, 2)
    assert gate["funnel_rows"].tolist() == [2] * 5 + [3, 2]
    assert run("backlog", start=r.start, end=r.end, groups=()) == 6
    assert run("backlog", start=r.start, end=r.end, groups=(ALPHA, BETA)) == 4
    hourly = run("hourly", start=r.start, end=r.end, groups=())
    assert hourly["hour"].tolist() == [9, 20] * 7
    assert hourly["messages"].tolist() == [7, 4] * 6 + [1, 1]
    assert (
        run("hourly", start=r.start, end=r.end, groups=(ALPHA, BETA))["messages"].tolist()
        == [
            7,
            4,
        ]
        * 7
    )

    with engine.begin() as conn:  # the range not covered by the rollup: summed per group
        conn.execute(sa.text("DELETE FROM analytics_all_groups_daily"))
        conn.execute(sa.text("DELETE FROM analytics_all_groups_hourly"))
    assert run("group_days", start=r.start, end=r.end, groups=()).equals(both)
    assert run("backlog", start=r.start, end=r.end, groups=()) == 9
    assert run("hourly", start=r.start, end=r.end, groups=())["messages"].tolist() == [7, 4] * 7
    assert run("cache_hits", start=r.start, end=r.end, groups=())["hits"].tolist() == [
        10 + i for i in range(7, 14)
    ]


def test_bot_rights_say_what_the_gate_does_while_a_right_is_lacking() -> None:
    """A channel the bot lost (recorded at check time: status left, no rights) reads "held";
    a group whose rights came back by the end of the range reads "back to normal"."""
    day = dt.date(2026, 3, 2)
    admin = {"status": "administrator", "is_admin": True, "can_restrict_members": True,
             "can_delete_messages": True, "can_invite_users": True}  # fmt: skip
    left = {"status": "left", "is_admin": False, "can_restrict_members": False,
            "can_delete_messages": False, "can_invite_users": False}  # fmt: skip
    rows = pd.DataFrame(
        [
            {"day": day, "chat_id": -1002, "chat_kind": "channel", **left, "lacking_s": 7200.0},
            {"day": day, "chat_id": -1001, "chat_kind": "group", **admin, "lacking_s": 3600.0},
            {"day": day, "chat_id": -1003, "chat_kind": "channel", **admin, "lacking_s": 0.0},
        ]
    )
    chats = groups.bot_rights(rows, {-1002: "@news"}).chats.set_index("chat_id")
    assert list(chats.index) == [-1002, -1001]  # the chat never lacking is not listed
    assert chats.loc[-1002, "gate_meanwhile"] == groups.GATE_MEANWHILE["channel"]
    assert chats.loc[-1002, "status"] == "left" and chats.loc[-1002, "chat"] == "@news"
    assert chats.loc[-1001, "gate_meanwhile"] == "back to normal"
