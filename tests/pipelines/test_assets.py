"""The analytics assets over seeded raw logs, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings
from typing import Any

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import ANALYTICS_TABLES, ApiCallLog, VerificationLog
from core.settings import Settings
from pipelines.assets import analytics
from pipelines.definitions import build_definitions, defs, resources_for
from pipelines.io import sync_engine
from pipelines.partitions import daily_partitions
from pipelines.resources import FakeTelegramResource
from pipelines.runner import MaterializeError, materialize_range
from tests.pipelines import raw_totals
from tests.pipelines.results import asset_named, materialization
from tests.pipelines.seed import (
    BOT_RIGHTS_LACKING,
    CHANNELS,
    DAYS,
    FIRST_DAY,
    GROUPS,
    OTHER_CHAT,
    rows_on,
    seed,
    seed_member_counts,
)

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
PARTITIONS = daily_partitions(dt.date(2026, 1, 1))


def _day(backend: str, column: str) -> str:
    if backend == "postgresql":
        return f"to_char(\"{column}\" AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f'substr("{column}", 1, 10)'


def _rows(url: str, sql: str) -> dict[Any, Any]:
    with sync_engine(url).connect() as conn:
        out = {}
        for row in conn.execute(sa.text(sql)):
            key = tuple(str(v) for v in row[:-1]) if len(row) > 2 else str(row[0])
            out[key] = row[-1] if len(row) == 2 else tuple(row[len(row) - 1 :])
        return out


def _per_day(url: str, sql: str) -> dict[str, tuple[int, ...]]:
    with sync_engine(url).connect() as conn:
        return {str(r[0]): tuple(int(v) for v in r[1:]) for r in conn.execute(sa.text(sql))}


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with sync_engine(url).connect() as conn:
        for name in ANALYTICS_TABLES:
            cols = [c for c in sa.inspect(conn).get_columns(name) if c["name"] != "id"]
            names = ", ".join(f'"{c["name"]}"' for c in cols)
            rows = conn.execute(sa.text(f'SELECT {names} FROM "{name}"')).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


@pytest.fixture
def seeded(db_url: str) -> str:
    seed(db_url)
    seed_member_counts(db_url)
    return db_url


def test_totals_per_day_equal_sql_counts_over_raw_rows(
    seeded: str, backend: str, app_settings: Settings
) -> None:
    url = seeded
    totals = materialize_range(
        FIRST_DAY, LAST_DAY, settings=app_settings, progress=False, chunk_days=3
    )
    assert totals["analytics_verification_daily"] > 0 and totals["summaries"] > 0
    v, m, e, a = (_day(backend, c) for c in ("timestamp", "created_at", "timestamp", "timestamp"))
    raw_v = _per_day(
        url,
        f"SELECT {v}, count(*), "
        "sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) "
        "FROM verification_log GROUP BY 1",
    )
    raw_a = _per_day(url, f"SELECT {a}, count(*) FROM api_call_log GROUP BY 1")
    raw_a_timed = _per_day(  # long polling has no latency bucket
        url, f"SELECT {a}, count(*) FROM api_call_log WHERE method <> 'getUpdates' GROUP BY 1"
    )
    raw_m = _per_day(url, f"SELECT {m}, count(*) FROM messages WHERE NOT is_bot_message GROUP BY 1")
    raw_e = _per_day(
        url,
        f"SELECT {e}, sum(CASE WHEN event = 'join' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN event IN ('leave', 'kick') THEN 1 ELSE 0 END) "
        "FROM member_events WHERE chat_id NOT IN (SELECT id FROM enforced_channels) "
        f"AND {raw_totals.HUMAN} GROUP BY 1",
    )
    assert len(raw_v) == DAYS - 1  # one seeded day is empty

    got = _per_day(url, "SELECT day, sum(checks) FROM analytics_verification_daily GROUP BY day")
    assert got == {d: (n[0],) for d, n in raw_v.items()}
    got = _per_day(url, "SELECT day, sum(calls) FROM analytics_api_calls_daily GROUP BY day")
    assert got == raw_a
    got = _per_day(
        url,
        "SELECT day, sum(verifications), sum(messages), sum(joins) "
        "FROM analytics_hourly_activity GROUP BY day",
    )
    assert got == {d: (raw_v[d][0], raw_m[d][0], raw_e[d][0]) for d in raw_v}
    got = _per_day(
        url,
        "SELECT day, sum(count) FROM analytics_latency_histogram_daily "
        "WHERE source = 'verification' GROUP BY day",
    )
    assert got == {d: (n[0],) for d, n in raw_v.items()}
    got = _per_day(
        url,
        "SELECT day, sum(count) FROM analytics_latency_histogram_daily "
        "WHERE source = 'api' GROUP BY day",
    )
    assert got == raw_a_timed and raw_a_timed != raw_a
    got = _per_day(
        url,
        "SELECT day, sum(messages), sum(verifications), sum(passed), sum(failed), "
        "sum(joins), sum(leaves) FROM analytics_group_daily GROUP BY day",
    )
    assert got == {
        d: (raw_m[d][0], raw_v[d][0], raw_v[d][1], raw_v[d][2], raw_e[d][0], raw_e[d][1])
        for d in raw_v
    }
    active = _per_day(
        url,
        f"SELECT d, sum(n) FROM (SELECT {m} AS d, chat_id, count(DISTINCT user_id) AS n "
        "FROM messages WHERE NOT is_bot_message GROUP BY 1, 2) AS t GROUP BY d",
    )
    got = _per_day(url, "SELECT day, sum(active_users) FROM analytics_group_daily GROUP BY day")
    assert got == active

    # the new tables: per-day figures equal to the same definitions in SQL over the raw rows
    seeded_days = {str(FIRST_DAY + dt.timedelta(days=i)) for i in range(DAYS)}
    raw_figures = {}
    for name, (table_sql, raw_sql) in raw_totals.per_day_pairs(backend).items():
        raw = {d: v for d, v in _per_day(url, raw_sql).items() if d in seeded_days}
        figures = {d: v for d, v in _per_day(url, table_sql).items() if any(v)}
        assert figures == raw and raw, name  # (a backlog-only day is a row of zeros)
        raw_figures[name] = raw
    with sync_engine(url).connect() as conn:
        ratios = conn.execute(
            sa.text("SELECT day, calls_per_message FROM analytics_api_budget_daily")
        ).all()
        quantiles = conn.execute(
            sa.text(
                "SELECT day, group_id, verify_s_p50, verify_s_p90 FROM analytics_funnel_daily "
                "WHERE verify_s_p50 IS NOT NULL"
            )
        ).all()
    for day, ratio in ratios:
        calls, *_, messages = raw_figures["budget"][str(day)]
        assert ratio == pytest.approx(calls / messages) if messages else ratio is None
    expected = raw_totals.verify_quantiles(url, backend, FIRST_DAY)
    assert expected and {(str(d), g) for d, g, _, _ in quantiles} == set(expected)
    for day, group, p50, p90 in quantiles:
        assert (p50, p90) == pytest.approx(expected[(str(day), group)], abs=1e-3)
    muted = _per_day(url, "SELECT day, sum(still_muted) FROM analytics_funnel_daily GROUP BY day")
    backlog = {
        d: raw_totals.still_muted(url, backend, dt.date.fromisoformat(d)) for d in seeded_days
    }
    assert muted == {d: (n,) for d, n in backlog.items() if n}
    assert muted[str(FIRST_DAY + dt.timedelta(days=2))]  # the empty day: its backlog only

    # every group together: sums of the per-group rows, distinct users from the raw rows
    _assert_all_groups(url, backend, seeded_days)

    # the bot's rights: the state carried over every day (the empty one too), exact seconds
    with sync_engine(url).connect() as conn:
        rights = conn.execute(
            sa.text(
                "SELECT day, chat_id, chat_kind, changes, lacking_s "
                "FROM analytics_bot_rights_daily ORDER BY day, chat_id"
            )
        ).all()
    kinds = {c: k for _, c, k, _, _ in rights}
    assert kinds == {
        **dict.fromkeys(GROUPS, "group"),
        **dict.fromkeys(CHANNELS, "channel"),
        OTHER_CHAT: "other",
    }
    assert len(rights) == 5 + 3 * 6  # GROUPS[1] first known on the second day
    lacking = {
        ((d - FIRST_DAY).days, c): (n, s)
        for d, c, _, n, s in ((dt.date.fromisoformat(str(r[0])), *r[1:]) for r in rights)
        if s
    }
    assert lacking == BOT_RIGHTS_LACKING

    # freshness rows: one per table and day (the empty day too, with zero rows)
    marks = _per_day(
        url,
        "SELECT table_name, count(*), sum(row_count) "
        "FROM analytics_materializations GROUP BY table_name",
    )
    for name in ANALYTICS_TABLES:
        assert marks[name][0] == DAYS
    assert marks["summaries"][0] == DAYS


ALL_GROUPS_SUMS = {
    "analytics_group_daily": "messages, verifications, passed, failed, joins, leaves, kicks, "
    "bots_joined, reactions",
    "analytics_funnel_daily": "denied_clicks, still_muted, messages_deleted",
}


def _assert_all_groups(url: str, backend: str, seeded_days: set[str]) -> None:
    """``analytics_all_groups_daily``: a row per day; its counts the sums of the per-group
    rows (linked channels' rows left out); its distinct users and percentiles from raw."""
    rollup = "analytics_all_groups_daily"
    group_cols = ALL_GROUPS_SUMS["analytics_group_daily"]
    funnel_cols = ALL_GROUPS_SUMS["analytics_funnel_daily"]
    got = _per_day(url, f"SELECT day, {group_cols} FROM {rollup}")
    assert set(got) == seeded_days
    summed = _per_day(
        url,
        f"SELECT day, {', '.join(f'sum({c})' for c in group_cols.split(', '))} "
        "FROM analytics_group_daily WHERE group_id NOT IN (SELECT id FROM enforced_channels) "
        "GROUP BY day",
    )
    assert {d: v for d, v in got.items() if any(v)} == summed and summed
    got = _per_day(url, f"SELECT day, funnel_groups, {funnel_cols} FROM {rollup}")
    summed = _per_day(
        url,
        f"SELECT day, count(*), {', '.join(f'sum({c})' for c in funnel_cols.split(', '))} "
        "FROM analytics_funnel_daily GROUP BY day",
    )
    assert {d: v for d, v in got.items() if any(v)} == summed and summed
    hits = _per_day(
        url,
        f"SELECT {_day(backend, 'timestamp')}, count(*) FROM verification_log WHERE cached "
        "GROUP BY 1",
    )
    assert {
        d: v for d, v in _per_day(url, f"SELECT day, cache_hits FROM {rollup}").items() if any(v)
    } == hits
    m, t = _day(backend, "created_at"), _day(backend, "timestamp")
    events = ", ".join(
        f"count(DISTINCT CASE WHEN event = '{e}' THEN user_id END)"
        for e in raw_totals.FUNNEL_EVENTS.values()
    )
    distinct = {
        "active_users": f"SELECT {m}, count(DISTINCT user_id) FROM messages "
        f"WHERE {raw_totals.HUMAN_MESSAGE} AND {raw_totals.GROUP_CHAT} GROUP BY 1",
        "reacting_users": f"SELECT {t}, count(DISTINCT user_id) FROM reaction_events "
        f"WHERE user_id IS NOT NULL AND user_id NOT IN ({raw_totals.SERVICE}) AND added > 0 "
        f"AND {raw_totals.GROUP_CHAT} GROUP BY 1",
        "joined": f"SELECT {t}, count(DISTINCT user_id) FROM member_events WHERE event = 'join' "
        f"AND {raw_totals.GROUP_CHAT} AND {raw_totals.HUMAN} GROUP BY 1",
        "prompted, clicked, gate_passed, unmuted, join_requests, approved, declined, expired, "
        "timed_out": (f"SELECT {t}, {events} FROM gate_events GROUP BY 1"),
    }
    for columns, raw_sql in distinct.items():
        got = _per_day(url, f"SELECT day, {columns} FROM {rollup}")
        raw = {d: v for d, v in _per_day(url, raw_sql).items() if d in seeded_days}
        assert {d: v for d, v in got.items() if any(v)} == raw and raw, columns
    # a person active in two groups is one: fewer than the per-group distinct counts summed
    per_group = _per_day(
        url, "SELECT day, sum(active_users) FROM analytics_group_daily GROUP BY day"
    )
    active = _per_day(url, f"SELECT day, active_users FROM {rollup}")
    assert any(active[d] < n for d, n in per_group.items())
    with sync_engine(url).connect() as conn:
        hourly, summed = (
            {(str(r[0]), *(int(v) for v in r[1:])) for r in conn.execute(sa.text(sql))}
            for sql in (
                "SELECT day, hour, verifications, messages, joins FROM analytics_all_groups_hourly",
                "SELECT day, hour, sum(verifications), sum(messages), sum(joins) "
                "FROM analytics_hourly_activity GROUP BY day, hour",
            )
        )
    assert hourly == summed and len(summed) > 24
    with sync_engine(url).connect() as conn:
        quantiles = conn.execute(
            sa.text(
                f"SELECT day, verify_s_p50, verify_s_p90 FROM {rollup} "
                "WHERE verify_s_p50 IS NOT NULL"
            )
        ).all()
    expected = raw_totals.verify_quantiles(url, backend, FIRST_DAY, all_groups=True)
    assert expected and {(str(d),) for d, _, _ in quantiles} == set(expected)
    for day, p50, p90 in quantiles:
        assert (p50, p90) == pytest.approx(expected[(str(day),)], abs=1e-3)
    _assert_funnel_and_verification_rollups(url)


FUNNEL_COUNTS = (
    "joined, prompted, clicked, passed, unmuted, denied_clicks, still_muted, join_requests, "
    "approved, declined, expired, messages_deleted, timed_out"
)


def _assert_funnel_and_verification_rollups(url: str) -> None:
    """``analytics_all_groups_funnel_daily``: the funnel rows summed per day, the percentiles
    weighted by the unmutes of the rows with one; ``analytics_all_groups_verification_daily``:
    the checks summed over the groups; ``analytics_all_channels_daily``: the channel rows
    summed per day."""
    sums = ", ".join(f"sum({c})" for c in FUNNEL_COUNTS.split(", "))
    timed = "unmuted > 0 AND verify_s_p50 IS NOT NULL"
    got = _per_day(
        url, f"SELECT day, groups, {FUNNEL_COUNTS} FROM analytics_all_groups_funnel_daily"
    )
    summed = _per_day(url, f"SELECT day, count(*), {sums} FROM analytics_funnel_daily GROUP BY day")
    assert got == summed and summed
    with sync_engine(url).connect() as conn:
        means = {
            str(d): (w, p50, p90)
            for d, w, p50, p90 in conn.execute(
                sa.text(
                    "SELECT day, timed_unmutes, verify_s_p50_mean, verify_s_p90_mean "
                    "FROM analytics_all_groups_funnel_daily"
                )
            )
        }
        weighted = {
            str(d): (int(w or 0), p50, p90)
            for d, w, p50, p90 in conn.execute(
                sa.text(
                    f"SELECT day, sum(CASE WHEN {timed} THEN unmuted END), "
                    f"sum(CASE WHEN {timed} THEN unmuted * verify_s_p50 END) "
                    f"/ sum(CASE WHEN {timed} THEN unmuted END), "
                    f"sum(CASE WHEN {timed} THEN unmuted * verify_s_p90 END) "
                    f"/ sum(CASE WHEN {timed} THEN unmuted END) "
                    "FROM analytics_funnel_daily GROUP BY day"
                )
            )
        }
        assert set(means) == set(weighted) and any(w for w, _, _ in means.values())
        for day, (w, p50, p90) in means.items():
            assert w == weighted[day][0], day
            if w:
                assert (p50, p90) == pytest.approx(weighted[day][1:], rel=1e-9), day
            else:
                assert p50 is None and p90 is None, day
        keys = "day, status, cached, coalesce(error_type, '-'), trigger"
        rollup, per_group = (
            sorted(tuple(str(v) if i < 5 else v for i, v in enumerate(r)) for r in rows)
            for rows in (
                conn.execute(
                    sa.text(
                        f"SELECT {keys}, checks, latency_ms_sum, latency_ms_max "
                        "FROM analytics_all_groups_verification_daily"
                    )
                ),
                conn.execute(
                    sa.text(
                        f"SELECT {keys}, sum(checks), sum(latency_ms_sum), max(latency_ms_max) "
                        f"FROM analytics_verification_daily GROUP BY {keys}"
                    )
                ),
            )
        )
    channels = "joins, leaves, joins_after_prompt, leaves_after_unmute_7d"
    got = _per_day(url, f"SELECT day, channels, {channels} FROM analytics_all_channels_daily")
    sums = ", ".join(f"sum({c})" for c in channels.split(", "))
    summed = _per_day(
        url, f"SELECT day, count(*), {sums} FROM analytics_channel_daily GROUP BY day"
    )
    assert got == summed and summed
    assert len(rollup) == len(per_group) > 0
    for mine, theirs in zip(rollup, per_group, strict=True):
        assert mine[:6] == theirs[:6] and mine[6:] == pytest.approx(theirs[6:], rel=1e-9)


def test_rerunning_a_partition_leaves_every_table_identical(
    seeded: str, app_settings: Settings
) -> None:
    materialize_range(FIRST_DAY, LAST_DAY, settings=app_settings, progress=False)
    before = _snapshot(seeded)
    assert all(before[name] for name in ANALYTICS_TABLES)
    materialize_range(FIRST_DAY, FIRST_DAY, settings=app_settings, progress=False)
    materialize_range(FIRST_DAY, LAST_DAY, settings=app_settings, progress=False, chunk_days=1)
    assert _snapshot(seeded) == before
    with sync_engine(seeded).connect() as conn:
        per_window = conn.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT chat_id || summary_type || period_end) "
                "FROM summaries"
            )
        ).one()
    assert per_window[0] == per_window[1]  # summaries: history per window, no duplicates


