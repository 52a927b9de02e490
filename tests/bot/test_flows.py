"""Whole flows over real HTTP: aiogram's AiohttpSession against the fake Bot API server."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.gate.actions import JoinedCallback
from bot.storage.config import ConfigRepo
from core.db import create_engine, create_session_factory
from core.migrate import run_migrations
from core.models import ApiCallLog, VerificationLog
from sandbox.fake_telegram import FakeTelegramServer, FaultPlan
from tests.bot.conftest import (
    ALICE,
    BOB,
    CAROL,
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    DAVE,
    GROUP,
    GROUP2,
    NEWS,
    TOKEN,
    Harness,
    make_world,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

KIND_TO_ERROR_TYPE = {
    "retry_after": "RetryAfter",
    "forbidden": "Forbidden",
    "chat_not_found": "ChatNotFound",
    "bad_request": "BadRequest",
    "server_error": "TelegramError",
    "timeout": "NetworkError",
}


async def test_the_whole_gate_over_http(http_harness: Harness) -> None:
    h = http_harness
    world = h.world
    await h.feed(world.message_update(GROUP, CREATOR, "/protect @gp_news " + str(CH_DEALS)))
    await h.protect(GROUP2, [NEWS])
    assert "Protected" in h.sent_to(GROUP)[-1]["text"]

    # an unsubscribed newcomer is muted and prompted
    await h.feed(world.join_update(GROUP, ALICE))
    assert h.muted(GROUP, ALICE)
    prompt = h.sent_to(GROUP)[-1]
    assert "please join" in prompt["text"]
    data = JoinedCallback(user_id=ALICE).pack()

    # she joins both channels and presses the button: unmuted, prompt gone, callback answered
    world.set_member(CH_NEWS, ALICE, "member")
    await h.feed(world.join_update(CH_DEALS, ALICE))
    await h.feed(world.callback_update(GROUP, ALICE, data, message_id=prompt["message_id"]))
    assert not h.muted(GROUP, ALICE)
    assert (GROUP, prompt["message_id"]) in world.deleted_messages
    assert world.answered_callbacks[-1]["text"] == "Thanks! You can write now."

    # she leaves a channel: muted again in every group linking it
    await h.feed(world.leave_update(CH_NEWS, ALICE))
    assert h.muted(GROUP, ALICE) and h.muted(GROUP2, ALICE)

    # restricted-but-member, admins and whitelisted users pass
    await h.services.repo.allow(GROUP, DAVE, CREATOR, h.services.clock.now())
    for user in (CAROL, CREATOR, DAVE, BOB):
        await h.feed(world.message_update(GROUP, user, "hello"))
        assert not h.muted(GROUP, user)

    # a non-admin's /protect is refused and audited
    await h.feed(world.message_update(GROUP, BOB, "/protect @gp_secret"))
    assert h.sent_to(GROUP)[-1]["text"] == "Only the group's administrators can do that."
    # an admin's /protect on a channel where the bot is not admin explains why
    await h.feed(world.message_update(GROUP, CREATOR, "/protect @gp_secret"))
    assert "not an administrator" in h.sent_to(GROUP)[-1]["text"]

    await h.drain()
    checks = await h.rows("verification_log")
    triggers = collections.Counter((r["trigger"], r["status"]) for r in checks)
    assert triggers[("join", "failed")] == 1
    assert triggers[("callback", "success")] == 1
    assert triggers[("channel_leave", "failed")] == 2
    # Carol, Bob, and Bob's refused /protect (a non-admin's command is gated like any message);
    # the creator and Dave bypass the check
    assert triggers[("message", "success")] == 3
    audit = await h.rows("admin_audit_log")
    assert [(a["action"], a["actor_id"], a["success"]) for a in audit] == [
        ("protect", CREATOR, True),
        ("protect", CREATOR, True),
        ("protect", BOB, False),
        ("protect", CREATOR, False),
    ]
    calls = await h.rows("api_call_log")
    assert len(calls) == len(world.calls)  # every call, logged once
    restrict = [c for c in calls if c["method"] == "restrictChatMember"]
    assert {(c["chat_id"], c["user_id"]) for c in restrict} == {(GROUP, ALICE), (GROUP2, ALICE)}
    restrictions = await h.rows("user_restrictions", user_id=ALICE)
    assert sorted((r["group_id"], r["is_active"]) for r in restrictions) == sorted(
        [(GROUP, False), (GROUP, True), (GROUP2, True)]
    )
    members = await h.rows("member_events")
    assert (CH_NEWS, ALICE, "leave") in {(m["chat_id"], m["user_id"], m["event"]) for m in members}


async def test_polling_delivers_updates_to_the_gate(http_harness: Harness) -> None:
    h = http_harness
    await h.protect()
    async with h.polling():
        h.world.push_update(h.world.join_update(GROUP, ALICE))
        hello = h.world.message_update(GROUP, BOB, "hello")
        h.world.push_update(hello)
        target = hello["message"]["message_id"]
        h.world.push_update(h.world.reaction_update(GROUP, target, BOB, new=("🔥",)))
        h.world.push_update(h.world.reaction_count_update(CH_NEWS, 3, {"👍": 2}))

        async def all_handled() -> bool:
            # her prompt and his message: the two rows asserted below, once polling stopped
            kinds = sorted(m["is_bot_message"] for m in await h.rows("messages"))
            reactions = len(await h.rows("reaction_events"))
            return h.muted(GROUP, ALICE) and kinds == [False, True] and reactions == 2

        await eventually(all_handled, within=10, what="the join, message and reactions handled")
        # Telegram sends these three only to a bot that asks for them
        asked = set(h.world.allowed_updates or ())
        assert {"chat_member", "message_reaction", "message_reaction_count"} <= asked
    messages = await h.rows("messages")
    assert [m["content"] for m in messages if not m["is_bot_message"]] == ["hello"]
    assert [m["user_id"] for m in messages if m["is_bot_message"]] == [h.bot.id]  # the prompt


@pytest.mark.once  # Telegram's faults: nothing here depends on the database's backend
async def test_injected_faults_never_crash_and_are_classified(
    http_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = http_harness
    await h.protect()
    world = h.world
    users = list(range(5000, 5040))
    for user in users:
        world.add_user(user, f"U{user}")
        if user % 2:
            world.set_member(CH_NEWS, user, "member")
            world.set_member(CH_DEALS, user, "member")
    world.faults = FaultPlan(
        rate=0.35,
        seed=7,
        kinds=("retry_after", "forbidden", "chat_not_found", "bad_request", "server_error"),
    )
    caplog.set_level(logging.INFO)
    for user in users:
        await h.feed(world.join_update(GROUP, user))
        await h.feed(world.message_update(GROUP, user, "hi"))
        data = JoinedCallback(user_id=user).pack()
        prompts = [m for m in h.sent_to(GROUP) if data in str(m.get("reply_markup"))]
        if prompts:
            msg_id = prompts[-1]["message_id"]
            await h.feed(world.callback_update(GROUP, user, data, message_id=msg_id))
    # the faulted world still answered most calls, and the gate kept deciding
    assert len(world.injected_faults) > 20
    assert not [r for r in caplog.records if "unhandled" in r.getMessage()]
    await h.drain()
    calls = await h.rows("api_call_log")
    failed = collections.Counter((c["method"], c["error_type"]) for c in calls if not c["success"])
    expected = collections.Counter((m, KIND_TO_ERROR_TYPE[k]) for m, k in world.injected_faults)
    assert expected - failed == collections.Counter()  # every injected fault, rightly typed
    # anything else that failed is Telegram refusing a call as it would (e.g. deleting a prompt
    # whose deletion timed out... here: a 400 after a faulted earlier step)
    assert {kind for _, kind in failed - expected} <= {"BadRequest"}
    assert all(c["error_message"] for c in calls if not c["success"])
    checks = await h.rows("verification_log")
    errors = [r for r in checks if r["status"] == "error"]
    assert errors, "some checks must have hit a fault"
    assert {r["error_type"] for r in errors} <= set(KIND_TO_ERROR_TYPE.values())
    assert all(r["error_type"] for r in errors)
    # deterministic ones: another Bad Request on the channel check is an error (the user is left
    # alone); chat not found says the bot lost the channel: held (bot.gate.channel_access)
    world.faults = FaultPlan()
    h.services.cache.__init__(h.settings.gate, clock=h.services.clock)  # type: ignore[misc]
    world.fail_next("getChatMember", "bad_request")
    result = await h.services.checker.check(users[1], GROUP, "message", bot=h.bot)
    assert result.status.value == "error" and result.error_type is not None
    assert result.error_type.value == "BadRequest" and result.lost == ()
    world.fail_next("getChatMember", "chat_not_found")
    result = await h.services.checker.check(users[1], GROUP, "message", bot=h.bot)
    assert result.status.value == "failed" and result.error_type is not None
    assert result.error_type.value == "ChatNotFound" and len(result.lost) == 1


async def test_timeouts_in_process_are_network_errors(harness: Harness) -> None:
    h = harness
    await h.protect()
    h.world.fail_next("getChatMember", "timeout", count=2)  # both channels
    await h.feed(h.world.join_update(GROUP, ALICE))
    assert not h.muted(GROUP, ALICE)  # fail open on a Telegram fault
    row = (await h.rows("verification_log"))[-1]
    assert (row["status"], row["error_type"]) == ("error", "NetworkError")
    failed = [c for c in await h.rows("api_call_log") if not c["success"]]
    assert [(c["method"], c["error_type"]) for c in failed] == [
        ("getChatMember", "NetworkError")
    ] * 2


async def test_the_token_never_reaches_the_logs(
    http_harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h = http_harness
    world = h.world
    world.faults = FaultPlan(rate=0.3, seed=3, kinds=("forbidden", "server_error"))
    await h.feed(world.message_update(GROUP, CREATOR, "/protect @gp_news"))
    for user in (ALICE, BOB, CAROL):
        await h.feed(world.join_update(GROUP, user))
        await h.feed(world.message_update(GROUP, user, "hello"))
    await h.feed(world.message_update(GROUP, CREATOR, "/status"))
    await h.drain()
    secret = TOKEN.split(":", 1)[1]
    assert caplog.records, "the flow must have logged something"
    assert secret not in caplog.text
    for record in caplog.records:
        assert secret not in record.getMessage()


async def test_gatepulse_bot_polls_the_server_bot_api_base_names(tmp_path: Path) -> None:
    """`gatepulse bot` in its own process, polling the fake server at BOT_API_BASE; SIGINT
    stops it cleanly with every row written. (Its own SQLite file: the process start-up is
    slow enough that one backend is plenty; the webhook twin in tests/production runs on both.)"""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await asyncio.to_thread(run_migrations, db_url)
    world = make_world()
    engine = create_engine(url=db_url)
    repo = ConfigRepo(create_session_factory(engine))
    actor = type("Actor", (), {"id": CREATOR, "username": "creator", "first_name": "C"})()
    await repo.protect(GROUP, "Group", actor, [NEWS], dt.datetime.now(dt.UTC))
    async with FakeTelegramServer(world, TOKEN) as server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "LOG_", "GATE_"))},
            "DATABASE_URL": db_url,
            "GATEPULSE_VAR_DIR": str(tmp_path / "var"),
            "LOG_WRITER_SPOOL_DIR": str(tmp_path / "spool"),
            "BOT_TOKEN": TOKEN,
            "BOT_API_BASE": server.base_url,
            "BOT_POLLING_TIMEOUT_S": "1",
        }
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli", "bot", env=env, stdout=out, stderr=out, cwd=tmp_path
            )
        try:
            world.push_update(world.join_update(GROUP, ALICE))
            await eventually(
                lambda: world.is_muted(GROUP, ALICE) or proc.returncode is not None, within=60
            )
            assert world.is_muted(GROUP, ALICE), log.read_text()[-2000:]
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    output = log.read_text()
    assert proc.returncode == 0, output[-2000:]
    assert "polling as @" in output
    assert (  # where an owner is sent: the link that adds the bot with the gate's rights
        "add @gatepulse_bot to a group: https://t.me/gatepulse_bot?startgroup=gatepulse"
        "&admin=restrict_members+delete_messages+invite_users"
    ) in output
    assert TOKEN.split(":", 1)[1] not in output
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(VerificationLog.status, VerificationLog.trigger))
        ).all()
        calls = await conn.scalar(sa.select(sa.func.count()).select_from(ApiCallLog))
    await engine.dispose()
    assert [tuple(r) for r in rows] == [("failed", "join")]
    assert calls and calls >= 3  # getMe, deleteWebhook, getUpdates, getChatMember, ...


async def test_build_runtime_on_a_manual_clock_for_simulations(db_url: str, tmp_path: Path) -> None:
    """The path the demo simulator drives: build_runtime + FakeTelegramSession on a
    ManualClock; Telegram latency and the outgoing limits cost simulated time, not wall time."""
    from aiogram.types import Update

    from bot.runtime.app import build_runtime
    from bot.runtime.client import OutgoingLimiter
    from core.clock import ManualClock
    from core.sleep import clock_sleep
    from sandbox.fake_telegram import FakeTelegramSession
    from tests.bot.conftest import START, make_settings

    clock = ManualClock(START)
    world = make_world(clock=clock, latency_s=5.0)  # slow Telegram, in simulated seconds
    played: list[float] = []
    on_the_clock = clock_sleep(clock)

    async def latency(seconds: float) -> None:
        played.append(seconds)
        await on_the_clock(seconds)

    session = FakeTelegramSession(world, token=TOKEN, sleep=latency)
    runtime = await build_runtime(make_settings(db_url, tmp_path), clock=clock, session=session)
    try:
        [limiter] = [m for m in runtime.bot.session.middleware if isinstance(m, OutgoingLimiter)]
        creator = type("Actor", (), {"id": CREATOR, "username": "c", "first_name": "C"})()
        await runtime.services.repo.protect(GROUP, "Group", creator, [NEWS], clock.now())
        for user in range(7000, 7030):  # 30 newcomers: 30 prompts into one group
            world.add_user(user, f"U{user}")
            update = Update.model_validate(world.join_update(GROUP, user))
            await runtime.dp.feed_update(runtime.bot, update)
        assert all(world.is_muted(GROUP, u) for u in range(7000, 7030))
        # no real 5 s sleeps: every call's latency was played on the ManualClock, and the
        # clock moved by exactly that latency and the limiter's waits, nothing else
        assert played == [5.0] * len(world.calls)
        elapsed = clock.now() - START
        assert elapsed.total_seconds() == pytest.approx(sum(played) + limiter.waited_s)
        assert elapsed > dt.timedelta(minutes=5)  # minutes of Telegram latency, all simulated
        # ...and the limiter the runtime built waits on the ManualClock too, not on the wall
        before = clock.now()
        await limiter.sleep(1.5)
        assert clock.now() - before == dt.timedelta(seconds=1.5)
        await runtime.services.drain()
        checks = await _all(runtime.engine, VerificationLog)
        assert len(checks) == 30 and all(r.timestamp >= START for r in checks)
    finally:
        await runtime.close()


async def _all(engine: Any, model: type) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.select(model))).all())
