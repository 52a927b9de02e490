"""The pipelines' output schemas, derived from ``core.models``: as strict as the hand-written
models they replaced (compared column by column when they were derived), with the important
checks pinned here."""

import datetime as dt
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest

from core.models import LATENCY_BUCKETS_MS, ChatKind, SummaryLanguage, SummaryMethod
from pipelines import schemas
from pipelines.assets.analytics import SPECS
from pipelines.transforms import rights
from pipelines.transforms.phrasing import LANGUAGES
from pipelines.transforms.summaries import METHODS

D = dt.date(2026, 1, 5)


def _checks(schema: pa.DataFrameSchema, column: str) -> dict[str, dict[str, Any]]:
    return {c.name: dict(c.statistics) for c in schema.columns[column].checks}


def test_every_analytics_output_is_strict_and_unique_over_its_key():
    for spec in SPECS:
        model = spec.model
        assert (model.strict, model.coerce) == (True, False), spec.table
        assert model.unique and model.unique[0] == "day", spec.table
        assert "id" not in model.columns, spec.table


def test_pinned_column_checks():
    v = schemas.VerificationDaily
    assert _checks(v, "checks") == {"greater_than": {"min_value": 0}}
    assert _checks(v, "latency_ms_sum") == {"greater_than_or_equal_to": {"min_value": 0}}
    assert v.columns["error_type"].nullable and not v.columns["status"].nullable
    assert v.unique == ["day", "group_id", "status", "cached", "error_type", "trigger"]
    hist = _checks(schemas.LatencyHistogramDaily, "bucket_le_ms")
    assert hist == {"isin": {"allowed_values": [float(b) for b in LATENCY_BUCKETS_MS]}}
    for schema in (schemas.HourlyActivity, schemas.AllGroupsHourly):
        assert schema.columns["hour"].dtype == pa.Column(pl.Int16).dtype
        hour = _checks(schema, "hour")["in_range"]
        assert (hour["min_value"], hour["max_value"]) == (0, 23)
    lacking = _checks(schemas.BotRightsDaily, "lacking_s")["in_range"]
    assert (lacking["min_value"], lacking["max_value"]) == (0, 86_400)
    for column in schemas.GroupDaily.columns:
        if column not in ("day", "group_id"):
            assert _checks(schemas.GroupDaily, column) == {
                "greater_than_or_equal_to": {"min_value": 0}
            }
    assert _checks(schemas.TopicDaily, "messages") == {"greater_than": {"min_value": 0}}
    assert _checks(schemas.InviteLinkDaily, "joins") == {"greater_than": {"min_value": 0}}


def test_frame_rules_stay():
    names = [
        (schemas.GroupDaily, "outcomes_within_checks"),
        (schemas.FunnelDaily, "quantiles_ordered"),
        (schemas.AllGroupsDaily, "consistent"),
        (schemas.ChannelDaily, "subsets"),
        (schemas.ApiBudgetDaily, "peaks_within_totals"),
        (schemas.TopicDaily, "authors_within_messages"),
        (schemas.InviteLinkDaily, "of_the_joiners"),
        (schemas.FunnelLanguageDaily, "not_empty"),
        (schemas.BotRightsDaily, "lacking_only_where_gated"),
        (schemas.SummaryRow, "period_ordered"),
    ]
    for schema, name in names:
        assert [c.name for c in schema.checks] == [name]


def _topic(**changes: Any) -> pl.DataFrame:
    row = {"day": D, "group_id": -1, "message_thread_id": 7, "messages": 3, "active_users": 2}
    return pl.DataFrame([row | changes])


def test_a_frame_that_breaks_the_contract_is_caught():
    assert schemas.split_valid(_topic(), schemas.TopicDaily).ok
    assert not schemas.split_valid(_topic(messages=0), schemas.TopicDaily).ok  # gt 0
    assert not schemas.split_valid(_topic(active_users=4), schemas.TopicDaily).ok  # rule
    twice = pl.concat([_topic(), _topic()])
    assert not schemas.split_valid(twice, schemas.TopicDaily).ok  # key
    extra = _topic().with_columns(id=pl.lit(1, pl.Int64))
    assert not schemas.split_valid(extra, schemas.TopicDaily).ok  # strict


def test_a_language_row_names_a_language_and_counts_someone():
    def row(**changes: Any) -> pl.DataFrame:
        base = {"day": D, "group_id": -1, "lang": "pt-BR", "prompted": 2, "passed": 1}
        return pl.DataFrame([base | changes])

    model = schemas.FunnelLanguageDaily
    assert schemas.split_valid(row(), model).ok
    assert schemas.split_valid(row(lang="unknown", prompted=0), model).ok
    # a code the bot has no catalog for (an older or newer bot's) is counted, not refused
    assert schemas.split_valid(row(lang="pt-br"), model).ok
    assert not schemas.split_valid(row(lang=""), model).ok
    assert not schemas.split_valid(row(prompted=0, passed=0), model).ok  # an empty row


def _summary(**changes: Any) -> pl.DataFrame:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    row = {
        "chat_id": -1,
        "summary_type": "7day",
        "content": "text",
        "token_count": 3,
        "period_start": start,
        "period_end": start + dt.timedelta(days=7),
        "method": "extractive",
        "language": "en",
    }
    frame = pl.DataFrame([row | changes])
    return frame.with_columns(
        pl.col("period_start", "period_end").cast(pl.Datetime("us", "UTC")),
        pl.col("language").cast(pl.String),
    )


def test_summary_rows_have_a_language_and_no_stamp():
    assert schemas.split_valid(_summary(), schemas.SummaryRow).ok
    assert not schemas.split_valid(_summary(language=None), schemas.SummaryRow).ok
    assert not schemas.split_valid(_summary(method="other"), schemas.SummaryRow).ok
    assert "created_at" not in schemas.SummaryRow.columns


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (SummaryMethod, METHODS),
        (SummaryLanguage, LANGUAGES),
        (ChatKind, (rights.GROUP, rights.CHANNEL, rights.OTHER)),
    ],
)
def test_the_transforms_write_the_contracts_values(enum: Any, values: tuple[str, ...]):
    assert [e.value for e in enum] == list(values)
