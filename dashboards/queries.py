"""Every query the dashboard runs: analytics tables, snapshots, summaries, freshness metadata,
alerts.

The dashboard never reads raw logs. With no group selected, the per-day figures come from the
all-groups rollup ``analytics_all_groups_daily`` (one row per day, written by the pipelines)
instead of a sum over every group's rows, so their cost does not grow with the number of
groups; a range the rollup does not cover yet (not materialized since the upgrade) falls back
to the sum. Every query over a daily table is bounded by a ``day`` range
(each analytics table has an index that starts with ``day``), so its cost follows the size of
the summarized range, not the volume of raw events behind it.

Each ``load_*`` function is plain Python: a synchronous engine (psycopg2 / pysqlite) in, a
frame (or a value) out. :data:`QUERIES` names them, and a :class:`Run` runs one by name: the
pages use :class:`dashboards.cache.CachedRun` (the Streamlit cache), the benchmark and tests
:class:`DirectRun` (uncached).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.db import UTCDateTime
from core.models import (
    AnalyticsAllGroupsDaily,
    AnalyticsAllGroupsHourly,
    AnalyticsAllGroupsVerificationDaily,
    AnalyticsApiCallsDaily,
    AnalyticsGroupDaily,
    AnalyticsHourlyActivity,
    AnalyticsLatencyHistogramDaily,
    AnalyticsMaterialization,
    AnalyticsVerificationDaily,
    EnforcedChannel,
    MemberCountSnapshot,
    ProtectedGroup,
    Summary,
    UpdateHealth,
    key_columns,
    measure_columns,
)
from dashboards.alert_queries import load_alerts, load_open_alerts
from dashboards.gate_queries import (
    API_BUDGET,
    BOT_RIGHTS,
    CHANNEL_DAILY,
    FUNNEL,
    INVITE_LINKS,
    TOPICS,
    all_groups_covers,
    load_api_budget,
    load_backlog,
    load_bot_rights,
    load_channel_days,
    load_funnel,
    load_funnel_languages,
    load_gate_days,
    load_invite_links,
    load_topics,
)
from dashboards.page_queries import (
    load_channel_ranking,
    load_channel_titles,
    load_channels_page,
    load_funnel_days,
    load_funnel_group_tables,
    load_group_counts,
    load_group_leaders,
    load_group_ranking,
    load_group_search,
    load_group_titles,
    load_groups_page,
    load_growth_groups,
    load_invite_links_page,
    load_largest_groups,
    load_member_totals,
    load_rights_known,
    load_rights_lacking,
    load_topics_page,
)
from dashboards.scope import Scope, ScopeError, require_scope
from dashboards.sql import GroupIds as GroupIds  # what the pages' filters pass
from dashboards.sql import covers, day_of, isum, start_of
from dashboards.sql import make_engine as make_engine  # the engine the pages' runs use

VERIFICATION = AnalyticsVerificationDaily.__table__
API_CALLS = AnalyticsApiCallsDaily.__table__
HOURLY = AnalyticsHourlyActivity.__table__
HISTOGRAM = AnalyticsLatencyHistogramDaily.__table__
GROUP_DAILY = AnalyticsGroupDaily.__table__
ALL_GROUPS = AnalyticsAllGroupsDaily.__table__
ALL_GROUPS_HOURLY = AnalyticsAllGroupsHourly.__table__
ALL_GROUPS_VERIFICATION = AnalyticsAllGroupsVerificationDaily.__table__
SNAPSHOTS = MemberCountSnapshot.__table__
SUMMARIES = Summary.__table__
MATERIALIZATIONS = AnalyticsMaterialization.__table__
GROUPS = ProtectedGroup.__table__
CHANNELS = EnforcedChannel.__table__
DAILY_TABLES: dict[str, sa.FromClause] = {
    table.description: table  # a table's description is its name
    for table in (
        VERIFICATION,
        GROUP_DAILY,
        API_CALLS,
        FUNNEL,
        CHANNEL_DAILY,
        API_BUDGET,
        TOPICS,
        INVITE_LINKS,
        BOT_RIGHTS,
    )
}
"""Daily tables whose newest day an empty state may name."""
HOURLY_MEASURES = measure_columns(ALL_GROUPS_HOURLY)
"""Verifications, messages and joins: the all-groups hourly rollup's measures, which are
those of ``analytics_hourly_activity`` (summed)."""


# --------------------------------------------------------------------------- loaders


def load_groups(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Protected groups: id, title, enabled, member_count, last_sync_at, created_at."""
    stmt = sa.select(
        GROUPS.c.id,
        GROUPS.c.title,
        GROUPS.c.enabled,
        GROUPS.c.member_count,
        GROUPS.c.last_sync_at,
        GROUPS.c.created_at,
    ).where(scope.group_filter(GROUPS.c.id))
    stmt = stmt.order_by(GROUPS.c.title, GROUPS.c.id)
    return pd.read_sql_query(stmt, engine)


