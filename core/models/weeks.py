"""Trailing-week analytics tables (issue 28).

Per group (or channel, topic, chat), a daily table's rows over the 7 days ending at ``day``,
added up; what the dashboard's rankings read when the range shown is
those 7 days (its default), instead of adding up every group's 7 rows on each request. Their
figures are the daily tables' as the pages sum them (flows over the days: user-days), so a
ranking reads the same from either; the pages read one only while it is at least as new as
every daily day it covers (``analytics_materializations``), else they sum the daily rows.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import (
    NON_NEGATIVE,
    POSITIVE,
    SECONDS,
    _id,
)

WINDOW_DAYS = 7
"""The days a trailing table's row adds up: ``day`` and the 6 before it."""


class AnalyticsGroup7d(Base):
    """``analytics_group_daily`` over the 7 days ending at ``day``, per group: each count
    summed (``active_users``, ``reacting_users`` and ``silent_reactors`` as user-days)."""

    __tablename__ = "analytics_group_7d"
    __table_args__ = (
        sa.UniqueConstraint("day", "group_id"),
        # the rankings' default orders: a page of the top groups is an index range
        sa.Index(None, "day", "verifications"),
        sa.Index(None, "day", "messages"),
    )

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    messages: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    active_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    verifications: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    failed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    kicks: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    bots_joined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    reactions: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    reacting_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    silent_reactors: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsFunnel7d(Base):
    """``analytics_funnel_daily`` over the 7 days ending at ``day``, per group: the flows and
    join-request outcomes summed (user-days), and ``still_muted``, the group's value on its
    latest day with a row among the 7 (the backlog the Funnel page shows for a group)."""

    __tablename__ = "analytics_funnel_7d"
    __table_args__ = (
        sa.UniqueConstraint("day", "group_id"),
        sa.Index(None, "day", "prompted"),
        sa.Index(None, "day", "join_requests"),
    )

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    joined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    prompted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    clicked: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    unmuted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    denied_clicks: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    still_muted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    join_requests: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    approved: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    declined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    expired: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    messages_deleted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    timed_out: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsChannel7d(Base):
    """``analytics_channel_daily`` over the 7 days ending at ``day``, per linked channel: its
    joins, leaves, joins after a prompt and leaves after an unmute summed."""

    __tablename__ = "analytics_channel_7d"
    __table_args__ = (
        sa.UniqueConstraint("day", "channel_id"),
        sa.Index(None, "day", "joins_after_prompt"),
    )

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    channel_id: Mapped[int]
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins_after_prompt: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves_after_unmute_7d: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsTopic7d(Base):
    """``analytics_topic_daily`` over the 7 days ending at ``day``, per group and forum topic:
    human messages summed, the most active users of one day (distinct users do not add up over
    days) and the days with messages."""

    __tablename__ = "analytics_topic_7d"
    __table_args__ = (
        sa.UniqueConstraint("day", "group_id", "message_thread_id"),
        sa.Index(None, "day", "messages"),
    )

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    message_thread_id: Mapped[int]
    messages: Mapped[int] = mapped_column(info=POSITIVE)
    peak_active_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    days: Mapped[int] = mapped_column(info=POSITIVE)


class AnalyticsBotRights7d(Base):
    """``analytics_bot_rights_daily`` over the 7 days ending at ``day``, per chat that lacked
    what the gate needs on one of them: the seconds lacking summed and the days lacking."""

    __tablename__ = "analytics_bot_rights_7d"
    __table_args__ = (sa.UniqueConstraint("day", "chat_id"), sa.Index(None, "day", "lacking_s"))

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    chat_id: Mapped[int]
    lacking_s: Mapped[float] = mapped_column(info=NON_NEGATIVE | SECONDS)
    days_lacking: Mapped[int] = mapped_column(info=POSITIVE)
