"""The queries that keep the dashboard's cost flat at 13,000 groups: the sidebar's group search,
titles of the groups a page shows, and every per-group (or per-channel) table a page at a time
(:class:`dashboards.paging.Paged`: ``ORDER BY ... LIMIT ... OFFSET`` in SQL, and the total).

Same rules as :mod:`dashboards.queries`, which names these loaders in its ``QUERIES``:
analytics tables and configuration only, every query within the viewer's scope and (for daily
tables) bounded by a ``day`` range, a synchronous engine in, a frame or a page out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.models import (
    AnalyticsAllGroupsFunnelDaily,
    AnalyticsAllGroupsMembersDaily,
    AnalyticsBotRights7d,
    AnalyticsChannel7d,
    AnalyticsFunnel7d,
    AnalyticsGroup7d,
    AnalyticsGroupDaily,
    AnalyticsTopic7d,
    EnforcedChannel,
    MemberCountSnapshot,
    ProtectedGroup,
)
from dashboards.gate_queries import (
    BOT_RIGHTS,
    CHANNEL_DAILY,
    FUNNEL,
    TOPICS,
    invite_link_totals,
    topic_totals,
)
from dashboards.paging import PAGE_SIZE, Paged, paged
from dashboards.scope import Scope
from dashboards.sql import GroupIds, isum
from dashboards.weeks import week_serves

GROUPS = ProtectedGroup.__table__
CHANNELS = EnforcedChannel.__table__
GROUP_DAILY = AnalyticsGroupDaily.__table__
GROUP_7D = AnalyticsGroup7d.__table__
FUNNEL_TOTALS = AnalyticsAllGroupsFunnelDaily.__table__
FUNNEL_7D = AnalyticsFunnel7d.__table__
CHANNEL_7D = AnalyticsChannel7d.__table__
TOPIC_7D = AnalyticsTopic7d.__table__
RIGHTS_7D = AnalyticsBotRights7d.__table__
SNAPSHOTS = MemberCountSnapshot.__table__
MEMBERS = AnalyticsAllGroupsMembersDaily.__table__

SEARCH_LIMIT = 50
"""Groups the sidebar's search offers at once."""
RANKED = ("verifications", "passed", "failed", "messages", "joins", "leaves")
"""The measures of the groups' ranking (what the Groups page shows of each group)."""
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


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its wildcards escaped with ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def load_group_search(
    engine: Engine, scope: Scope, text: str = "", limit: int = SEARCH_LIMIT
) -> Paged:
    """The viewer's groups whose title contains ``text`` (any case), or whose id does: the
    first ``limit`` by title (every group when ``text`` is blank), and how many match."""
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title).where(scope.group_filter(t.c.id))
    text = text.strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            sa.or_(
                t.c.title.ilike(pattern, escape="\\"),
                sa.cast(t.c.id, sa.String()).like(pattern, escape="\\"),
            )
        )
    return paged(engine, stmt, [t.c.title, t.c.id], 0, limit, aggregate=False)


def load_group_titles(engine: Engine, scope: Scope, ids: GroupIds) -> dict[int, str]:
    """Title ("" when untitled) of each of ``ids`` the viewer may see."""
    allowed = scope.groups(ids)
    if allowed is not None and not allowed:
        return {}
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title).where(t.c.id.in_([int(g) for g in ids]))
    with engine.connect() as conn:
        return {
            int(g): title or "" for g, title in conn.execute(stmt.where(scope.group_filter(t.c.id)))
        }


def load_group_counts(engine: Engine, scope: Scope) -> dict[str, int]:
    """The viewer's protected groups: ``enabled`` and ``disabled``."""
    t = GROUPS
    enabled = sa.func.count().filter(t.c.enabled)
    stmt = sa.select(enabled, sa.func.count()).where(scope.group_filter(t.c.id))
    with engine.connect() as conn:
        on, every = conn.execute(stmt).one()
    return {"enabled": int(on or 0), "disabled": int(every or 0) - int(on or 0)}


def load_groups_page(engine: Engine, scope: Scope, page: int = 0, size: int = PAGE_SIZE) -> Paged:
    """The viewer's protected groups by title: id, title, enabled, member_count,
    last_sync_at."""
    t = GROUPS
    stmt = sa.select(t.c.id, t.c.title, t.c.enabled, t.c.member_count, t.c.last_sync_at).where(
        scope.group_filter(t.c.id)
    )
    return paged(engine, stmt, [t.c.title, t.c.id], page, size, aggregate=False)


