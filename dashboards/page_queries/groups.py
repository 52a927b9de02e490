"""The groups ranked over a range (the Groups and Growth pages): ``analytics_group_daily``
added up per group, or, for the 7 days ending at a day, that week's row per group
(``analytics_group_7d``, :mod:`dashboards.weeks`), a page of it an index range."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.page_queries.tables import (
    CHANNELS,
    GROUP_7D,
    GROUP_DAILY,
    GROUPS,
)
from dashboards.paging import PAGE_SIZE, Paged, paged
from dashboards.scope import Scope
from dashboards.sql import GroupIds, isum
from dashboards.weeks import week_serves

RANKED = ("verifications", "passed", "failed", "messages", "joins", "leaves")
"""The measures of the groups' ranking (what the Groups page shows of each group)."""


def _group_measure(name: str, t: sa.Table = GROUP_DAILY) -> sa.ColumnElement[int]:
    if name == "leaves":  # voluntary leaves: the table's leaves count kicks too
        return isum(t.c.leaves - t.c.kicks).label("leaves")
    return isum(t.c[name]).label(name)


def _group_totals(
    scope: Scope, start: dt.date, end: dt.date, groups: GroupIds, *orders: str
) -> sa.Select[Any]:
    """Per group over the range (linked channels' own rows left out): the :data:`RANKED`
    measures of ``analytics_group_daily`` summed (leaves voluntary)."""
    _orderable(*orders)
    t = GROUP_DAILY
    return (
        sa.select(t.c.group_id, *(_group_measure(m) for m in RANKED))
        .where(
            t.c.day.between(start, end),
            scope.group_filter(t.c.group_id, groups),
            t.c.group_id.not_in(sa.select(CHANNELS.c.id)),
        )
        .group_by(t.c.group_id)
    )


def _orderable(*orders: str) -> None:
    for order in orders:
        if order not in RANKED:
            raise ValueError(f"cannot order groups by {order!r}")


def _week_measure(name: str) -> sa.ColumnElement[int]:
    t = GROUP_7D
    return (t.c.leaves - t.c.kicks) if name == "leaves" else t.c[name]


def _week_groups(scope: Scope, end: dt.date, groups: GroupIds) -> sa.Select[Any]:
    """Per group, the :data:`RANKED` measures of the week ending at ``end`` (one row a
    group, linked channels' own rows left out): what :func:`_group_totals` gives over that
    week, a page of it an index range (``analytics_group_7d``)."""
    t = GROUP_7D
    return sa.select(t.c.group_id, *(_week_measure(m).label(m) for m in RANKED)).where(
        t.c.day == end,
        scope.group_filter(t.c.group_id, groups),
        ~sa.exists().where(CHANNELS.c.id == t.c.group_id),
    )


def _group_week(engine: Engine, start: dt.date, end: dt.date) -> bool:
    return week_serves(engine, GROUP_7D, GROUP_DAILY, start, end)


def load_group_ranking(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    order: str = "verifications",
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """Per group over the range (:func:`_group_totals`), most ``order`` first."""
    if _group_week(engine, start, end):
        _orderable(order)
        week = _week_groups(scope, end, groups)
        by = [_week_measure(order).desc(), GROUP_7D.c.group_id]
        return paged(engine, week, by, page, size, aggregate=False)
    totals = _group_totals(scope, start, end, groups, order).subquery()
    stmt = sa.select(totals)
    return paged(engine, stmt, [totals.c[order].desc(), totals.c.group_id], page, size)


def load_group_leaders(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    order: str = "verifications",
    page: int = 0,
    size: int = PAGE_SIZE,
    also: str = "messages",
    top: int = 10,
) -> tuple[Paged, pd.DataFrame]:
    """:func:`load_group_ranking` by ``order`` and, from the same pass over the rows, the
    ``top`` groups by ``also`` (most first)."""
    if _group_week(engine, start, end):
        _orderable(order, also)
        week = _week_groups(scope, end, groups)
        ids = GROUP_7D.c.group_id
        found = paged(engine, week, [_week_measure(order).desc(), ids], page, size, aggregate=False)
        leaders = week.order_by(_week_measure(also).desc(), ids).limit(max(0, int(top)))
        return found, pd.read_sql_query(leaders, engine)
    totals = _group_totals(scope, start, end, groups, order, also).subquery()
    ranked = sa.select(
        totals,
        sa.func.row_number()
        .over(order_by=[totals.c[order].desc(), totals.c.group_id])
        .label("_rank"),
        sa.func.row_number()
        .over(order_by=[totals.c[also].desc(), totals.c.group_id])
        .label("_also"),
        sa.func.count().over().label("_total"),
    ).subquery()
    page, size = max(0, int(page)), max(1, int(size))
    first = page * size
    stmt = sa.select(ranked).where(
        sa.or_(ranked.c._rank.between(first + 1, first + size), ranked.c._also <= top)
    )
    rows = pd.read_sql_query(stmt, engine)
    total = int(rows["_total"].iloc[0]) if len(rows) else 0
    if not total and page:  # past the end of some rows? count them
        total = paged(engine, sa.select(totals), [totals.c.group_id], 0, 1).total
    columns = [c for c in rows.columns if not c.startswith("_")]
    shown = rows[rows["_rank"].between(first + 1, first + size)].sort_values("_rank")
    leaders = rows[rows["_also"] <= top].sort_values("_also")
    return (
        Paged(rows=shown[columns].reset_index(drop=True), total=total, page=page, size=size),
        leaders[columns].reset_index(drop=True),
    )


def load_growth_groups(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """The selected protected groups (every group of the viewer's when none), largest first by
    their latest synced member count: joins, voluntary leaves, kicks and bots joined over the
    range (0 without a row). The page's groups are picked first (an index-ordered read of
    ``protected_groups``), then only their flows are summed."""
    g, t = GROUPS, GROUP_DAILY
    catalog = sa.select(g.c.id.label("group_id"), g.c.member_count.label("members_now")).where(
        scope.group_filter(g.c.id, groups)
    )
    found = paged(
        engine, catalog, [g.c.member_count.desc().nulls_last(), g.c.id], page, size, aggregate=False
    )
    ids = [int(x) for x in found.rows["group_id"]]
    measures = ("joins", "leaves", "kicks", "bots_joined")
    flows = pd.DataFrame(columns=["group_id", *measures])
    if ids:
        if _group_week(engine, start, end):  # one row a group
            w = GROUP_7D
            stmt = sa.select(w.c.group_id, *(_week_measure(m).label(m) for m in measures)).where(
                w.c.day == end, w.c.group_id.in_(ids)
            )
        else:
            stmt = (
                sa.select(t.c.group_id, *(_group_measure(m) for m in measures))
                .where(t.c.day.between(start, end), t.c.group_id.in_(ids))
                .group_by(t.c.group_id)
            )
        flows = pd.read_sql_query(stmt, engine)
    rows = found.rows.merge(flows, on="group_id", how="left")
    for m in measures:
        rows[m] = rows[m].fillna(0).astype("int64")
    return found.with_rows(rows[["group_id", *measures, "members_now"]])
