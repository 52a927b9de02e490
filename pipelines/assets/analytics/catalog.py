"""The analytics tables' catalogue: each daily table's name, its raw inputs and what else its
transform takes (history before the window, configuration, the days), its pure polars
transform and its pandera model (:class:`AnalyticsSpec`, :data:`SPECS`)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from pipelines import schemas
from pipelines.sources import (
    API_CALLS,
    BOT_RIGHTS,
    CHANNEL_EVENTS,
    CHANNEL_SNAPSHOTS,
    ENFORCED_CHANNELS,
    GATE_EVENTS,
    GROUP_SNAPSHOTS,
    LAST_PROMPTS,
    LINKS,
    MEMBER_EVENTS,
    MESSAGES,
    MUTE_HISTORY,
    PROMPTS_AND_PASSES,
    PROMPTS_BEFORE,
    PROTECTED_GROUPS,
    REACTIONS,
    RIGHTS_BEFORE,
    UNMUTES_BEFORE,
    VERIFICATIONS,
    ConfigRead,
    Lookback,
    RawSource,
)
from pipelines.transforms import budget, daily, gate, rights, rollups

VERIFICATION_DAILY = "analytics_verification_daily"
API_CALLS_DAILY = "analytics_api_calls_daily"
HOURLY_ACTIVITY = "analytics_hourly_activity"
LATENCY_HISTOGRAM_DAILY = "analytics_latency_histogram_daily"
GROUP_DAILY = "analytics_group_daily"
FUNNEL_DAILY = "analytics_funnel_daily"
FUNNEL_LANGUAGE_DAILY = "analytics_funnel_language_daily"
CHANNEL_DAILY = "analytics_channel_daily"
API_BUDGET_DAILY = "analytics_api_budget_daily"
TOPIC_DAILY = "analytics_topic_daily"
INVITE_LINK_DAILY = "analytics_invite_link_daily"
BOT_RIGHTS_DAILY = "analytics_bot_rights_daily"
ALL_GROUPS_DAILY = "analytics_all_groups_daily"
ALL_GROUPS_HOURLY = "analytics_all_groups_hourly"
ALL_GROUPS_FUNNEL_DAILY = "analytics_all_groups_funnel_daily"
ALL_GROUPS_VERIFICATION_DAILY = "analytics_all_groups_verification_daily"
ALL_GROUPS_MEMBERS_DAILY = "analytics_all_groups_members_daily"
ALL_CHANNELS_DAILY = "analytics_all_channels_daily"


class PartitionDays:
    """A transform input: the days being computed, as a frame with one ``day`` column (for
    figures that a day without any event still has, such as the muted backlog)."""


PARTITION_DAYS = PartitionDays()
Extra = Lookback | ConfigRead | PartitionDays
"""Inputs besides the window's raw rows: history before it, configuration, the days."""


@dataclass(frozen=True)
class AnalyticsSpec:
    """One analytics table: its raw inputs, transform and output model.

    The transform is called with the valid rows of each of ``sources`` over the partition
    window, then one frame per entry of ``extras``, in order; chat ids merged in each.
    """

    table: str
    sources: tuple[RawSource, ...]
    transform: Callable[..., pl.DataFrame]
    model: pa.DataFrameSchema
    description: str
    extras: tuple[Extra, ...] = ()
    by_group: bool = False
    """Every figure is per group (the group in the key, every input read per group): on a big
    window the table is computed shard by shard of groups and the shards concatenated
    (:func:`shard_count`), so that its state (distinct users per group) is a shard's."""

    def reads(
        self, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[RawSource, dt.datetime, dt.datetime]]:
        """Every raw read of a window ``[start, end)``: the sources', then the lookbacks'."""
        lookbacks = [
            (e.source, *e.window(start, end)) for e in self.extras if isinstance(e, Lookback)
        ]
        return [(s, start, end) for s in self.sources] + lookbacks


