"""The Funnel page's tables over a range: its days over the groups (the all-groups rollup, or
the groups' rows summed with the backlog carried), and its two per-group tables a page at a
time (``analytics_funnel_daily`` added up, or the week's ``analytics_funnel_7d``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboards.gate_queries import (
    FUNNEL,
)
from dashboards.page_queries.tables import (
    FUNNEL_7D,
    FUNNEL_TOTALS,
)
from dashboards.paging import PAGE_SIZE, Paged, paged
from dashboards.scope import Scope
from dashboards.sql import GroupIds, isum
from dashboards.weeks import week_serves

FUNNEL_FLOWS = (
    "joined",
    "prompted",
    "clicked",
    "passed",
    "unmuted",
    "denied_clicks",
    "messages_deleted",
    "timed_out",
)
FUNNEL_REQUESTS = ("join_requests", "approved", "declined", "expired")


def _funnel_sums(columns: tuple[str, ...]) -> list[sa.ColumnElement[int]]:
    return [isum(FUNNEL.c[c]).label(c) for c in columns]


def _funnel_week_tables(
    engine: Engine,
    scope: Scope,
    end: dt.date,
    groups: GroupIds,
    page: int,
    requests_page: int,
    size: int,
) -> tuple[Paged, Paged]:
    """:func:`load_funnel_group_tables` over the week ending at ``end`` from
    ``analytics_funnel_7d`` (one row a group, its backlog in it): each page an index range."""
    w = FUNNEL_7D
    mine = (w.c.day == end, scope.group_filter(w.c.group_id, groups))
    flows = sa.select(
        w.c.group_id, *(w.c[c] for c in FUNNEL_FLOWS), w.c.still_muted.label("backlog")
    ).where(*mine)
    asked = sa.select(w.c.group_id, *(w.c[c] for c in FUNNEL_REQUESTS)).where(
        *mine, w.c.join_requests > 0
    )
    return (
        paged(engine, flows, [w.c.prompted.desc(), w.c.group_id], page, size, aggregate=False),
        paged(
            engine,
            asked,
            [w.c.join_requests.desc(), w.c.group_id],
            requests_page,
            size,
            aggregate=False,
        ),
    )


def load_funnel_group_tables(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    requests_page: int = 0,
    size: int = PAGE_SIZE,
) -> tuple[Paged, Paged]:
    """The Funnel page's two per-group tables from one pass over the range's funnel rows:

    - page ``page`` of the groups with funnel rows, most prompted first: the flows summed
      (user-days) and ``backlog``, the group's ``still_muted`` on its latest day in the range;
    - page ``requests_page`` of the groups with a join request, most requests first: requests
      and their outcomes."""
    f = FUNNEL
    in_range = (f.c.day.between(start, end), scope.group_filter(f.c.group_id, groups))
    if week_serves(engine, FUNNEL_7D, FUNNEL, start, end):
        return _funnel_week_tables(engine, scope, end, groups, page, requests_page, size)
    totals = (
        sa.select(f.c.group_id, *_funnel_sums((*FUNNEL_FLOWS, *FUNNEL_REQUESTS)))
        .where(*in_range)
        .group_by(f.c.group_id)
        .subquery()
    )
    asked = totals.c.join_requests > 0
    ranked = sa.select(
        totals,
        sa.func.row_number()
        .over(order_by=[totals.c.prompted.desc(), totals.c.group_id])
        .label("_rank"),
        sa.func.row_number()
        .over(partition_by=asked, order_by=[totals.c.join_requests.desc(), totals.c.group_id])
        .label("_asked_rank"),
        sa.func.count().over().label("_total"),
        sa.func.sum(sa.case((asked, 1), else_=0)).over().label("_asked"),
    ).subquery()
    size = max(1, int(size))
    first, asked_first = max(0, int(page)) * size, max(0, int(requests_page)) * size
    stmt = sa.select(ranked).where(
        sa.or_(
            ranked.c._rank.between(first + 1, first + size),
            sa.and_(
                ranked.c.join_requests > 0,
                ranked.c._asked_rank.between(asked_first + 1, asked_first + size),
            ),
        )
    )
    rows = pd.read_sql_query(stmt, engine)
    total, asked_total = (int(rows[c].iloc[0]) if len(rows) else 0 for c in ("_total", "_asked"))
    if not len(rows) and (page or requests_page):  # pages past the end: count the groups
        counted = sa.select(
            sa.func.count(), sa.func.coalesce(isum(sa.case((asked, 1), else_=0)), 0)
        ).select_from(totals)
        with engine.connect() as conn:
            total, asked_total = (int(n) for n in conn.execute(counted).one())
    shown = rows[rows["_rank"].between(first + 1, first + size)].sort_values("_rank")
    requested = rows[
        (rows["join_requests"] > 0)
        & rows["_asked_rank"].between(asked_first + 1, asked_first + size)
    ].sort_values("_asked_rank")
    ids = [int(g) for g in shown["group_id"]]
    by_group: dict[int, int] = {}
    if ids:
        latest = (
            sa.select(f.c.group_id, sa.func.max(f.c.day).label("day"))
            .where(*in_range, f.c.group_id.in_(ids))
            .group_by(f.c.group_id)
            .subquery()
        )
        backlog = sa.select(f.c.group_id, f.c.still_muted).join_from(
            f, latest, sa.and_(f.c.group_id == latest.c.group_id, f.c.day == latest.c.day)
        )
        with engine.connect() as conn:
            by_group = {int(g): int(n) for g, n in conn.execute(backlog)}
    flows = shown[["group_id", *FUNNEL_FLOWS]].assign(backlog=[by_group.get(g, 0) for g in ids])
    return (
        Paged(rows=flows.reset_index(drop=True), total=total, page=max(0, page), size=size),
        Paged(
            rows=requested[["group_id", *FUNNEL_REQUESTS]].reset_index(drop=True),
            total=asked_total,
            page=max(0, requests_page),
            size=size,
        ),
    )


def load_funnel_days(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Per day with funnel rows, over the groups: the flows and join requests summed
    (user-days), ``backlog`` (each group's ``still_muted`` on its latest row up to that day in
    the range, summed) and the day's ``verify_s_p50``/``verify_s_p90``, the groups' figures
    weighted by their unmutes (exact for one group).

    Every group: the rollup ``analytics_all_groups_funnel_daily`` (one row a day) when it covers
    the range, whose backlog is the day's rows summed (the pipelines write a group's row every
    day its backlog is not zero, so nothing needs carrying); otherwise the funnel rows, summed
    in SQL."""
    columns = (*FUNNEL_FLOWS, *FUNNEL_REQUESTS)
    if scope.every_group(groups) and _funnel_totals_cover(engine, start, end):
        a = FUNNEL_TOTALS
        stmt: sa.Select[Any] = sa.select(
            a.c.day,
            *(a.c[c] for c in columns),
            a.c.still_muted.label("backlog"),
            a.c.verify_s_p50_mean.label("verify_s_p50"),
            a.c.verify_s_p90_mean.label("verify_s_p90"),
        ).where(a.c.day.between(start, end), a.c.groups > 0)
    else:
        f = FUNNEL
        timed = sa.and_(f.c.unmuted > 0, f.c.verify_s_p50.is_not(None))
        weight = sa.func.sum(sa.case((timed, f.c.unmuted), else_=None))

        def weighted(column: sa.ColumnElement[float]) -> sa.ColumnElement[float]:
            total = sa.func.sum(sa.case((timed, f.c.unmuted * column), else_=None))
            return total / sa.cast(weight, sa.Float())

        stmt = (
            sa.select(
                f.c.day,
                *_funnel_sums(columns),
                weighted(f.c.verify_s_p50).label("verify_s_p50"),
                weighted(f.c.verify_s_p90).label("verify_s_p90"),
            )
            .where(f.c.day.between(start, end), scope.group_filter(f.c.group_id, groups))
            .group_by(f.c.day)
        )
    frame = pd.read_sql_query(stmt.order_by(sa.text("day")), engine)
    if "backlog" not in frame:
        carried = pd.read_sql_query(_carried_backlog(scope, start, end, groups), engine)
        frame = frame.merge(carried, on="day", how="left")
        frame.insert(len(frame.columns) - 3, "backlog", frame.pop("backlog"))
    for column in ("verify_s_p50", "verify_s_p90"):  # seconds, to the tenth
        frame[column] = frame[column].astype(float).round(1)
    return frame


