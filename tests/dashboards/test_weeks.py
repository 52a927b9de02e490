"""The dashboard's rankings over a 7-day range read the trailing-week tables when they are at
least as new as the days they add up, and give the same rows as adding up the daily tables;
otherwise (another range, a week left behind, none computed) they add up the daily rows. On
both backends."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from core.models import measure_columns
from dashboards.paging import Paged
from dashboards.queries import DirectRun, make_engine
from dashboards.scope import Scope
from pipelines.assets.windows import WINDOW_SPECS, compute
from pipelines.io import replace_days, sync_engine
from sandbox.synth import write_rows

LAST = dt.date(2026, 3, 10)
DAYS = [LAST - dt.timedelta(days=i) for i in range(9, -1, -1)]  # 10 days
START = LAST - dt.timedelta(days=6)
GROUPS = [-1000 - i for i in range(12)]
CHANNELS = [-2000 - i for i in range(4)]
MADE = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
RANKINGS: dict[str, dict[str, Any]] = {
    "group_leaders": {"also": "messages", "top": 3, "size": 5},
    "group_ranking": {"order": "joins", "size": 4, "page": 1},
    "growth_groups": {"size": 5},
    "funnel_group_tables": {"size": 5},
    "channel_ranking": {"size": 3},
    "topics_page": {"size": 5},
    "rights_lacking": {"size": 4},
}
"""Each ranking the weeks serve, with a page that is not the whole list."""
NO_GROUPS = ("channel_ranking", "rights_lacking")
"""Rankings that take no group selection."""


def _zeros(table: str, **row: Any) -> dict[str, Any]:
    return {**dict.fromkeys(measure_columns(table), 0), **row}


def _world(url: str) -> None:
    rng = random.Random(5)
    n = rng.randint
    groups = [
        dict(id=g, title=f"G{i}", enabled=True, created_at=MADE, updated_at=MADE, settings={},
             member_count=100 * i, last_sync_at=None)
        for i, g in enumerate(GROUPS)
    ]  # fmt: skip
    channels = [
        dict(id=c, username=f"c{i}", title=f"C{i}", subscriber_count=i, last_sync_at=None,
             created_at=MADE)
        for i, c in enumerate(CHANNELS)
    ]  # fmt: skip
    group_daily, funnel, topics, channel, rights = [], [], [], [], []
    for day in DAYS:
        for g in GROUPS:
            if n(0, 5) == 0:
                continue  # a quiet day: no row
            checks = n(0, 40)
            leaves = n(0, 9)
            group_daily.append(_zeros(
                "analytics_group_daily", day=day, group_id=g, verifications=checks,
                passed=checks // 2, failed=checks // 4, messages=n(0, 80), joins=n(0, 9),
                leaves=leaves, kicks=leaves // 3, bots_joined=n(0, 2), active_users=n(0, 5),
            ))  # fmt: skip
            prompted = n(0, 10)
            funnel.append(_zeros(
                "analytics_funnel_daily", day=day, group_id=g, joined=prompted + 1,
                prompted=prompted, passed=prompted // 2, still_muted=n(0, 4),
                join_requests=n(0, 3) // 2,
            ))  # fmt: skip
            topics.append(dict(day=day, group_id=g, message_thread_id=n(0, 2),
                               messages=n(1, 30), active_users=n(0, 6)))  # fmt: skip
        for c in CHANNELS:
            joins = n(0, 20)
            channel.append(_zeros(
                "analytics_channel_daily", day=day, channel_id=c, joins=joins,
                joins_after_prompt=joins // 2, leaves=n(0, 5), subscriber_count=50,
            ))  # fmt: skip
        for chat in (*GROUPS[:6], *CHANNELS[:2]):
            kind = "channel" if chat in CHANNELS else "group"
            rights.append(dict(
                day=day, chat_id=chat, chat_kind=kind, status="administrator", is_admin=True,
                can_restrict_members=True, can_delete_messages=True, can_invite_users=True,
                changes=0, lacking_s=float(rng.choice([0, 0, 60, 3600, 7200])),
            ))  # fmt: skip
    write_rows(
        url,
        {
            "protected_groups": groups,
            "enforced_channels": channels,
            "analytics_group_daily": group_daily,
            "analytics_funnel_daily": funnel,
            "analytics_topic_daily": topics,
            "analytics_channel_daily": channel,
            "analytics_bot_rights_daily": rights,
        },
    )


def _mark(url: str, table: str, days: list[dt.date], at: dt.datetime) -> None:
    write_rows(
        url,
        {
            "analytics_materializations": [
                dict(table_name=table, partition_day=d, row_count=1, materialized_at=at)
                for d in days
            ]
        },
    )


def _weeks(url: str, at: dt.datetime) -> None:
    """Every week of the last 4 days from the daily tables as written, marked at ``at``; the
    daily days marked an hour before."""
    engine = sync_engine(url)
    for spec in WINDOW_SPECS:
        _mark(url, spec.source, DAYS, at - dt.timedelta(hours=1))
        computed = compute(spec, engine, DAYS[-4:])
        assert computed.check.ok, spec.table
        replace_days(engine, spec.table, computed.output, DAYS[-4:], materialized_at=at)
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _pages(run: DirectRun, start: dt.date, groups: tuple[int, ...] = ()) -> dict[str, Any]:
    out = {}
    for name, extra in RANKINGS.items():
        span = {"start": start, "end": LAST, **({} if name in NO_GROUPS else {"groups": groups})}
        found = run(name, **span, **extra)
        out[name] = found if isinstance(found, tuple) else (found,)
    return out


def _frames(found: tuple[Any, ...]) -> list[pd.DataFrame]:
    return [f.rows if isinstance(f, Paged) else f for f in found]


def _same(a: dict[str, Any], b: dict[str, Any], *, shown: bool = False) -> None:
    """``a`` and ``b`` give the same rankings (``shown``: none of them empty)."""
    for name in RANKINGS:
        for x, y in zip(a[name], b[name], strict=True):
            if isinstance(x, Paged):
                assert (x.total, x.sums) == (y.total, y.sums), name
                x, y = x.rows, y.rows
            assert not (shown and x.empty), name
            pd.testing.assert_frame_equal(
                x.reset_index(drop=True), y.reset_index(drop=True), check_dtype=False, obj=name
            )


def test_a_week_ranks_as_the_days_added_up(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    run = DirectRun(engine, Scope.operator())
    summed = _pages(run, START)
    mine = Scope.owner(77, GROUPS[:5], ())
    summed_owner = _pages(DirectRun(engine, mine), START)
    picked = _pages(run, START, groups=(GROUPS[1], GROUPS[3], GROUPS[4]))
    _weeks(db_url, dt.datetime(2026, 3, 11, 1, tzinfo=dt.UTC))
    _same(_pages(run, START), summed, shown=True)
    _same(_pages(DirectRun(engine, mine), START), summed_owner)
    _same(_pages(run, START, groups=(GROUPS[1], GROUPS[3], GROUPS[4])), picked)


def _scramble(url: str) -> None:
    """Wrong figures in every week: a page that reads them shows it (the chats lacking rights
    in the reverse order: that ranking shows the chats' daily rows, not the week's)."""
    with sync_engine(url).begin() as conn:
        for spec in WINDOW_SPECS:
            if spec.table == "analytics_bot_rights_7d":
                conn.execute(sa.text(f"UPDATE {spec.table} SET lacking_s = 1e6 - lacking_s"))
                continue
            for c in measure_columns(spec.table):
                conn.execute(sa.text(f'UPDATE {spec.table} SET "{c}" = "{c}" * 7 + 1'))


def test_only_a_week_as_new_as_its_days_is_read(db_url: str, engine: sa.Engine) -> None:
    _world(db_url)
    run = DirectRun(engine, Scope.operator())
    summed = _pages(run, START)
    written = dt.datetime(2026, 3, 11, 1, tzinfo=dt.UTC)
    _weeks(db_url, written)
    _scramble(db_url)
    read = _pages(run, START)
    for name in RANKINGS:  # the weeks are read: every ranking shows their (wrong) figures
        differs = [
            not x.reset_index(drop=True).equals(y.reset_index(drop=True))
            for x, y in zip(_frames(read[name]), _frames(summed[name]), strict=True)
        ]
        assert any(differs), name
    # another range: the days added up
    six = _pages(run, START + dt.timedelta(days=1))
    assert six["group_ranking"][0].total == summed["group_ranking"][0].total
    # a day of the week computed again after it: every ranking adds up the days again
    for spec in WINDOW_SPECS:
        _mark(db_url, spec.source, [LAST - dt.timedelta(days=3)], written + dt.timedelta(hours=1))
    _same(_pages(run, START), summed)
