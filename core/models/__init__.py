"""Every table of the data contract (DESIGN.md), raw and analytics: the one schema.

Raw tables are written by the bot (through :mod:`core.log_writer` for the high-volume logs);
analytics tables by the pipelines, one row per UTC ``day`` and key. Importing this package
registers every table on ``Base.metadata``.
"""

from __future__ import annotations

from core.db import Base
from core.models.alerts import Alert, AlertDelivery, BotPrivateChat, Digest
from core.models.analytics import (
    AnalyticsApiBudgetDaily,
    AnalyticsApiCallsDaily,
    AnalyticsBotRightsDaily,
    AnalyticsChannelDaily,
    AnalyticsFunnelDaily,
    AnalyticsGroupDaily,
    AnalyticsHourlyActivity,
    AnalyticsInviteLinkDaily,
    AnalyticsLatencyHistogramDaily,
    AnalyticsMaterialization,
    AnalyticsTopicDaily,
    AnalyticsVerificationDaily,
    MemberCountSnapshot,
    Summary,
)
from core.models.config import (
    AccessList,
    AdminAuditLog,
    ChatMigration,
    EnforcedChannel,
    GroupChannelLink,
    Owner,
    ProtectedGroup,
)
from core.models.kinds import (
    LATENCY_BUCKETS_MS,
    NON_NEGATIVE,
    NOT_EMPTY,
    SERVICE_ACCOUNT_IDS,
    TIME,
    AlertKind,
    DigestFrequency,
    ErrorType,
    GateEventType,
    GroupSetting,
    HistogramSource,
    ListType,
    MemberEventType,
    SenderKind,
    SummaryType,
    VerificationStatus,
    VerificationTrigger,
    time_column,
)
from core.models.privacy import Erasure
from core.models.raw import (
    ApiCallLog,
    BotRight,
    GateEvent,
    MemberEvent,
    Message,
    ReactionEvent,
    User,
    UserRestriction,
    VerificationLog,
)

RAW_LOG_TABLES: tuple[str, ...] = (
    "verification_log",
    "api_call_log",
    "messages",
    "member_events",
    "admin_audit_log",
    "gate_events",
    "bot_rights",
    "reaction_events",
)
"""Append-only raw logs (retention pruning applies to these)."""

ANALYTICS_TABLES: tuple[str, ...] = (
    "analytics_verification_daily",
    "analytics_api_calls_daily",
    "analytics_hourly_activity",
    "analytics_latency_histogram_daily",
    "analytics_group_daily",
    "analytics_funnel_daily",
    "analytics_channel_daily",
    "analytics_api_budget_daily",
    "analytics_topic_daily",
    "analytics_invite_link_daily",
    "analytics_bot_rights_daily",
)

__all__ = [
    "ANALYTICS_TABLES",
    "LATENCY_BUCKETS_MS",
    "NON_NEGATIVE",
    "NOT_EMPTY",
    "RAW_LOG_TABLES",
    "SERVICE_ACCOUNT_IDS",
    "TIME",
    "AccessList",
    "AdminAuditLog",
    "Alert",
    "AlertDelivery",
    "AlertKind",
    "AnalyticsApiBudgetDaily",
    "AnalyticsApiCallsDaily",
    "AnalyticsBotRightsDaily",
    "AnalyticsChannelDaily",
    "AnalyticsFunnelDaily",
    "AnalyticsGroupDaily",
    "AnalyticsHourlyActivity",
    "AnalyticsInviteLinkDaily",
    "AnalyticsLatencyHistogramDaily",
    "AnalyticsMaterialization",
    "AnalyticsTopicDaily",
    "AnalyticsVerificationDaily",
    "ApiCallLog",
    "Base",
    "BotPrivateChat",
    "BotRight",
    "ChatMigration",
    "Digest",
    "DigestFrequency",
    "EnforcedChannel",
    "Erasure",
    "ErrorType",
    "GateEvent",
    "GateEventType",
    "GroupChannelLink",
    "GroupSetting",
    "HistogramSource",
    "ListType",
    "MemberCountSnapshot",
    "MemberEvent",
    "MemberEventType",
    "Message",
    "Owner",
    "ProtectedGroup",
    "ReactionEvent",
    "SenderKind",
    "Summary",
    "SummaryType",
    "User",
    "UserRestriction",
    "VerificationLog",
    "VerificationStatus",
    "VerificationTrigger",
    "time_column",
]
