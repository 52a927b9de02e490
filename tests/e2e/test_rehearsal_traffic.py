"""The rehearsal's traffic through the production topology, checked by its ledger.

Two ``gatepulse bot`` replicas in webhook mode on PostgreSQL and Redis behind the round-robin
balancer; the fake Telegram server delivers to it (the replicas' setWebhook names the
balancer). The traffic sets up its groups, then runs ~20 s at 10 updates/s with a raid and a
lost channel right; once everything is delivered and the replicas have stopped, the ledger
finds every update's effects exactly once. Then one ``messages`` row deleted and one
``member_events`` row doubled are found as one lost and one duplicated update.

PostgreSQL pass only (``postgres``): the replicas share a real server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.replicas import PATH, replicas
from cli.rehearse.ledger import Kind, verify
from cli.rehearse.traffic import Traffic, TrafficPlan
from core.db import create_engine
from core.models import MemberEvent
from core.models import Message as MessageLog
from core.settings import GateSettings
from sandbox.balancer import RoundRobinBalancer
from sandbox.fake_telegram import FakeTelegramServer
from tests.support.waiting import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PLAN = TrafficPlan(rate=10.0, duration_s=20.0, raid_at_s=3.0, lost_right_at_s=8.0)


async def test_traffic_through_two_replicas_has_every_effect_once(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    traffic = Traffic.build(seed=11, groups=4, scale=0.05)
    world = traffic.world
    engine = create_engine(url=db_url)
    try:
        async with (
            FakeTelegramServer(world, webhook_timeout_s=10.0) as server,
            RoundRobinBalancer([("127.0.0.1", 9)]) as balancer,
        ):
            env = {
                "BOT_WEBHOOK_URL": balancer.url + PATH,
                "GATE_RAID_JOINS": str(GateSettings().raid_joins),
            }
            async with replicas(
                2,
                db_url=db_url,
                redis_url=redis_url,
                api_base=server.base_url,
                workdir=tmp_path,
                env=env,
            ) as bots:
                balancer.targets = [("127.0.0.1", bot.port) for bot in bots]
                await eventually(lambda: world.webhook["url"], within=30, what="setWebhook")
                await traffic.setup()
                await traffic.wait_protected(engine, timeout_s=60)
                await traffic.run(PLAN)
                await eventually(
                    lambda: world.pending_update_count() == 0 and server.deliverer.in_flight == 0,
                    within=60,
                    what=lambda: f"{world.pending_update_count()} updates pending",
                )
            assert [bot.proc.returncode for bot in bots] == [0, 0]
            records = server.deliverer.records

        counts = traffic.stats
        assert counts[Kind.JOIN] > PLAN.raid_joins and counts[Kind.PRESS] > 0
        assert counts[Kind.MESSAGE] > 50 and counts[Kind.REACTION] > 0
        verdict = await verify(engine, world, records, traffic.ledger)

        # the checks can fail: one message row gone, one join row doubled
        message = traffic.ledger.of(Kind.MESSAGE)[-1]
        join = traffic.ledger.of(Kind.JOIN)[-1]
        m = MessageLog.__table__.c
        async with engine.begin() as conn:
            await conn.execute(
                sa.delete(MessageLog.__table__).where(
                    m.chat_id == message.chat_id, m.telegram_message_id == message.message_id
                )
            )
            await conn.execute(
                sa.insert(MemberEvent.__table__).values(
                    chat_id=join.chat_id, user_id=join.user_id, event="join", is_bot=False
                )
            )
        broken = await verify(engine, world, records, traffic.ledger)
        assert set(broken.lost_ids) - set(verdict.lost_ids) == {message.update_id}
        assert set(broken.duplicated_ids) - set(verdict.duplicated_ids) == {join.update_id}
        assert not broken.passed

        failed = [c for c in verdict.checks if not c.passed]
        assert failed == [], failed
        names = {c.name for c in verdict.checks}
        assert {"raid: one lockdown", "lost right: recorded once"} <= names
        assert verdict.last_line == "lost 0 duplicated 0"
        assert broken.last_line == "lost 1 duplicated 1"
        assert records.answer_percentiles() is not None
    finally:
        await engine.dispose()
