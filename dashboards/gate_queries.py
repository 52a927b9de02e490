"""Queries over the gate's own analytics (issue 12): the verification funnel, what the gate did
for each channel, the Telegram API budget, forum topics and invite links.

Same rules as :mod:`dashboards.queries`, which names these loaders in its ``QUERIES``: analytics
tables only, every query bounded by a ``day`` range (each of these tables has a unique key that
starts with ``day``), a synchronous engine in, a frame out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.models import (
    AnalyticsAllChannelsDaily,
    AnalyticsAllGroupsDaily,
    AnalyticsApiBudgetDaily,
    AnalyticsBotRightsDaily,
    AnalyticsChannelDaily,
    AnalyticsFunnelDaily,
    AnalyticsFunnelLanguageDaily,
    AnalyticsInviteLinkDaily,
    AnalyticsTopicDaily,
    measure_columns,
)
from dashboards.scope import Scope
from dashboards.sql import GroupIds, covers, isum

FUNNEL = AnalyticsFunnelDaily.__table__
FUNNEL_LANGUAGES = AnalyticsFunnelLanguageDaily.__table__
CHANNEL_DAILY = AnalyticsChannelDaily.__table__
API_BUDGET = AnalyticsApiBudgetDaily.__table__
TOPICS = AnalyticsTopicDaily.__table__
INVITE_LINKS = AnalyticsInviteLinkDaily.__table__
BOT_RIGHTS = AnalyticsBotRightsDaily.__table__
ALL_GROUPS = AnalyticsAllGroupsDaily.__table__
ALL_CHANNELS = AnalyticsAllChannelsDaily.__table__

FUNNEL_MEASURES = measure_columns(FUNNEL)
CHANNEL_MEASURES = measure_columns(CHANNEL_DAILY)
BUDGET_MEASURES = measure_columns(API_BUDGET)


def load_funnel(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """The funnel rows of the range as stored: one per day and group.

    Not summed in SQL: the verification-time percentiles of two groups do not add up, and the
    backlog (``still_muted``) is a state whose latest value per group the pages need.
    """
    t = FUNNEL
    stmt = (
        sa.select(t.c.day, t.c.group_id, *(t.c[m] for m in FUNNEL_MEASURES))
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .order_by(t.c.day, t.c.group_id)
    )
    return pd.read_sql_query(stmt, engine)


def load_funnel_languages(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Per prompt language over the range and groups: ``prompted`` and ``passed`` summed
    (user-days, like the funnel's counts), most prompted first."""
    t = FUNNEL_LANGUAGES
    prompted = isum(t.c.prompted).label("prompted")
    stmt = (
        sa.select(t.c.lang, prompted, isum(t.c.passed).label("passed"))
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .group_by(t.c.lang)
        .order_by(prompted.desc(), t.c.lang)
    )
    return pd.read_sql_query(stmt, engine)


def load_channel_days(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, channels: GroupIds = ()
) -> pd.DataFrame:
    """Per day and channel: joins, leaves, joins after a prompt, leaves within 7 days of an
    unmute, the day's last subscriber count (every channel the viewer may see, or only those
    of ``channels``: the group filter does not apply)."""
    t = CHANNEL_DAILY
    chosen = t.c.channel_id.in_([int(c) for c in channels]) if channels else sa.true()
    stmt = (
        sa.select(t.c.day, t.c.channel_id, *(t.c[m] for m in CHANNEL_MEASURES))
        .where(t.c.day.between(start, end), scope.channel_filter(t.c.channel_id), chosen)
        .order_by(t.c.day, t.c.channel_id)
    )
    return pd.read_sql_query(stmt, engine)


