"""Raids through the real client (AiohttpSession against the fake Bot API, on a ManualClock):
a batch of joiners muted together with one combined prompt per 20, the group-wide "I joined"
button, and a raid lockdown that starts above the join rate and ends by itself; plus the pure
helpers (the sliding join window, the prompt chunks) and background work shutdown waits for."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import texts
from bot.gate.actions import EVERYONE, JoinedCallback
from bot.gate.raids import MAX_TEXT, MENTIONS_PER_PROMPT, JoinWindow, prompt_chunks
from bot.runtime.inflight import InFlight
from core.clock import ManualClock
from tests.bot.conftest import (
    ALICE,
    BOB,
    CH_DEALS,
    CH_NEWS,
    DEALS,
    GROUP,
    NEWS,
    START,
    Harness,
    _harness,
)

BOTH = [CH_NEWS, CH_DEALS]
RAIDERS = list(range(30_001, 30_100))  # subscribed to nothing
RAID = {"raid_joins": 6, "raid_window_s": 60.0, "raid_lockdown_s": 600.0, "raid_concurrency": 4}


@pytest.fixture
async def h(db_url: str, tmp_path: Any) -> AsyncIterator[Harness]:
    """The bot over real HTTP on a ManualClock; a lockdown at 6 joins a minute, 4 at a time."""
    async for harness in _harness(db_url, tmp_path, http=True, clock=ManualClock(START), **RAID):
        await harness.protect()
        yield harness


async def events(h: Harness) -> list[tuple[str, int | None, dict[str, Any] | None]]:
    return [(e["event"], e["user_id"], e["detail"]) for e in await h.rows("gate_events")]


async def settle(h: Harness) -> None:
    """Wait for a batch handled after its update was answered (shutdown waits the same way)."""
    assert await h.runtime.inflight.idle(30), "the batch still runs"


def restricted(h: Harness) -> list[int]:
    return sorted(int(p["user_id"]) for name, p in h.world.calls if name == "restrictChatMember")


def buttons(message: dict[str, Any]) -> list[str]:
    """A sent message's buttons: their urls or callback data."""
    rows = message["reply_markup"]["inline_keyboard"]
    return [b.get("url") or b["callback_data"] for row in rows for b in row]


async def press(h: Harness, user_id: int, message_id: int) -> str:
    data = JoinedCallback(user_id=EVERYONE).pack()
    await h.feed(h.world.callback_update(GROUP, user_id, data, message_id=message_id))
    text: str = h.world.answered_callbacks[-1]["text"]
    return text


# --------------------------------------------------------------------------- a batch


async def test_a_batch_is_muted_concurrently_with_one_combined_prompt(h: Harness) -> None:
    joiners = [*RAIDERS[:4], BOB]  # Bob is subscribed: checked, not muted
    await h.feed(h.world.new_members_update(GROUP, joiners))
    await settle(h)
    assert restricted(h) == RAIDERS[:4]
    assert all(h.muted(GROUP, u) for u in RAIDERS[:4]) and not h.muted(GROUP, BOB)
    [prompt] = h.sent_to(GROUP)
    for uid in RAIDERS[:4]:
        assert f"tg://user?id={uid}" in prompt["text"]
    assert "please join" in prompt["text"] and f"id={BOB}" not in prompt["text"]
    assert buttons(prompt) == [
        "https://t.me/gp_news",
        "https://t.me/+deals_invite",
        JoinedCallback(user_id=EVERYONE).pack(),
    ]
    detail = {"trigger": "join", "missing": BOTH, "batch": 5}
    prompted = {**detail, "message_id": prompt["message_id"], "thread_id": None, "lang": "en"}
    assert await events(h) == [
        *(("muted", uid, detail) for uid in RAIDERS[:4]),
        *(("prompted", uid, prompted) for uid in RAIDERS[:4]),
    ]
    assert len(await h.rows("member_events")) == 5
    assert len(await h.rows("verification_log")) == 5


