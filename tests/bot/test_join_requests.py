"""Join requests to a gated group, through the real client (AiohttpSession against the fake Bot
API) on a ManualClock: subscribers approved at once, the others asked in private ("I joined"),
declined after ``GATE_JOIN_REQUEST_TIMEOUT_S``; groups without the gate left alone. Every step
is a ``gate_events`` row."""

from __future__ import annotations

from typing import Any

import pytest

from bot import texts
from bot.gate.join_requests import RequestCallback
from sandbox.fake_telegram.joinrequests import USER_CHAT_WINDOW_S
from sandbox.fake_telegram.protocol import CANT_INITIATE
from tests.bot.conftest import ALICE, BOB, CH_DEALS, CH_NEWS, DEALS, GROUP, GROUP2, NEWS, Harness

TIMEOUT_S = 600.0  # GATE_JOIN_REQUEST_TIMEOUT_S's default
BOTH = [CH_NEWS, CH_DEALS]
PRESS = RequestCallback(group_id=GROUP).pack()


@pytest.fixture
async def h(http_clock_harness: Harness) -> Harness:
    """The bot over real HTTP on a ManualClock, GROUP protected by both channels."""
    await http_clock_harness.protect()
    return http_clock_harness


async def events(h: Harness) -> list[tuple[str, int | None, dict[str, Any] | None]]:
    return [(e["event"], e["user_id"], e["detail"]) for e in await h.rows("gate_events")]


def called(h: Harness, method: str, start: int = 0) -> list[dict[str, Any]]:
    return [params for name, params in h.world.calls[start:] if name == method]


async def request(h: Harness, user_id: int, group_id: int = GROUP) -> dict[str, Any]:
    """``user_id`` asks to join; returns the private message the bot sent them, if any."""
    before = len(h.sent_to(user_id))
    await h.feed(h.world.join_request_update(group_id, user_id))
    sent = h.sent_to(user_id)[before:]
    assert len(sent) <= 1
    return sent[0] if sent else {}


async def press(h: Harness, user_id: int, message_id: int) -> dict[str, Any]:
    """``user_id`` presses "I joined" under the private message; returns the answer."""
    before = len(h.world.answered_callbacks)
    await h.feed(h.world.callback_update(user_id, user_id, PRESS, message_id=message_id))
    (answer,) = h.world.answered_callbacks[before:]
    return answer


def timed_out(user_id: int) -> list[tuple[str, int, dict[str, Any]]]:
    """The gate events of a request declined at its deadline."""
    return [
        ("expired", user_id, {"timeout_s": TIMEOUT_S}),
        ("declined", user_id, {"reason": "expired"}),
    ]


def approved_at_once(user_id: int) -> list[tuple[str, int, dict[str, Any]]]:
    """The gate events of a subscriber's request."""
    return [
        ("join_request", user_id, {"missing": []}),
        ("approved", user_id, {"trigger": "join_request"}),
    ]


def clicked(user_id: int, result: str, **detail: Any) -> tuple[str, int, dict[str, Any]]:
    """The gate event of a press of "I joined" under a join request's private message."""
    return ("clicked", user_id, {"result": result, **detail, "via": "join_request"})


def subscribe(h: Harness, user_id: int) -> None:
    for channel in BOTH:
        h.world.set_member(channel, user_id, "member")


async def test_a_subscriber_is_approved_at_once(h: Harness) -> None:
    assert "chat_join_request" in h.dp.resolve_used_update_types()
    assert await request(h, BOB) == {}  # no private message
    assert h.world.pending_join_requests(GROUP) == []
    assert h.world.is_member(GROUP, BOB)
    assert [int(p["user_id"]) for p in called(h, "approveChatJoinRequest")] == [BOB]
    assert await events(h) == [
        *approved_at_once(BOB),
    ]
    assert len(h.services.join_requests) == 0
    checks = await h.rows("verification_log")
    assert [(c["user_id"], c["trigger"], c["status"]) for c in checks] == [(BOB, "join", "success")]


