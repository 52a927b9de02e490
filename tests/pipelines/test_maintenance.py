"""Retention pruning and member-count sync (against the fake Telegram server with faults)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from core.models import RAW_LOG_TABLES
from core.settings import Settings
from pipelines.assets.maintenance import prune, raw_log_retention
from pipelines.assets.telegram import member_counts
from pipelines.definitions import resources_for
from pipelines.io import sync_engine
from pipelines.resources import BotTelegramResource, FakeTelegramResource, PipelineConfigResource
from pipelines.runner import materialize_range
from pipelines.transforms.retention import TIME_COLUMNS
from sandbox.fake_telegram.server import FakeTelegramServer
from sandbox.fake_telegram.world import FakeWorld
from tests.pipelines.results import materialization
from tests.pipelines.seed import CHANNELS, FIRST_DAY, GROUPS, seed
from tests.support.threaded_server import threaded_server as serving

UTC = dt.UTC


def _count(url: str, sql: str, **params: Any) -> int:
    with sync_engine(url).connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar() or 0)


def test_retention_deletes_exactly_the_rows_past_the_cutoff(
    db_url: str, app_settings: Settings
) -> None:
    seed(db_url)  # raw logs on 2026-03-01 .. 03-04 (03-03 empty)
    materialize_range(
        FIRST_DAY, FIRST_DAY + dt.timedelta(days=3), settings=app_settings, progress=False
    )
    analytics_before = _count(db_url, "SELECT count(*) FROM analytics_verification_daily")
    summaries_before = _count(db_url, "SELECT count(*) FROM summaries")
    cutoff = dt.datetime(2026, 3, 2, 12, tzinfo=UTC)
    engine = sync_engine(db_url)
    expected: dict[str, int] = {}
    remaining: dict[str, int] = {}
    with engine.connect() as conn:
        for name in RAW_LOG_TABLES:
            t = sa.table(name, sa.column(TIME_COLUMNS[name]))
            from core.models import Base

            table = Base.metadata.tables[name]
            col = table.c[TIME_COLUMNS[name]]
            expected[name] = conn.execute(
                sa.select(sa.func.count()).where(col < cutoff)
            ).scalar_one()
            remaining[name] = conn.execute(
                sa.select(sa.func.count()).where(col >= cutoff)
            ).scalar_one()
            del t
    # messages keep a longer retention: only rows before 03-01 12:00 go
    message_cutoff = cutoff - dt.timedelta(days=1)
    with engine.connect() as conn:
        from core.models import Base

        col = Base.metadata.tables["messages"].c.created_at
        expected["messages"] = conn.execute(
            sa.select(sa.func.count()).where(col < message_cutoff)
        ).scalar_one()
    cutoffs = {name: cutoff for name in RAW_LOG_TABLES}
    cutoffs["messages"] = message_cutoff
    deleted = prune(sync_engine(db_url), cutoffs, batch_size=7)  # many small batches
    assert deleted == expected
    assert deleted["verification_log"] > 7 and deleted["admin_audit_log"] == 0
    for name in ("verification_log", "api_call_log", "member_events"):
        assert _count(db_url, f'SELECT count(*) FROM "{name}"') == remaining[name]
    assert _count(db_url, "SELECT count(*) FROM analytics_verification_daily") == analytics_before
    assert _count(db_url, "SELECT count(*) FROM summaries") == summaries_before
    assert prune(sync_engine(db_url), cutoffs, batch_size=7) == dict.fromkeys(RAW_LOG_TABLES, 0)


def test_retention_asset_uses_the_configured_days(db_url: str, app_settings: Settings) -> None:
    seed(db_url)
    total = _count(db_url, "SELECT count(*) FROM verification_log")
    result = dg.materialize(
        [raw_log_retention],
        resources={
            **resources_for(app_settings, telegram=FakeTelegramResource()),
            "pipeline_config": PipelineConfigResource(retention_days=36500),
        },
    )
    assert result.success
    mat = materialization(result, raw_log_retention.key)
    assert mat.metadata["row_count"].value == 0
    assert _count(db_url, "SELECT count(*) FROM verification_log") == total
    result = dg.materialize(
        [raw_log_retention],
        resources={
            **resources_for(app_settings, telegram=FakeTelegramResource()),
            "pipeline_config": PipelineConfigResource(retention_days=1, retention_batch_size=100),
        },
    )
    assert result.success
    deleted = materialization(result, raw_log_retention.key).metadata["deleted"]
    assert deleted.value["verification_log"] == total
    assert _count(db_url, "SELECT count(*) FROM verification_log") == 0


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramServer]:
    """The fake Bot API server with the seed's groups and channels."""
    world = FakeWorld()
    world.add_user(7, "Owner")
    for i, chat_id in enumerate(GROUPS):
        world.add_group(chat_id, f"group {chat_id}", creator_id=7)
        for uid in range(1000 + i * 10, 1000 + i * 10 + 3 + i):
            world.add_user(uid, f"u{uid}")
            world.set_member(chat_id, uid, "member")
    world.add_channel(CHANNELS[0], "channel a", subscribers=500)
    world.add_channel(CHANNELS[1], "channel b", subscribers=42)
    with serving(world) as server:
        yield server