def load_largest_groups(
    engine: Engine, scope: Scope, groups: GroupIds = (), limit: int = 10
) -> list[int]:
    """The ``limit`` selected (every: the viewer's) groups with the most members (the latest
    sync), largest first."""
    t = GROUPS
    stmt = (
        sa.select(t.c.id)
        .where(scope.group_filter(t.c.id, groups))
        .order_by(t.c.member_count.desc().nulls_last(), t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [int(g) for g in conn.execute(stmt).scalars()]


def load_channels_page(engine: Engine, scope: Scope, page: int = 0, size: int = PAGE_SIZE) -> Paged:
    """The viewer's enforced channels, most subscribers first: id, username, title,
    subscriber_count, last_sync_at."""
    t = CHANNELS
    stmt = sa.select(t.c.id, t.c.username, t.c.title, t.c.subscriber_count, t.c.last_sync_at).where(
        scope.channel_filter(t.c.id)
    )
    return paged(
        engine,
        stmt,
        [t.c.subscriber_count.desc().nulls_last(), t.c.id],
        page,
        size,
        aggregate=False,
    )


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


def load_channel_ranking(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, page: int = 0, size: int = PAGE_SIZE
) -> Paged:
    """Per channel with rows in the range, most produced subscribers first: joins, leaves,
    ``joins_after_prompt``, ``leaves_after_unmute_7d`` and ``subscribers`` (the newest count
    in the range)."""
    c = CHANNEL_DAILY
    flows = ("joins", "leaves", "joins_after_prompt", "leaves_after_unmute_7d")
    if week_serves(engine, CHANNEL_7D, CHANNEL_DAILY, start, end):  # one row a channel
        w = CHANNEL_7D
        stmt = sa.select(w.c.channel_id, *(w.c[m] for m in flows)).where(
            w.c.day == end, scope.channel_filter(w.c.channel_id)
        )
        order = [w.c.joins_after_prompt.desc(), w.c.channel_id]
        found = paged(engine, stmt, order, page, size, aggregate=False)
    else:
        sums = {m: isum(c.c[m]).label(m) for m in flows}
        stmt = (
            sa.select(c.c.channel_id, *sums.values())
            .where(c.c.day.between(start, end), scope.channel_filter(c.c.channel_id))
            .group_by(c.c.channel_id)
        )
        order = [sums["joins_after_prompt"].desc(), c.c.channel_id]
        found = paged(engine, stmt, order, page, size)
    ids = [int(x) for x in found.rows["channel_id"]]
    counted: dict[int, int] = {}
    if ids:
        newest = (
            sa.select(c.c.channel_id, sa.func.max(c.c.day).label("day"))
            .where(
                c.c.day.between(start, end),
                c.c.channel_id.in_(ids),
                c.c.subscriber_count.is_not(None),
            )
            .group_by(c.c.channel_id)
            .subquery()
        )
        stmt2 = sa.select(c.c.channel_id, c.c.subscriber_count).join_from(
            c, newest, sa.and_(c.c.channel_id == newest.c.channel_id, c.c.day == newest.c.day)
        )
        with engine.connect() as conn:
            counted = {int(x): int(n) for x, n in conn.execute(stmt2)}
    rows = found.rows.assign(subscribers=pd.array([counted.get(x) for x in ids], dtype="Int64"))
    return found.with_rows(rows)


def load_topics_page(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """:func:`dashboards.gate_queries.topic_totals` a page at a time, busiest first, and the
    messages of every page (``sums``)."""
    if week_serves(engine, TOPIC_7D, TOPICS, start, end):  # one row a topic
        w = TOPIC_7D
        stmt = sa.select(
            w.c.group_id, w.c.message_thread_id, w.c.messages, w.c.peak_active_users, w.c.days
        ).where(w.c.day == end, scope.group_filter(w.c.group_id, groups))
        order = [w.c.messages.desc(), w.c.group_id, w.c.message_thread_id]
        return paged(engine, stmt, order, page, size, aggregate=False, sums=("messages",))
    stmt, order = topic_totals(scope, start, end, groups)
    return paged(engine, stmt, order, page, size, sums=("messages",))


def load_invite_links_page(
    engine: Engine,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    groups: GroupIds = (),
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Paged:
    """:func:`dashboards.gate_queries.invite_link_totals` a page at a time, most joins
    first, and the joins of every page (``sums``)."""
    stmt, order = invite_link_totals(scope, start, end, groups)
    return paged(engine, stmt, order, page, size, sums=("joins",))


def _members_from_rollup(conn: sa.Connection, until: dt.datetime) -> tuple[int, int | None]:
    """(enabled groups created before ``until``, the members of the rollup's newest day before
    it; None without one)."""
    g = GROUPS
    existing = sa.select(sa.func.count()).where(g.c.enabled, g.c.created_at < until)
    last_day = until.date() - dt.timedelta(days=1) if until.time() == dt.time() else until.date()
    newest = (
        sa.select(MEMBERS.c.members)
        .where(MEMBERS.c.day <= last_day)
        .order_by(MEMBERS.c.day.desc())
        .limit(1)
    )
    members = conn.execute(newest).scalar()
    return int(conn.execute(existing).scalar() or 0), None if members is None else int(members)


def _has_rows(engine: Engine, table: sa.Table) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(sa.exists().select_from(table))).scalar())


def load_channel_titles(engine: Engine, scope: Scope, ids: GroupIds) -> pd.DataFrame:
    """id, username, title of each of the channels ``ids`` the viewer may see."""
    t = CHANNELS
    stmt = sa.select(t.c.id, t.c.username, t.c.title).where(
        t.c.id.in_([int(c) for c in ids]), scope.channel_filter(t.c.id)
    )
    return pd.read_sql_query(stmt, engine)


def load_member_totals(
    engine: Engine, scope: Scope, instants: Sequence[dt.datetime], groups: GroupIds = ()
) -> list[tuple[int, int | None]]:
    """Per instant: the selected (every: the viewer's) enabled groups created before it, and
    their members then (each group's newest snapshot before it, summed; None without any).

    Every group: the members of the rollup ``analytics_all_groups_members_daily`` on its newest
    day before the instant (the groups synced that day, summed), once the pipelines fill it.
    Otherwise one statement per instant, its lookups index probes inside the database: nothing
    per group comes back."""
    g, s = GROUPS, SNAPSHOTS
    out: list[tuple[int, int | None]] = []
    rollup = scope.every_group(groups) and _has_rows(engine, MEMBERS)
    with engine.connect() as conn:
        for until in instants:
            if rollup:
                out.append(_members_from_rollup(conn, until))
                continue
            newest = (
                sa.select(s.c.member_count)
                .where(s.c.chat_id == g.c.id, s.c.kind == "group", s.c.synced_at < until)
                .order_by(s.c.synced_at.desc())
                .limit(1)
                .correlate(g)
                .scalar_subquery()
            )
            counted = (
                sa.select(g.c.id, newest.label("members"))
                .where(g.c.enabled, g.c.created_at < until, scope.group_filter(g.c.id, groups))
                .subquery()
            )
            stmt = sa.select(
                sa.func.count(), isum(counted.c.members), sa.func.count(counted.c.members)
            )
            existing, members, known = conn.execute(stmt).one()
            out.append((int(existing), int(members) if known else None))
    return out


def load_rights_lacking(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, page: int = 0, size: int = 10
) -> Paged:
    """The chats where the bot lacked what the gate needs in the range, most seconds lacking
    first, a page at a time: every ``analytics_bot_rights_daily`` row of the page's chats in
    the range (the columns of ``bot_rights``), and the number of such chats."""
    t = BOT_RIGHTS
    in_range = (t.c.day.between(start, end), scope.chat_filter(t.c.chat_id))
    if week_serves(engine, RIGHTS_7D, BOT_RIGHTS, start, end):  # one row a chat lacking
        w = RIGHTS_7D
        ranked = sa.select(w.c.chat_id).where(w.c.day == end, scope.chat_filter(w.c.chat_id))
        by = [w.c.lacking_s.desc(), w.c.chat_id]
        found = paged(engine, ranked, by, page, size, aggregate=False)
    else:
        lacking = sa.func.sum(t.c.lacking_s)
        ranked = sa.select(t.c.chat_id).where(*in_range, t.c.lacking_s > 0).group_by(t.c.chat_id)
        found = paged(engine, ranked, [lacking.desc(), t.c.chat_id], page, size)
    ids = [int(c) for c in found.rows["chat_id"]]
    stmt = (
        sa.select(*(c for c in t.c if c.name != "id"))
        .where(*in_range, t.c.chat_id.in_(ids))
        .order_by(t.c.day, t.c.chat_id)
    )
    return found.with_rows(pd.read_sql_query(stmt, engine))


def load_rights_known(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> bool:
    """Whether some chat the viewer may see has a row of the bot's rights in the range."""
    t = BOT_RIGHTS
    stmt = sa.select(sa.exists().where(t.c.day.between(start, end), scope.chat_filter(t.c.chat_id)))
    with engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())
