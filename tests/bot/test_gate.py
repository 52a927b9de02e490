"""The gate's pieces: the membership cache, checks, mutes, prompts, the callback, leaves."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.gate.actions import JoinedCallback
from bot.gate.checker import is_member
from bot.storage.membership import InMemoryMembershipCache
from core.clock import ManualClock
from core.settings import GateSettings
from sandbox.fake_telegram import FakeTelegramSession
from tests.bot.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    CH_DEALS,
    CH_NEWS,
    DAVE,
    GROUP,
    GROUP2,
    NEWS,
    START,
    TOKEN,
    Harness,
    _harness,
)

# --------------------------------------------------------------------------- the cache


def _cache(**kw: Any) -> tuple[InMemoryMembershipCache, ManualClock]:
    clock = ManualClock(START)
    settings = GateSettings(**{"cache_max_entries": 100, **kw})
    return InMemoryMembershipCache(settings, clock=clock, seed=1), clock


async def test_cache_member_and_non_member_lifetimes() -> None:
    cache, clock = _cache(cache_jitter=0.0)
    await cache.set(1, 10, True)
    await cache.set(2, 10, False)
    clock.advance(59)
    assert await cache.get(1, 10) is True
    assert await cache.get(2, 10) is False
    clock.advance(2)  # 61 s: the non-member answer expired, the member one did not
    assert await cache.get(2, 10) is None
    assert await cache.get(1, 10) is True
    clock.advance(540)  # 601 s
    assert await cache.get(1, 10) is None
    assert cache.stats.hits == 3 and cache.stats.misses == 2


async def test_cache_jitter_stays_within_15_percent() -> None:
    cache, _ = _cache()
    member = [cache.ttl_for(True) for _ in range(2000)]
    non_member = [cache.ttl_for(False) for _ in range(2000)]
    assert 510 <= min(member) < 530 and 670 < max(member) <= 690
    assert min(non_member) >= 51 and max(non_member) <= 69
    assert len(set(member)) > 1000  # really random, not a constant


async def test_cache_is_bounded_lru() -> None:
    cache, _ = _cache()
    for user in range(100):
        await cache.set(user, 10, True)
    assert await cache.get(0, 10) is True  # 0 is now the most recently used
    for user in range(100, 150):
        await cache.set(user, 10, True)
    assert len(cache) == 100
    assert await cache.get(0, 10) is True
    assert await cache.get(1, 10) is None  # evicted
    assert cache.stats.evictions == 50


async def test_cache_invalidate_user_and_one_entry() -> None:
    cache, _ = _cache()
    await cache.set(1, 10, True)
    await cache.set(1, 11, True)
    await cache.set(2, 10, True)
    await cache.invalidate(2, 10)
    assert await cache.get(2, 10) is None
    await cache.invalidate_user(1)
    assert await cache.get(1, 10) is None and await cache.get(1, 11) is None
    assert len(cache) == 0


def test_settings_refuse_bad_cache_values() -> None:
    with pytest.raises(ValueError):
        GateSettings(cache_jitter=1.5)
    with pytest.raises(ValueError):
        GateSettings(cache_member_ttl_s=0)


# --------------------------------------------------------------------------- membership rules


def test_member_statuses() -> None:
    from aiogram.types import (
        ChatMemberAdministrator,
        ChatMemberLeft,
        ChatMemberMember,
        ChatMemberOwner,
        ChatMemberRestricted,
        User,
    )

    u = User(id=1, is_bot=False, first_name="u")
    assert is_member(ChatMemberOwner(user=u, is_anonymous=False))
    assert is_member(ChatMemberMember(user=u))
    admin = ChatMemberAdministrator.model_construct(user=u, status="administrator")
    assert is_member(admin)
    assert not is_member(ChatMemberLeft(user=u))
    restricted = ChatMemberRestricted.model_construct(user=u, status="restricted", is_member=True)
    assert is_member(restricted)
    restricted_gone = ChatMemberRestricted.model_construct(
        user=u, status="restricted", is_member=False
    )
    assert not is_member(restricted_gone)


# --------------------------------------------------------------------------- checks


async def test_check_runs_channel_calls_concurrently_then_uses_the_cache(
    harness: Harness,
) -> None:
    await harness.protect()
    gate = harness.services.checker
    # Each call's latency is played through the session's sleep, which counts the calls in
    # flight: it holds a call until both are in flight (or, were they run one after the other,
    # until its deadline passes) and never really waits the latency.
    harness.world.latency_s = 0.2
    played: list[float] = []
    in_flight = peak = 0
    both_in_flight = asyncio.Event()

    async def latency(seconds: float) -> None:
        nonlocal in_flight, peak
        played.append(seconds)
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            both_in_flight.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both_in_flight.wait(), timeout=5)
        finally:
            in_flight -= 1

    session = harness.bot.session
    assert isinstance(session, FakeTelegramSession)
    session.sleep = latency
    calls_before = len(harness.world.calls)
    cold = await gate.check(BOB, GROUP, "join", bot=harness.bot)
    member_calls = [m for m, _ in harness.world.calls[calls_before:] if m == "getChatMember"]
    assert len(member_calls) == 2
    assert cold.passed and not cold.cached and cold.channels_checked == 2
    # both channel calls were waiting on Telegram at the same time: in parallel, not in turn
    assert played == [0.2, 0.2]
    assert peak == 2 and in_flight == 0
    harness.world.latency_s = 0.0
    warm = await gate.check(BOB, GROUP, "message", bot=harness.bot)
    assert warm.passed and warm.cached
    bypass = await gate.check(BOB, GROUP, "callback", bypass_cache=True, bot=harness.bot)
    assert bypass.passed and not bypass.cached
    rows = await harness.rows("verification_log")
    assert [(r["status"], r["cached"], r["trigger"]) for r in rows] == [
        ("success", False, "join"),
        ("success", True, "message"),
        ("success", False, "callback"),
    ]
    assert all(r["channels_checked"] == 2 and r["user_id"] == BOB for r in rows)
    assert {r["timestamp"] for r in rows} == {START}  # stamped by the injected clock
    assert all(r["latency_ms"] >= 0 for r in rows)


async def test_check_reports_missing_channels_in_link_order(harness: Harness) -> None:
    await harness.protect()
    harness.world.set_member(CH_DEALS, ALICE, "member")
    result = await harness.services.checker.check(ALICE, GROUP, "join", bot=harness.bot)
    assert result.failed
    assert [c.id for c in result.missing] == [CH_NEWS]


async def test_check_error_is_classified_and_fails_open(harness: Harness) -> None:
    await harness.protect()
    harness.world.fail_next("getChatMember", "forbidden")
    result = await harness.services.checker.check(BOB, GROUP, "join", bot=harness.bot)
    assert result.status.value == "error"
    assert result.error_type is not None and result.error_type.value == "Forbidden"
    row = (await harness.rows("verification_log"))[-1]
    assert row["status"] == "error" and row["error_type"] == "Forbidden"


# --------------------------------------------------------------------------- flows in process


async def test_newcomer_is_muted_and_prompted_once_per_throttle(harness: Harness) -> None:
    await harness.protect()
    world = harness.world
    await harness.feed(world.join_update(GROUP, ALICE))
    assert harness.muted(GROUP, ALICE)
    prompts = harness.sent_to(GROUP)
    assert len(prompts) == 1
    buttons = prompts[0]["reply_markup"]["inline_keyboard"]
    urls = [b[0].get("url") for b in buttons[:-1]]
    assert urls == ["https://t.me/gp_news", "https://t.me/+deals_invite"]
    assert JoinedCallback.unpack(buttons[-1][0]["callback_data"]).user_id == ALICE
    # her next message (if Telegram let one through) is deleted, no second prompt
    update = world.message_update(GROUP, ALICE, "hello?")
    await harness.feed(update)
    assert (GROUP, update["message"]["message_id"]) in world.deleted_messages
    assert len(harness.sent_to(GROUP)) == 1
    # after the throttle window a new prompt may go out
    assert harness.clock is not None
    harness.clock.advance(harness.settings.gate.prompt_throttle_s + 1)
    await harness.feed(world.message_update(GROUP, ALICE, "still here"))
    assert len(harness.sent_to(GROUP)) == 2
    restrictions = await harness.rows("user_restrictions")
    assert [(r["user_id"], r["group_id"], r["is_active"]) for r in restrictions] == [
        (ALICE, GROUP, True)
    ]
    events = await harness.rows("member_events")
    assert [(e["chat_id"], e["user_id"], e["event"]) for e in events] == [(GROUP, ALICE, "join")]
    users = await harness.rows("users")
    assert [u["id"] for u in users] == [ALICE]


async def test_a_leading_slash_is_no_way_round_the_gate(harness: Harness) -> None:
    """Group commands go to the admin router; those no admin handler takes (another bot's, an
    unknown one) are gated like any message, and the admin router's own stay its own."""
    await harness.protect()
    world = harness.world
    for text in ("/start@other_bot", "/nonsense", "/status@other_bot"):
        update = world.message_update(GROUP, ALICE, text)
        await harness.feed(update)
        assert (GROUP, update["message"]["message_id"]) in world.deleted_messages, text
    assert harness.muted(GROUP, ALICE)
    deleted = len(world.deleted_messages)
    await harness.feed(world.message_update(GROUP, BOB, "/status"))  # answered, not gated
    assert len(world.deleted_messages) == deleted
    assert not harness.muted(GROUP, BOB)


