"""The rehearsal's ledger finds each update's effects once, and says which are missing or
doubled: rows written straight into the database, calls made straight to the fake world."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.gate.actions import JoinedCallback
from cli.rehearse.ledger import Kind, Ledger, LostRight, Raid, Verdict, verify
from core.models import BotRight, GateEvent, MemberEvent, VerificationLog
from core.models import Message as MessageLog
from sandbox.fake_telegram import FakeWorld
from sandbox.fake_telegram.webhook import Attempt, DeliveryRecords

GROUP, CHANNEL, OWNER, ANN = -1001000000100, -1002000000100, 100, 200


class Run:
    """A world with one protected group and its channel, a ledger watching it, and the
    delivery records of a deliverer that delivered whatever it is told."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.world = FakeWorld()
        self.world.add_user(OWNER, "Owner")
        self.world.add_user(ANN, "Ann")
        self.world.add_group(GROUP, "Group", creator_id=OWNER)
        self.world.add_channel(CHANNEL, "News", username="news")
        self.ledger = Ledger()
        self.ledger.watch(self.world)
        self.records = DeliveryRecords()

    def pushed(self, update: Mapping[str, Any], kind: Kind, *outcomes: str, **fields: Any) -> int:
        """Note ``update`` as pushed and delivered with ``outcomes`` (by default one 200)."""
        entry = self.ledger.record(update, kind, **fields)
        for outcome in outcomes or ("200",):
            self.records.get(entry.update_id).attempts.append(Attempt(0.0, 0.01, outcome))
        return entry.update_id

    def message(self, *outcomes: str) -> tuple[int, int]:
        update = self.world.message_update(GROUP, ANN, "hello")
        message_id = int(update["message"]["message_id"])
        kind = Kind.MESSAGE
        return self.pushed(update, kind, *outcomes, chat_id=GROUP, user_id=ANN,
                           message_id=message_id), message_id  # fmt: skip

    def join(self, *, subscribed: bool = False) -> int:
        update = self.world.join_update(GROUP, ANN)
        return self.pushed(update, Kind.JOIN, chat_id=GROUP, user_id=ANN,
                           subscribed=subscribed, protected=True)  # fmt: skip

    async def rows(self, model: Any, *rows: Mapping[str, Any]) -> None:
        async with self.engine.begin() as conn:
            for row in rows:
                await conn.execute(sa.insert(model.__table__).values(**row))

    async def gated(self, *, raid: bool = False, prompt: bool = True) -> None:
        """What the gate does for ANN's failed join: the rows and the calls."""
        detail: dict[str, Any] = {"trigger": "join", "missing": [CHANNEL]}
        if raid:
            detail["raid"] = True
        await self.rows(MemberEvent, {"chat_id": GROUP, "user_id": ANN, "event": "join"})
        await self.rows(VerificationLog, {"user_id": ANN, "group_id": GROUP, "status": "failed",
                                          "latency_ms": 5.0, "trigger": "join"})  # fmt: skip
        self.mute()
        await self.rows(GateEvent, {"group_id": GROUP, "user_id": ANN, "event": "muted",
                                    "detail": detail})  # fmt: skip
        if prompt:
            self.prompt()
            await self.rows(GateEvent, {"group_id": GROUP, "user_id": ANN, "event": "prompted",
                                        "detail": detail})  # fmt: skip

    def mute(self) -> None:
        permissions = json.dumps({"can_send_messages": False})
        reply = self.world.call(
            "restrictChatMember", {"chat_id": GROUP, "user_id": ANN, "permissions": permissions}
        )
        assert reply.ok, reply.body

    def prompt(self) -> None:
        button = {"text": "I joined", "callback_data": JoinedCallback(user_id=ANN).pack()}
        markup = json.dumps({"inline_keyboard": [[button]]})
        reply = self.world.call(
            "sendMessage", {"chat_id": GROUP, "text": "join first", "reply_markup": markup}
        )
        assert reply.ok, reply.body

    async def verify(self) -> Verdict:
        return await verify(self.engine, self.world, self.records, self.ledger)


def failed(verdict: Verdict) -> dict[str, str]:
    return {c.name: c.detail for c in verdict.checks if not c.passed}


