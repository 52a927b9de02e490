"""Per-group analytics tables computed shard by shard of groups (a big window) are the tables
one pass computes."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.assets import analytics
from pipelines.resources import DatabaseResource
from tests.pipelines.seed import (
    DAYS,
    FIRST_DAY,
    GROUPS,
    record_migration,
    seed,
    seed_migrated_group,
)

MIGRATED_TO = -1_001_000
"""The supergroup ``GROUPS[0]`` becomes: in another shard of two than the old id (even, odd)."""


def test_shard_count_follows_the_rows() -> None:
    assert analytics.shard_count(0) == 1
    assert analytics.shard_count(analytics.SHARD_ROWS) == 1
    assert analytics.shard_count(analytics.SHARD_ROWS + 1) == 2
    assert analytics.shard_count(42_500_000, 8_000_000) == 6


@pytest.mark.parametrize("shards", [2, 3])
def test_a_per_group_table_in_shards_equals_one_pass(
    db_url: str, monkeypatch: pytest.MonkeyPatch, shards: int
) -> None:
    """Every ``by_group`` table, with a migrated group whose old and new ids fall in different
    shards: the shards are split after the ids are merged, so the group is one row."""
    seed(db_url)
    last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    record_migration(db_url, GROUPS[0], MIGRATED_TO, dt.datetime.combine(last, dt.time(), dt.UTC))
    seed_migrated_group(db_url, GROUPS[0], MIGRATED_TO, last)
    assert GROUPS[0] % 2 != MIGRATED_TO % 2
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]
    by_group = [s for s in analytics.SPECS if s.by_group]
    assert {s.table for s in by_group} >= {analytics.GROUP_DAILY, analytics.FUNNEL_DAILY}
    for spec in by_group:
        db = DatabaseResource(url=db_url)
        whole = analytics.compute(spec, db, days)
        rows = sum(whole.raw_checks[s.name].rows for s in spec.sources)
        monkeypatch.setattr(analytics.computing, "SHARD_ROWS", -(-rows // shards))
        assert analytics.shard_count(rows) == shards
        parts = analytics.compute(spec, DatabaseResource(url=db_url), days)
        monkeypatch.undo()
        assert whole.output.height > 0, spec.table
        if spec.table in (analytics.GROUP_DAILY, analytics.FUNNEL_DAILY):
            assert MIGRATED_TO in whole.output["group_id"].to_list(), spec.table
        assert parts.output.equals(whole.output), spec.table
