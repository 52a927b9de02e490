"""TEMPORARY: the hand-written output models, compared with the derived schemas."""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
import pytest

from core.models import (
    LATENCY_BUCKETS_MS,
    ErrorType,
    HistogramSource,
    SummaryType,
    VerificationStatus,
    VerificationTrigger,
)
from pipelines import schemas
from pipelines.transforms.phrasing import LANGUAGES
from pipelines.transforms.summaries import METHODS

STATUSES = [s.value for s in VerificationStatus]
TRIGGERS = [t.value for t in VerificationTrigger]
ERROR_TYPES = [e.value for e in ErrorType]
SOURCES = [s.value for s in HistogramSource]
UTC_TS = pl.Datetime("us", "UTC")


class _Output(pa.DataFrameModel):
    class Config:
        strict = True  # exactly the table's columns
        coerce = False


class VerificationDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    group_id: pl.Int64 = pa.Field(nullable=False)
    status: pl.String = pa.Field(isin=STATUSES)
    cached: pl.Boolean = pa.Field(nullable=False)
    error_type: pl.String = pa.Field(nullable=True, isin=ERROR_TYPES)
    trigger: pl.String = pa.Field(isin=TRIGGERS)
    checks: pl.Int64 = pa.Field(gt=0)
    latency_ms_sum: pl.Float64 = pa.Field(ge=0)
    latency_ms_max: pl.Float64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "group_id", "status", "cached", "error_type", "trigger"]  # noqa: RUF012


class ApiCallsDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    method: pl.String = pa.Field(str_length={"min_value": 1})
    success: pl.Boolean = pa.Field(nullable=False)
    error_type: pl.String = pa.Field(nullable=True, isin=ERROR_TYPES)
    calls: pl.Int64 = pa.Field(gt=0)
    latency_ms_sum: pl.Float64 = pa.Field(ge=0)
    latency_ms_max: pl.Float64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "method", "success", "error_type"]  # noqa: RUF012


class HourlyActivity(_Output):
    day: pl.Date = pa.Field(nullable=False)
    hour: pl.Int16 = pa.Field(in_range={"min_value": 0, "max_value": 23})
    group_id: pl.Int64 = pa.Field(nullable=False)
    verifications: pl.Int64 = pa.Field(ge=0)
    messages: pl.Int64 = pa.Field(ge=0)
    joins: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "hour", "group_id"]  # noqa: RUF012


class LatencyHistogramDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    source: pl.String = pa.Field(isin=SOURCES)
    bucket_le_ms: pl.Float64 = pa.Field(nullable=True, isin=[float(b) for b in LATENCY_BUCKETS_MS])
    count: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "source", "bucket_le_ms"]  # noqa: RUF012


class GroupDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    group_id: pl.Int64 = pa.Field(nullable=False)
    messages: pl.Int64 = pa.Field(ge=0)
    active_users: pl.Int64 = pa.Field(ge=0)
    verifications: pl.Int64 = pa.Field(ge=0)
    passed: pl.Int64 = pa.Field(ge=0)
    failed: pl.Int64 = pa.Field(ge=0)
    joins: pl.Int64 = pa.Field(ge=0)
    leaves: pl.Int64 = pa.Field(ge=0)
    kicks: pl.Int64 = pa.Field(ge=0)
    bots_joined: pl.Int64 = pa.Field(ge=0)
    reactions: pl.Int64 = pa.Field(ge=0)
    reacting_users: pl.Int64 = pa.Field(ge=0)
    silent_reactors: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "group_id"]  # noqa: RUF012

    @pa.dataframe_check
    def outcomes_within_checks(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """passed + failed never exceed verifications; active users never exceed messages;
        kicks are leaves; silent reactors are reacting users."""
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(
            (pl.col("passed") + pl.col("failed") <= pl.col("verifications"))
            & (pl.col("active_users") <= pl.col("messages"))
            & (pl.col("kicks") <= pl.col("leaves"))
            & (pl.col("silent_reactors") <= pl.col("reacting_users"))
        )


class FunnelDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    group_id: pl.Int64 = pa.Field(nullable=False)
    joined: pl.Int64 = pa.Field(ge=0)
    prompted: pl.Int64 = pa.Field(ge=0)
    clicked: pl.Int64 = pa.Field(ge=0)
    passed: pl.Int64 = pa.Field(ge=0)
    unmuted: pl.Int64 = pa.Field(ge=0)
    denied_clicks: pl.Int64 = pa.Field(ge=0)
    still_muted: pl.Int64 = pa.Field(ge=0)
    verify_s_p50: pl.Float64 = pa.Field(nullable=True, ge=0)
    verify_s_p90: pl.Float64 = pa.Field(nullable=True, ge=0)
    join_requests: pl.Int64 = pa.Field(ge=0)
    approved: pl.Int64 = pa.Field(ge=0)
    declined: pl.Int64 = pa.Field(ge=0)
    expired: pl.Int64 = pa.Field(ge=0)
    messages_deleted: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "group_id"]  # noqa: RUF012

    @pa.dataframe_check
    def quantiles_ordered(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """p50 <= p90, both NULL or neither (no unmute paired with its mute: no figure)."""
        frame: pl.LazyFrame = data.lazyframe
        p50, p90 = pl.col("verify_s_p50"), pl.col("verify_s_p90")
        return frame.select(
            pl.when(p50.is_null() | p90.is_null())
            .then(p50.is_null() & p90.is_null())
            .otherwise(p50 <= p90)
        )


class AllGroupsDaily(_Output):
    """``analytics_all_groups_daily``: one row per day; every figure a count but the
    percentiles."""

    day: pl.Date = pa.Field(nullable=False, unique=True)
    messages: pl.Int64 = pa.Field(ge=0)
    active_users: pl.Int64 = pa.Field(ge=0)
    verifications: pl.Int64 = pa.Field(ge=0)
    passed: pl.Int64 = pa.Field(ge=0)
    failed: pl.Int64 = pa.Field(ge=0)
    cache_hits: pl.Int64 = pa.Field(ge=0)
    joins: pl.Int64 = pa.Field(ge=0)
    leaves: pl.Int64 = pa.Field(ge=0)
    kicks: pl.Int64 = pa.Field(ge=0)
    bots_joined: pl.Int64 = pa.Field(ge=0)
    reactions: pl.Int64 = pa.Field(ge=0)
    reacting_users: pl.Int64 = pa.Field(ge=0)
    silent_reactors: pl.Int64 = pa.Field(ge=0)
    funnel_groups: pl.Int64 = pa.Field(ge=0)
    joined: pl.Int64 = pa.Field(ge=0)
    prompted: pl.Int64 = pa.Field(ge=0)
    clicked: pl.Int64 = pa.Field(ge=0)
    gate_passed: pl.Int64 = pa.Field(ge=0)
    unmuted: pl.Int64 = pa.Field(ge=0)
    denied_clicks: pl.Int64 = pa.Field(ge=0)
    still_muted: pl.Int64 = pa.Field(ge=0)
    verify_s_p50: pl.Float64 = pa.Field(nullable=True, ge=0)
    verify_s_p90: pl.Float64 = pa.Field(nullable=True, ge=0)
    join_requests: pl.Int64 = pa.Field(ge=0)
    approved: pl.Int64 = pa.Field(ge=0)
    declined: pl.Int64 = pa.Field(ge=0)
    expired: pl.Int64 = pa.Field(ge=0)
    messages_deleted: pl.Int64 = pa.Field(ge=0)

    @pa.dataframe_check
    def consistent(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """Outcomes within checks, cache hits within checks, authors within messages, silent
        reactors within reacting users, kicks within leaves; p50 <= p90, both NULL or
        neither."""
        frame: pl.LazyFrame = data.lazyframe
        p50, p90 = pl.col("verify_s_p50"), pl.col("verify_s_p90")
        return frame.select(
            (pl.col("passed") + pl.col("failed") <= pl.col("verifications"))
            & (pl.col("cache_hits") <= pl.col("verifications"))
            & (pl.col("active_users") <= pl.col("messages"))
            & (pl.col("silent_reactors") <= pl.col("reacting_users"))
            & (pl.col("kicks") <= pl.col("leaves"))
            & pl.when(p50.is_null() | p90.is_null())
            .then(p50.is_null() & p90.is_null())
            .otherwise(p50 <= p90)
        )


class AllGroupsHourly(_Output):
    """``analytics_all_groups_hourly``: one row per day and UTC hour."""

    day: pl.Date = pa.Field(nullable=False)
    hour: pl.Int16 = pa.Field(ge=0, le=23)
    verifications: pl.Int64 = pa.Field(ge=0)
    messages: pl.Int64 = pa.Field(ge=0)
    joins: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "hour"]  # noqa: RUF012


class ChannelDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    channel_id: pl.Int64 = pa.Field(nullable=False)
    joins: pl.Int64 = pa.Field(ge=0)
    leaves: pl.Int64 = pa.Field(ge=0)
    joins_after_prompt: pl.Int64 = pa.Field(ge=0)
    leaves_after_unmute_7d: pl.Int64 = pa.Field(ge=0)
    subscriber_count: pl.Int64 = pa.Field(nullable=True, ge=0)

    class Config:
        unique = ["day", "channel_id"]  # noqa: RUF012

    @pa.dataframe_check
    def subsets(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """Joins after a prompt are joins; leaves after an unmute are leaves."""
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(
            (pl.col("joins_after_prompt") <= pl.col("joins"))
            & (pl.col("leaves_after_unmute_7d") <= pl.col("leaves"))
        )


class ApiBudgetDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    calls: pl.Int64 = pa.Field(ge=0)
    peak_calls_per_s: pl.Int64 = pa.Field(ge=0)
    sends: pl.Int64 = pa.Field(ge=0)
    peak_sends_per_s: pl.Int64 = pa.Field(ge=0)
    peak_group_sends_per_min: pl.Int64 = pa.Field(ge=0)
    retry_after: pl.Int64 = pa.Field(ge=0)
    human_messages: pl.Int64 = pa.Field(ge=0)
    calls_per_message: pl.Float64 = pa.Field(nullable=True, ge=0)

    class Config:
        unique = ["day"]  # noqa: RUF012

    @pa.dataframe_check
    def peaks_within_totals(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """Sends are calls, a peak is part of its total, and the ratio is present exactly
        when there were human messages."""
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(
            (pl.col("sends") <= pl.col("calls"))
            & (pl.col("retry_after") <= pl.col("calls"))
            & (pl.col("peak_calls_per_s") <= pl.col("calls"))
            & (pl.col("peak_sends_per_s") <= pl.col("peak_calls_per_s"))
            & (pl.col("peak_sends_per_s") <= pl.col("sends"))
            & (pl.col("peak_group_sends_per_min") <= pl.col("sends"))
            & (pl.col("calls_per_message").is_null() == (pl.col("human_messages") == 0))
        )


class TopicDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    group_id: pl.Int64 = pa.Field(nullable=False)
    message_thread_id: pl.Int64 = pa.Field(nullable=False)
    messages: pl.Int64 = pa.Field(gt=0)
    active_users: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "group_id", "message_thread_id"]  # noqa: RUF012

    @pa.dataframe_check
    def authors_within_messages(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(pl.col("active_users") <= pl.col("messages"))


class InviteLinkDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    group_id: pl.Int64 = pa.Field(nullable=False)
    invite_link_name: pl.String = pa.Field(nullable=False)
    joins: pl.Int64 = pa.Field(gt=0)
    passed: pl.Int64 = pa.Field(ge=0)
    left: pl.Int64 = pa.Field(ge=0)

    class Config:
        unique = ["day", "group_id", "invite_link_name"]  # noqa: RUF012

    @pa.dataframe_check
    def of_the_joiners(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """``passed`` and ``left`` count some of the users who joined."""
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(
            (pl.col("passed") <= pl.col("joins")) & (pl.col("left") <= pl.col("joins"))
        )


CHAT_KINDS = ["group", "channel", "other"]


class BotRightsDaily(_Output):
    day: pl.Date = pa.Field(nullable=False)
    chat_id: pl.Int64 = pa.Field(nullable=False)
    chat_kind: pl.String = pa.Field(isin=CHAT_KINDS)
    status: pl.String = pa.Field(str_length={"min_value": 1})
    is_admin: pl.Boolean = pa.Field(nullable=False)
    can_restrict_members: pl.Boolean = pa.Field(nullable=False)
    can_delete_messages: pl.Boolean = pa.Field(nullable=False)
    can_invite_users: pl.Boolean = pa.Field(nullable=False)
    changes: pl.Int64 = pa.Field(ge=0)
    lacking_s: pl.Float64 = pa.Field(in_range={"min_value": 0, "max_value": 86_400})

    class Config:
        unique = ["day", "chat_id"]  # noqa: RUF012

    @pa.dataframe_check
    def lacking_only_where_gated(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        """The bot lacks nothing in a chat the gate does not use."""
        frame: pl.LazyFrame = data.lazyframe
        return frame.select((pl.col("chat_kind") != "other") | (pl.col("lacking_s") == 0))


class SummaryRow(_Output):
    chat_id: pl.Int64 = pa.Field(nullable=False)
    summary_type: pl.String = pa.Field(isin=[s.value for s in SummaryType])
    content: pl.String = pa.Field(str_length={"min_value": 1})
    token_count: pl.Int64 = pa.Field(gt=0)
    period_start: UTC_TS = pa.Field(nullable=False)  # type: ignore[valid-type]
    period_end: UTC_TS = pa.Field(nullable=False)  # type: ignore[valid-type]
    method: pl.String = pa.Field(isin=list(METHODS))
    language: pl.String = pa.Field(isin=list(LANGUAGES))

    @pa.dataframe_check
    def period_ordered(cls, data: Any) -> pl.LazyFrame:  # type: ignore[misc]
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(pl.col("period_start") < pl.col("period_end"))


OLD = {
    "VerificationDaily": VerificationDaily,
    "ApiCallsDaily": ApiCallsDaily,
    "HourlyActivity": HourlyActivity,
    "LatencyHistogramDaily": LatencyHistogramDaily,
    "GroupDaily": GroupDaily,
    "FunnelDaily": FunnelDaily,
    "AllGroupsDaily": AllGroupsDaily,
    "AllGroupsHourly": AllGroupsHourly,
    "ChannelDaily": ChannelDaily,
    "ApiBudgetDaily": ApiBudgetDaily,
    "TopicDaily": TopicDaily,
    "InviteLinkDaily": InviteLinkDaily,
    "BotRightsDaily": BotRightsDaily,
    "SummaryRow": SummaryRow,
}


def _norm_check(check: pa.Check) -> tuple[str, Any]:
    stats = dict(check.statistics or {})
    name = check.name
    return name, repr(sorted(stats.items()))


def _columns(schema: pa.DataFrameSchema) -> dict[str, Any]:
    out = {}
    for name, col in schema.columns.items():
        checks = sorted(_norm_check(c) for c in col.checks)
        # ge=0 + le=23 is the same rule as in_range(0, 23)
        if [c[0] for c in checks] == ["in_range"]:
            stats = dict(col.checks[0].statistics)
            checks = [("in_range", f"{stats['min_value']}..{stats['max_value']}")]
        elif [c[0] for c in checks] == ["greater_than_or_equal_to", "less_than_or_equal_to"]:
            checks = [("in_range", "0..23")]
        out[name] = (str(col.dtype), col.nullable, checks, col.unique)
    return out


@pytest.mark.parametrize("name", sorted(OLD))
def test_derived_equals_hand_written(name: str) -> None:
    old = OLD[name].to_schema()
    new = getattr(schemas, name)
    old_cols, new_cols = _columns(old), _columns(new)
    old_unique = old.unique
    # a column unique=True is the frame unique over that one column
    for column, spec in list(old_cols.items()):
        if spec[3]:
            old_unique = [column]
            old_cols[column] = (*spec[:3], False)
    assert list(new_cols) == list(old_cols)
    assert new_cols == old_cols
    assert (new.unique or None) == (old_unique or None)
    assert (new.strict, new.coerce) == (old.strict, old.coerce) == (True, False)
    assert [c.name for c in new.checks] == [c.name for c in old.checks]
