"""The rehearsal's traffic, without a bot: what it pushes into the world and notes in its
ledger (the bot's side is tests/e2e/test_rehearsal_traffic.py)."""

from __future__ import annotations

import collections

from cli.rehearse.ledger import Kind
from cli.rehearse.traffic import Traffic, TrafficPlan
from core.settings import GateSettings


async def test_setup_protects_every_group_but_the_basic_one() -> None:
    traffic = Traffic.build(seed=3, groups=4, scale=0.05)
    await traffic.setup()
    pending = traffic.world.queue.updates
    protects = {u["message"]["chat"]["id"] for u in pending
                if u.get("message", {}).get("text", "").startswith("/protect ")}  # fmt: skip
    assert protects == {g.chat_id for g in traffic.groups}
    assert len(traffic.groups) == 3  # the fourth group is a basic group
    assert {u["update_id"] for u in pending} == set(traffic.ledger.pushed)


async def test_run_pushes_every_update_it_notes_with_a_raid_and_a_lost_right() -> None:
    traffic = Traffic.build(seed=3, groups=4, scale=0.05)
    world, ledger = traffic.world, traffic.ledger
    plan = TrafficPlan(
        rate=40.0,
        duration_s=1.5,
        raid_at_s=0.1,
        raid_spread_s=0.3,
        lost_right_at_s=0.2,
        lost_right_joins=2,
        lost_right_every_s=0.05,
    )
    await traffic.run(plan)

    assert {u["update_id"] for u in world.queue.updates} == set(ledger.pushed)
    kinds = collections.Counter(p.kind for p in ledger.pushed.values())
    assert kinds == traffic.stats
    # every kind is pushed (how many of each in 1.5 s depends on how busy the machine is: the
    # raid's joins are a fixed number, the messages a rate)
    assert kinds[Kind.MESSAGE] > 0 and kinds[Kind.JOIN] > 0 and kinds[Kind.REACTION] > 0

    raid = ledger.raid
    assert raid is not None and raid.group_id == traffic.raid_group.chat_id
    raiders = [p for p in ledger.of(Kind.JOIN) if p.chat_id == raid.group_id and p.at >= raid.at]
    assert len(raiders) >= plan.raid_joins > GateSettings().raid_joins

    lost = ledger.lost_right
    assert lost is not None and lost.channel_id == traffic.lost_channel
    assert lost.channel_id not in traffic.raid_group.channel_ids
    reply = world.call("getChatMember", {"chat_id": lost.channel_id, "user_id": 1})
    assert reply.status == 400 and "member list is inaccessible" in reply.body["description"]
    after = [p for p in ledger.of(Kind.JOIN) if p.chat_id in lost.group_ids and p.at >= lost.at]
    assert len(after) >= plan.lost_right_joins * len(lost.group_ids)
    for join in after:  # subscribed ones are in every linked channel, the others in none
        group = next(g for g in traffic.groups if g.chat_id == join.chat_id)
        member = [world.is_member(c, join.user_id) for c in group.channel_ids]
        assert member == [join.subscribed] * len(member)
