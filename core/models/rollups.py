"""All-groups rollups: every group (or linked channel) together, one row per UTC ``day``:
what the dashboard reads with no group selected, so that no page adds up thousands of
per-group rows on request."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import (
    HOUR,
    KEY,
    MS,
    NON_NEGATIVE,
    POSITIVE,
    SECONDS,
    ErrorType,
    VerificationStatus,
    VerificationTrigger,
    _id,
    _isin,
)


class AnalyticsAllGroupsDaily(Base):
    """Every group together, per day: what the dashboard shows when no group is selected, so
    that no page sums thousands of per-group rows at request time.

    Counts are the sums of the per-group tables' rows (``analytics_group_daily`` and
    ``analytics_funnel_daily``, linked channels' own ids left out); distinct users are
    distinct over all groups, from the raw rows (a person active in two groups is one), and
    the verification-time percentiles are over every unmute of the day. One row per day of
    every materialized partition, zeros included.
    """

    __tablename__ = "analytics_all_groups_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    # analytics_group_daily, all groups
    messages: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    active_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    verifications: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    failed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    cache_hits: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    kicks: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    bots_joined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    reactions: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    reacting_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    silent_reactors: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    # analytics_funnel_daily, all groups
    funnel_groups: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    prompted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    clicked: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    gate_passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    unmuted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    denied_clicks: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    still_muted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    verify_s_p50: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)
    verify_s_p90: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)
    join_requests: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    approved: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    declined: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    expired: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    messages_deleted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    timed_out: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)


class AnalyticsAllGroupsHourly(Base):
    """Every group together, per day and UTC hour: ``analytics_hourly_activity``'s rows summed,
    for the dashboard's hourly charts with no group selected (24 rows a day at most, however
    many groups). One row per day and hour with any activity."""

    __tablename__ = "analytics_all_groups_hourly"
    __table_args__ = (sa.UniqueConstraint("day", "hour"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    hour: Mapped[int] = mapped_column(sa.SmallInteger, info=HOUR)
    verifications: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    messages: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsAllGroupsFunnelDaily(Base):
    """Every group's funnel summed, per day (an addition, issue 28): what the Funnel page
    shows per day with no group selected, so that it reads one row a day instead of every
    group's ``analytics_funnel_daily`` rows.

    Unlike ``analytics_all_groups_daily`` (users distinct over all groups), these are the
    per-group rows added up, as the Funnel page counts: user-days per group. ``groups``: the
    funnel rows (groups) that day; the counts are the rows' sums (``still_muted``: the backlog
    at the end of the day over the groups); ``timed_unmutes``: the unmutes of the rows with a
    time to verify; ``verify_s_p50_mean``, ``verify_s_p90_mean``: the rows' ``verify_s_p50``
    and ``verify_s_p90`` averaged with those unmutes as weights (NULL without any). One row per
    day with a funnel row."""

    __tablename__ = "analytics_all_groups_funnel_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    groups: Mapped[int] = mapped_column(info=POSITIVE)
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
    timed_unmutes: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    verify_s_p50_mean: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)
    verify_s_p90_mean: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)


class AnalyticsAllGroupsVerificationDaily(Base):
    """``analytics_verification_daily`` with every group together (an addition, issue 28):
    checks per day, status, cache use, error type and trigger, their latency sum and max, over
    every group's rows. What the Verification page reads with no group selected."""

    __tablename__ = "analytics_all_groups_verification_daily"
    __table_args__ = (sa.Index(None, "day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date] = mapped_column(info=KEY)
    status: Mapped[str] = mapped_column(sa.String(16), info=KEY | _isin(VerificationStatus))
    cached: Mapped[bool] = mapped_column(info=KEY)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=KEY | _isin(ErrorType))
    trigger: Mapped[str] = mapped_column(sa.String(16), info=KEY | _isin(VerificationTrigger))
    checks: Mapped[int] = mapped_column(info=POSITIVE)
    latency_ms_sum: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)
    latency_ms_max: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)


class AnalyticsAllGroupsMembersDaily(Base):
    """Every protected group's members per day (an addition, issue 28): ``synced_groups``, the
    protected groups with a member-count snapshot (``kind`` group) that day, and ``members``,
    the member count of each one's last snapshot that day, summed (a migrated group under its
    new id). What the Overview's member count reads with no group selected, instead of looking
    up every group's newest snapshot. One row per day with a snapshot."""

    __tablename__ = "analytics_all_groups_members_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    synced_groups: Mapped[int] = mapped_column(info=POSITIVE)
    members: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsAllChannelsDaily(Base):
    """Every linked channel's ``analytics_channel_daily`` rows added up, per day (an addition,
    issue 28): ``channels``, the rows (channels) that day, and ``joins``, ``leaves``,
    ``joins_after_prompt``, ``leaves_after_unmute_7d`` summed. What the Overview's subscribers
    produced by the gate read with no group selected. One row per day with a channel row."""

    __tablename__ = "analytics_all_channels_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    channels: Mapped[int] = mapped_column(info=POSITIVE)
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins_after_prompt: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves_after_unmute_7d: Mapped[int] = mapped_column(info=NON_NEGATIVE)
