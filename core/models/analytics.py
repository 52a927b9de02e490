"""Analytics tables the pipelines write: one row per UTC ``day`` and key."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.models.kinds import _id, _now


class AnalyticsVerificationDaily(Base):
    __tablename__ = "analytics_verification_daily"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))
    cached: Mapped[bool]
    error_type: Mapped[str | None] = mapped_column(sa.String(32))
    trigger: Mapped[str] = mapped_column(sa.String(16))
    checks: Mapped[int]
    latency_ms_sum: Mapped[float]
    latency_ms_max: Mapped[float]


class AnalyticsApiCallsDaily(Base):
    __tablename__ = "analytics_api_calls_daily"
    __table_args__ = (sa.Index(None, "day", "method"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    method: Mapped[str] = mapped_column(sa.String(64))
    success: Mapped[bool]
    error_type: Mapped[str | None] = mapped_column(sa.String(32))
    calls: Mapped[int]
    latency_ms_sum: Mapped[float]
    latency_ms_max: Mapped[float]


class AnalyticsHourlyActivity(Base):
    __tablename__ = "analytics_hourly_activity"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    hour: Mapped[int] = mapped_column(sa.SmallInteger)
    group_id: Mapped[int]
    verifications: Mapped[int]
    messages: Mapped[int]
    joins: Mapped[int]


class AnalyticsLatencyHistogramDaily(Base):
    __tablename__ = "analytics_latency_histogram_daily"
    __table_args__ = (sa.Index(None, "day", "source"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    source: Mapped[str] = mapped_column(sa.String(16))
    bucket_le_ms: Mapped[float | None]
    count: Mapped[int]


class AnalyticsGroupDaily(Base):
    __tablename__ = "analytics_group_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    messages: Mapped[int]
    active_users: Mapped[int]
    verifications: Mapped[int]
    passed: Mapped[int]
    failed: Mapped[int]
    joins: Mapped[int]
    leaves: Mapped[int]
    kicks: Mapped[int] = mapped_column(default=0, server_default="0")
    bots_joined: Mapped[int] = mapped_column(default=0, server_default="0")
    reactions: Mapped[int] = mapped_column(default=0, server_default="0")
    reacting_users: Mapped[int] = mapped_column(default=0, server_default="0")
    silent_reactors: Mapped[int] = mapped_column(default=0, server_default="0")


class AnalyticsFunnelDaily(Base):
    """The verification funnel per day and group (DESIGN: ``analytics_funnel_daily``)."""

    __tablename__ = "analytics_funnel_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    joined: Mapped[int]
    prompted: Mapped[int]
    clicked: Mapped[int]
    passed: Mapped[int]
    unmuted: Mapped[int]
    denied_clicks: Mapped[int]
    still_muted: Mapped[int]
    verify_s_p50: Mapped[float | None]
    verify_s_p90: Mapped[float | None]
    # additions: join-request outcomes and deleted messages (distinct users / rows that day)
    join_requests: Mapped[int] = mapped_column(default=0, server_default="0")
    approved: Mapped[int] = mapped_column(default=0, server_default="0")
    declined: Mapped[int] = mapped_column(default=0, server_default="0")
    expired: Mapped[int] = mapped_column(default=0, server_default="0")
    messages_deleted: Mapped[int] = mapped_column(default=0, server_default="0")


class AnalyticsChannelDaily(Base):
    """What the gate did for each linked channel (DESIGN: ``analytics_channel_daily``)."""

    __tablename__ = "analytics_channel_daily"
    __table_args__ = (sa.UniqueConstraint("day", "channel_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    channel_id: Mapped[int]
    joins: Mapped[int]
    leaves: Mapped[int]
    joins_after_prompt: Mapped[int]
    leaves_after_unmute_7d: Mapped[int]
    subscriber_count: Mapped[int | None]


class AnalyticsApiBudgetDaily(Base):
    """The Telegram API budget per day (DESIGN: ``analytics_api_budget_daily``)."""

    __tablename__ = "analytics_api_budget_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    calls: Mapped[int]
    peak_calls_per_s: Mapped[int]
    sends: Mapped[int]
    peak_sends_per_s: Mapped[int]
    peak_group_sends_per_min: Mapped[int]
    retry_after: Mapped[int]
    human_messages: Mapped[int]
    calls_per_message: Mapped[float | None]


class AnalyticsTopicDaily(Base):
    """Human messages and active users per day, group and forum topic (thread)."""

    __tablename__ = "analytics_topic_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id", "message_thread_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    message_thread_id: Mapped[int]
    messages: Mapped[int]
    active_users: Mapped[int]


class AnalyticsInviteLinkDaily(Base):
    """Joins by named invite link per day and group, and how those joiners fared that day."""

    __tablename__ = "analytics_invite_link_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id", "invite_link_name"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    invite_link_name: Mapped[str] = mapped_column(sa.String(256))
    joins: Mapped[int]
    passed: Mapped[int]
    left: Mapped[int]


class AnalyticsBotRightsDaily(Base):
    """The bot's own rights per day and chat, and how long it lacked what the gate needs there
    (definitions in ``pipelines/transforms/rights.py``)."""

    __tablename__ = "analytics_bot_rights_daily"
    __table_args__ = (sa.UniqueConstraint("day", "chat_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    chat_id: Mapped[int]
    chat_kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    is_admin: Mapped[bool]
    can_restrict_members: Mapped[bool]
    can_delete_messages: Mapped[bool]
    can_invite_users: Mapped[bool]
    changes: Mapped[int]
    lacking_s: Mapped[float]


class MemberCountSnapshot(Base):
    """Member/subscriber count history from getChatMemberCount."""

    __tablename__ = "member_count_snapshots"
    __table_args__ = (sa.Index(None, "chat_id", "synced_at"), sa.Index(None, "synced_at"))

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    member_count: Mapped[int]
    synced_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Summary(Base):
    """An extractive chat summary; history is kept (newest per chat and type is current)."""

    __tablename__ = "summaries"
    __table_args__ = (sa.Index(None, "chat_id", "summary_type", "created_at"),)

    id: Mapped[int] = _id()
    chat_id: Mapped[int]
    summary_type: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)
    token_count: Mapped[int]
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)
    #: who wrote it: ``extractive`` (the deterministic default) or ``llm``
    method: Mapped[str] = mapped_column(
        sa.String(16), default="extractive", server_default="extractive"
    )
    #: the language the summary is written in (``en``, ``ru``, ``uk``)
    language: Mapped[str | None] = mapped_column(sa.String(8))


class AnalyticsMaterialization(Base):
    """Freshness metadata: one row per materialization of an analytics table (and partition).

    ``newest_source_at`` is the newest raw event the run saw, so the dashboard can show how
    fresh the raw logs are without reading them.
    """

    __tablename__ = "analytics_materializations"
    __table_args__ = (sa.Index(None, "table_name", "materialized_at"),)

    id: Mapped[int] = _id()
    table_name: Mapped[str] = mapped_column(sa.String(64))
    partition_day: Mapped[dt.date | None]
    row_count: Mapped[int]
    newest_source_at: Mapped[dt.datetime | None]
    materialized_at: Mapped[dt.datetime] = mapped_column(default=_now)


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
    messages: Mapped[int]
    active_users: Mapped[int]
    verifications: Mapped[int]
    passed: Mapped[int]
    failed: Mapped[int]
    cache_hits: Mapped[int]
    joins: Mapped[int]
    leaves: Mapped[int]
    kicks: Mapped[int]
    bots_joined: Mapped[int]
    reactions: Mapped[int]
    reacting_users: Mapped[int]
    silent_reactors: Mapped[int]
    # analytics_funnel_daily, all groups
    funnel_groups: Mapped[int]
    joined: Mapped[int]
    prompted: Mapped[int]
    clicked: Mapped[int]
    gate_passed: Mapped[int]
    unmuted: Mapped[int]
    denied_clicks: Mapped[int]
    still_muted: Mapped[int]
    verify_s_p50: Mapped[float | None]
    verify_s_p90: Mapped[float | None]
    join_requests: Mapped[int]
    approved: Mapped[int]
    declined: Mapped[int]
    expired: Mapped[int]
    messages_deleted: Mapped[int]


class AnalyticsAllGroupsHourly(Base):
    """Every group together, per day and UTC hour: ``analytics_hourly_activity``'s rows summed,
    for the dashboard's hourly charts with no group selected (24 rows a day at most, however
    many groups). One row per day and hour with any activity."""

    __tablename__ = "analytics_all_groups_hourly"
    __table_args__ = (sa.UniqueConstraint("day", "hour"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    hour: Mapped[int] = mapped_column(sa.SmallInteger)
    verifications: Mapped[int]
    messages: Mapped[int]
    joins: Mapped[int]