async def test_a_newcomer_is_asked_in_private_joins_presses_and_is_approved(h: Harness) -> None:
    prompt = await request(h, ALICE)
    assert prompt["chat"]["type"] == "private" and prompt["chat"]["id"] == ALICE
    assert f"join <b>Group</b>, please join {NEWS.label}, {DEALS.label} first" in prompt["text"]
    buttons = [b for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == [
        f"Join {NEWS.label}",
        f"Join {DEALS.label}",
        texts.JOINED_BUTTON,
    ]
    assert buttons[-1]["callback_data"] == PRESS
    assert h.world.pending_join_requests(GROUP) == [ALICE]
    assert called(h, "approveChatJoinRequest") == []

    # too early: told what is missing, still pending
    answer = await press(h, ALICE, prompt["message_id"])
    assert answer["text"] == texts.CALLBACK_MISSING.format(channels=f"{NEWS.label}, {DEALS.label}")
    assert answer["show_alert"] is True
    h.world.set_member(CH_NEWS, ALICE, "member")
    answer = await press(h, ALICE, prompt["message_id"])
    assert answer["text"] == texts.CALLBACK_MISSING.format(channels=DEALS.label)
    assert h.world.pending_join_requests(GROUP) == [ALICE]

    h.world.set_member(CH_DEALS, ALICE, "member")
    answer = await press(h, ALICE, prompt["message_id"])
    assert answer["text"] == texts.CALLBACK_OK
    assert h.world.pending_join_requests(GROUP) == [] and h.world.is_member(GROUP, ALICE)
    (edited,) = h.world.edited_messages
    assert edited["chat"]["id"] == ALICE and edited["message_id"] == prompt["message_id"]
    assert "approved" in edited["text"] and "reply_markup" not in edited
    assert len(h.services.join_requests) == 0

    # the deadline passing later declines nothing
    h.clock.advance(TIMEOUT_S + 1)
    assert await h.services.join_requests.sweep(h.bot) == 0
    assert called(h, "declineChatJoinRequest") == []
    assert await events(h) == [
        (
            "join_request",
            ALICE,
            {"missing": BOTH, "lang": "en", "message_id": prompt["message_id"]},
        ),
        clicked(ALICE, "failed", missing=BOTH),
        clicked(ALICE, "failed", missing=[CH_DEALS]),
        clicked(ALICE, "passed"),
        ("approved", ALICE, {"trigger": "callback"}),
    ]
    checks = await h.rows("verification_log")
    assert [(c["trigger"], c["status"]) for c in checks] == [
        ("join", "failed"),
        ("callback", "failed"),
        ("callback", "failed"),
        ("callback", "success"),
    ]


async def test_a_request_never_satisfied_is_declined_after_the_timeout(h: Harness) -> None:
    prompt = await request(h, ALICE)
    h.clock.advance(TIMEOUT_S - 1)
    assert await h.services.join_requests.sweep(h.bot) == 0
    assert h.world.pending_join_requests(GROUP) == [ALICE]
    h.clock.advance(1)
    assert await h.services.join_requests.sweep(h.bot) == 1
    assert h.world.pending_join_requests(GROUP) == [] and not h.world.is_member(GROUP, ALICE)
    assert [int(p["user_id"]) for p in called(h, "declineChatJoinRequest")] == [ALICE]
    (edited,) = h.world.edited_messages
    assert edited["message_id"] == prompt["message_id"] and "expired" in edited["text"]
    assert await events(h) == [
        (
            "join_request",
            ALICE,
            {"missing": BOTH, "lang": "en", "message_id": prompt["message_id"]},
        ),
        *timed_out(ALICE),
    ]
    # joining and pressing afterwards: the request is gone, nothing is approved
    subscribe(h, ALICE)
    answer = await press(h, ALICE, prompt["message_id"])
    assert answer["text"] == texts.REQUEST_GONE
    assert not h.world.is_member(GROUP, ALICE)
    assert [e for e, _, _ in await events(h)] == ["join_request", "expired", "declined", "clicked"]


async def test_the_next_update_declines_what_is_due(h: Harness) -> None:
    """Without the periodic task (a ManualClock), any update sweeps the due requests first."""
    assert h.runtime.sweeper is None
    await request(h, ALICE)
    h.clock.advance(TIMEOUT_S)
    await request(h, BOB)  # an update: ALICE's request is declined before BOB's is handled
    assert h.world.pending_join_requests(GROUP) == []
    assert await events(h) == [
        (
            "join_request",
            ALICE,
            {"missing": BOTH, "lang": "en", "message_id": h.sent_to(ALICE)[0]["message_id"]},
        ),
        *timed_out(ALICE),
        *approved_at_once(BOB),
    ]


async def test_a_private_message_refused_is_recorded_and_the_request_expires(h: Harness) -> None:
    h.world.fail_next("sendMessage", "forbidden")
    assert await request(h, ALICE) == {}
    assert h.world.pending_join_requests(GROUP) == [ALICE]
    h.clock.advance(TIMEOUT_S)
    assert await h.services.join_requests.sweep(h.bot) == 1
    assert h.world.pending_join_requests(GROUP) == []
    assert h.world.edited_messages == []  # nothing to edit
    assert await events(h) == [
        ("join_request", ALICE, {"missing": BOTH, "lang": "en", "message_error": "Forbidden"}),
        *timed_out(ALICE),
    ]


async def test_the_private_window_of_a_request_closes_after_five_minutes(h: Harness) -> None:
    """Telegram lets the bot write to a request's ``user_chat_id`` for 5 minutes: a request the
    bot takes up later (it was down, a backlog) gets no private message (a 403, recorded in
    the request's event and in api_call_log) and is still declined at its deadline. Exactly at
    the window's end, or to a user who has written to the bot before, the message goes out."""
    eve, fay = 2005, 2006
    h.world.add_user(eve, "Eve")
    h.world.add_user(fay, "Fay")
    h.world.message_update(fay, fay, "/start")  # Fay opened a chat with the bot long ago
    on_time, late, known = (h.world.join_request_update(GROUP, u) for u in (eve, ALICE, fay))
    h.clock.advance(USER_CHAT_WINDOW_S)
    await h.feed(on_time)
    h.clock.advance(1)
    await h.feed(late)
    await h.feed(known)
    assert h.sent_to(ALICE) == []
    assert [len(h.sent_to(eve)), len(h.sent_to(fay))] == [1, 1]
    sends = [r for r in await h.rows("api_call_log") if r["method"] == "sendMessage"]
    assert [(r["chat_id"], r["success"], r["error_type"]) for r in sends] == [
        (eve, True, None),
        (ALICE, False, "Forbidden"),
        (fay, True, None),
    ]
    assert CANT_INITIATE in sends[1]["error_message"]

    h.clock.advance(TIMEOUT_S)
    assert await h.services.join_requests.sweep(h.bot) == 3
    assert h.world.pending_join_requests(GROUP) == []
    asked = {
        u: {"missing": BOTH, "lang": "en", "message_id": h.sent_to(u)[0]["message_id"]}
        for u in (eve, fay)
    }
    assert await events(h) == [
        ("join_request", eve, asked[eve]),
        ("join_request", ALICE, {"missing": BOTH, "lang": "en", "message_error": "Forbidden"}),
        ("join_request", fay, asked[fay]),
        *timed_out(eve),
        *timed_out(ALICE),
        *timed_out(fay),
    ]


async def test_groups_without_the_gate_are_left_to_their_admins(h: Harness) -> None:
    await h.services.repo.set_enabled(GROUP, False, h.clock.now())
    before = len(h.world.calls)
    assert await request(h, ALICE) == {}  # gate off
    assert await request(h, BOB, GROUP2) == {}  # not protected
    h.clock.advance(TIMEOUT_S + 1)
    assert await h.services.join_requests.sweep(h.bot) == 0
    assert h.world.pending_join_requests(GROUP) == [ALICE]
    assert h.world.pending_join_requests(GROUP2) == [BOB]
    assert called(h, "getChatMember", before) == []
    assert called(h, "approveChatJoinRequest", before) == []
    assert called(h, "declineChatJoinRequest", before) == []
    assert await events(h) == [] and await h.rows("verification_log") == []


async def test_a_request_pending_when_the_gate_goes_off_is_not_declined(h: Harness) -> None:
    await request(h, ALICE)
    await h.services.repo.set_enabled(GROUP, False, h.clock.now())
    h.clock.advance(TIMEOUT_S)
    assert await h.services.join_requests.sweep(h.bot) == 0
    assert h.world.pending_join_requests(GROUP) == [ALICE]
    assert called(h, "declineChatJoinRequest") == []
    assert [e for e, _, _ in await events(h)] == ["join_request"]


async def test_the_runtime_owns_the_periodic_sweep_on_wall_time(http_harness: Harness) -> None:
    sweeper = http_harness.runtime.sweeper
    assert sweeper is not None and not sweeper.done()
    await http_harness.runtime.close()
    assert sweeper.cancelled()