async def test_joined_button_unmutes_after_joining(harness: Harness) -> None:
    await harness.protect()
    world = harness.world
    await harness.feed(world.join_update(GROUP, ALICE))
    prompt = harness.sent_to(GROUP)[-1]
    data = JoinedCallback(user_id=ALICE).pack()
    # clicking before joining: the alert names what is missing, still muted
    await harness.feed(world.callback_update(GROUP, ALICE, data, message_id=prompt["message_id"]))
    answer = world.answered_callbacks[-1]
    assert "@gp_news" in answer["text"] and "Deals" in answer["text"]
    assert answer.get("show_alert") in (True, "true")
    assert harness.muted(GROUP, ALICE)
    # someone else pressing her button changes nothing
    await harness.feed(world.callback_update(GROUP, BOB, data, message_id=prompt["message_id"]))
    assert "someone else" in world.answered_callbacks[-1]["text"]
    # she joins one channel (the bot sees the channel update), then the other, then clicks
    await harness.feed(world.join_update(CH_NEWS, ALICE))
    await harness.feed(world.join_update(CH_DEALS, ALICE))
    await harness.feed(world.callback_update(GROUP, ALICE, data, message_id=prompt["message_id"]))
    assert not harness.muted(GROUP, ALICE)
    assert (GROUP, prompt["message_id"]) in world.deleted_messages
    assert "write now" in world.answered_callbacks[-1]["text"]
    restrictions = await harness.rows("user_restrictions")
    assert len(restrictions) == 1 and restrictions[0]["is_active"] is False
    assert restrictions[0]["lifted_at"] == START
    checks = await harness.rows("verification_log", trigger="callback")
    assert [r["status"] for r in checks] == ["failed", "success"]
    assert not any(r["cached"] for r in checks)  # the button always bypasses the cache


