"""Real Telegram shapes through the real client (AiohttpSession against the fake Bot API): who
writes and who is gated, service messages, one join reported twice, what the "I joined" button
may touch, forum topics, and the ``gate_events`` the gate leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from bot import texts
from bot.gate.actions import BAN_CHANNEL_SENDERS, JoinedCallback
from bot.gate.joins import JOIN_TWIN_WAIT_S
from core.models import ProtectedGroup
from sandbox.fake_telegram.protocol import CHANNEL_BOT_ID, GROUP_ANONYMOUS_BOT_ID, TELEGRAM_ID
from tests.bot.conftest import (
    ALICE,
    BOB,
    CH_DEALS,
    CH_NEWS,
    CREATOR,
    GROUP,
    NEWS,
    Harness,
)
from tests.bot.shapes import (
    SERVICE_MESSAGE_KINDS,
    USER_CONTENT_KINDS,
    add_service_accounts,
    content_update,
    service_update,
)
from tests.support.waiting import eventually

CH_LINKED = -1002000000010  # the group's discussion channel
CH_SPAM = -1002000000011  # someone's channel, used as a "send as" identity
FORUM = -1001000000003
HELPER_BOT = 5001
BOTH = [CH_NEWS, CH_DEALS]


async def events(h: Harness) -> list[tuple[str, int | None, dict[str, Any] | None]]:
    return [(e["event"], e["user_id"], e["detail"]) for e in await h.rows("gate_events")]


def called(h: Harness, method: str, start: int = 0) -> list[dict[str, Any]]:
    """The parameters of every ``method`` call since ``start`` (form values are strings)."""
    return [params for name, params in h.world.calls[start:] if name == method]


def restricted_users(h: Harness, start: int = 0) -> list[int]:
    return [int(p["user_id"]) for p in called(h, "restrictChatMember", start)]


def message_id(update: dict[str, Any]) -> int:
    return int(update["message"]["message_id"])


def channel_deleted(message_id: int, sender_chat_id: int, **detail: Any) -> tuple[Any, ...]:
    """The gate event of a "send as channel" message deleted."""
    return (
        "message_deleted",
        None,
        {
            "message_id": message_id,
            "reason": "channel_sender",
            "sender_chat_id": sender_chat_id,
            **detail,
        },
    )


def channels(h: Harness) -> None:
    """The group's discussion channel, and someone's channel to "send as"."""
    h.world.add_channel(CH_LINKED, "Discussion", username="gp_talk", creator_id=CREATOR)
    h.world.add_channel(CH_SPAM, "Spam", username="gp_spam")
    h.world.link_channel(GROUP, CH_LINKED)


# --------------------------------------------------------------------------- who writes


async def test_each_sender_is_recorded_and_only_people_and_channel_identities_are_gated(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    world = h.world
    add_service_accounts(world)
    channels(h)
    world.add_user(HELPER_BOT, "Helper", username="helper_bot", is_bot=True)
    await h.protect()
    sent = [
        ("anonymous_admin", GROUP, world.anonymous_admin_update(GROUP, "admins speaking")),
        ("linked_channel", CH_LINKED, world.automatic_forward_update(GROUP, "new post")),
        ("linked_channel", CH_LINKED, world.sender_chat_update(GROUP, CH_LINKED, "as channel")),
        ("service", None, world.message_update(GROUP, TELEGRAM_ID, "no sender_chat")),
        ("service", None, world.message_update(GROUP, GROUP_ANONYMOUS_BOT_ID, "no sender_chat")),
        ("service", None, world.message_update(GROUP, CHANNEL_BOT_ID, "no sender_chat")),
        ("bot", None, world.message_update(GROUP, HELPER_BOT, "beep")),
        ("channel", CH_SPAM, world.sender_chat_update(GROUP, CH_SPAM, "buy now")),
        ("user", None, world.message_update(GROUP, ALICE, "hi")),
    ]
    for _, _, update in sent:
        await h.feed(update)

    rows = await h.rows("messages")
    prompt = h.sent_to(GROUP)[-1]
    assert [(r["sender_kind"], r["sender_chat_id"]) for r in rows] == [
        *((kind, chat) for kind, chat, _ in sent),
        ("bot", None),  # the prompt to Alice
    ]
    assert all(r["message_thread_id"] is None for r in rows)
    spam, alice = message_id(sent[-2][2]), message_id(sent[-1][2])
    ids = {message_id(update) for _, _, update in sent}
    assert {m for c, m in world.deleted_messages if c == GROUP and m in ids} == {spam, alice}
    assert restricted_users(h) == [ALICE] and h.muted(GROUP, ALICE)
    assert world.banned_sender_chats(GROUP) == set()  # the group's setting is off
    checks = await h.rows("verification_log")
    assert [(r["user_id"], r["trigger"]) for r in checks] == [(ALICE, "message")]
    # the linked channel was asked for once and then known
    assert [int(p["chat_id"]) for p in called(h, "getChat")] == [GROUP]
    missing = {"trigger": "message", "missing": BOTH}
    assert await events(h) == [
        channel_deleted(spam, CH_SPAM),
        ("muted", ALICE, missing),
        ("message_deleted", ALICE, {"message_id": alice, "reason": "not_subscribed"}),
        (
            "prompted",
            ALICE,
            {**missing, "message_id": prompt["message_id"], "thread_id": None, "lang": "en"},
        ),
    ]


async def test_a_channel_identity_is_banned_by_group_setting_and_allowed_by_allow_list(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    friends = -1002000000012  # a channel identity on the group's allow list
    channels(h)
    h.world.add_channel(friends, "Friends", username="gp_friends")
    await h.services.repo.allow(GROUP, friends, CREATOR, h.services.clock.now())
    await h.protect()
    world = h.world
    async with h.engine.begin() as conn:
        await conn.execute(
            sa.update(ProtectedGroup)
            .where(ProtectedGroup.id == GROUP)
            .values(settings={BAN_CHANNEL_SENDERS: True})
        )
    friend = world.sender_chat_update(GROUP, friends, "allowed channel")
    spam = world.sender_chat_update(GROUP, CH_SPAM, "buy now")
    await h.feed(friend)
    await h.feed(spam)
    assert (GROUP, message_id(spam)) in world.deleted_messages
    assert (GROUP, message_id(friend)) not in world.deleted_messages
    assert world.banned_sender_chats(GROUP) == {CH_SPAM}
    assert restricted_users(h) == []  # Channel_Bot is never muted
    assert await events(h) == [channel_deleted(message_id(spam), CH_SPAM, banned=True)]
    kinds = [r["sender_kind"] for r in await h.rows("messages")]
    assert kinds == ["channel", "channel"]


# --------------------------------------------------------------------------- what triggers


async def test_every_kind_of_user_content_triggers_the_gate(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    await h.protect(channels=[NEWS])
    sent = {}
    for n, kind in enumerate(USER_CONTENT_KINDS):
        user = 3000 + n  # one newcomer per kind: each is checked, muted, prompted
        sent[kind] = content_update(h.world, GROUP, user, kind)
        await h.feed(sent[kind])
        assert h.muted(GROUP, user), kind
        assert (GROUP, message_id(sent[kind])) in h.world.deleted_messages, kind
    rows = [r for r in await h.rows("messages") if not r["is_bot_message"]]
    assert [(r["content_type"], r["sender_kind"]) for r in rows] == [
        (kind, "user") for kind in USER_CONTENT_KINDS
    ]
    done = [e for e, _, _ in await events(h)]
    assert done == ["muted", "message_deleted", "prompted"] * len(USER_CONTENT_KINDS)


async def test_service_messages_never_trigger_the_gate(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    world = h.world
    world.add_group(FORUM, "Forum", creator_id=CREATOR, is_forum=True)
    await h.protect(FORUM)
    pinned = world.message_update(FORUM, CREATOR, "rules")
    await h.feed(pinned)
    before = len(world.calls)
    for kind in SERVICE_MESSAGE_KINDS:  # all from Alice, who joined no channel
        update = service_update(world, FORUM, kind, by_user_id=ALICE, pinned=message_id(pinned))
        await h.feed(update)
        assert (FORUM, message_id(update)) not in world.deleted_messages, kind
    assert not h.muted(FORUM, ALICE)
    assert called(h, "restrictChatMember", before) == called(h, "deleteMessage", before) == []
    assert called(h, "getChatMember", before) == []  # not even checked
    assert await h.rows("verification_log") == []
    assert await events(h) == []
    rows = (await h.rows("messages"))[1:]
    # (content_type is a String(32): message_auto_delete_timer_changed is cut)
    assert [r["content_type"] for r in rows] == [kind[:32] for kind in SERVICE_MESSAGE_KINDS]
    # nobody wrote them: never human activity, whoever caused them
    assert {r["sender_kind"] for r in rows} == {"service"}


# --------------------------------------------------------------------------- joins


@pytest.mark.parametrize("message_first", [False, True], ids=["member-first", "message-first"])
async def test_one_join_reported_twice_is_gated_once(
    http_clock_harness: Harness, message_first: bool
) -> None:
    h = http_clock_harness
    assert h.clock is not None
    await h.protect()
    first, second = h.world.double_join_updates(
        GROUP, ALICE, message_first=message_first, invite_link_name="spring promo"
    )
    joined_at = h.clock.now()
    await h.feed(first)
    h.clock.advance(25)  # the second report comes many seconds later
    await h.feed(second)
    assert restricted_users(h) == [ALICE] and h.muted(GROUP, ALICE)
    assert len(h.sent_to(GROUP)) == 1
    assert len(await h.rows("verification_log")) == 1
    joins = await h.rows("member_events")
    # a new_chat_members message names no invite link: its row waits for the chat_member twin
    assert [
        (j["user_id"], j["event"], j["is_bot"], j["invite_link_name"], j["timestamp"])
        for j in joins
    ] == [(ALICE, "join", False, "spring promo", joined_at)]
    assert [e for e, _, _ in await events(h)] == ["muted", "prompted"]


async def test_a_join_seen_only_as_a_message_is_written_when_its_twin_is_overdue(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    assert h.clock is not None
    await h.protect()
    joined_at = h.clock.now()
    await h.feed(h.world.new_members_update(GROUP, [ALICE]))
    await h.feed(h.world.new_members_update(GROUP, [BOB]))
    assert await h.services.joins.settle() == 0  # both still wait for their chat_member twin
    h.clock.advance(JOIN_TWIN_WAIT_S + 1)
    await h.feed(h.world.leave_update(GROUP, BOB))  # any update writes the overdue joins
    joins = await h.rows("member_events")
    assert [(j["user_id"], j["event"], j["invite_link_name"]) for j in joins] == [
        (ALICE, "join", None),
        (BOB, "join", None),
        (BOB, "leave", None),
    ]
    assert {j["timestamp"] for j in joins[:2]} == {joined_at}  # when they joined, not later
    checks = await h.rows("verification_log")
    assert [c["user_id"] for c in checks] == [ALICE, BOB]  # gated at once, not after the wait


async def test_joins_record_bots_and_join_requests_and_never_gate_bots(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    world = h.world
    world.add_user(HELPER_BOT, "Helper", username="helper_bot", is_bot=True)
    await h.protect()
    await h.feed(world.join_update(GROUP, HELPER_BOT, by_user_id=CREATOR))
    await h.feed(world.new_members_update(GROUP, [HELPER_BOT], by_user_id=CREATOR))
    await h.feed(world.join_update(GROUP, BOB, via_join_request=True))
    joins = await h.rows("member_events")
    assert [(j["user_id"], j["is_bot"], j["via_join_request"]) for j in joins] == [
        (HELPER_BOT, True, False),
        (BOB, False, True),
    ]
    checks = await h.rows("verification_log")
    assert [r["user_id"] for r in checks] == [BOB]  # the bot is never checked
    assert restricted_users(h) == [] and await events(h) == []


async def test_no_prompt_follows_a_mute_that_failed(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    h.world.set_bot_admin(GROUP, True, can_restrict_members=False)
    await h.protect()
    await h.feed(h.world.join_update(GROUP, ALICE))
    assert len(called(h, "restrictChatMember")) == 1  # tried, refused by Telegram
    assert not any("please join" in m["text"] for m in h.sent_to(GROUP))
    assert not h.muted(GROUP, ALICE)
    assert await events(h) == []
    assert await h.rows("user_restrictions") == []


# --------------------------------------------------------------------------- the button


async def _press(h: Harness, user_id: int = ALICE, message_id: int = 999) -> dict[str, Any]:
    data = JoinedCallback(user_id=user_id).pack()
    await h.feed(h.world.callback_update(GROUP, user_id, data, message_id=message_id))
    answer: dict[str, Any] = h.world.answered_callbacks[-1]
    return answer


async def test_the_button_records_each_step_of_a_verification(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    await h.protect()
    await h.feed(h.world.join_update(GROUP, ALICE))
    prompt = h.sent_to(GROUP)[-1]["message_id"]
    await _press(h, message_id=prompt)  # before joining: still missing both
    for channel in BOTH:
        h.world.set_member(channel, ALICE, "member")
    assert (await _press(h, message_id=prompt))["text"] == texts.CALLBACK_OK
    assert not h.muted(GROUP, ALICE)
    join = {"trigger": "join", "missing": BOTH}
    assert await events(h) == [
        ("muted", ALICE, join),
        ("prompted", ALICE, {**join, "message_id": prompt, "thread_id": None, "lang": "en"}),
        ("clicked", ALICE, {"result": "failed", "missing": BOTH}),
        ("clicked", ALICE, {"result": "passed"}),
        ("passed", ALICE, None),
        ("unmuted", ALICE, {"trigger": "callback"}),
    ]


async def test_the_button_never_lifts_an_admins_restriction(http_clock_harness: Harness) -> None:
    """ALICE passed the gate once (its mute lifted: an inactive row); an admin restricts her
    later; her old prompt's button leaves the admin's restriction alone."""
    h = http_clock_harness
    await h.protect()
    await h.feed(h.world.join_update(GROUP, ALICE))
    prompt = h.sent_to(GROUP)[-1]["message_id"]
    for channel in BOTH:  # she would pass a check: the restriction is simply not ours
        h.world.set_member(channel, ALICE, "member")
    await _press(h, message_id=prompt)
    await h.services.state.drain()
    assert not h.muted(GROUP, ALICE)
    lifted = len(restricted_users(h))
    h.world.set_member(GROUP, ALICE, "restricted", is_member=True)  # an admin muted her
    answer = await _press(h, message_id=prompt)
    assert answer["text"] == texts.CALLBACK_NO_GATE_MUTE
    assert h.muted(GROUP, ALICE) and len(restricted_users(h)) == lifted
    assert (await events(h))[-1] == ("clicked", ALICE, {"result": "no_gate_mute"})


async def test_the_button_lifts_a_mute_whose_record_is_not_written_yet(
    http_clock_harness: Harness,
) -> None:
    """The gate's mute is still queued in another replica's state writer (the database was
    down): no row at all. The prompt addressed to her proves the mute is the gate's."""
    h = http_clock_harness
    await h.protect()
    h.world.set_member(GROUP, ALICE, "restricted", is_member=True)  # muted by the other replica
    for channel in BOTH:
        h.world.set_member(channel, ALICE, "member")
    answer = await _press(h)
    assert answer["text"] == texts.CALLBACK_OK
    assert not h.muted(GROUP, ALICE)
    assert len(await h.rows("verification_log")) == 1


