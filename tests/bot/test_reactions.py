"""Reactions through the real client (AiohttpSession against the fake Bot API) on a ManualClock:
one user's changes and anonymous totals become ``reaction_events`` rows (added, removed, at the
update's date), odd shapes never crash, the gate never acts on a reaction, and an unknown
reaction type does not stall polling."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.storage.reactions import UNKNOWN_COUNTS, UNKNOWN_NEW, count_change, tolerant_loads
from sandbox.fake_telegram.protocol import TELEGRAM_ID
from tests.bot.conftest import ALICE, BOB, CH_NEWS, GROUP, START, Harness
from tests.support.waiting import eventually


async def reactions(h: Harness) -> list[tuple[int, int, int | None, int, int, dt.datetime]]:
    rows = await h.rows("reaction_events")
    return [
        (r["chat_id"], r["telegram_message_id"], r["user_id"], r["added"], r["removed"],
         r["timestamp"])
        for r in rows
    ]  # fmt: skip


async def test_one_users_changes_are_counted_and_never_gated(http_clock_harness: Harness) -> None:
    h = http_clock_harness
    await h.protect()
    world = h.world
    target = world.message_update(GROUP, BOB, "vote")["message"]["message_id"]
    before = len(world.calls)

    async def react(
        user: int | None, old: tuple[str, ...], new: tuple[str, ...], **kw: Any
    ) -> None:
        h.clock.advance(60)
        await h.feed(world.reaction_update(GROUP, target, user, old=old, new=new, **kw))

    # ALICE is in no linked channel: her reactions are recorded, and she is not gated
    await react(ALICE, (), ("👍",))
    await react(ALICE, ("👍",), ("🔥", "custom:42"))
    await react(ALICE, ("🔥", "custom:42"), ("custom:42", "paid"))
    await react(ALICE, ("custom:42", "paid"), ("custom:42", "paid"))  # no change: no row
    await react(None, (), ("👍",), actor_chat_id=GROUP)  # an anonymous admin
    await react(TELEGRAM_ID, (), ("🎉",))  # a service account: recorded as given
    await react(None, ("👍",), ())  # neither user nor actor_chat: an odd shape, still counted
    await react(BOB, (), ())  # empty lists
    await h.feed(world.reaction_update(ALICE, 1, ALICE, new=("👍",)))  # private: not group data

    minute = dt.timedelta(minutes=1)
    assert await reactions(h) == [
        (GROUP, target, ALICE, 1, 0, START + 1 * minute),
        (GROUP, target, ALICE, 2, 1, START + 2 * minute),
        (GROUP, target, ALICE, 1, 1, START + 3 * minute),
        (GROUP, target, None, 1, 0, START + 5 * minute),
        (GROUP, target, TELEGRAM_ID, 1, 0, START + 6 * minute),
        (GROUP, target, None, 0, 1, START + 7 * minute),
    ]
    assert world.calls[before:] == []  # no check, no mute, no message
    assert not h.muted(GROUP, ALICE)
    assert await h.rows("verification_log") == [] and await h.rows("gate_events") == []


async def test_anonymous_totals_are_snapshots_counted_as_changes(
    http_clock_harness: Harness,
) -> None:
    h = http_clock_harness
    world = h.world

    async def totals(message_id: int, counts: dict[str, int]) -> None:
        h.clock.advance(1)
        await h.feed(world.reaction_count_update(CH_NEWS, message_id, counts))

    await totals(7, {"👍": 3, "🔥": 1})  # the first snapshot seen: all of it is new
    await totals(7, {"👍": 5, "🔥": 0})  # +2 👍, -1 🔥
    await totals(7, {"👍": 5})  # the same totals: no row
    await totals(8, {"👍": 2})  # another post
    await totals(7, {"👍": 4, "custom:9": 2, "paid": 1})  # -1 👍, +2, +1
    await totals(7, {})  # everything taken back

    second = dt.timedelta(seconds=1)
    assert await reactions(h) == [
        (CH_NEWS, 7, None, 4, 0, START + 1 * second),
        (CH_NEWS, 7, None, 2, 1, START + 2 * second),
        (CH_NEWS, 8, None, 2, 0, START + 4 * second),
        (CH_NEWS, 7, None, 3, 1, START + 5 * second),
        (CH_NEWS, 7, None, 0, 7, START + 6 * second),
    ]


async def test_an_unknown_reaction_type_does_not_stall_polling(
    http_clock_harness: Harness,
) -> None:
    """aiogram refuses an update with a reaction type it does not know, and with it the whole
    getUpdates batch: the session's decoder sets such entries aside, so polling goes on and
    the change is still counted."""
    h = http_clock_harness
    world = h.world
    target = world.message_update(GROUP, BOB, "vote")["message"]["message_id"]
    star = {"type": "stars_v2", "amount": 5}
    odd = world.reaction_update(GROUP, target, BOB, new=(star, "👍"))
    counts = world.reaction_count_update(CH_NEWS, 7, {"🔥": 2})
    counts["message_reaction_count"]["reactions"].append({"type": star, "total_count": 4})
    async with h.polling():
        world.push_update(odd)
        world.push_update(counts)
        world.push_update(world.message_update(GROUP, BOB, "after"))

        async def handled() -> bool:
            return "after" in [m["content"] for m in await h.rows("messages")]

        await eventually(handled, within=10, what="the message after the odd reaction")
        allowed = set(world.allowed_updates or ())
        assert {"message_reaction", "message_reaction_count", "chat_member"} <= allowed
    rows = [(chat, user, added, removed) for chat, _, user, added, removed, _ in await reactions(h)]
    assert rows == [(GROUP, BOB, 2, 0), (CH_NEWS, None, 6, 0)]


def test_the_decoder_sets_aside_only_what_aiogram_cannot_parse() -> None:
    loads = tolerant_loads(__import__("json").loads)
    body = (
        '{"update_id": 5, "message_reaction": {"chat": {"id": -1, "type": "supergroup"}, '
        '"message_id": 3, "date": 1, "old_reaction": [{"type": "emoji", "emoji": "👍"}], '
        '"new_reaction": [{"type": "emoji"}, {"type": "paid"}]}}'
    )  # a webhook body: one update; an emoji without its emoji is unparseable too
    event = loads(body)["message_reaction"]
    assert event["old_reaction"] == [{"type": "emoji", "emoji": "👍"}]
    assert event["new_reaction"] == [{"type": "paid"}]
    assert event[UNKNOWN_NEW] == [{"type": "emoji"}]
    reply = loads(
        '{"ok": true, "result": [{"update_id": 6, "message_reaction_count": {"chat": '
        '{"id": -2, "type": "channel"}, "message_id": 1, "date": 1, "reactions": ['
        '{"type": {"type": "emoji", "emoji": "🔥"}, "total_count": 2}, {"type": "x"}]}}]}'
    )
    assert reply["result"][0]["message_reaction_count"][UNKNOWN_COUNTS] == [{"type": "x"}]
    assert loads('{"ok": true, "result": [1, "reaction"]}') == {
        "ok": True,
        "result": [1, "reaction"],
    }
    assert count_change(None, {("emoji", "👍"): 2}) == (2, 0)