def load_api_budget(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The Telegram API budget per day: calls, sends, their peaks, RetryAfter errors, human
    messages and calls per message (every group's: the operator's alone)."""
    scope.require_operator("the API budget")
    t = API_BUDGET
    stmt = (
        sa.select(t.c.day, *(t.c[m] for m in BUDGET_MEASURES))
        .where(t.c.day.between(start, end))
        .order_by(t.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def topic_totals(
    scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> tuple[sa.Select[Any], list[sa.ColumnElement[Any]]]:
    """Per group and forum topic over the range: messages, the most active users of one day
    (distinct users do not add up over days) and the days with messages; and the order,
    busiest first."""
    t = TOPICS
    messages = isum(t.c.messages).label("messages")
    stmt = (
        sa.select(
            t.c.group_id,
            t.c.message_thread_id,
            messages,
            sa.func.max(t.c.active_users).label("peak_active_users"),
            sa.func.count().label("days"),
        )
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .group_by(t.c.group_id, t.c.message_thread_id)
    )
    return stmt, [messages.desc(), t.c.group_id, t.c.message_thread_id]


def load_topics(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Every row of :func:`topic_totals`, busiest first."""
    stmt, order = topic_totals(scope, start, end, groups)
    return pd.read_sql_query(stmt.order_by(*order), engine)


def invite_link_totals(
    scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> tuple[sa.Select[Any], list[sa.ColumnElement[Any]]]:
    """Per group and named invite link over the range: joins, joiners who passed the gate and
    joiners who left (each the same day as their join); and the order, most joins first."""
    t = INVITE_LINKS
    joins = isum(t.c.joins).label("joins")
    stmt = (
        sa.select(
            t.c.group_id,
            t.c.invite_link_name,
            joins,
            isum(t.c.passed).label("passed"),
            isum(t.c.left).label("left"),
        )
        .where(t.c.day.between(start, end), scope.group_filter(t.c.group_id, groups))
        .group_by(t.c.group_id, t.c.invite_link_name)
    )
    return stmt, [joins.desc(), t.c.group_id, t.c.invite_link_name]


def load_invite_links(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Every row of :func:`invite_link_totals`, most joins first."""
    stmt, order = invite_link_totals(scope, start, end, groups)
    return pd.read_sql_query(stmt.order_by(*order), engine)


def load_gate_days(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> pd.DataFrame:
    """Per day: users prompted and passed (the groups'), subscribers produced (every channel's
    ``joins_after_prompt``, of the viewer's channels), and how many funnel and channel rows
    there were: the Overview's gate figures without fetching every group's row. Every group:
    the all-groups and all-channels rollups' rows, when they cover the range."""
    f, c, a = FUNNEL, CHANNEL_DAILY, ALL_GROUPS
    if scope.every_group(groups) and all_groups_covers(engine, start, end):
        # every group: the rollup's one row per day (users distinct over all groups)
        funnel: sa.Select[Any] = sa.select(
            a.c.day,
            a.c.prompted,
            a.c.gate_passed.label("passed"),
            sa.literal(0).label("produced"),
            a.c.funnel_groups.label("funnel_rows"),
            sa.literal(0).label("channel_rows"),
        ).where(a.c.day.between(start, end), a.c.funnel_groups > 0)
    else:
        funnel = sa.select(
            f.c.day,
            f.c.prompted,
            f.c.passed,
            sa.literal(0).label("produced"),
            sa.literal(1).label("funnel_rows"),
            sa.literal(0).label("channel_rows"),
        ).where(f.c.day.between(start, end), scope.group_filter(f.c.group_id, groups))
    channels: sa.Select[Any] = sa.select(
        c.c.day,
        sa.literal(0),
        sa.literal(0),
        c.c.joins_after_prompt,
        sa.literal(0),
        sa.literal(1),
    ).where(c.c.day.between(start, end), scope.channel_filter(c.c.channel_id))
    if scope.every_group(groups) and covers(engine, ALL_CHANNELS, start, end):
        # every channel (the operator's): the channels' rollup, one row per day
        k = ALL_CHANNELS
        channels = sa.select(
            k.c.day,
            sa.literal(0),
            sa.literal(0),
            k.c.joins_after_prompt,
            sa.literal(0),
            k.c.channels,
        ).where(k.c.day.between(start, end))
    rows = sa.union_all(funnel, channels).subquery()
    measures = ("prompted", "passed", "produced", "funnel_rows", "channel_rows")
    stmt = (
        sa.select(rows.c.day, *(isum(rows.c[m]).label(m) for m in measures))
        .group_by(rows.c.day)
        .order_by(rows.c.day)
    )
    return pd.read_sql_query(stmt, engine)


def load_backlog(
    engine: Engine, scope: Scope, start: dt.date, end: dt.date, groups: GroupIds = ()
) -> int | None:
    """Users still muted at the end of the range: each group's ``still_muted`` on its latest
    day in the range, summed; None when the range has no funnel row. Every group: the
    rollup's ``still_muted`` (that sum) on its latest day in the range with a funnel row."""
    if scope.every_group(groups) and all_groups_covers(engine, start, end):
        a = ALL_GROUPS
        latest_day = (
            sa.select(sa.func.max(a.c.day))
            .where(a.c.day.between(start, end), a.c.funnel_groups > 0)
            .scalar_subquery()
        )
        with engine.connect() as conn:
            found = conn.execute(sa.select(a.c.still_muted).where(a.c.day == latest_day)).scalar()
        return None if found is None else int(found)
    f = FUNNEL
    in_range = (f.c.day.between(start, end), scope.group_filter(f.c.group_id, groups))
    latest = (
        sa.select(f.c.group_id, sa.func.max(f.c.day).label("day"))
        .where(*in_range)
        .group_by(f.c.group_id)
        .subquery()
    )
    stmt = sa.select(isum(f.c.still_muted)).join_from(
        f, latest, sa.and_(f.c.group_id == latest.c.group_id, f.c.day == latest.c.day)
    )
    with engine.connect() as conn:
        found = conn.execute(stmt).scalar()
    return None if found is None else int(found)


def all_groups_covers(engine: Engine, start: dt.date, end: dt.date) -> bool:
    """Whether the all-groups rollup has a row in the range (one index probe). Without one
    (days materialized before the rollup existed) the per-group rows are summed instead."""
    stmt = sa.select(sa.exists().where(ALL_GROUPS.c.day.between(start, end)))
    with engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())


def load_bot_rights(engine: Engine, scope: Scope, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The bot's rights per day and chat in the range, as stored (every chat the viewer may
    see: channels are no groups, so the group filter does not apply)."""
    t = BOT_RIGHTS
    stmt = (
        sa.select(*(c for c in t.c if c.name != "id"))
        .where(t.c.day.between(start, end), scope.chat_filter(t.c.chat_id))
        .order_by(t.c.day, t.c.chat_id)
    )
    return pd.read_sql_query(stmt, engine)
