"""The dashboard at many groups (issue 28): per-group tables a page at a time with their total,
the sidebar's group search within the viewer's scope, members counted in the database, and the
Funnel and Verification pages reading the all-groups rollups, on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import polars as pl
import pytest
import sqlalchemy as sa

from core.models import AnalyticsGroupDaily, measure_columns
from dashboards.metrics import DateRange
from dashboards.pagedata import funnel, verification
from dashboards.paging import Paged, paged
from dashboards.queries import DirectRun, make_engine
from dashboards.scope import Scope
from dashboards.sql import isum
from pipelines.transforms.rollups import funnel_totals
from sandbox.synth import write_rows

DAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
OPERATOR = Scope.operator()
GROUP_IDS = [-1000 - i for i in range(30)]
"""30 groups: ``Group 00`` (-1000) ... ``Group 29`` (-1029)."""
CHANNEL = -2000
OWNER = 77


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _zeros(table: str, **row: Any) -> dict[str, Any]:
    return {**dict.fromkeys(measure_columns(table), 0), **row}


def _group(gid: int, i: int, members: int | None = None) -> dict[str, Any]:
    made = NOW - dt.timedelta(days=30 - (i % 3))  # Group 00 30 days ago, 01 29, 02 28, ...
    return dict(
        id=gid, title=f"Group {i:02d}", enabled=i != 29, created_at=made, updated_at=made,
        settings={}, member_count=members, last_sync_at=None,
    )  # fmt: skip


def _world(url: str) -> None:
    """30 groups (Group 29 disabled); group i did 100 - i checks on DAY (Group 07 and Group 08
    tie at 93 by design: 93 for both) and i messages; a linked channel with more checks than
    any group."""
    checks = {gid: 100 - i for i, gid in enumerate(GROUP_IDS)}
    checks[GROUP_IDS[8]] = 93  # a tie with Group 07: the lower id (Group 08's) first
    daily = [
        _zeros(
            "analytics_group_daily",
            day=DAY,
            group_id=gid,
            verifications=checks[gid],
            passed=checks[gid] - 1,
            messages=i,
        )
        for i, gid in enumerate(GROUP_IDS)
    ]
    daily.append(_zeros("analytics_group_daily", day=DAY, group_id=CHANNEL, verifications=999))
    write_rows(
        url,
        {
            "protected_groups": [_group(g, i, members=1000 + i) for i, g in enumerate(GROUP_IDS)],
            "enforced_channels": [
                dict(
                    id=CHANNEL,
                    username="news",
                    title="News",
                    subscriber_count=5,
                    last_sync_at=NOW,
                    created_at=NOW,
                )
            ],
            "analytics_group_daily": daily,
        },
    )


def _ranking_stmt() -> sa.Select[Any]:
    t = AnalyticsGroupDaily.__table__
    return (
        sa.select(t.c.group_id, isum(t.c.messages).label("messages"))
        .where(t.c.group_id != CHANNEL)
        .group_by(t.c.group_id)
    )


def _owner() -> Scope:
    return Scope.owner(OWNER, GROUP_IDS[:3], ())


# --------------------------------------------------------------------------- paging


def test_a_page_shows_the_next_rows_in_order_and_the_total(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    run = DirectRun(engine, OPERATOR)
    span = {"start": DAY, "end": DAY, "groups": ()}
    first = run("group_ranking", **span, size=10)
    second = run("group_ranking", **span, page=1, size=10)
    last = run("group_ranking", **span, page=2, size=10)
    assert isinstance(first, Paged) and first.total == second.total == 30  # not the channel
    assert first.pages == 3
    ranked = [*first.rows["group_id"], *second.rows["group_id"], *last.rows["group_id"]]
    checks = {gid: 100 - i for i, gid in enumerate(GROUP_IDS)} | {GROUP_IDS[8]: 93}
    assert ranked == sorted(GROUP_IDS, key=lambda g: (-checks[g], g))  # most checks, then id
    assert second.rows["group_id"].tolist()[:2] == [GROUP_IDS[10], GROUP_IDS[11]]
    assert (second.first, second.last) == (11, 20)
    assert second.caption("groups") == "rows 11–20 of 30 groups"
    beyond = run("group_ranking", **span, page=5, size=10)
    assert beyond.rows.empty and beyond.total == 30
    # a column summed over every page rides along (and is summed apart past the end)
    messages = sum(range(30))
    assert paged(
        engine, _ranking_stmt(), [sa.text("group_id")], 1, 10, sums=("messages",)
    ).sums == {"messages": messages}
    assert paged(
        engine, _ranking_stmt(), [sa.text("group_id")], 9, 10, sums=("messages",)
    ).sums == {"messages": messages}
    by_messages = run("group_ranking", **span, order="messages", size=3)
    assert by_messages.rows["group_id"].tolist() == GROUP_IDS[29:26:-1]
    mine = DirectRun(engine, _owner())("group_ranking", **span, size=10)
    assert mine.total == 3 and set(mine.rows["group_id"]) == set(GROUP_IDS[:3])
    with pytest.raises(ValueError, match="cannot order"):
        run("group_ranking", **span, order="title; DROP TABLE x")
    # one pass: the page by checks and the top by messages, as the two rankings give them
    shown, busiest = run("group_leaders", **span, page=1, size=10, also="messages", top=3)
    pd.testing.assert_frame_equal(shown.rows, second.rows, check_dtype=False)
    assert shown.total == 30 and (shown.page, shown.size) == (1, 10)
    pd.testing.assert_frame_equal(busiest, by_messages.rows, check_dtype=False)


def test_catalog_pages_and_counts(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    run = DirectRun(engine, OPERATOR)
    second = run("groups_page", page=1, size=12)
    assert second.total == 30
    assert second.rows["title"].tolist() == [f"Group {i:02d}" for i in range(12, 24)]
    assert run("group_counts") == {"enabled": 29, "disabled": 1}
    assert run("largest_groups", limit=2) == [GROUP_IDS[29], GROUP_IDS[28]]
    assert DirectRun(engine, _owner())("group_counts") == {"enabled": 3, "disabled": 0}


# --------------------------------------------------------------------------- the group search


def test_the_group_search_matches_titles_and_ids_up_to_its_limit(
    db_url: str, engine: sa.Engine
) -> None:
    _world(db_url)
    run = DirectRun(engine, OPERATOR)
    every = run("group_search", text="", limit=5)
    assert every.total == 30 and every.rows["title"].tolist() == [
        f"Group {i:02d}" for i in range(5)
    ]
    twos = run("group_search", text="group 2")  # any case
    assert twos.total == 10 and set(twos.rows["title"]) == {f"Group {i}" for i in range(20, 30)}
    by_id = run("group_search", text="1017")
    assert by_id.rows["id"].tolist() == [GROUP_IDS[17]]
    assert run("group_search", text="100%").total == 0  # a wildcard is a character
    assert run("group_search", text="no such group").rows.empty
    assert run("group_titles", ids=(GROUP_IDS[3], GROUP_IDS[4])) == {
        GROUP_IDS[3]: "Group 03",
        GROUP_IDS[4]: "Group 04",
    }


def test_an_owner_finds_and_names_only_their_groups(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    run = DirectRun(engine, _owner())
    found = run("group_search", text="group")
    assert found.total == 3 and set(found.rows["id"]) == set(GROUP_IDS[:3])
    assert run("group_search", text="group 1").rows.empty  # Group 1x exist, not theirs
    assert run("group_titles", ids=(GROUP_IDS[0], GROUP_IDS[9])) == {GROUP_IDS[0]: "Group 00"}


def test_the_sidebar_search_narrows_the_picker(dashboard_env: str, open_page: Any) -> None:
    _world(dashboard_env)
    at = open_page("views/overview.py")
    picker = at.multiselect(key="groups")
    assert len(picker.options) == 30  # under the limit: every group
    at.text_input(key="group_search").set_value("group 2").run()
    assert not at.exception
    assert sorted(at.multiselect(key="groups").options) == sorted(
        f"Group {i} ({g})" for i, g in zip(range(20, 30), GROUP_IDS[20:], strict=True)
    )
    at.multiselect(key="groups").set_value([GROUP_IDS[21]]).run()
    at.text_input(key="group_search").set_value("group 0").run()  # the pick stays offered
    assert not at.exception
    options = at.multiselect(key="groups").options
    assert f"Group 21 ({GROUP_IDS[21]})" in options and len(options) == 11
    assert at.multiselect(key="groups").value == [GROUP_IDS[21]]


# --------------------------------------------------------------------------- members


def test_members_are_counted_in_the_database_at_each_instant(
    db_url: str, engine: sa.Engine
) -> None:
    _world(db_url)
    hour = dt.timedelta(hours=1)
    snapshots = [
        dict(chat_id=chat, kind="group", member_count=members, synced_at=NOW - ago)
        for chat, members, ago in (
            (GROUP_IDS[0], 100, hour),
            (GROUP_IDS[1], 40, 2 * hour),
            (GROUP_IDS[1], 30, 72 * hour),
            (GROUP_IDS[29], 9, hour),
        )
    ]
    write_rows(db_url, {"member_count_snapshots": snapshots})
    run = DirectRun(engine, OPERATOR)
    chosen = (GROUP_IDS[0], GROUP_IDS[1], GROUP_IDS[2], GROUP_IDS[29])
    week = NOW - dt.timedelta(days=29, hours=12)  # before Group 01 and 02 were made
    found = run("member_totals", instants=(NOW, NOW - dt.timedelta(days=2), week), groups=chosen)
    # now: 3 enabled groups (29 is not), 100 + 40; two days ago only Group 01 had a count;
    # earlier: Group 00 alone existed, with no snapshot yet: unknown, not zero
    assert found == [(3, 140), (3, 30), (1, None)]
    assert DirectRun(engine, _owner())("member_totals", instants=(NOW,)) == [(3, 140)]


def test_every_groups_members_come_from_the_rollup_once_filled(
    db_url: str, engine: sa.Engine
) -> None:
    _world(db_url)
    rollup = [
        dict(day=DAY - dt.timedelta(days=d), synced_groups=29, members=m)
        for d, m in ((0, 5000), (3, 4000))
    ]
    write_rows(db_url, {"analytics_all_groups_members_daily": rollup})
    run = DirectRun(engine, OPERATOR)
    seen = _statements(engine)
    midnight = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    instants = (midnight + dt.timedelta(days=1), midnight, midnight - dt.timedelta(days=3))
    # the newest rollup day before each instant; none before the first: unknown
    assert run("member_totals", instants=instants) == [(29, 5000), (29, 4000), (29, None)]
    assert not any("member_count_snapshots" in s for s in seen)
    # a selection (and an owner) still count their own groups' snapshots
    assert run("member_totals", instants=instants[:1], groups=(GROUP_IDS[0],)) == [(1, None)]
    assert any("member_count_snapshots" in s for s in seen)


def test_overview_gate_days_read_the_channels_rollup(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    rows = [
        _zeros("analytics_channel_daily", day=DAY, channel_id=CHANNEL, joins=9,
               joins_after_prompt=4) | {"subscriber_count": None}
    ]  # fmt: skip
    rollup = [
        dict(day=DAY, channels=1, joins=9, leaves=0, joins_after_prompt=4,
             leaves_after_unmute_7d=0)
    ]  # fmt: skip
    write_rows(db_url, {"analytics_channel_daily": rows})
    run = DirectRun(engine, OPERATOR)
    before = run("gate_days", start=DAY, end=DAY, groups=())
    write_rows(db_url, {"analytics_all_channels_daily": rollup})
    seen = _statements(engine)
    after = run("gate_days", start=DAY, end=DAY, groups=())
    assert not any("FROM analytics_channel_daily" in s for s in seen)
    assert after[["produced", "channel_rows"]].to_numpy().tolist() == [[4, 1]]
    pd.testing.assert_frame_equal(before, after)


# --------------------------------------------------------------------------- funnel


def _funnel_row(day: dt.date, gid: int, **counts: Any) -> dict[str, Any]:
    row = _zeros("analytics_funnel_daily", day=day, group_id=gid)
    row.update(verify_s_p50=None, verify_s_p90=None)
    return {**row, **counts}


D1, D2, D3 = DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)
A, B = GROUP_IDS[0], GROUP_IDS[1]
FUNNEL_ROWS = [
    _funnel_row(D1, A, prompted=2, passed=1, unmuted=1, still_muted=4,
                verify_s_p50=10.0, verify_s_p90=20.0),
    _funnel_row(D1, B, prompted=1, passed=3, unmuted=3, still_muted=1, join_requests=2,
                approved=1, verify_s_p50=40.0, verify_s_p90=80.0),
    _funnel_row(D2, A, prompted=1, still_muted=6),  # B: no row (the pipelines write one)
    _funnel_row(D3, B, prompted=5, join_requests=1, expired=1),
]  # fmt: skip


def test_funnel_days_are_summed_in_the_database(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    write_rows(db_url, {"analytics_funnel_daily": FUNNEL_ROWS})
    run = DirectRun(engine, OPERATOR)
    days = run("funnel_days", start=D1, end=D3, groups=())
    assert days["day"].tolist() == [D1, D2, D3]
    assert days["prompted"].tolist() == [3, 1, 5]
    # each group's latest state carried: B's 1 on day 2, A's 6 on day 3
    assert days["backlog"].tolist() == [5, 7, 6]
    # day 1: (10 * 1 + 40 * 3) / 4 and (20 + 240) / 4; days without an unmute have none
    assert days["verify_s_p50"].tolist()[0] == 32.5 and days["verify_s_p90"].tolist()[0] == 65.0
    assert days[["verify_s_p50", "verify_s_p90"]].iloc[1:].isna().all().all()
    one = run("funnel_days", start=D1, end=D3, groups=(B,))
    assert one["verify_s_p50"].tolist()[0] == 40.0  # one group: its own figure
    assert one["backlog"].tolist() == [1, 0]

    page = funnel.load(run, DateRange(D1, D3), (), {}, page=0)
    assert page is not None
    assert page.stages.set_index("stage")["users"]["prompted"] == 9
    assert page.per_group.total == 2
    assert page.per_group.rows["group_id"].tolist() == [B, A]  # most prompted: 6 vs 3
    assert page.per_group.rows["backlog"].tolist() == [0, 6]  # B's latest row: day 3
    assert page.per_group.rows["group"].tolist() == [f"Group 01 ({B})", f"Group 00 ({A})"]
    assert page.requests.rows[["group_id", "join_requests"]].to_numpy().tolist() == [[B, 3]]
    assert page.join_requests == 3 and page.backlog == 6
    # a page of one: B, then A; the join-request groups are their own table
    span = {"start": D1, "end": D3, "groups": (), "size": 1}
    first, asked = run("funnel_group_tables", **span)
    second, _ = run("funnel_group_tables", **span, page=1)
    beyond, asked_beyond = run("funnel_group_tables", **span, page=3, requests_page=3)
    assert [first.rows["group_id"].tolist(), second.rows["group_id"].tolist()] == [[B], [A]]
    assert first.total == second.total == beyond.total == 2 and beyond.rows.empty
    assert asked.rows["group_id"].tolist() == [B] and asked.total == asked_beyond.total == 1


def test_funnel_page_reads_the_all_groups_rollup(db_url: str, engine: sa.Engine) -> None:
    """With no group selected the page reads the pipelines' rollup (built here by its
    transform from the same rows); a selection still sums its groups' rows."""
    _world(db_url)
    # as the pipelines write them: a row every day a group's backlog is not zero
    complete = [*FUNNEL_ROWS, _funnel_row(D2, B, still_muted=1), _funnel_row(D3, A, still_muted=6)]
    totals = funnel_totals(pl_frame(complete)).to_dicts()
    write_rows(
        db_url,
        {"analytics_funnel_daily": complete, "analytics_all_groups_funnel_daily": totals},
    )
    run = DirectRun(engine, OPERATOR)
    seen = _statements(engine)
    days = run("funnel_days", start=D1, end=D3, groups=())
    assert any("analytics_all_groups_funnel_daily" in s for s in seen)
    assert not any("FROM analytics_funnel_daily" in s for s in seen)
    assert days["backlog"].tolist() == [5, 7, 6]
    assert days["prompted"].tolist() == [3, 1, 5]
    assert days["verify_s_p50"].tolist()[0] == 32.5
    assert days["approved"].tolist() == [1, 0, 0] and days["expired"].tolist() == [0, 0, 1]
    rows = run("funnel_days", start=D1, end=D3, groups=(A, B))
    pd.testing.assert_frame_equal(
        days.drop(columns=["verify_s_p50", "verify_s_p90"]),
        rows.drop(columns=["verify_s_p50", "verify_s_p90"]),
        check_dtype=False,
    )


