"""The weekly_digests asset against the fake Telegram server: posted once per group and week
across re-runs and backfills, opted-out groups and empty weeks get nothing, a 403 for one group
does not stop another."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from core.ratelimit import Rate, RateLimiter
from core.settings import LogWriterSettings, Settings
from pipelines.assets.digests import (
    IN_FLIGHT,
    Pending,
    build_digests_asset,
    post_all,
    post_one,
    run_digests,
)
from pipelines.definitions import resources_for
from pipelines.io import sync_engine, table
from pipelines.partitions import weekly_partitions
from pipelines.resources import (
    BotTelegramResource,
    DatabaseResource,
    MessageSender,
    PipelineConfigResource,
    TelegramResource,
)
from pipelines.runner import RANGE_END_TAG, RANGE_START_TAG
from pipelines.schedules import build_jobs, build_schedules
from sandbox.fake_telegram.world import FakeWorld
from tests.support.threaded_server import threaded_server as serving

UTC = dt.UTC
WEEK = "2026-03-02"
ALICE_GROUP, KICKED, OPTED_OUT, EMPTY = -1001, -1002, -1003, -1004
WEEKLY = {"digest": "weekly"}
WEEK_KEYS = ("2026-02-23", WEEK)
WEEK_DAY = dt.date(2026, 3, 2)


def _seed(url: str) -> None:
    settings = {
        ALICE_GROUP: {**WEEKLY, "top_posters": True},
        KICKED: WEEKLY,
        OPTED_OUT: {"digest": "off"},
        EMPTY: WEEKLY,
    }
    day = dt.date(2026, 3, 4)
    at = dt.datetime(2026, 3, 4, 12, tzinfo=UTC)
    counts = {"verifications": 0, "passed": 0, "failed": 0, "leaves": 0, "active_users": 1}
    with sync_engine(url).begin() as conn:
        conn.execute(
            sa.insert(table("protected_groups")),
            [{"id": g, "title": f"g{g}", "settings": s} for g, s in settings.items()],
        )
        conn.execute(
            sa.insert(table("analytics_group_daily")),
            [
                {"day": day, "group_id": g, "messages": n, "joins": 1, **counts}
                for g, n in ((ALICE_GROUP, 3), (KICKED, 2), (OPTED_OUT, 5))
            ],
        )
        conn.execute(
            sa.insert(table("users")),
            [{"id": 11, "first_name": "Alice"}, {"id": 12, "first_name": None}],
        )
        conn.execute(
            sa.insert(table("messages")),
            [
                {"telegram_message_id": i, "chat_id": ALICE_GROUP, "user_id": u, "created_at": at}
                for i, u in enumerate((11, 11, 12))
            ],
        )
        conn.execute(
            sa.insert(table("summaries")),
            {
                "chat_id": ALICE_GROUP,
                "summary_type": "7day",
                "content": "Releases and bugs.",
                "token_count": 3,
                "period_start": dt.datetime(2026, 3, 2, tzinfo=UTC),
                "period_end": dt.datetime(2026, 3, 9, tzinfo=UTC),
            },
        )


def _digests(url: str) -> dict[int, tuple[bool, int | None]]:
    t = table("digests")
    with sync_engine(url).connect() as conn:
        rows = conn.execute(sa.select(t.c.chat_id, t.c.posted_at, t.c.telegram_message_id))
        return {c: (posted is not None, mid) for c, posted, mid in rows}


def test_digests_post_once_across_reruns_and_backfills(db_url: str, app_settings: Settings) -> None:
    _seed(db_url)
    world = FakeWorld()
    for group in (ALICE_GROUP, KICKED, OPTED_OUT, EMPTY):
        world.add_group(group, f"g{group}", creator_id=7)
    world.kick_bot(KICKED)
    asset = build_digests_asset(weekly_partitions(dt.date(2026, 1, 1)))
    with serving(world) as server:
        bot = app_settings.bot.model_copy(update={"api_base": server.base_url})
        resources = {
            **resources_for(app_settings, telegram=BotTelegramResource.from_settings(bot)),
            "pipeline_config": PipelineConfigResource(
                digest_sends_per_s=1000, digest_max_age_days=36500
            ),
        }

        def run(**kwargs: Any) -> dict[str, Any]:
            result = dg.materialize([asset], resources=resources, **kwargs)
            assert result.success
            # one run, one step: each week of a range reports the step's metadata
            events = result.get_asset_materialization_events()
            keys = [kwargs["partition_key"]] if "partition_key" in kwargs else list(WEEK_KEYS)
            assert sorted(e.partition or "" for e in events) == keys
            meta = events[0].materialization.metadata
            return {k: v.value for k, v in meta.items()}

        first = run(partition_key=WEEK)
        sent = [m for m in world.sent_messages if m["chat"]["id"] == ALICE_GROUP]
        assert [m["text"] for m in sent] == [
            "Weekly digest · 2 Mar – 8 Mar 2026\n\nMessages: 3\nActive members: 2\n"
            "Joins: 1 · left: 0 · removed: 0 · growth: +1\n"
            "Verifications passed: 0 · failed: 0\nChannel subscribers from the gate: 0\n\n"
            "Top posters:\n1. Alice — 2\n2. user 12 — 1\n\n"
            "Summary of the week:\nReleases and bugs."
        ]
        assert first["posted"] == [
            {"chat_id": ALICE_GROUP, "week": WEEK, "message_id": sent[0]["message_id"]}
        ]
        assert [(f["chat_id"], f["error_type"]) for f in first["failed"]] == [(KICKED, "Forbidden")]
        assert first["digests"] == 2 and first["row_count"] == 1
        assert _digests(db_url) == {
            ALICE_GROUP: (True, sent[0]["message_id"]),
            KICKED: (False, None),  # a later run retries it
        }

        # the bot is back in the group; a backfill over the week before (no data) and this
        # week posts the one that failed, and nothing else
        world.set_bot_admin(KICKED, True)
        second = run(tags={RANGE_START_TAG: WEEK_KEYS[0], RANGE_END_TAG: WEEK})
        assert [p["chat_id"] for p in second["posted"]] == [KICKED]
        assert second["already_posted"] == 1 and second["failed"] == []
        assert second["digests"] == 2  # the week before has no data: no digest
        assert [m["chat"]["id"] for m in world.sent_messages] == [ALICE_GROUP, KICKED]
        assert {c: posted for c, (posted, _) in _digests(db_url).items()} == {
            ALICE_GROUP: True,
            KICKED: True,
        }
    with sync_engine(db_url).connect() as conn:
        calls = conn.execute(
            sa.text(
                "SELECT chat_id, success, error_type FROM api_call_log "
                "WHERE method = 'sendMessage' ORDER BY id"
            )
        ).all()
    got = [(c, bool(ok), e) for c, ok, e in calls]
    # the first run's two sends overlap on PostgreSQL: either may be logged first
    assert sorted(got[:2]) == [(KICKED, False, "Forbidden"), (ALICE_GROUP, True, None)]
    assert got[2:] == [(KICKED, True, None)]


def test_weeks_past_the_max_age_are_not_posted(db_url: str) -> None:
    _seed(db_url)
    report = run_digests(
        DatabaseResource(url=db_url),
        BotTelegramResource(api_base="http://127.0.0.1:9", token="1:x"),  # never called
        PipelineConfigResource(digest_max_age_days=14),
        [WEEK_DAY],
        now=dt.datetime(2026, 3, 23, 0, 1, tzinfo=UTC),  # the week ended 14 days and 1 min ago
    )
    assert report["too_old"] == [WEEK] and report["digests"] == 0
    assert _digests(db_url) == {}


@pytest.mark.postgres
def test_a_digest_another_run_is_posting_is_skipped(db_url: str) -> None:
    """PostgreSQL: the row is locked while it is sent, and an overlapping run skips it."""
    sent: list[int] = []

    async def send(chat_id: int, text: str) -> int:
        sent.append(chat_id)
        return 41

    def post() -> str:
        limiter = RateLimiter(Rate(1000, 1.0))
        return asyncio.run(
            post_one(sync_engine(db_url), Pending(ALICE_GROUP, WEEK_DAY, "hi"), send, limiter)
        ).status

    digests = table("digests")
    engine = sync_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(digests),
            {"chat_id": ALICE_GROUP, "period_start": dt.datetime(2026, 3, 2, tzinfo=UTC)},
        )
    with engine.connect() as other, other.begin():
        other.execute(sa.select(digests.c.id).with_for_update())  # another run, mid-send
        assert post() == "in_progress"
    assert sent == []
    assert post() == "posted" and sent == [ALICE_GROUP]
    assert post() == "already_posted" and sent == [ALICE_GROUP]
    assert _digests(db_url) == {ALICE_GROUP: (True, 41)}


class _OverlapTelegram(TelegramResource):
    """Sends that note how many are in flight at once (each takes one loop turn or more)."""

    def message_sender(
        self, database: DatabaseResource, writer: LogWriterSettings
    ) -> AbstractAsyncContextManager[MessageSender]:
        return self._sender()

    @asynccontextmanager
    async def _sender(self) -> AsyncIterator[MessageSender]:
        async def send(chat_id: int, text: str) -> int:
            _IN_FLIGHT.append(_IN_FLIGHT[-1] + 1)
            await asyncio.sleep(0.01)
            _IN_FLIGHT.append(_IN_FLIGHT[-1] - 1)
            return -chat_id

        yield send


_IN_FLIGHT = [0]


def test_the_fan_out_overlaps_sends_on_postgresql_only(db_url: str) -> None:
    """PostgreSQL: several digests are in flight at once (the pace is the limiter's, not one
    round trip after another); SQLite (one writer): one at a time. Every one is posted once,
    and the postings come back in the order given."""
    _IN_FLIGHT[:] = [0]
    pending = [Pending(-5000 - i, WEEK_DAY, f"digest {i}") for i in range(12)]
    postings = asyncio.run(
        post_all(
            DatabaseResource(url=db_url),
            _OverlapTelegram(),
            pending,
            sends_per_s=10_000,
            writer=LogWriterSettings(),
        )
    )
    assert [(p.chat_id, p.status, p.message_id) for p in postings] == [
        (d.chat_id, "posted", -d.chat_id) for d in pending
    ]
    most = max(_IN_FLIGHT)
    if db_url.startswith("sqlite"):
        assert most == 1
    else:
        assert 1 < most <= IN_FLIGHT


def test_the_monday_schedule_asks_for_last_week() -> None:
    jobs = build_jobs()
    schedule = next(s for s in build_schedules(jobs) if s.name == "weekly_digests_monday")
    assert schedule.cron_schedule == "0 6 * * 1"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 9, 6, tzinfo=UTC)
    )
    request = schedule(context)  # the decorated function, as the daemon's tick calls it
    assert isinstance(request, dg.RunRequest)
    assert (request.partition_key, request.run_key) == (WEEK, f"digests-{WEEK}")