async def test_leaving_a_channel_mutes_again_in_every_linked_group(harness: Harness) -> None:
    await harness.protect(GROUP)
    await harness.protect(GROUP2, [NEWS])
    world = harness.world
    await harness.feed(world.message_update(GROUP, BOB, "hi"))  # warms the cache
    assert not harness.muted(GROUP, BOB)
    await harness.feed(world.leave_update(CH_NEWS, BOB))
    assert harness.muted(GROUP, BOB) and harness.muted(GROUP2, BOB)
    rows = await harness.rows("verification_log", trigger="channel_leave")
    assert sorted(r["group_id"] for r in rows) == sorted([GROUP, GROUP2])
    assert all(r["status"] == "failed" and not r["cached"] for r in rows)
    events = await harness.rows("member_events", chat_id=CH_NEWS)
    assert [(e["user_id"], e["event"]) for e in events] == [(BOB, "leave")]
    active = await harness.rows("user_restrictions")
    assert sorted(r["group_id"] for r in active if r["is_active"]) == sorted([GROUP, GROUP2])


async def test_restricted_member_admin_and_whitelisted_pass(harness: Harness) -> None:
    await harness.protect()
    await harness.services.repo.allow(GROUP, DAVE, ADMIN, START)
    world = harness.world
    for user in (CAROL, ADMIN, DAVE):
        await harness.feed(world.message_update(GROUP, user, f"hello from {user}"))
        assert not harness.muted(GROUP, user)
    assert harness.sent_to(GROUP) == []
    checks = await harness.rows("verification_log")
    assert [(r["user_id"], r["status"]) for r in checks] == [(CAROL, "success")]
    messages = await harness.rows("messages")
    assert [m["user_id"] for m in messages] == [CAROL, ADMIN, DAVE]
    assert messages[0]["content"] == f"hello from {CAROL}"


