"""The simulated month, shortened: two days of a small world through the real bot. The member
counts are synced at the end of every simulated day (the snapshots carry the simulated day),
and the world holds what analytics need besides messages: reactions (silent reactors,
anonymous ones), joins through named invite links, bans by admins, bots added by admins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import sandbox.simulator.runner as runner
import sandbox.simulator.social as social
from cli.demo.membercounts import member_count_sync
from cli.demo.report import demo_owner
from cli.demo.screenshots import busiest_admin
from core.models import (
    ApiCallLog,
    GateEvent,
    GroupAdmin,
    MemberCountSnapshot,
    MemberEvent,
    Message,
    ReactionEvent,
)
from sandbox.fake_telegram.world import FaultPlan
from sandbox.simulator.runner import SIM_LATENCY_S, Simulation
from sandbox.simulator.scenario import Persona, build_scenario
from sandbox.simulator.shapes import RAIDERS, WorldPlan
from sandbox.simulator.traffic import Event, EventKind
from tests.conftest import settings_on

END = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
DAYS = 2


def test_a_days_reactions_and_bans_follow_its_traffic() -> None:
    scenario = build_scenario(seed=3, days=1, groups=1, scale=1.0)
    group = scenario.groups[0]
    day = END - dt.timedelta(days=1)
    author = group.members[0]
    messages = [
        Event(day + dt.timedelta(minutes=n), n, EventKind.MESSAGE, group.chat_id, author)
        for n in range(1, 401)
    ]
    spammers = range(1, 41)
    joins = [Event(day, 1000 + uid, EventKind.JOIN, group.chat_id, uid) for uid in spammers]
    personas = {(group.chat_id, uid): Persona.SPAMMER for uid in spammers}
    planner = social.SocialPlanner(scenario, WorldPlan.of(scenario), personas)
    planned = planner.day(day, [*messages, *joins])

    reacts = [e for e in planned if e.kind is EventKind.REACT]
    assert reacts
    people = {0, *group.members, *group.reactors}  # 0: an anonymous admin
    for react in reacts:
        message = messages[(react.reply_to_seq or 0) - 1]
        assert react.at > message.at and react.user_id in people - {author}
        assert react.text in (*social.EMOJI, "")  # "": the reaction taken back
    assert {e.user_id for e in reacts} & set(group.reactors)  # silent reactors react too
    kicks = [e for e in planned if e.kind is EventKind.KICK and e.user_id in spammers]
    assert kicks
    for kick in kicks:
        assert dt.timedelta(minutes=10) <= kick.at - day <= dt.timedelta(minutes=90)


async def test_two_days_have_daily_member_counts_and_the_social_shapes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine
) -> None:
    # a small world: every group gets a bot each day, and more of the rarer reactions
    monkeypatch.setattr(social, "BOT_JOIN_PER_DAY", 1.0)
    monkeypatch.setattr(social, "REACTIONS_PER_MESSAGE", 0.5)
    monkeypatch.setattr(social, "ANONYMOUS_SHARE", 0.2)
    scenario = build_scenario(seed=5, days=DAYS, groups=3, scale=0.05)
    start = END - dt.timedelta(days=DAYS)
    settings = settings_on(db_url, tmp_path / "var")
    sync = member_count_sync(settings.db.url, settings.pipelines)
    sim = Simulation(settings, scenario, start=start, end=END, engine=engine, sync_counts=sync)
    sim.world.latency_spread = 0.0  # every call plays exactly SIM_LATENCY_S (a slow one more)
    stats = await sim.run()
    world = sim.world

    async with engine.connect() as conn:
        snapshots = (await conn.execute(sa.select(MemberCountSnapshot.__table__))).all()
        members = (await conn.execute(sa.select(MemberEvent.__table__))).all()
        reactions = (await conn.execute(sa.select(ReactionEvent.__table__))).all()
        writers = set((await conn.execute(sa.select(Message.chat_id, Message.user_id))).all())
        asked = (
            await conn.execute(
                sa.select(ApiCallLog.timestamp, ApiCallLog.latency_ms).where(
                    ApiCallLog.method == "getChatMember"
                )
            )
        ).all()

    # each call's latency is the fake's own delay for it (SIM_LATENCY_S, or with a "slow"
    # fault its extra second), not the simulated time others moved the clock meanwhile: the
    # raid's getChatMember calls too
    plan = WorldPlan.of(scenario)
    assert plan.raid_group is not None
    raid_day = (start + dt.timedelta(days=plan.raid_day)).date()
    on_raid_day = [ms for at, ms in asked if at.date() == raid_day]
    assert len(on_raid_day) >= RAIDERS
    own = SIM_LATENCY_S * 1000
    slow = own + FaultPlan().slow_s * 1000
    assert all(ms <= slow + 1e-3 for _, ms in asked)
    assert sum(abs(ms - own) < 1e-3 for _, ms in asked) > 0.9 * len(asked)

    # one snapshot per chat and simulated day, at the day's last second (simulated time)
    days = [start + dt.timedelta(days=d + 1, seconds=-1) for d in range(DAYS)]
    assert sorted({s.synced_at for s in snapshots}) == days
    for day in days:
        chats = [s.chat_id for s in snapshots if s.synced_at == day]
        assert len(chats) == len(set(chats))
    assert stats.member_count_snapshots == len(snapshots)
    channels = {c for g in scenario.groups for c in g.channel_ids}
    last = {s.chat_id: s.member_count for s in snapshots if s.synced_at == days[-1]}
    assert channels < set(last)  # every linked channel, and the protected groups
    # the last day's counts are the world's when it ended
    world.faults = FaultPlan(rate=0.0)
    counted = {chat: world.call("getChatMemberCount", {"chat_id": chat}) for chat in last}
    assert last == {chat: reply.body["result"] for chat, reply in counted.items()}

    # reactions by people (silent reactors among them, who never write) and anonymous ones
    ids = {g.chat_id: {g.chat_id, sim.context.chat(g)} for g in scenario.groups}  # one migrates
    groups = set().union(*ids.values())
    reactors = {(c, u) for g in scenario.groups for c in ids[g.chat_id] for u in g.reactors}
    reacted = {(r.chat_id, r.user_id) for r in reactions if r.user_id is not None}
    silent = reacted & reactors
    assert silent and not silent & writers
    anonymous = {r.chat_id in groups for r in reactions if r.user_id is None}
    assert anonymous == {True, False}  # anonymous admins in groups, totals in the channel
    assert all(r.added + r.removed > 0 for r in reactions)

    # joins through named invite links, bans by admins, bots added by admins
    links = {m.invite_link_name for m in members if m.invite_link_name}
    assert links and links <= set(social.INVITE_LINKS)
    kicks = [m for m in members if m.event == "kick"]
    assert kicks and all(world.member_status(m.chat_id, m.user_id) == "kicked" for m in kicks)
    bots = [m for m in members if m.is_bot and m.event == "join"]
    assert len(bots) == stats.events[EventKind.BOT_JOIN] == DAYS * len(scenario.groups)


async def test_the_gate_timers_run_on_the_simulated_clock(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine
) -> None:
    # no injected faults: every prompt the timers delete is really gone
    monkeypatch.setattr(runner, "SIM_FAULT_RATE", 0.0)
    scenario = build_scenario(seed=11, days=1, groups=2, scale=0.6)
    timed = scenario.groups[1]
    assert (timed.timeout, timed.on_timeout) == ("2h", "kick")
    # the demo's owner creates one group and administers the other: the bot read both lists
    owner, titles = demo_owner(scenario) or (0, [])
    assert titles == [g.title for g in scenario.groups]
    start = END - dt.timedelta(days=1)
    sim = Simulation(settings_on(db_url, tmp_path / "var"), scenario, start=start, end=END,
                     engine=engine)  # fmt: skip
    stats = await sim.run()
    async with engine.connect() as conn:
        events = (await conn.execute(sa.select(GateEvent.__table__))).all()
        admins = (await conn.execute(sa.select(GroupAdmin.group_id, GroupAdmin.status)
                                     .where(GroupAdmin.user_id == owner))).all()  # fmt: skip

    assert sorted(admins) == sorted(
        [(scenario.groups[0].chat_id, "creator"), (timed.chat_id, "administrator")]
    )
    # the screenshots sign in as the same person, found in the database
    assert await busiest_admin(db_url) == (owner, sorted(titles))
    assert stats.housekeeping_rounds == 24 * 3600 / runner.SIM_HOUSEKEEPING_S
    muted = {}
    for e in sorted(events, key=lambda e: e.timestamp):
        if e.event == "muted":
            muted.setdefault((e.group_id, e.user_id), e.timestamp)
    timed_out = [e for e in events if e.event == "timed_out"]
    assert timed_out and {e.group_id for e in timed_out} == {timed.chat_id}
    round_s = dt.timedelta(seconds=runner.SIM_HOUSEKEEPING_S)
    for e in timed_out:  # two hours after the mute, within a housekeeping round
        assert e.detail["action"] == "kick"
        late = e.timestamp - muted[(e.group_id, e.user_id)] - dt.timedelta(hours=2)
        assert dt.timedelta(0) <= late <= round_s + dt.timedelta(seconds=30)
        assert sim.world.member_status(e.group_id, e.user_id) == "left"  # kicked, may return
    # every prompt older than its prompt_ttl (600 s) and a round is deleted from the group
    prompts = [e for e in events if e.event == "prompted"]
    due = END - dt.timedelta(seconds=600 + 2 * runner.SIM_HOUSEKEEPING_S)
    old = {(e.group_id, e.detail["message_id"]) for e in prompts if e.timestamp < due}
    assert old and old <= sim.world.deleted_messages