def _carried_backlog(
    scope: Scope, start: dt.date, end: dt.date, groups: GroupIds
) -> sa.Select[Any]:
    """day, backlog: per day with funnel rows, each group's ``still_muted`` on its latest row
    up to that day in the range, summed."""
    f = FUNNEL
    in_range = (f.c.day.between(start, end), scope.group_filter(f.c.group_id, groups))

    def rows() -> sa.Subquery:
        return sa.select(f.c.day, f.c.group_id, f.c.still_muted).where(*in_range).subquery()

    days, before, kept = sa.select(f.c.day).where(*in_range).distinct().subquery(), rows(), rows()
    latest = (
        sa.select(days.c.day, before.c.group_id, sa.func.max(before.c.day).label("at"))
        .join_from(days, before, before.c.day <= days.c.day)
        .group_by(days.c.day, before.c.group_id)
        .subquery()
    )
    return (
        sa.select(latest.c.day, isum(kept.c.still_muted).label("backlog"))
        .join_from(
            latest, kept, sa.and_(kept.c.group_id == latest.c.group_id, kept.c.day == latest.c.at)
        )
        .group_by(latest.c.day)
    )


def _funnel_totals_cover(engine: Engine, start: dt.date, end: dt.date) -> bool:
    """Whether the all-groups funnel rollup has a row in the range (one index probe)."""
    stmt = sa.select(sa.exists().where(FUNNEL_TOTALS.c.day.between(start, end)))
    with engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())