async def test_the_button_in_a_group_no_longer_protected_changes_nothing(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    await h.protect()
    await h.feed(h.world.join_update(GROUP, ALICE))
    await h.services.repo.unprotect(GROUP, None)
    for channel in BOTH:
        h.world.set_member(channel, ALICE, "member")
    before = len(h.world.calls)
    answer = await _press(h, message_id=h.sent_to(GROUP)[-1]["message_id"])
    assert answer["text"] == texts.CALLBACK_NOT_PROTECTED
    assert h.muted(GROUP, ALICE)
    assert called(h, "restrictChatMember", before) == called(h, "deleteMessage", before) == []
    assert [e for e, _, _ in await events(h)] == ["muted", "prompted", "clicked"]
    assert (await events(h))[-1][2] == {"result": "not_protected"}


# --------------------------------------------------------------------------- forum topics


async def test_a_prompt_answers_in_the_topic_the_user_wrote_in(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    world = h.world
    world.add_group(FORUM, "Forum", creator_id=CREATOR, is_forum=True)
    await h.protect(FORUM)
    topic = world.topic_created_update(FORUM, "Questions", by_user_id=CREATOR)
    await h.feed(topic)
    thread = message_id(topic)
    await h.feed(world.message_update(FORUM, ALICE, "hi from a topic", message_thread_id=thread))
    prompt = h.sent_to(FORUM)[-1]
    assert prompt["message_thread_id"] == thread and "please join" in prompt["text"]
    await h.feed(world.message_update(FORUM, BOB, "hi in General"))
    # in a plain supergroup a reply carries message_thread_id but is no topic message
    first = world.message_update(GROUP, BOB, "question")
    await h.feed(first)
    await h.feed(world.message_update(GROUP, BOB, "answer", reply_to=message_id(first)))
    rows = await h.rows("messages")
    assert [(r["user_id"], r["message_thread_id"]) for r in rows] == [
        (CREATOR, thread),  # the topic's creation message is in the topic
        (ALICE, thread),
        (h.bot.id, thread),  # the prompt
        (BOB, None),
        (BOB, None),
        (BOB, None),
    ]
    prompted = [d for e, _, d in await events(h) if e == "prompted"]
    assert prompted and prompted[0]["thread_id"] == thread


# --------------------------------------------------------------------------- over getUpdates


async def test_shapes_pushed_through_polling_reach_the_gate(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    world = h.world
    channels(h)
    await h.protect()
    for update in (
        world.anonymous_admin_update(GROUP, "welcome"),
        world.automatic_forward_update(GROUP, "new post"),
        world.sender_chat_update(GROUP, CH_SPAM, "buy now"),
        *world.double_join_updates(GROUP, ALICE),
    ):
        world.push_update(update)

    async def handled() -> bool:  # polling runs updates concurrently: compare as sets
        done = sorted(e for e, _, _ in await events(h))
        return done == ["message_deleted", "muted", "prompted"] and len(h.sent_to(GROUP)) == 1

    async with h.polling():
        await eventually(handled, within=30, what="the pushed updates handled")
    kinds = sorted(r["sender_kind"] for r in await h.rows("messages"))
    # Alice's new_chat_members message is a service message: nobody wrote it
    assert kinds == ["anonymous_admin", "bot", "channel", "linked_channel", "service"]
    assert restricted_users(h) == [ALICE]
    assert len(await h.rows("member_events")) == 1