def load_channels(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Enforced channels: id, username, title, subscriber_count, last_sync_at."""
    stmt = sa.select(
        CHANNELS.c.id,
        CHANNELS.c.username,
        CHANNELS.c.title,
        CHANNELS.c.subscriber_count,
        CHANNELS.c.last_sync_at,
    ).where(scope.channel_filter(CHANNELS.c.id))
    stmt = stmt.order_by(CHANNELS.c.title, CHANNELS.c.id)
    return pd.read_sql_query(stmt, engine)


def load_verification(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Checks per day, status, cached, error type and trigger (summed over the groups; every
    group: the rollup ``analytics_all_groups_verification_daily``, when it covers the range)."""
    if scope.every_group(groups) and covers(engine, ALL_GROUPS_VERIFICATION, start, end):
        a = ALL_GROUPS_VERIFICATION
        rows = sa.select(*(a.c[c] for c in (*key_columns(a), *measure_columns(a))))
        return pd.read_sql_query(rows.where(a.c.day.between(start, end)).order_by(a.c.day), engine)
    t = VERIFICATION
    keys = [t.c[k] for k in key_columns(t) if k != "group_id"]  # summed over the groups
    stmt = (
        sa.select(
            *keys,
            isum(t.c.checks).label("checks"),
            sa.func.sum(t.c.latency_ms_sum).label("latency_ms_sum"),
            sa.func.max(t.c.latency_ms_max).label("latency_ms_max"),
        )
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .group_by(*keys)
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def load_cache_hits(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Checks answered from the membership cache, per day: day, hits."""
    if scope.every_group(groups):
        hits = ALL_GROUPS.c.cache_hits
        rollup = _all_groups(engine, start, end, [hits.label("hits")], active=hits > 0)
        if rollup is not None:
            return rollup
    t = VERIFICATION
    stmt = (
        sa.select(t.c.day, isum(t.c.checks).label("hits"))
        .where(t.c.day.between(start, end), t.c.cached, scope.group_filter(t.c.group_id, groups))
        .group_by(t.c.day)
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def _all_groups(
    engine: Engine,
    start: dt.date,
    end: dt.date,
    columns: Sequence[sa.ColumnElement[Any]],
    *,
    active: sa.ColumnElement[bool],
) -> pd.DataFrame | None:
    """``day`` and ``columns`` of the all-groups rollup for the days of the range where
    ``active`` holds (the days the per-group query would return); None when the rollup has
    no row in the range."""
    if not all_groups_covers(engine, start, end):
        return None
    t = ALL_GROUPS
    stmt = sa.select(t.c.day, *columns).where(t.c.day.between(start, end), active)
    return pd.read_sql_query(stmt.order_by(t.c.day), engine)


def load_histogram(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, source: str
) -> pd.DataFrame:
    """Latency histogram counts per day and bucket for ``source`` (verification | api): kept
    for every group together, so the operator's alone."""
    scope.require_operator("the latency histogram")
    t = HISTOGRAM
    stmt = (
        sa.select(t.c.day, t.c.bucket_le_ms, isum(t.c.count).label("count"))
        .where(t.c.day.between(start, end), t.c.source == source)
        .group_by(t.c.day, t.c.bucket_le_ms)
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def load_api_calls(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> pd.DataFrame:
    """API calls per day, method, success and error type (the operator's alone)."""
    scope.require_operator("the API calls")
    t = API_CALLS
    keys = [t.c[k] for k in key_columns(t)]
    stmt = (
        sa.select(
            *keys,
            isum(t.c.calls).label("calls"),
            sa.func.sum(t.c.latency_ms_sum).label("latency_ms_sum"),
            sa.func.max(t.c.latency_ms_max).label("latency_ms_max"),
        )
        .where(t.c.day.between(start, end))
        .group_by(*keys)
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def load_api_totals(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> pd.DataFrame:
    """API calls per day and success only: what the Overview's error rate needs (the
    operator's alone)."""
    scope.require_operator("the API calls")
    t = API_CALLS
    stmt = (
        sa.select(t.c.day, t.c.success, isum(t.c.calls).label("calls"))
        .where(t.c.day.between(start, end))
        .group_by(t.c.day, t.c.success)
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def load_hourly(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Verifications, messages and joins per day and hour (summed over the groups; every group:
    the all-groups hourly rollup, when it covers the range)."""
    if scope.every_group(groups) and all_groups_covers(engine, start, end):
        a = ALL_GROUPS_HOURLY
        stmt = (
            sa.select(a.c.day, a.c.hour, *(a.c[m] for m in HOURLY_MEASURES))
            .where(a.c.day.between(start, end))
            .order_by(a.c.day, a.c.hour)
        )
        return pd.read_sql_query(stmt, engine)
    t = HOURLY
    stmt = (
        sa.select(t.c.day, t.c.hour, *(isum(t.c[m]).label(m) for m in HOURLY_MEASURES))
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .group_by(t.c.day, t.c.hour)
        .order_by(t.c.day, t.c.hour)
    )
    return pd.read_sql_query(stmt, engine)


GROUP_MEASURES = measure_columns(GROUP_DAILY)
"""The summed columns of :func:`load_group_days` and :func:`load_group_totals`: the measures of
``analytics_group_daily`` (the all-groups rollup has them too). Their ``leaves``
are voluntary leaves: the table's ``leaves`` counts leaves and kicks, the dashboard shows them
apart (growth = joins - leaves - kicks)."""


def _group_measure(name: str) -> sa.ColumnElement[int]:
    t = GROUP_DAILY
    if name == "leaves":
        return isum(t.c.leaves - t.c.kicks).label("leaves")
    return isum(t.c[name]).label(name)


def _group_daily_by(
    engine: Engine, scope: Scope, key: str, start: dt.date, end: dt.date, groups: GroupIds
) -> pd.DataFrame:
    t = GROUP_DAILY
    stmt = (
        sa.select(t.c[key], *(_group_measure(m) for m in GROUP_MEASURES))
        .where(
            t.c.day.between(start, end),
            scope.group_filter(t.c.group_id, groups),
            # the pipelines also count a linked channel's joins and leaves under its own id:
            # they are the Growth page's channel figures, not a group's
            t.c.group_id.not_in(sa.select(CHANNELS.c.id)),
        )
        .group_by(t.c[key])
        .order_by(t.c[key])
    )
    return pd.read_sql_query(stmt, engine)


def load_group_days(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Per day, summed over the groups: messages, active users, checks, passed, failed, joins,
    voluntary leaves, kicks, bots joined, reactions, reacting users and silent reactors.

    Every group (no selection): the all-groups rollup, whose active users, reacting users and
    silent reactors are distinct over all groups (a person in two groups is one). Selected
    groups (and every group of a scoped viewer): their rows summed, those figures per-group
    distinct, summed."""
    if scope.every_group(groups):
        t = ALL_GROUPS
        measures = [
            (t.c.leaves - t.c.kicks).label("leaves") if m == "leaves" else t.c[m]
            for m in GROUP_MEASURES
        ]
        # the days a group row exists for: any activity of the group table's kinds
        active = sa.or_(
            *(t.c[m] > 0 for m in ("messages", "verifications", "joins", "leaves", "bots_joined")),
            t.c.reactions > 0,
            t.c.reacting_users > 0,
        )
        rollup = _all_groups(engine, start, end, measures, active=active)
        if rollup is not None:
            return rollup
    return _group_daily_by(engine, scope, "day", start, end, groups)


def load_group_totals(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Per group, summed over the days: the same measures as :func:`load_group_days`."""
    return _group_daily_by(engine, scope, "group_id", start, end, groups)


def load_counts_at(
    engine: Engine,
    scope: Scope,
    kind: str,
    instants: Sequence[dt.datetime],
    chat_ids: Sequence[int],
) -> pd.DataFrame:
    """The newest snapshot before each instant of each chat: at, chat_id, member_count,
    synced_at (``at`` is the index of the instant in ``instants``).

    One correlated lookup per chat and instant on the (chat_id, synced_at) index, all in one
    statement: the cost follows the number of chats, not the length of the history.
    """
    columns = ["at", "chat_id", "member_count", "synced_at"]
    chat_ids = scope.chats(chat_ids)
    if not chat_ids or not instants:
        return pd.DataFrame(columns=columns)
    s = SNAPSHOTS
    chats = GROUPS if kind == "group" else CHANNELS
    ids = [int(c) for c in chat_ids]
    parts = []
    for index, until in enumerate(instants):
        newest = (
            sa.select(s.c.id)
            .where(s.c.chat_id == chats.c.id, s.c.kind == kind, s.c.synced_at < until)
            .order_by(s.c.synced_at.desc())
            .limit(1)
            .correlate(chats)
            .scalar_subquery()
        )
        parts.append(
            sa.select(sa.literal(index).label("at"), newest.label("snapshot_id")).where(
                chats.c.id.in_(ids)
            )
        )
    latest = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    stmt = (
        sa.select(latest.c.at, s.c.chat_id, s.c.member_count, s.c.synced_at)
        .join_from(latest, s, s.c.id == latest.c.snapshot_id)
        .order_by(latest.c.at, s.c.chat_id)
    )
    return pd.read_sql_query(stmt, engine)


def load_snapshot_history(
    engine: Engine, scope: Scope, kind: str, start: dt.date, end: dt.date, chat_ids: Sequence[int]
) -> pd.DataFrame:
    """Daily member count (the day's highest snapshot) per chat: chat_id, day, member_count."""
    chat_ids = scope.chats(chat_ids)
    if not chat_ids:
        return pd.DataFrame(columns=["chat_id", "day", "member_count"])
    s = SNAPSHOTS
    day = day_of(s.c.synced_at, engine.dialect.name).label("day")
    stmt = (
        sa.select(s.c.chat_id, day, sa.func.max(s.c.member_count).label("member_count"))
        .where(
            s.c.chat_id.in_([int(c) for c in chat_ids]),
            s.c.kind == kind,
            s.c.synced_at >= start_of(start),
            s.c.synced_at < start_of(end + dt.timedelta(days=1)),
        )
        .group_by(s.c.chat_id, day)
        .order_by(s.c.chat_id, day)
    )
    return pd.read_sql_query(stmt, engine)


def load_freshness(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Per table: last materialized_at, newest raw event seen, newest partition day, runs."""
    t = MATERIALIZATIONS
    stmt = (
        sa.select(
            t.c.table_name,
            sa.func.max(t.c.materialized_at).label("last_materialized_at"),
            sa.func.max(t.c.newest_source_at).label("newest_source_at"),
            sa.func.max(t.c.partition_day).label("newest_partition"),
            sa.func.count().label("materializations"),
        )
        .group_by(t.c.table_name)
        .order_by(t.c.table_name)
    )
    frame = pd.read_sql_query(stmt, engine)
    # aggregates over UTCDateTime keep the type on PostgreSQL; make SQLite's text aware too
    for column in ("last_materialized_at", "newest_source_at"):
        frame[column] = [_aware(v) for v in frame[column]]
    return frame


def load_update_health(engine: Engine, scope: Scope, limit: int = 10) -> pd.DataFrame:
    """The bot's newest update-delivery health reports (``update_health``: freshness metadata
    about delivery, no personal data), newest first (the operator's alone)."""
    scope.require_operator("update-delivery health")
    t = UpdateHealth.__table__
    stmt = (
        sa.select(
            t.c.recorded_at,
            t.c.mode,
            t.c.interval_s,
            t.c.webhook_url_set,
            t.c.pending_update_count,
            t.c.last_error_at,
            t.c.last_error_message,
            t.c.updates,
            t.c.lag_p50_s,
            t.c.lag_max_s,
        )
        .order_by(t.c.recorded_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return pd.DataFrame(rows, columns=[c.name for c in stmt.selected_columns])


def _aware(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return UTCDateTime().process_result_value(value, sa.engine.default.DefaultDialect())


def load_newest_day(engine: Engine, scope: Scope, table: str | None = None) -> dt.date | None:
    """The newest day of ``table`` (one of :data:`DAILY_TABLES`), by default of the first daily
    analytics tables (for empty states); None when empty. A scoped viewer: the newest day of
    their groups' (or channels') rows; tables of neither are the operator's alone."""
    tables = (DAILY_TABLES[table],) if table else (VERIFICATION, GROUP_DAILY)
    with engine.connect() as conn:
        days = [
            conn.execute(sa.select(sa.func.max(t.c.day)).where(_chat_rows(scope, t))).scalar()
            for t in tables
        ]
    found = [d for d in days if d is not None]
    return max(found) if found else None


def _chat_rows(scope: Scope, table: sa.FromClause) -> sa.ColumnElement[bool]:
    """The rows of a daily table the viewer may see, by its group, channel or chat column."""
    if scope.is_operator:
        return sa.true()
    c = table.c
    if "group_id" in c:
        return scope.group_filter(c.group_id)
    if "channel_id" in c:
        return scope.channel_filter(c.channel_id)
    if "chat_id" in c:
        return scope.chat_filter(c.chat_id)
    scope.require_operator(f"{table.description}")
    return sa.false()  # (require_operator raised)


def load_summary_chats(
    engine: Engine, scope: Scope, groups: GroupIds = (), limit: int | None = None
) -> list[int]:
    """Protected groups (the selected ones, when any) that have at least one summary, by
    title: the first ``limit`` (every one when None; one index probe per group)."""
    t = SUMMARIES
    has_summary = sa.exists().where(t.c.chat_id == GROUPS.c.id)
    stmt = (
        sa.select(GROUPS.c.id)
        .where(has_summary, scope.group_filter(GROUPS.c.id, groups))
        .order_by(GROUPS.c.title, GROUPS.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [int(chat) for chat in conn.execute(stmt).scalars()]


def load_summaries(engine: Engine, scope: Scope, chat_id: int, limit: int = 500) -> pd.DataFrame:
    """Every summary of one chat, newest first (up to ``limit``)."""
    t = SUMMARIES
    stmt = (
        sa.select(
            t.c.id,
            t.c.summary_type,
            t.c.period_start,
            t.c.period_end,
            t.c.created_at,
            t.c.token_count,
            t.c.method,
            t.c.language,
            t.c.content,
        )
        .where(t.c.chat_id == int(chat_id), scope.group_filter(t.c.chat_id))
        .order_by(t.c.created_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    return pd.read_sql_query(stmt, engine)


QUERIES: dict[str, Callable[..., Any]] = {
    load.__name__.removeprefix("load_"): load
    for load in (
        load_groups,
        load_channels,
        load_verification,
        load_cache_hits,
        load_histogram,
        load_api_calls,
        load_api_totals,
        load_hourly,
        load_group_days,
        load_group_totals,
        load_counts_at,
        load_snapshot_history,
        load_freshness,
        load_update_health,
        load_newest_day,
        load_summary_chats,
        load_summaries,
        load_funnel,
        load_funnel_languages,
        load_channel_days,
        load_api_budget,
        load_topics,
        load_invite_links,
        load_gate_days,
        load_backlog,
        load_bot_rights,
        load_open_alerts,
        load_alerts,
        load_group_search,
        load_group_titles,
        load_group_counts,
        load_groups_page,
        load_largest_groups,
        load_channels_page,
        load_channel_titles,
        load_group_ranking,
        load_group_leaders,
        load_growth_groups,
        load_funnel_group_tables,
        load_funnel_days,
        load_channel_ranking,
        load_topics_page,
        load_invite_links_page,
        load_member_totals,
        load_rights_known,
        load_rights_lacking,
    )
}
"""Every query by name (``verification`` is :func:`load_verification`): what
:mod:`dashboards.cache` runs."""


class Run(Protocol):
    """Runs the query named ``query`` (a key of :data:`QUERIES`) with ``params``, within the
    viewer's :attr:`scope` (every query gets it; a run refuses to work without one)."""

    @property
    def scope(self) -> Scope: ...

    def __call__(self, query: str, /, **params: Any) -> Any: ...


def scoped_params(scope: object, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` and the viewer's ``scope`` for a query; :class:`ScopeError` when the run has
    no scope or the caller tries to pass another one."""
    if "scope" in params:
        raise ScopeError("a run passes its own scope: do not pass one")
    return {"scope": require_scope(scope), **params}


@dataclass(frozen=True)
class DirectRun:
    """Queries on ``engine`` within ``scope``, uncached."""

    engine: Engine
    scope: Scope

    def __call__(self, query: str, /, **params: Any) -> Any:
        return QUERIES[query](self.engine, **scoped_params(self.scope, params))
