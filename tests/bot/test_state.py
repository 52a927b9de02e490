"""The gate's state writer: mutes, lifts and users applied in order, in a few statements."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.gate_state import Lift, Mute, StateWriter, plan_restrictions
from core.clock import ManualClock
from core.db import create_session_factory
from core.models import User, UserRestriction
from tests.support.statements import record_statements

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
G = -1_001_500_000_001


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_plan_replays_the_batch_in_order_over_the_stored_state() -> None:
    ops = [
        Mute(1, G, "not_subscribed:join", at(1)),  # new row
        Mute(1, G, "not_subscribed:message", at(2)),  # already active: nothing
        Mute(2, G, "not_subscribed:join", at(3)),  # stored active: nothing
        Lift(2, G, at(4)),  # closes the stored row
        Lift(3, G, at(5)),  # nothing active: nothing
        Mute(4, G, "x", at(6)),
        Lift(4, G, at(7)),  # closes the row added in this batch
        Mute(4, G, "y", at(8)),  # and a new one opens
    ]
    plan = plan_restrictions(ops, active=[(10, 2, G), (11, 5, G)])
    assert plan.lifted == {10: at(4)}
    assert [(r["user_id"], r["reason"], r["is_active"], r["lifted_at"]) for r in plan.added] == [
        (1, "not_subscribed:join", True, None),
        (4, "x", False, at(7)),
        (4, "y", True, None),
    ]


async def test_a_large_batch_lands_in_a_few_statements(engine: AsyncEngine) -> None:
    seen = record_statements(engine)
    clock = ManualClock(T0)
    state = StateWriter(create_session_factory(engine), clock=clock, batch_size=2000, linger_s=0.0)
    users = range(5000, 5300)
    for uid in users:
        state.seen_user(SimpleNamespace(id=uid, username=f"u{uid}", first_name="N", is_bot=False))
        state.mute(uid, G, "not_subscribed:join", at(uid - 5000))
    for uid in users[::2]:
        state.lift(uid, G, at(1000 + uid - 5000))
    state.mute(5000, G, "again", at(2000))  # muted again after the lift
    await state.drain()
    await state.close()

    assert state.stats.done == 451 and state.backlog == 0
    statements = [sql for sql, _ in seen if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(statements) <= 8, statements  # not one (or two) per operation
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    UserRestriction.user_id,
                    UserRestriction.is_active,
                    UserRestriction.reason,
                    UserRestriction.lifted_at,
                ).order_by(UserRestriction.id)
            )
        ).all()
        stored_users = await conn.scalar(sa.select(sa.func.count()).select_from(User))
    assert stored_users == 300
    assert len(rows) == 301
    active = {r.user_id for r in rows if r.is_active}
    assert active == set(users[1::2]) | {5000}
    lifted = {r.user_id: r.lifted_at for r in rows if not r.is_active}
    assert lifted == {uid: at(1000 + uid - 5000) for uid in users[::2]}
    assert rows[-1].reason == "again"


async def test_lifts_reach_rows_written_by_an_earlier_batch(engine: AsyncEngine) -> None:
    state = StateWriter(create_session_factory(engine), clock=ManualClock(T0), linger_s=0.0)
    state.mute(1, G, "first", at(1))
    state.mute(2, G, "first", at(1))
    await state.drain()
    state.lift(1, G, at(9))
    state.mute(2, G, "second", at(9))  # still active: no second row
    await state.drain()
    await state.close()
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    UserRestriction.user_id, UserRestriction.is_active, UserRestriction.lifted_at
                ).order_by(UserRestriction.user_id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1, False, at(9)), (2, True, None)]