async def test_a_big_batch_gets_one_prompt_per_20_joiners_and_runs_after_the_answer(
    db_url: str, tmp_path: Any
) -> None:
    async for h in _harness(
        db_url, tmp_path, http=True, clock=ManualClock(START), raid_joins=1000, raid_concurrency=8
    ):
        await h.protect()
        joiners = RAIDERS[:45]
        await h.feed(h.world.new_members_update(GROUP, joiners))  # answered: 45 > 8
        await settle(h)
        assert restricted(h) == joiners
        prompts = h.sent_to(GROUP)
        assert len(prompts) == 3  # 20 + 20 + 5
        named = [[u for u in joiners if f'id={u}"' in p["text"]] for p in prompts]
        assert [len(n) for n in named] == [20, 20, 5]
        assert sorted(u for n in named for u in n) == joiners
        rows = await events(h)
        assert [e for e, _, _ in rows].count("muted") == 45
        by_message = {d["message_id"] for e, _, d in rows if e == "prompted" and d}
        assert by_message == {p["message_id"] for p in prompts}


async def test_the_combined_prompts_button_checks_whoever_presses_it(h: Harness) -> None:
    await h.feed(h.world.new_members_update(GROUP, RAIDERS[:3]))
    await settle(h)
    [prompt] = h.sent_to(GROUP)
    first, second = RAIDERS[:2]
    assert await press(h, first, prompt["message_id"]) == texts.CALLBACK_MISSING.format(
        channels="@gp_news, Deals"
    )
    for channel in BOTH:
        h.world.set_member(channel, first, "member")
    assert await press(h, first, prompt["message_id"]) == texts.CALLBACK_OK
    assert not h.muted(GROUP, first) and h.muted(GROUP, second)
    assert not [c for c, _ in h.world.calls if c == "deleteMessage"]  # the prompt stays
    # someone the gate did not mute cannot use it to lift anything
    assert await press(h, ALICE, prompt["message_id"]) == texts.CALLBACK_NO_GATE_MUTE
    rows = await events(h)
    assert ("unmuted", first, {"trigger": "callback"}) in rows
    assert ("clicked", ALICE, {"result": "no_gate_mute"}) in rows


# --------------------------------------------------------------------------- lockdown


async def test_a_raid_lockdown_starts_above_the_join_rate_and_ends_by_itself(
    h: Harness,
) -> None:
    clock = h.clock
    assert clock is not None
    for uid in RAIDERS[:5]:  # 5 joins in a minute: each its own prompt
        await h.feed(h.world.join_update(GROUP, uid))
        clock.advance(5)
    assert len(h.sent_to(GROUP)) == 5
    await h.feed(h.world.join_update(GROUP, RAIDERS[5]))  # the 6th: lockdown
    notice = h.sent_to(GROUP)[-1]
    assert "raid lockdown" in notice["text"] and len(h.sent_to(GROUP)) == 6
    assert buttons(notice)[-1] == JoinedCallback(user_id=EVERYONE).pack()
    await h.feed(h.world.new_members_update(GROUP, RAIDERS[6:9]))  # during it: no prompts
    await h.feed(h.world.join_update(GROUP, RAIDERS[9]))
    await settle(h)
    assert len(h.sent_to(GROUP)) == 6
    assert all(h.muted(GROUP, u) for u in RAIDERS[:10])
    # the lockdown lasts 600 s from the last join at the raid rate; a message ends it after
    clock.advance(599)
    await h.feed(h.world.message_update(GROUP, BOB, "still quiet?"))
    assert len(h.sent_to(GROUP)) == 6
    clock.advance(2)
    await h.feed(h.world.message_update(GROUP, BOB, "is it over?"))
    ended = h.sent_to(GROUP)[-1]
    assert ended["text"] == texts.RAID_LOCKDOWN_ENDED and "reply_markup" not in ended
    await h.feed(h.world.join_update(GROUP, RAIDERS[10]))  # back to individual prompts
    assert len(h.sent_to(GROUP)) == 8 and f"id={RAIDERS[10]}" in h.sent_to(GROUP)[-1]["text"]

    rows = await events(h)
    lockdowns = [(u, d) for e, u, d in rows if d and "raid_lockdown" in d]
    assert lockdowns == [
        (
            None,
            {
                "raid_lockdown": "started",
                "joins": 6,
                "lang": "en",
                "message_id": notice["message_id"],
            },
        ),
        (
            None,
            {
                "raid_lockdown": "ended",
                "joins": 10,
                "lang": "en",
                "message_id": ended["message_id"],
            },
        ),
    ]
    raid_mutes = [u for e, u, d in rows if e == "muted" and d and d.get("raid")]
    assert raid_mutes[:1] == [RAIDERS[5]] and sorted(raid_mutes) == RAIDERS[5:10]
    prompted_users = [u for e, u, _ in rows if e == "prompted" and u is not None]
    assert prompted_users == [*RAIDERS[:5], RAIDERS[10]]
    # a joiner muted in the lockdown verifies with the notice's button
    for channel in BOTH:
        h.world.set_member(channel, RAIDERS[7], "member")
    assert await press(h, RAIDERS[7], notice["message_id"]) == texts.CALLBACK_OK
    assert not h.muted(GROUP, RAIDERS[7])