def _materialize(
    assets: list[Any], settings: Settings, day: dt.date, selection: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.materialize(
            assets,
            selection=selection,
            resources=resources_for(settings, telegram=FakeTelegramResource()),
            partition_key=day.isoformat(),
            raise_on_error=False,
        )


def _check(result: dg.ExecuteInProcessResult, name: str) -> Any:
    found = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert len(found) == 1
    return found[0]


def test_bad_raw_row_is_reported_and_excluded(seeded: str, app_settings: Settings) -> None:
    with Session(sync_engine(seeded)) as session, session.begin():
        session.add(
            VerificationLog(
                user_id=1,
                group_id=-1001,
                status="bogus",
                cached=False,
                latency_ms=3.0,
                trigger="join",
                channels_checked=1,
                timestamp=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
            )
        )
    asset = asset_named(analytics.build_analytics_assets(PARTITIONS), analytics.VERIFICATION_DAILY)
    result = _materialize([asset], app_settings, FIRST_DAY, [analytics.VERIFICATION_DAILY])
    assert result.success  # a bad raw row warns, it does not block
    raw = _check(result, analytics.RAW_CHECK)
    assert not raw.passed
    assert raw.metadata["invalid_rows"].value == 1
    details = raw.metadata["details"].value
    assert details["verifications"]["failing_rows"][0]["status"] == "bogus"
    assert _check(result, analytics.OUTPUT_CHECK).passed
    mat = materialization(result, analytics.VERIFICATION_DAILY)
    assert mat.metadata["raw_verifications_invalid"].value == 1
    with sync_engine(seeded).connect() as conn:
        checks = conn.execute(
            sa.text("SELECT sum(checks) FROM analytics_verification_daily")
        ).scalar()
    day_rows = rows_on(seeded, VerificationLog, FIRST_DAY, VerificationLog.status != "bogus")
    assert day_rows and checks == day_rows


def test_bad_output_fails_the_blocking_check_and_writes_nothing(
    seeded: str, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    materialize_range(FIRST_DAY, FIRST_DAY, settings=app_settings, progress=False)
    before = _snapshot(seeded)["analytics_group_daily"]

    def broken(*frames: pl.DataFrame) -> pl.DataFrame:
        out = analytics.catalog.daily.group_daily(*frames)
        return out.with_columns(passed=pl.col("verifications") + 1)  # impossible

    spec = dataclasses.replace(analytics.SPEC_BY_TABLE[analytics.GROUP_DAILY], transform=broken)
    asset = analytics.build_analytics_asset(PARTITIONS, [spec])
    result = _materialize([asset], app_settings, FIRST_DAY)
    assert not result.success
    check = _check(result, analytics.OUTPUT_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["invalid_rows"].value == 3
    assert len(check.metadata["failing_rows"].value) == 3
    assert _snapshot(seeded)["analytics_group_daily"] == before

    # the runner (what the CLI and the demo call) raises on that run and names the check
    monkeypatch.setattr(
        analytics.catalog,  # read by build_analytics_asset when the runner builds the job
        "SPECS",
        tuple(spec if s.table == spec.table else s for s in analytics.SPECS),
    )
    failed_check = f"{analytics.GROUP_DAILY}.*{analytics.OUTPUT_CHECK}"
    with pytest.raises(MaterializeError, match=failed_check):
        materialize_range(
            FIRST_DAY, FIRST_DAY, settings=app_settings, progress=False, summaries=False
        )
    assert _snapshot(seeded)["analytics_group_daily"] == before


def test_a_failing_table_fails_the_run_and_the_others_are_still_written(
    seeded: str, app_settings: Settings
) -> None:
    def broken(*frames: pl.DataFrame) -> pl.DataFrame:
        raise RuntimeError("transform broke")

    spec = dataclasses.replace(analytics.SPEC_BY_TABLE[analytics.GROUP_DAILY], transform=broken)
    other = analytics.SPEC_BY_TABLE[analytics.TOPIC_DAILY]
    asset = analytics.build_analytics_asset(PARTITIONS, [spec, other])
    result = _materialize([asset], app_settings, FIRST_DAY)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert analytics.GROUP_DAILY in failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert materialization(result, analytics.TOPIC_DAILY).metadata["written"].value is True
    snapshot = _snapshot(seeded)
    assert snapshot[analytics.TOPIC_DAILY] and not snapshot[analytics.GROUP_DAILY]


def test_definitions_load() -> None:
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    graph = build_definitions(Settings()).resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert set(ANALYTICS_TABLES) <= keys
    assert {"summaries", "raw_log_retention", "member_counts", "alerts", "weekly_digests"} <= keys
    jobs = {j.name for j in loaded.resolve_all_job_defs()}
    assert {
        "analytics_job",
        "finalize_day_job",
        "retention_job",
        "member_counts_job",
        "digests_job",
    } <= jobs
    schedules = {s.name for s in loaded.schedules or []}
    assert {  # today's analytics: an automation condition (tests/pipelines/test_definitions.py)
        "finalize_yesterday_daily",
        "retention_daily",
        "member_counts_every_15_minutes",
        "observe_raw_every_15_minutes",
        "alerts_every_5_minutes",
        "weekly_digests_monday",
    } == schedules
    checks = loaded.resolve_asset_graph().asset_check_keys
    freshness = [c for c in checks if "freshness" in c.name]
    assert len(freshness) == len(ANALYTICS_TABLES)


def test_malformed_sqlite_timestamp_is_reported_not_fatal(
    seeded: str, backend: str, app_settings: Settings
) -> None:
    if backend != "sqlite":
        pytest.skip("only SQLite stores timestamps as text; PostgreSQL refuses malformed ones")
    with sync_engine(seeded).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_call_log (method, success, latency_ms, timestamp) "
                "VALUES ('getMe', 1, 1.0, '2026-03-01 noon')"
            )
        )
    asset = asset_named(analytics.build_analytics_assets(PARTITIONS), analytics.API_CALLS_DAILY)
    result = _materialize([asset], app_settings, FIRST_DAY, [analytics.API_CALLS_DAILY])
    assert result.success
    raw = _check(result, analytics.RAW_CHECK)
    assert not raw.passed and raw.metadata["invalid_rows"].value == 1
    with sync_engine(seeded).connect() as conn:
        calls = conn.execute(sa.text("SELECT sum(calls) FROM analytics_api_calls_daily")).scalar()
    # the seeded day, without the malformed row (getMe)
    seeded_calls = rows_on(seeded, ApiCallLog, FIRST_DAY, ApiCallLog.method != "getMe")
    assert seeded_calls and calls == seeded_calls