async def test_messages_are_logged_with_reply_and_content_settings(
    harness: Harness,
) -> None:
    world = harness.world
    first = world.message_update(GROUP, BOB, "first")
    await harness.feed(first)
    await harness.feed(
        world.message_update(GROUP, BOB, "second", reply_to=first["message"]["message_id"])
    )
    rows = await harness.rows("messages")
    assert [(r["content"], r["reply_to_message_id"]) for r in rows] == [
        ("first", None),
        ("second", first["message"]["message_id"]),
    ]
    assert all(r["content_type"] == "text" and not r["is_bot_message"] for r in rows)
    assert all(r["created_at"] == START for r in rows)


async def test_users_are_upserted_at_most_once_an_hour(harness: Harness) -> None:
    world = harness.world
    assert harness.clock is not None
    for _ in range(5):
        await harness.feed(world.message_update(GROUP, BOB, "x"))
    await harness.drain()
    first = await harness.rows("users")
    assert len(first) == 1 and first[0]["last_seen_at"] == START
    world.add_user(BOB, "Robert", username="bobby")
    harness.clock.advance(1800)
    await harness.feed(world.message_update(GROUP, BOB, "renamed"))
    assert (await harness.rows("users"))[0]["username"] == "bob"  # not yet: within the hour
    harness.clock.advance(1801)
    await harness.feed(world.message_update(GROUP, BOB, "later"))
    row = (await harness.rows("users"))[0]
    assert row["username"] == "bobby" and row["first_name"] == "Robert"
    assert row["first_seen_at"] == START
    assert row["last_seen_at"] == START + dt.timedelta(seconds=3601)


async def test_unprotected_and_disabled_groups_are_left_alone(harness: Harness) -> None:
    world = harness.world
    await harness.feed(world.message_update(GROUP, ALICE, "no gate here yet"))
    assert not harness.muted(GROUP, ALICE)
    await harness.protect()
    await harness.services.repo.set_enabled(GROUP, False, START)
    await harness.feed(world.message_update(GROUP, ALICE, "gate switched off"))
    assert not harness.muted(GROUP, ALICE)
    assert await harness.rows("verification_log") == []
    assert len(await harness.rows("messages")) == 2


async def test_new_chat_members_message_also_triggers_the_gate(harness: Harness) -> None:
    await harness.protect()
    world = harness.world
    await harness.feed(world.new_members_update(GROUP, [ALICE, BOB]))
    await harness.feed(world.join_update(GROUP, ALICE))  # the same join reported twice
    assert harness.muted(GROUP, ALICE) and not harness.muted(GROUP, BOB)
    events = await harness.rows("member_events", chat_id=GROUP)
    assert sorted((e["user_id"], e["event"]) for e in events) == [
        (ALICE, "join"),
        (BOB, "join"),
    ]
    assert len(harness.sent_to(GROUP)) == 1


async def test_two_replicas_share_one_cache(harness: Harness) -> None:
    """Behind the MembershipCache interface one cache can serve several dispatchers (what a
    Redis implementation would do for several bot processes)."""
    from aiogram.types import Update

    from bot.runtime.app import build_runtime
    from bot.storage.membership import MembershipCache

    shared: MembershipCache = harness.services.cache
    other = await build_runtime(  # a second bot process: its own bot, the same writer
        harness.settings,
        clock=harness.clock,
        session=FakeTelegramSession(harness.world, token=TOKEN, instant_timeouts=True),
        engine=harness.engine,
        writer=harness.writer,
        cache=shared,
    )
    try:
        await harness.protect()
        await harness.feed(harness.world.message_update(GROUP, BOB, "via replica one"))
        calls = len(harness.world.calls)
        update = harness.world.message_update(GROUP, BOB, "via replica two")
        await other.dp.feed_update(other.bot, Update.model_validate(update))
        asked = [m for m, _ in harness.world.calls[calls:] if m == "getChatMember"]
        assert asked == []  # answered from the shared cache
        rows = await harness.rows("verification_log")
        assert [r["cached"] for r in rows] == [False, True]
    finally:
        await other.close()  # the shared writer and engine stay with the harness


async def test_message_content_none_keeps_only_metadata(db_url: str, tmp_path: Path) -> None:
    async for h in _harness(
        db_url, tmp_path, http=False, clock=ManualClock(START), message_content="none"
    ):
        await h.protect()
        await h.feed(h.world.message_update(GROUP, BOB, "secret text"))
        await h.feed(h.world.join_update(GROUP, ALICE))  # the bot's prompt: no text either
        rows = await h.rows("messages")
        assert [(r["user_id"], r["content"], r["content_type"]) for r in rows] == [
            (BOB, None, "text"),
            (h.bot.id, None, "text"),
        ]