@pytest.mark.parametrize(("rows", "lost", "duplicated"), [(1, 0, 0), (0, 1, 0), (2, 0, 1)])
async def test_a_message_has_one_row(
    engine: AsyncEngine, rows: int, lost: int, duplicated: int
) -> None:
    run = Run(engine)
    update_id, message_id = run.message()
    row = {"telegram_message_id": message_id, "chat_id": GROUP, "user_id": ANN}
    await run.rows(MessageLog, *[row] * rows)
    verdict = await run.verify()
    assert (verdict.lost, verdict.duplicated) == (lost, duplicated)
    assert verdict.last_line == f"lost {lost} duplicated {duplicated}"
    assert verdict.passed is (rows == 1)
    if rows != 1:
        (detail,) = failed(verdict).values()
        assert f"#{update_id} message (chat {GROUP}, user {ANN}) messages row {rows}/1" in detail


async def test_an_update_never_answered_2xx_is_lost(engine: AsyncEngine) -> None:
    run = Run(engine)
    update_id, message_id = run.message("503", "Connection refused")
    await run.rows(MessageLog, {"telegram_message_id": message_id, "chat_id": GROUP})
    verdict = await run.verify()
    assert (verdict.lost, verdict.lost_ids, verdict.duplicated) == (1, [update_id], 0)
    assert failed(verdict) == {
        "delivered (2xx)": f"0/1 answered 2xx; 1 dropped: #{update_id} message"
    }


async def test_a_bot_message_is_not_a_row_of_the_update(engine: AsyncEngine) -> None:
    run = Run(engine)
    _, message_id = run.message()
    await run.rows(MessageLog, {"telegram_message_id": message_id, "chat_id": GROUP,
                                "is_bot_message": True})  # fmt: skip
    assert (await run.verify()).lost == 1


async def test_a_failed_join_has_one_check_one_mute_and_one_prompt(engine: AsyncEngine) -> None:
    run = Run(engine)
    update_id = run.join()
    await run.gated()
    verdict = await run.verify()
    assert failed(verdict) == {}
    assert verdict.last_line == "lost 0 duplicated 0"

    run.mute()  # a redelivery muted again
    verdict = await run.verify()
    assert (verdict.lost, verdict.duplicated_ids) == (0, [update_id])
    assert "restrictChatMember (mute) 2/1" in failed(verdict)["gate once per join"]


async def test_a_failed_join_without_its_prompt_is_lost(engine: AsyncEngine) -> None:
    run = Run(engine)
    update_id = run.join()
    await run.gated(prompt=False)
    verdict = await run.verify()
    assert (verdict.lost_ids, verdict.duplicated) == ([update_id], 0)
    assert "prompt 0/1, prompted event 0/1" in failed(verdict)["gate once per join"]


async def test_a_raid_joiner_is_muted_without_a_prompt_and_the_raid_locks_down_once(
    engine: AsyncEngine,
) -> None:
    run = Run(engine)
    run.join()
    run.ledger.raid = Raid(GROUP, at=0.0, joins=25)
    await run.gated(raid=True, prompt=False)
    lockdown = {"group_id": GROUP, "user_id": None, "event": "prompted",
                "detail": {"raid_lockdown": "started", "joins": 20}}  # fmt: skip
    await run.rows(GateEvent, lockdown)
    verdict = await run.verify()
    assert failed(verdict) == {}
    await run.rows(GateEvent, lockdown)
    assert failed(await run.verify()) == {
        "raid: one lockdown": f"25 joins into {GROUP}: 2 lockdown(s)"
    }


async def test_a_subscribed_joiner_muted_is_a_doubled_effect(engine: AsyncEngine) -> None:
    run = Run(engine)
    update_id = run.join(subscribed=True)
    await run.gated()
    verdict = await run.verify()
    assert verdict.duplicated_ids == [update_id]


async def test_a_join_after_the_lost_right_is_held_and_the_loss_recorded_once(
    engine: AsyncEngine,
) -> None:
    run = Run(engine)
    run.ledger.lost_right = LostRight(CHANNEL, frozenset({GROUP}), at=0.0)
    run.join(subscribed=True)  # pushed after the loss: held like a non-subscriber
    await run.gated()
    left = {"chat_id": CHANNEL, "status": "left", "is_admin": False}
    await run.rows(BotRight, left)
    assert failed(await run.verify()) == {}
    await run.rows(BotRight, left)
    assert "2 bot_rights row(s)" in failed(await run.verify())["lost right: recorded once"]
