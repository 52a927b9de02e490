"""Analytics tables the pipelines write: one row per UTC ``day`` and key.

Each column's ``info`` is its contract (:mod:`core.models.kinds`): the pipelines' output
schemas (``pipelines/contract.py``), the dashboard's measure lists and the rollups' columns are
derived from these models. Every count is ``>= 0`` unless marked otherwise; a table's key is
its unique constraint, or its columns marked ``info=KEY``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.languages import LANGUAGES
from core.models.kinds import (
    DAY_SECONDS,
    HOUR,
    KEY,
    LATENCY_BUCKET,
    MS,
    NON_NEGATIVE,
    NOT_EMPTY,
    POSITIVE,
    REQUIRED,
    SECONDS,
    STAMPED,
    ChatKind,
    ErrorType,
    HistogramSource,
    SummaryLanguage,
    SummaryMethod,
    SummaryType,
    VerificationStatus,
    VerificationTrigger,
    _id,
    _isin,
    _now,
)

UNKNOWN_LANGUAGE = "unknown"
"""``analytics_funnel_language_daily.lang`` of a pass with no prompt before it (or of a prompt
that recorded no language)."""
FUNNEL_LANGUAGES: tuple[str, ...] = (*LANGUAGES, UNKNOWN_LANGUAGE)
"""The ``lang`` values the bot writes today: its languages, and unknown. Not a check on the
table: a prompt recorded in another code (an older or newer bot) is counted, not refused."""


class AnalyticsVerificationDaily(Base):
    __tablename__ = "analytics_verification_daily"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date] = mapped_column(info=KEY)
    group_id: Mapped[int] = mapped_column(info=KEY)
    status: Mapped[str] = mapped_column(sa.String(16), info=KEY | _isin(VerificationStatus))
    cached: Mapped[bool] = mapped_column(info=KEY)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=KEY | _isin(ErrorType))
    trigger: Mapped[str] = mapped_column(sa.String(16), info=KEY | _isin(VerificationTrigger))
    checks: Mapped[int] = mapped_column(info=POSITIVE)
    latency_ms_sum: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)
    latency_ms_max: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)


class AnalyticsApiCallsDaily(Base):
    __tablename__ = "analytics_api_calls_daily"
    __table_args__ = (sa.Index(None, "day", "method"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date] = mapped_column(info=KEY)
    method: Mapped[str] = mapped_column(sa.String(64), info=KEY | NOT_EMPTY)
    success: Mapped[bool] = mapped_column(info=KEY)
    error_type: Mapped[str | None] = mapped_column(sa.String(32), info=KEY | _isin(ErrorType))
    calls: Mapped[int] = mapped_column(info=POSITIVE)
    latency_ms_sum: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)
    latency_ms_max: Mapped[float] = mapped_column(info=NON_NEGATIVE | MS)


class AnalyticsHourlyActivity(Base):
    __tablename__ = "analytics_hourly_activity"
    __table_args__ = (sa.Index(None, "day", "group_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date] = mapped_column(info=KEY)
    hour: Mapped[int] = mapped_column(sa.SmallInteger, info=KEY | HOUR)
    group_id: Mapped[int] = mapped_column(info=KEY)
    verifications: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    messages: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsLatencyHistogramDaily(Base):
    __tablename__ = "analytics_latency_histogram_daily"
    __table_args__ = (sa.Index(None, "day", "source"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date] = mapped_column(info=KEY)
    source: Mapped[str] = mapped_column(sa.String(16), info=KEY | _isin(HistogramSource))
    #: NULL is +inf
    bucket_le_ms: Mapped[float | None] = mapped_column(info=KEY | LATENCY_BUCKET | MS)
    count: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsGroupDaily(Base):
    __tablename__ = "analytics_group_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id"),)

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
    kicks: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    bots_joined: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    reactions: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    reacting_users: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    silent_reactors: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)


class AnalyticsFunnelDaily(Base):
    """The verification funnel per day and group (DESIGN: ``analytics_funnel_daily``)."""

    __tablename__ = "analytics_funnel_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id"),)

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
    verify_s_p50: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)
    verify_s_p90: Mapped[float | None] = mapped_column(info=NON_NEGATIVE | SECONDS)
    # additions: join-request outcomes and deleted messages (distinct users / rows that day)
    join_requests: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    approved: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    declined: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    expired: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    messages_deleted: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)
    # addition (issue 26): distinct users with a ``timed_out`` gate event that day
    timed_out: Mapped[int] = mapped_column(default=0, server_default="0", info=NON_NEGATIVE)


class AnalyticsFunnelLanguageDaily(Base):
    """The funnel per day, group and prompt language (DESIGN:
    ``analytics_funnel_language_daily``): ``prompted``, users prompted in ``lang`` that day;
    ``passed``, users who passed that day whose latest prompt in the group at or before the pass
    was in ``lang`` (:data:`UNKNOWN_LANGUAGE` when they had none)."""

    __tablename__ = "analytics_funnel_language_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id", "lang"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    lang: Mapped[str] = mapped_column(sa.String(16), info=NOT_EMPTY)
    prompted: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsChannelDaily(Base):
    """What the gate did for each linked channel (DESIGN: ``analytics_channel_daily``)."""

    __tablename__ = "analytics_channel_daily"
    # by channel and day too: the dashboard reads a page of channels' newest counts
    __table_args__ = (sa.UniqueConstraint("day", "channel_id"), sa.Index(None, "channel_id", "day"))

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    channel_id: Mapped[int]
    joins: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    joins_after_prompt: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    leaves_after_unmute_7d: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    subscriber_count: Mapped[int | None] = mapped_column(info=NON_NEGATIVE)


class AnalyticsApiBudgetDaily(Base):
    """The Telegram API budget per day (DESIGN: ``analytics_api_budget_daily``)."""

    __tablename__ = "analytics_api_budget_daily"
    __table_args__ = (sa.UniqueConstraint("day"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    calls: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    peak_calls_per_s: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    sends: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    peak_sends_per_s: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    peak_group_sends_per_min: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    retry_after: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    human_messages: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    calls_per_message: Mapped[float | None] = mapped_column(info=NON_NEGATIVE)


class AnalyticsTopicDaily(Base):
    """Human messages and active users per day, group and forum topic (thread)."""

    __tablename__ = "analytics_topic_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id", "message_thread_id"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    message_thread_id: Mapped[int]
    messages: Mapped[int] = mapped_column(info=POSITIVE)
    active_users: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsInviteLinkDaily(Base):
    """Joins by named invite link per day and group, and how those joiners fared that day."""

    __tablename__ = "analytics_invite_link_daily"
    __table_args__ = (sa.UniqueConstraint("day", "group_id", "invite_link_name"),)

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    group_id: Mapped[int]
    invite_link_name: Mapped[str] = mapped_column(sa.String(256))
    joins: Mapped[int] = mapped_column(info=POSITIVE)
    passed: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    left: Mapped[int] = mapped_column(info=NON_NEGATIVE)


class AnalyticsBotRightsDaily(Base):
    """The bot's own rights per day and chat, and how long it lacked what the gate needs there
    (definitions in ``pipelines/transforms/rights.py``)."""

    __tablename__ = "analytics_bot_rights_daily"
    # by chat and day too: the dashboard reads the days of the chats a page lists
    __table_args__ = (sa.UniqueConstraint("day", "chat_id"), sa.Index(None, "chat_id", "day"))

    id: Mapped[int] = _id()
    day: Mapped[dt.date]
    chat_id: Mapped[int]
    chat_kind: Mapped[str] = mapped_column(sa.String(16), info=_isin(ChatKind))
    status: Mapped[str] = mapped_column(sa.String(16), info=NOT_EMPTY)
    is_admin: Mapped[bool]
    can_restrict_members: Mapped[bool]
    can_delete_messages: Mapped[bool]
    can_invite_users: Mapped[bool]
    changes: Mapped[int] = mapped_column(info=NON_NEGATIVE)
    lacking_s: Mapped[float] = mapped_column(info=DAY_SECONDS | SECONDS)


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
    summary_type: Mapped[str] = mapped_column(sa.String(16), info=_isin(SummaryType))
    content: Mapped[str] = mapped_column(sa.Text, info=NOT_EMPTY)
    token_count: Mapped[int] = mapped_column(info=POSITIVE)
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, info=STAMPED)
    #: who wrote it: ``extractive`` (the deterministic default) or ``llm``
    method: Mapped[str] = mapped_column(
        sa.String(16),
        default="extractive",
        server_default="extractive",
        info=_isin(SummaryMethod),
    )
    #: the language the summary is written in (``en``, ``ru``, ``uk``); NULL in old rows only
    language: Mapped[str | None] = mapped_column(
        sa.String(8), info=REQUIRED | _isin(SummaryLanguage)
    )


class AnalyticsMaterialization(Base):
    """Freshness metadata: one row per materialization of an analytics table (and partition).

    ``newest_source_at`` is the newest raw event the run saw, so the dashboard can show how
    fresh the raw logs are without reading them. By table and day too: whether a trailing
    week is as new as the daily days it adds up.
    """

    __tablename__ = "analytics_materializations"
    __table_args__ = (
        sa.Index(None, "table_name", "materialized_at"),
        sa.Index(None, "table_name", "partition_day"),
    )

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


# --------------------------------------------------------------------------- trailing weeks
# Additions (issue 28): per group (or channel, topic, chat), a daily table's rows over the 7
# days ending at ``day``, added up; what the dashboard's rankings read when the range shown is
# those 7 days (its default), instead of adding up every group's 7 rows on each request. Their
# figures are the daily tables' as the pages sum them (flows over the days: user-days), so a
# ranking reads the same from either; the pages read one only while it is at least as new as
# every daily day it covers (``analytics_materializations``), else they sum the daily rows.

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
