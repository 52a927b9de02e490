"""Analytics tables the pipelines write: one row per UTC ``day`` and key.

Each column's ``info`` is its contract (:mod:`core.models.kinds`): the pipelines' output
schemas (``pipelines/contract.py``), the dashboard's measure lists and the rollups' columns are
derived from these models. Every count is ``>= 0`` unless marked otherwise; a table's key is
its unique constraint, or its columns marked ``info=KEY``. The all-groups rollups are in
:mod:`core.models.rollups`, the trailing weeks in :mod:`core.models.weeks`."""

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