def test_member_count_sync_with_faults(
    db_url: str, app_settings: Settings, fake_telegram: FakeTelegramServer
) -> None:
    seed(db_url)  # groups -1001, -1002 enabled (-1003 disabled); channels -2001, -2002 linked
    world = fake_telegram.world
    world.fail_next("getChatMemberCount", "retry_after", count=1, retry_after=1)
    world.remove_chat(GROUPS[1])  # -1002 is gone: chat not found
    bot = app_settings.bot.model_copy(update={"api_base": fake_telegram.base_url})
    telegram = BotTelegramResource.from_settings(bot)
    result = dg.materialize(
        [member_counts],
        resources={
            **resources_for(app_settings, telegram=telegram),
            "pipeline_config": PipelineConfigResource(sync_concurrency=2, sync_rate_per_s=50),
        },
    )
    assert result.success  # one failing chat does not fail the others
    meta = materialization(result, member_counts.key).metadata
    assert meta["targets"].value == 4
    assert meta["row_count"].value == 3
    # the RetryAfter was honoured (by the client's limiter middleware or by the sync's own
    # retry) and the chat still synced: see api_call_log below
    failed = meta["failed"].value
    assert [f["chat_id"] for f in failed] == [GROUPS[1]]
    assert "not found" in failed[0]["error"].lower()
    with sync_engine(db_url).connect() as conn:
        groups = dict(conn.execute(sa.text("SELECT id, member_count FROM protected_groups")).all())
        channels = dict(
            conn.execute(sa.text("SELECT id, subscriber_count FROM enforced_channels")).all()
        )
        snaps = conn.execute(
            sa.text(
                "SELECT chat_id, kind, member_count FROM member_count_snapshots ORDER BY chat_id"
            )
        ).all()
        calls = conn.execute(
            sa.text(
                "SELECT chat_id, success, error_type FROM api_call_log "
                "WHERE method = 'getChatMemberCount'"
            )
        ).all()
        marks = conn.execute(
            sa.text(
                "SELECT row_count FROM analytics_materializations "
                "WHERE table_name = 'member_count_snapshots'"
            )
        ).all()
    assert groups[GROUPS[0]] == 5  # creator, the bot (an admin) and 3 members
    assert groups[GROUPS[1]] is None and groups[GROUPS[2]] is None  # failed / disabled
    assert channels == {CHANNELS[0]: 501, CHANNELS[1]: 43}  # subscribers + the bot (admin)
    assert sorted(s[0] for s in snaps) == sorted([GROUPS[0], *CHANNELS])
    assert {s[1] for s in snaps} == {"group", "channel"}
    assert any(not ok and err == "RetryAfter" for _, ok, err in calls)
    assert any(chat == GROUPS[1] and not ok for chat, ok, _ in calls)
    assert sum(1 for _, ok, _ in calls if ok) == 3
    assert [m[0] for m in marks] == [3]
