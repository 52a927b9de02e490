"""The tables the page queries read, by name (one place for the parts of the package)."""

from __future__ import annotations

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
