"""pandera (polars) models of the raw inputs and of every pipeline output.

Raw models describe the rows a transform may aggregate; :func:`split_valid` separates the rows
that break them (they are excluded from the aggregates, counted, and reported in the asset's
metadata and in its raw-input check — never dropped silently). Output models back the blocking
asset checks: a frame that fails one is not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from core.models import (
    LATENCY_BUCKETS_MS,
    ErrorType,
    HistogramSource,
    MemberEventType,
    SummaryType,
    VerificationStatus,
    VerificationTrigger,
)
from pipelines.contract import raw_schema
from pipelines.transforms.phrasing import LANGUAGES
from pipelines.transforms.summaries import METHODS

STATUSES = [s.value for s in VerificationStatus]
TRIGGERS = [t.value for t in VerificationTrigger]
ERROR_TYPES = [e.value for e in ErrorType]
MEMBER_EVENTS = [e.value for e in MemberEventType]
SOURCES = [s.value for s in HistogramSource]

UTC_TS = pl.Datetime("us", "UTC")


# --------------------------------------------------------------------------- raw inputs

_GATE = ("group_id", "user_id", "event", "timestamp")
_RIGHTS = (
    "id",  # orders two changes at one instant
    "chat_id",
    "status",
    "is_admin",
    "can_restrict_members",
    "can_delete_messages",
    "can_invite_users",
    "timestamp",
)

RAW_READS: dict[str, tuple[str, tuple[str, ...]]] = {
    "verifications": (
        "verification_log",
        ("group_id", "status", "cached", "error_type", "trigger", "latency_ms", "timestamp"),
    ),
    "api_calls": (
        "api_call_log",
        ("method", "chat_id", "success", "error_type", "latency_ms", "timestamp"),
    ),
    "messages": (
        "messages",
        (
            "chat_id",
            "user_id",
            "is_bot_message",
            "sender_kind",
            "message_thread_id",
            "created_at",
        ),
    ),
    "member_events": (
        "member_events",
        ("chat_id", "user_id", "event", "is_bot", "invite_link_name", "timestamp"),
    ),
    "channel_events": ("member_events", ("chat_id", "user_id", "event", "is_bot", "timestamp")),
    "gate_events": ("gate_events", _GATE),
    "prompts_before": ("gate_events", _GATE),
    "unmutes_before": ("gate_events", _GATE),
    "mute_history": ("gate_events", _GATE),
    "reactions": ("reaction_events", ("chat_id", "user_id", "added", "timestamp")),
    "channel_snapshots": ("member_count_snapshots", ("chat_id", "member_count", "synced_at")),
    "bot_rights": ("bot_rights", _RIGHTS),
    "rights_before": ("bot_rights", _RIGHTS),
    "summary_messages": (
        "messages",
        (
            "chat_id",
            "telegram_message_id",
            "user_id",
            "content",
            "reply_to_message_id",
            "is_bot_message",
            "sender_kind",
            "created_at",
        ),
    ),
}
"""Each raw read (``pipelines.io`` source name): its table and the columns it selects."""

RAW_MODELS: dict[str, pa.DataFrameSchema] = {
    name: raw_schema(table, columns, name=name) for name, (table, columns) in RAW_READS.items()
}
"""The pandera schema of each raw read, derived from the columns' contract in ``core.models``
(dtype, nullability and ``info={"check": ...}``)."""

VerificationRaw = RAW_MODELS["verifications"]
ApiCallRaw = RAW_MODELS["api_calls"]
MessageRaw = RAW_MODELS["messages"]
MemberEventRaw = RAW_MODELS["member_events"]
GateEventRaw = RAW_MODELS["gate_events"]
ReactionRaw = RAW_MODELS["reactions"]
SummaryMessageRaw = RAW_MODELS["summary_messages"]
BotRightsRaw = RAW_MODELS["bot_rights"]


# --------------------------------------------------------------------------- outputs


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


# --------------------------------------------------------------------------- helpers


@dataclass
class Validation:
    """The outcome of checking a frame against a model."""

    valid: pl.DataFrame
    invalid: pl.DataFrame
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.invalid.height == 0 and not self.problems

    def metadata(self, limit: int = 20) -> dict[str, Any]:
        """Counts plus the first ``limit`` failing rows and problems, JSON-friendly."""
        return {
            "invalid_rows": self.invalid.height,
            "failing_rows": _jsonable(self.invalid.head(limit)),
            "problems": self.problems[:limit],
        }


def _jsonable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dicts():
        out.append(
            {
                k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                for k, v in row.items()
            }
        )
    return out


def split_valid(
    frame: pl.DataFrame, model: pa.DataFrameSchema | type[pa.DataFrameModel]
) -> Validation:
    """Validate ``frame`` against ``model`` and split it into valid and invalid rows.

    Schema-level problems (a missing column, a wrong dtype) cannot be pinned on rows: they are
    returned in ``problems`` and every row counts as invalid.
    """
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        with_index = cases.filter(pl.col("index").is_not_null())
        problems = [
            {"column": r["column"], "check": r["check"], "failure_case": r["failure_case"]}
            for r in cases.filter(pl.col("index").is_null()).head(50).to_dicts()
        ]
        if problems and with_index.height == 0:
            return Validation(frame.clear(), frame, problems)
        bad = with_index["index"].cast(pl.Int64).unique()
        indexed = frame.with_row_index("__row")
        mask = pl.col("__row").is_in(bad.implode())
        invalid = indexed.filter(mask).drop("__row")
        valid = indexed.filter(~mask).drop("__row")
        reasons = with_index.group_by("column", "check").len().sort("column", "check").to_dicts()
        return Validation(valid, invalid, problems + reasons)
    except SchemaError as exc:  # pragma: no cover - lazy=True raises SchemaErrors
        return Validation(frame.clear(), frame, [{"check": str(exc)}])
    return Validation(frame, frame.clear())