async def test_a_batch_above_the_rate_is_a_raid_with_one_notice(h: Harness) -> None:
    await h.feed(h.world.new_members_update(GROUP, RAIDERS[:20]))
    await settle(h)
    assert restricted(h) == RAIDERS[:20]
    [notice] = h.sent_to(GROUP)
    assert "raid lockdown" in notice["text"]
    rows = await events(h)
    # the raiders are muted first: the notice may wait for the group's send budget
    assert rows[-1] == (
        "prompted",
        None,
        {"raid_lockdown": "started", "joins": 20, "lang": "en", "message_id": notice["message_id"]},
    )
    assert {(e, str(d and d.get("raid"))) for e, _, d in rows[:-1]} == {("muted", "True")}


# --------------------------------------------------------------------------- pure helpers


def test_the_join_window_slides_per_group() -> None:
    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    window = JoinWindow(clock.monotonic, 60.0)
    assert window.add(GROUP) == 1
    clock.advance(30)
    assert window.add(GROUP, 10) == 11
    assert window.add(-1, 2) == 2  # another group counts apart
    clock.advance(30)  # the first join leaves the window
    assert window.add(GROUP) == 11
    clock.advance(61)
    assert window.add(GROUP) == 1


def test_prompt_chunks_name_at_most_20_users_under_telegrams_length_limit() -> None:
    class User:
        def __init__(self, uid: int, name: str) -> None:
            self.id, self.first_name = uid, name

    users = [User(i, "&<" * 40 + "x" * 100) for i in range(1, 48)]  # escaped: 200+ chars each
    chunks = prompt_chunks(users, [NEWS, DEALS])
    assert [u for named, _ in chunks for u in named] == users
    for named, text in chunks:
        assert 1 <= len(named) <= MENTIONS_PER_PROMPT and len(text) <= MAX_TEXT
        assert all(f'tg://user?id={u.id}"' in text for u in named)
    assert len(chunks) > 3  # the length bound, not only the count, split them
    short = prompt_chunks([User(i, "Ann") for i in range(45)], [NEWS])
    assert [len(named) for named, _ in short] == [20, 20, 5]
    assert prompt_chunks([], [NEWS]) == []


async def test_background_work_counts_as_in_flight_until_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inflight, go = InFlight(), asyncio.Event()

    async def work() -> None:
        await go.wait()
        raise RuntimeError("boom")

    inflight.track(work())
    assert inflight.count == 1 and not await inflight.idle(0.01)
    go.set()
    with caplog.at_level(logging.ERROR, logger="bot.runtime.inflight"):
        assert await inflight.idle(5)
    assert inflight.count == 0 and "RuntimeError" in caplog.text