def pl_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(pl.col("day").cast(pl.Date))


def _statements(engine: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


# --------------------------------------------------------------------------- verification


def test_verification_reads_the_all_groups_rollup(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    per_group = [
        dict(day=DAY, group_id=g, status="success", cached=True, error_type=None,
             trigger="join", checks=2, latency_ms_sum=10.0, latency_ms_max=6.0)
        for g in GROUP_IDS[:3]
    ]  # fmt: skip
    rollup = [
        dict(day=DAY, status="success", cached=True, error_type=None, trigger="join",
             checks=6, latency_ms_sum=30.0, latency_ms_max=6.0)
    ]  # fmt: skip
    write_rows(
        db_url,
        {
            "analytics_verification_daily": per_group,
            "analytics_all_groups_verification_daily": rollup,
        },
    )
    run = DirectRun(engine, OPERATOR)
    seen = _statements(engine)
    page = verification.load(run, DateRange(DAY, DAY), ())
    assert page is not None and int(page.daily["checks"].sum()) == 6
    assert not any("FROM analytics_verification_daily" in s for s in seen)
    mine = verification.load(DirectRun(engine, _owner()), DateRange(DAY, DAY), ())
    assert mine is not None and int(mine.daily["checks"].sum()) == 6  # their 3 groups' rows
    one = verification.load(run, DateRange(DAY, DAY), (GROUP_IDS[0],))
    assert one is not None and int(one.daily["checks"].sum()) == 2
