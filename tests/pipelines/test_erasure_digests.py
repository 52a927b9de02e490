"""A posted weekly digest that named someone is edited in place after they are erased, against
the fake Telegram server, once; a message that cannot be edited any more is recorded and left
alone; the sensor waits for the erased days' runs before it asks for the edits."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import dagster as dg
import sqlalchemy as sa
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import EditMessageText

from cli.privacy import telegram_configured
from core.db import create_engine
from core.erasure import erase
from core.settings import Settings
from pipelines.assets.digests import run_digests
from pipelines.definitions import build_definitions, resources_for
from pipelines.io import sync_engine, table
from pipelines.privacy import (
    DIGEST_EDITS_JOB,
    erased_digests_job,
    outcome_of,
    rewrite_digests,
)
from pipelines.resources import BotTelegramResource, DatabaseResource, PipelineConfigResource
from sandbox.fake_telegram.world import FakeWorld
from tests.pipelines.test_digests import ALICE_GROUP, WEEK_DAY, _seed
from tests.support.threaded_server import threaded_server as serving

NOW = dt.datetime(2026, 3, 10, 6, tzinfo=dt.UTC)
ALICE, BOB = 11, 12
AFTER = (
    "Weekly digest · 2 Mar – 8 Mar 2026\n\nMessages: 3\nActive members: 1\n"
    "Joins: 1 · left: 0 · removed: 0 · growth: +1\n"
    "Verifications passed: 0 · failed: 0\nChannel subscribers from the gate: 0\n\n"
    "Top posters:\n1. user 12 — 1"
)


def _erase(url: str, user_id: int) -> list[int]:
    async def run() -> list[int]:
        engine = create_engine(url=url)
        try:
            report = await erase(engine, user_id, key=b"k" * 16, requested_by="self", now=NOW)
        finally:
            await engine.dispose()
        return report.digests

    return asyncio.run(run())


def _edits(url: str) -> list[tuple[str, int, str | None]]:
    t = table("digest_edits")
    with sync_engine(url).connect() as conn:
        rows = conn.execute(sa.select(t.c.status, t.c.attempts, t.c.error).order_by(t.c.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _edit_calls(url: str) -> list[tuple[int, bool, str | None]]:
    with sync_engine(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT chat_id, success, error_type FROM api_call_log "
                "WHERE method = 'editMessageText' ORDER BY id"
            )
        )
        return [(int(c), bool(s), e) for c, s, e in rows]


def test_posted_digest_is_edited_once_after_an_erasure(db_url: str, app_settings: Settings) -> None:
    _seed(db_url)
    world = FakeWorld()
    world.add_group(ALICE_GROUP, "g", creator_id=7)
    with serving(world) as server:
        bot = app_settings.bot.model_copy(update={"api_base": server.base_url})
        resources: dict[str, Any] = {
            **resources_for(app_settings, telegram=BotTelegramResource.from_settings(bot)),
            "pipeline_config": PipelineConfigResource(
                digest_sends_per_s=1000, digest_max_age_days=36500
            ),
        }
        db = DatabaseResource(url=db_url)
        config = resources["pipeline_config"]
        posted = run_digests(db, resources["telegram"], config, [WEEK_DAY], NOW)["posted"]
        message_id = posted[0]["message_id"]
        message = world.chats[ALICE_GROUP].messages[message_id]
        assert "1. Alice — 2" in message["text"]

        assert len(_erase(db_url, ALICE)) == 1
        run = erased_digests_job.execute_in_process(resources=resources)
        assert run.success
        assert message["text"] == AFTER and "Alice" not in message["text"]
        assert _edits(db_url) == [("edited", 1, None)]
        assert _edit_calls(db_url) == [(ALICE_GROUP, True, None)]

        # a second run has nothing to do (called as the job's op and the CLI call it)
        telegram = resources["telegram"]
        assert rewrite_digests(db, telegram, config, NOW)["digests"] == 0
        assert _edit_calls(db_url) == [(ALICE_GROUP, True, None)]

        # the digest was deleted in the group meanwhile: Bob's erasure records it, once
        del world.chats[ALICE_GROUP].messages[message_id]
        assert len(_erase(db_url, BOB)) == 1
        failed = rewrite_digests(db, telegram, config, NOW)["failed"]
        assert [f["error"] for f in failed] == ["Bad Request: message to edit not found"]
        assert rewrite_digests(db, telegram, config, NOW)["digests"] == 0
        assert _edits(db_url) == [
            ("edited", 1, None),
            ("failed", 1, "Bad Request: message to edit not found"),
        ]
        assert _edit_calls(db_url) == [
            (ALICE_GROUP, True, None),
            (ALICE_GROUP, False, "BadRequest"),
        ]


def _bad_request(text: str) -> TelegramBadRequest:
    return TelegramBadRequest(EditMessageText(text="x", chat_id=1, message_id=1), text)


def test_edit_outcomes() -> None:
    not_modified = _bad_request(
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message"
    )
    assert outcome_of(1, not_modified).status == "unchanged"
    gone = outcome_of(2, _bad_request("Bad Request: message can't be edited"))
    assert (gone.status, gone.error) == ("failed", "Bad Request: message can't be edited")
    network = TelegramNetworkError(EditMessageText(text="x", chat_id=1, message_id=1), "down")
    assert outcome_of(3, network).status is None  # tried again by a later run
    assert outcome_of(4, None).status == "edited"


def test_sensor_asks_for_the_edits_after_the_erased_days(
    db_url: str, app_settings: Settings
) -> None:
    _seed(db_url)
    digests = table("digests")
    with sync_engine(db_url).begin() as conn:
        conn.execute(
            sa.insert(digests).values(
                chat_id=ALICE_GROUP,
                period_start=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                posted_at=NOW,
                telegram_message_id=5,
            )
        )
    assert len(_erase(db_url, ALICE)) == 1
    defs = build_definitions(app_settings)
    sensor = next(s for s in defs.sensors or [] if s.name == "erased_summaries")
    resources = {"database": DatabaseResource(url=db_url)}
    with dg.instance_for_test() as instance:

        def tick() -> list[dg.RunRequest]:
            with dg.build_sensor_context(
                instance=instance, resources=resources, definitions=defs
            ) as ctx:
                return list(sensor.evaluate_tick(ctx).run_requests or [])

        first = tick()  # the erased days first; the digest waits for them
        assert {r.job_name for r in first} == {"finalize_day_job"}
        assert [r.partition_key for r in first] == ["2026-03-08"]  # its 7-day summary
        day_run = instance.add_run(  # a run of that day, started
            dg.DagsterRun(
                job_name="finalize_day_job",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.STARTED,
            )
        )
        assert tick() == []  # still writing that day
        instance.report_run_failed(day_run)  # finished (a failure counts: nothing to wait for)
        second = tick()
        assert [(r.job_name, r.run_key) for r in second] == [(DIGEST_EDITS_JOB, "digest-edits-1-0")]


def test_forget_edits_at_once_only_with_a_telegram_token() -> None:
    assert not telegram_configured(Settings())
    other = Settings().bot.model_copy(update={"api_base": "http://127.0.0.1:8081"})
    assert telegram_configured(Settings().replace(bot=other))
