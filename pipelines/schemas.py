"""pandera (polars) models of the raw inputs and of every pipeline output.

Raw models describe the rows a transform may aggregate; :func:`split_valid` separates the rows
that break them (they are excluded from the aggregates, counted, and reported in the asset's
metadata and in its raw-input check — never dropped silently). Output schemas back the blocking
asset checks: a frame that fails one is not written. Both are derived from ``core.models``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from core.models import ChatKind
from pipelines.contract import output_schema, raw_schema

# --------------------------------------------------------------------------- raw inputs

_GATE = ("group_id", "user_id", "event", "timestamp")
_PROMPTS = ("id", "group_id", "user_id", "event", "detail", "timestamp")
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
    "prompts_passes": ("gate_events", _PROMPTS),
    "last_prompts": ("gate_events", _PROMPTS),
    "reactions": ("reaction_events", ("chat_id", "user_id", "added", "timestamp")),
    "channel_snapshots": ("member_count_snapshots", ("chat_id", "member_count", "synced_at")),
    "group_snapshots": ("member_count_snapshots", ("chat_id", "member_count", "synced_at")),
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
# Each output's columns, dtypes, nullability, value checks and key are derived from its table
# in ``core.models`` (:func:`pipelines.contract.output_schema`); only the rules across columns
# are written here.


def _rule(name: str, holds: pl.Expr) -> pa.Check:
    """A rule across columns: ``holds`` is true on every row."""

    def check(data: Any) -> pl.LazyFrame:
        frame: pl.LazyFrame = data.lazyframe
        return frame.select(holds)

    return pa.Check(check, name=name)


def _quantiles_ordered(p50: pl.Expr, p90: pl.Expr) -> pl.Expr:
    """p50 <= p90, both NULL or neither (no unmute paired with its mute: no figure)."""
    return (
        pl.when(p50.is_null() | p90.is_null())
        .then(p50.is_null() & p90.is_null())
        .otherwise(p50 <= p90)
    )


_P50, _P90 = pl.col("verify_s_p50"), pl.col("verify_s_p90")
_OUTCOMES = pl.col("passed") + pl.col("failed") <= pl.col("verifications")
_AUTHORS = pl.col("active_users") <= pl.col("messages")
_KICKS = pl.col("kicks") <= pl.col("leaves")
_SILENT = pl.col("silent_reactors") <= pl.col("reacting_users")

VerificationDaily = output_schema("analytics_verification_daily", name="VerificationDaily")
ApiCallsDaily = output_schema("analytics_api_calls_daily", name="ApiCallsDaily")
HourlyActivity = output_schema("analytics_hourly_activity", name="HourlyActivity")
LatencyHistogramDaily = output_schema(
    "analytics_latency_histogram_daily", name="LatencyHistogramDaily"
)
GroupDaily = output_schema(
    "analytics_group_daily",
    name="GroupDaily",
    # passed + failed never exceed verifications; active users never exceed messages;
    # kicks are leaves; silent reactors are reacting users
    checks=[_rule("outcomes_within_checks", _OUTCOMES & _AUTHORS & _KICKS & _SILENT)],
)
FunnelDaily = output_schema(
    "analytics_funnel_daily",
    name="FunnelDaily",
    checks=[_rule("quantiles_ordered", _quantiles_ordered(_P50, _P90))],
)
AllGroupsDaily = output_schema(
    "analytics_all_groups_daily",
    name="AllGroupsDaily",
    # outcomes within checks, cache hits within checks, authors within messages, silent
    # reactors within reacting users, kicks within leaves; p50 <= p90, both NULL or neither
    checks=[
        _rule(
            "consistent",
            _OUTCOMES
            & (pl.col("cache_hits") <= pl.col("verifications"))
            & _AUTHORS
            & _SILENT
            & _KICKS
            & _quantiles_ordered(_P50, _P90),
        )
    ],
)
AllGroupsHourly = output_schema("analytics_all_groups_hourly", name="AllGroupsHourly")
AllGroupsFunnelDaily = output_schema(
    "analytics_all_groups_funnel_daily",
    name="AllGroupsFunnelDaily",
    # the timed unmutes are some of the unmutes; a mean exactly when there is a weight
    checks=[
        _rule("timed_within_unmuted", pl.col("timed_unmutes") <= pl.col("unmuted")),
        _rule(
            "mean_when_timed",
            (pl.col("timed_unmutes") > 0) == pl.col("verify_s_p50_mean").is_not_null(),
        ),
    ],
)
AllChannelsDaily = output_schema(
    "analytics_all_channels_daily",
    name="AllChannelsDaily",
    checks=[
        _rule("after_prompt_within_joins", pl.col("joins_after_prompt") <= pl.col("joins")),
        _rule("after_unmute_within_leaves", pl.col("leaves_after_unmute_7d") <= pl.col("leaves")),
    ],
)
Group7d = output_schema(
    "analytics_group_7d",
    name="Group7d",
    # the daily table's rules hold for its sums
    checks=[_rule("outcomes_within_checks", _OUTCOMES & _AUTHORS & _KICKS & _SILENT)],
)
Funnel7d = output_schema("analytics_funnel_7d", name="Funnel7d")
Channel7d = output_schema(
    "analytics_channel_7d",
    name="Channel7d",
    checks=[
        _rule("after_prompt_within_joins", pl.col("joins_after_prompt") <= pl.col("joins")),
        _rule("after_unmute_within_leaves", pl.col("leaves_after_unmute_7d") <= pl.col("leaves")),
    ],
)
Topic7d = output_schema("analytics_topic_7d", name="Topic7d")
BotRights7d = output_schema(
    "analytics_bot_rights_7d",
    name="BotRights7d",
    checks=[
        _rule("days_lacking_in_window", pl.col("days_lacking") <= 7),
        _rule("lacking_within_days", pl.col("lacking_s") <= pl.col("days_lacking") * 86_400),
    ],
)
AllGroupsMembersDaily = output_schema(
    "analytics_all_groups_members_daily", name="AllGroupsMembersDaily"
)
AllGroupsVerificationDaily = output_schema(
    "analytics_all_groups_verification_daily", name="AllGroupsVerificationDaily"
)
FunnelLanguageDaily = output_schema(
    "analytics_funnel_language_daily",
    name="FunnelLanguageDaily",
    # a row is a language someone was prompted in or passed after
    checks=[_rule("not_empty", (pl.col("prompted") > 0) | (pl.col("passed") > 0))],
)
ChannelDaily = output_schema(
    "analytics_channel_daily",
    name="ChannelDaily",
    # joins after a prompt are joins; leaves after an unmute are leaves
    checks=[
        _rule(
            "subsets",
            (pl.col("joins_after_prompt") <= pl.col("joins"))
            & (pl.col("leaves_after_unmute_7d") <= pl.col("leaves")),
        )
    ],
)
ApiBudgetDaily = output_schema(
    "analytics_api_budget_daily",
    name="ApiBudgetDaily",
    # sends are calls, a peak is part of its total, and the ratio is present exactly when
    # there were human messages
    checks=[
        _rule(
            "peaks_within_totals",
            (pl.col("sends") <= pl.col("calls"))
            & (pl.col("retry_after") <= pl.col("calls"))
            & (pl.col("peak_calls_per_s") <= pl.col("calls"))
            & (pl.col("peak_sends_per_s") <= pl.col("peak_calls_per_s"))
            & (pl.col("peak_sends_per_s") <= pl.col("sends"))
            & (pl.col("peak_group_sends_per_min") <= pl.col("sends"))
            & (pl.col("calls_per_message").is_null() == (pl.col("human_messages") == 0)),
        )
    ],
)
TopicDaily = output_schema(
    "analytics_topic_daily",
    name="TopicDaily",
    checks=[_rule("authors_within_messages", _AUTHORS)],
)
InviteLinkDaily = output_schema(
    "analytics_invite_link_daily",
    name="InviteLinkDaily",
    # ``passed`` and ``left`` count some of the users who joined
    checks=[
        _rule(
            "of_the_joiners",
            (pl.col("passed") <= pl.col("joins")) & (pl.col("left") <= pl.col("joins")),
        )
    ],
)
BotRightsDaily = output_schema(
    "analytics_bot_rights_daily",
    name="BotRightsDaily",
    # the bot lacks nothing in a chat the gate does not use
    checks=[
        _rule(
            "lacking_only_where_gated",
            (pl.col("chat_kind") != ChatKind.OTHER.value) | (pl.col("lacking_s") == 0),
        )
    ],
)
SummaryRow = output_schema(
    "summaries",
    name="SummaryRow",
    checks=[_rule("period_ordered", pl.col("period_start") < pl.col("period_end"))],
)


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


def split_valid(frame: pl.DataFrame, model: pa.DataFrameSchema) -> Validation:
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