SPECS: tuple[AnalyticsSpec, ...] = (
    AnalyticsSpec(
        VERIFICATION_DAILY,
        (VERIFICATIONS,),
        daily.verification_daily,
        schemas.VerificationDaily,
        "Gate checks per UTC day, group, status, cache use, error type and trigger, with "
        "latency sum and max.",
    ),
    AnalyticsSpec(
        API_CALLS_DAILY,
        (API_CALLS,),
        daily.api_calls_daily,
        schemas.ApiCallsDaily,
        "Telegram Bot API calls per UTC day, method, success and error type, with latency "
        "sum and max (long polling, getUpdates, included).",
    ),
    AnalyticsSpec(
        HOURLY_ACTIVITY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS),
        daily.hourly_activity,
        schemas.HourlyActivity,
        "Verifications, human messages and human joins per UTC day, hour and group (a "
        "migrated group under its new id).",
    ),
    AnalyticsSpec(
        LATENCY_HISTOGRAM_DAILY,
        (VERIFICATIONS, API_CALLS),
        daily.latency_histogram_daily,
        schemas.LatencyHistogramDaily,
        "Latency histogram (fixed bounds 5 ms ... 5 s and +inf) per UTC day, for gate checks "
        "and for Bot API calls other than long polling (getUpdates).",
    ),
    AnalyticsSpec(
        GROUP_DAILY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS, REACTIONS),
        daily.group_daily,
        schemas.GroupDaily,
        "Per UTC day and group (a migrated group under its new id): human messages, active "
        "users, verifications, passed, failed, human joins, leaves (with kicks) and kicks, bots "
        "joined, reactions added, reacting users and silent reactors (reacted, wrote nothing).",
        by_group=True,
    ),
    AnalyticsSpec(
        FUNNEL_DAILY,
        (VERIFICATIONS, MEMBER_EVENTS, GATE_EVENTS),
        gate.funnel_daily,
        schemas.FunnelDaily,
        "The verification funnel per UTC day and group: humans joined, users prompted, "
        "clicked, passed, unmuted; denied clicks; users still muted at the end of the day; "
        "p50/p90 seconds from mute to unmute; join requests approved, declined, expired; "
        "messages deleted; users the gate's timeout acted on.",
        (MUTE_HISTORY, PARTITION_DAYS),
        by_group=True,
    ),
    AnalyticsSpec(
        FUNNEL_LANGUAGE_DAILY,
        (PROMPTS_AND_PASSES,),
        gate.funnel_language_daily,
        schemas.FunnelLanguageDaily,
        "The funnel per UTC day, group and the language the prompt was shown in: users "
        "prompted in it, and users who passed whose latest prompt was in it (unknown: no "
        "prompt before the pass).",
        (LAST_PROMPTS,),
        by_group=True,
    ),
    AnalyticsSpec(
        CHANNEL_DAILY,
        (CHANNEL_EVENTS, GATE_EVENTS, CHANNEL_SNAPSHOTS),
        gate.channel_daily,
        schemas.ChannelDaily,
        "Per UTC day and linked channel: human joins and leaves, joins within 24 h after a "
        "prompt and leaves within 7 days after an unmute in a group linking it, and the "
        "day's last subscriber count.",
        (PROMPTS_BEFORE, UNMUTES_BEFORE, LINKS),
    ),
    AnalyticsSpec(
        API_BUDGET_DAILY,
        (API_CALLS, MESSAGES),
        budget.api_budget_daily,
        schemas.ApiBudgetDaily,
        "The Bot API budget per UTC day (without getUpdates): calls and sends with their "
        "peaks per second, the peak sends into one chat in a minute, RetryAfter errors, "
        "human messages and calls per message.",
    ),
    AnalyticsSpec(
        TOPIC_DAILY,
        (MESSAGES,),
        daily.topic_daily,
        schemas.TopicDaily,
        "Human messages and active users per UTC day, group and forum topic.",
    ),
    AnalyticsSpec(
        INVITE_LINK_DAILY,
        (MEMBER_EVENTS, GATE_EVENTS),
        gate.invite_link_daily,
        schemas.InviteLinkDaily,
        "Per UTC day, group and named invite link: humans who joined by it, and of them those "
        "who passed the gate and those who left the same day.",
        by_group=True,
    ),
    AnalyticsSpec(
        BOT_RIGHTS_DAILY,
        (BOT_RIGHTS,),
        rights.bot_rights_daily,
        schemas.BotRightsDaily,
        "The bot's own status and rights per UTC day and chat (group, channel or other) as of "
        "the end of the day, its rights changes that day, and the seconds of the day it lacked "
        "what the gate needs (group: admin who may restrict and delete; channel: admin).",
        (RIGHTS_BEFORE, PROTECTED_GROUPS, ENFORCED_CHANNELS, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_DAILY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS, REACTIONS, GATE_EVENTS),
        rollups.all_groups_daily,
        schemas.AllGroupsDaily,
        "Every group together per UTC day (what the dashboard shows with no group selected): "
        "the group and funnel counts summed over the groups, distinct users over all groups, "
        "verification-time percentiles over every unmute; a row for each day.",
        (MUTE_HISTORY, ENFORCED_CHANNELS, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_HOURLY,
        (VERIFICATIONS, MESSAGES, MEMBER_EVENTS),
        rollups.all_groups_hourly,
        schemas.AllGroupsHourly,
        "Verifications, human messages and human joins per UTC day and hour, every group "
        "together (analytics_hourly_activity summed; what the dashboard shows with no group "
        "selected).",
    ),
    AnalyticsSpec(
        ALL_GROUPS_FUNNEL_DAILY,
        (VERIFICATIONS, MEMBER_EVENTS, GATE_EVENTS),
        rollups.all_groups_funnel_daily,
        schemas.AllGroupsFunnelDaily,
        "The verification funnel per UTC day with every group's rows added up (user-days per "
        "group, as the Funnel page counts), the backlog over the groups and the groups' "
        "verification times weighted by their unmutes (what the Funnel page shows with no "
        "group selected).",
        (MUTE_HISTORY, PARTITION_DAYS),
    ),
    AnalyticsSpec(
        ALL_GROUPS_VERIFICATION_DAILY,
        (VERIFICATIONS,),
        rollups.all_groups_verification_daily,
        schemas.AllGroupsVerificationDaily,
        "Gate checks per UTC day, status, cache use, error type and trigger over every group, "
        "with latency sum and max (what the Verification page shows with no group selected).",
    ),
    AnalyticsSpec(
        ALL_GROUPS_MEMBERS_DAILY,
        (GROUP_SNAPSHOTS,),
        rollups.all_groups_members_daily,
        schemas.AllGroupsMembersDaily,
        "Protected groups with a member-count sync per UTC day and their last synced member "
        "counts summed (what the Overview's member count reads with no group selected).",
        (PROTECTED_GROUPS,),
    ),
    AnalyticsSpec(
        ALL_CHANNELS_DAILY,
        (CHANNEL_EVENTS, GATE_EVENTS, CHANNEL_SNAPSHOTS),
        rollups.all_channels_daily,
        schemas.AllChannelsDaily,
        "Every linked channel's joins, leaves, joins within 24 h after a prompt and leaves "
        "within 7 days after an unmute per UTC day, summed (what the Overview's subscribers "
        "produced read with no group selected).",
        (PROMPTS_BEFORE, UNMUTES_BEFORE, LINKS),
    ),
)
SPEC_BY_TABLE = {s.table: s for s in SPECS}
